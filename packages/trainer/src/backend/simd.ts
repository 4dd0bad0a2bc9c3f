// Loads the trainer's own WASM SIMD kernels (built from wasm/kernels.ts into dist/wasm/kernels.wasm) into
// the tfjs-wasm heap: the module imports that backend's memory, so the kernels work on tensors in place.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';

/** The exports of kernels.wasm; pointers are byte offsets into the tfjs-wasm heap. */
export interface SimdExports {
  bnPartialSums(x: number, images: number, hw: number, c: number, out: number): void;
  bnActPoolForward(
    x: number,
    n: number,
    h: number,
    w: number,
    c: number,
    scale: number,
    shift: number,
    a: number,
    b: number,
    pool: number,
    out: number,
    argmax: number,
  ): void;
  bnActPoolBackward1(
    x: number,
    n: number,
    h: number,
    w: number,
    c: number,
    pool: number,
    argmax: number,
    dOut: number,
    scale: number,
    shift: number,
    alpha: number,
    dx: number,
    sums: number,
  ): void;
  bnBackward2(x: number, positions: number, c: number, a: number, b: number, d: number, dx: number): void;
  im2colTransposed(
    x: number,
    batch: number,
    inH: number,
    inW: number,
    inC: number,
    outH: number,
    outW: number,
    kH: number,
    kW: number,
    padTop: number,
    padLeft: number,
    strideH: number,
    strideW: number,
    out: number,
  ): void;
  paddedFilterGrad(
    x: number,
    dy: number,
    batch: number,
    inH: number,
    inW: number,
    inC: number,
    outH: number,
    outW: number,
    outC: number,
    kH: number,
    kW: number,
    padTop: number,
    padLeft: number,
    hp: number,
    wp: number,
    planeLen: number,
    planes: number,
    dyT: number,
    dW: number,
  ): void;
  adamUpdate(
    p: number,
    g: number,
    m: number,
    v: number,
    out: number,
    len: number,
    stepSize: number,
    rc2: number,
    beta1: number,
    beta2: number,
    epsilon: number,
    weightDecay: number,
    decoupled: number,
    learningRate: number,
  ): void;
  affineWarp(src: number, count: number, side: number, params: number, background: number, dst: number): void;
  matmulBlocked(
    a: number,
    aRow: number,
    aK: number,
    b: number,
    bK: number,
    bCol: number,
    m: number,
    n: number,
    k: number,
    rows: number,
    out: number,
  ): void;
  winogradFilter(w: number, inC: number, outC: number, u: number): void;
  winogradConv3x3(
    x: number,
    batch: number,
    inH: number,
    inW: number,
    inC: number,
    outH: number,
    outW: number,
    outC: number,
    padTop: number,
    padLeft: number,
    u: number,
    v: number,
    m: number,
    chunk: number,
    out: number,
  ): void;
  winogradConv3x3One(
    x: number,
    batch: number,
    inH: number,
    inW: number,
    outH: number,
    outW: number,
    outC: number,
    padTop: number,
    padLeft: number,
    u: number,
    out: number,
  ): void;
  winogradFilterGrad(
    x: number,
    dy: number,
    batch: number,
    inH: number,
    inW: number,
    inC: number,
    outH: number,
    outW: number,
    outC: number,
    padTop: number,
    padLeft: number,
    v: number,
    e: number,
    m: number,
    chunk: number,
    dw: number,
  ): void;
  softmaxCrossEntropy(
    logits: number,
    labels: number,
    n: number,
    k: number,
    gradScale: number,
    dLogits: number,
    predicted: number,
  ): number;
}

