#!/usr/bin/env node
// Builds the trainer's SIMD kernels: AssemblyScript wasm/kernels.ts → dist/wasm/kernels.wasm, importing
// tfjs-wasm's memory, with the stub runtime (the kernels allocate nothing) and no data segments (they
// would be written into the shared heap at instantiation; the build fails if one appears).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;
const out = path.join(here, '..', 'dist', 'wasm', 'kernels.wasm');
const asc = path.join(path.dirname(require.resolve('assemblyscript/package.json')), 'bin', 'asc.js');
fs.mkdirSync(path.dirname(out), { recursive: true });
const args = [
  asc,
  path.join(here, 'kernels.ts'),
  '--outFile',
  out,
  '-O3',
  '--runtime',
  'stub',
  '--importMemory',
  '--noExportMemory',
  '--enable',
  'simd',
  '--noAssert',
];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);

// Section ids: 11 is data. Walk the sections (id byte, LEB128 size, payload).
const bytes = fs.readFileSync(out);
for (let i = 8; i < bytes.length; ) {
  const id = bytes[i++];
  let size = 0;
  let shift = 0;
  let byte;
  do {
    byte = bytes[i++];
    size |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80);
  if (id === 11) {
    fs.rmSync(out);
    console.error('wasm/kernels.ts compiled to a module with a data segment (a lookup table or a string?)');
    process.exit(1);
  }
  i += size;
}
console.log(`built ${path.relative(process.cwd(), out)} (${bytes.length} bytes)`);