/** The WebAssembly memory of a module (Node's lib typings here have no WebAssembly namespace). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/** The parts of the WebAssembly JS API this module uses. */
interface WasmApi {
  Module: {
    new (bytes: Uint8Array): object;
    imports(module: object): Array<{ module: string; name: string; kind: string }>;
  };
  Instance: new (
    module: object,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => WasmMemory;
}

function isWasmApi(value: unknown): value is WasmApi {
  if (typeof value !== 'object' || value === null) return false;
  return (
    'Module' in value &&
    typeof value.Module === 'function' &&
    'Instance' in value &&
    typeof value.Instance === 'function' &&
    'Memory' in value &&
    typeof value.Memory === 'function'
  );
}

/**
 * The global WebAssembly API, checked.
 *
 * @example
 * ```ts
 * memory instanceof wasmApi().Memory;
 * ```
 */
export function wasmApi(): WasmApi {
  const api: unknown = Reflect.get(globalThis, 'WebAssembly');
  if (!isWasmApi(api)) throw new Error('this JavaScript runtime has no WebAssembly');
  return api;
}

/** The part of the emscripten module of tfjs-backend-wasm that the kernels need. */
export interface WasmHeapModule {
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  asm: { memory: WasmMemory };
}

/**
 * Where the built kernels live: dist/wasm/kernels.wasm of this package, from src/ (tests) and dist/ alike.
 *
 * @example
 * ```ts
 * fs.existsSync(simdWasmFile()); // true after `npm run build`
 * ```
 */
export function simdWasmFile(): string {
  return path.resolve(__dirname, '..', '..', 'dist', 'wasm', 'kernels.wasm');
}

/** Whether a module binary has a data section (id 11): data would be written into the shared heap. */
function hasDataSection(bytes: Uint8Array): boolean {
  let i = 8;
  while (i < bytes.length) {
    const id = bytes[i++]!;
    let size = 0;
    let shift = 0;
    let byte = 0;
    do {
      byte = bytes[i++]!;
      size |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    if (id === 11) return true;
    i += size;
  }
  return false;
}

function isWasmFunction(value: unknown): value is (...args: number[]) => number {
  return typeof value === 'function';
}

/**
 * Instantiates kernels.wasm over a tfjs-wasm module's memory. Throws when the file is missing (not built)
 * or is not the expected module (wrong exports, a data section or other imports).
 *
 * @example
 * ```ts
 * const simd = loadSimdKernels(backend.wasm);
 * simd.bnBackward2(x, positions, c, a, b, d, dx);
 * ```
 */
export function loadSimdKernels(heap: WasmHeapModule, file = simdWasmFile()): SimdExports {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\``);
  const bytes = fs.readFileSync(file);
  if (hasDataSection(bytes)) throw new Error(`${file} has a data section; it would overwrite the tfjs heap`);
  const api = wasmApi();
  // Compiled by the optimizing tier straight away: V8 starts wasm in its baseline compiler and tiers up
  // only when a function is entered again, and these functions are entered rarely but loop long
  // (measured 3× slower until then). The flag is read at compile time and restored right after.
  v8.setFlagsFromString('--no-liftoff');
  let module: object;
  try {
    module = new api.Module(bytes);
  } finally {
    v8.setFlagsFromString('--liftoff');
  }
  const imports = api.Module.imports(module);
  if (imports.length !== 1 || imports[0]?.kind !== 'memory')
    throw new Error(`${file} must import exactly one memory`);
  const instance = new api.Instance(module, { env: { memory: heap.asm.memory } });
  const fn = (name: keyof SimdExports): ((...args: number[]) => number) => {
    const f = instance.exports[name];
    if (!isWasmFunction(f)) throw new Error(`${file} does not export ${name}`);
    return f;
  };
  return {
    bnPartialSums: fn('bnPartialSums'),
    bnActPoolForward: fn('bnActPoolForward'),
    bnActPoolBackward1: fn('bnActPoolBackward1'),
    bnBackward2: fn('bnBackward2'),
    im2colTransposed: fn('im2colTransposed'),
    paddedFilterGrad: fn('paddedFilterGrad'),
    adamUpdate: fn('adamUpdate'),
    affineWarp: fn('affineWarp'),
    matmulBlocked: fn('matmulBlocked'),
    winogradFilter: fn('winogradFilter'),
    winogradConv3x3: fn('winogradConv3x3'),
    winogradConv3x3One: fn('winogradConv3x3One'),
    winogradFilterGrad: fn('winogradFilterGrad'),
    softmaxCrossEntropy: fn('softmaxCrossEntropy'),
  };
}

/**
 * A growable scratch block in the tfjs-wasm heap (malloc'd there, so tfjs never hands it out).
 *
 * @example
 * ```ts
 * const scratch = new HeapScratch(backend.wasm);
 * const ptr = scratch.reserve(1024);
 * ```
 */
export class HeapScratch {
  private pointer = 0;
  private bytes = 0;
  constructor(private readonly heap: WasmHeapModule) {}

  /** A pointer to at least `bytes` bytes, 16-byte aligned; valid until the next call. */
  reserve(bytes: number): number {
    if (bytes > this.bytes) {
      if (this.pointer) this.heap._free(this.pointer);
      this.bytes = Math.max(bytes, this.bytes * 2, 4096);
      this.pointer = this.heap._malloc(this.bytes + 16);
      if (!this.pointer) throw new Error(`could not allocate ${this.bytes} bytes in the wasm heap`);
    }
    return (this.pointer + 15) & ~15;
  }
}
