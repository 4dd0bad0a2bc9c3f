// The five packages as users get them: each packed with `npm pack`, the tarballs installed into a
// fresh project (offline, from npm's cache; real folders, no workspace links), then every bin's
// --help, a real `dataver init/add/push/pull` through a git clone, and a TypeScript consumer of
// the published types, all from that project.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installPacked, PACKAGES, type PackedPackage, packAll, REPO_ROOT } from './helpers/packed-install';

const semver = require('semver') as { satisfies(version: string, range: string): boolean };

const BINS = { dataver: 'dataver', 'corrupt-mnist': 'corrupt-mnist', trainer: 'trainer' } as const;

let scratch: string;
let project: string;
let packed: PackedPackage[];

beforeAll(() => {
  for (const p of PACKAGES) {
    if (!fs.existsSync(path.join(REPO_ROOT, 'packages', p.dir, 'dist', 'index.js')))
      throw new Error(`${p.name} is not built: run \`npm run build\` (npm test does it first)`);
  }
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'dataver-packed-'));
  const tarballs = path.join(scratch, 'tarballs');
  project = path.join(scratch, 'project');
  fs.mkdirSync(tarballs);
  fs.mkdirSync(project);
  packed = packAll(tarballs);
  // tfjs-node is optional and downloads a native library when installed; the trainer runs
  // without it (on wasm), as it does for any user who leaves it out.
  installPacked(project, packed, ['--omit=optional']);
}, 600_000);

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs an installed bin through npm's shim in node_modules/.bin, as `npx` would. */
function bin(name: string, args: string[], cwd: string): Run {
  const shim = path.join(
    project,
    'node_modules',
    '.bin',
    process.platform === 'win32' ? `${name}.cmd` : name,
  );
  const r = spawnSync(shim, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, CI: '' },
    // A .cmd shim only starts through cmd.exe.
    shell: process.platform === 'win32',
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

test('each tarball holds its manifest, README, LICENSE, built code and types, and no tests or build state', () => {
  expect(packed.map((p) => p.name).sort()).toEqual(PACKAGES.map((p) => p.name).sort());
  for (const p of packed) {
    const dir = PACKAGES.find((q) => q.name === p.name)?.dir ?? '';
    const manifest = JSON.parse(
      fs.readFileSync(path.join(REPO_ROOT, 'packages', dir, 'package.json'), 'utf8'),
    ) as { bin?: Record<string, string>; types: string; main: string };
    expect(p.files).toEqual(
      expect.arrayContaining(['package.json', 'README.md', 'LICENSE', manifest.main, manifest.types]),
    );
    for (const file of Object.values(manifest.bin ?? {}))
      expect(p.files).toContain(file.replace(/^\.\//, ''));
    expect(p.files.filter((f) => /(^|\/)(test|__tests__)\/|\.test\.|\.tsbuildinfo$/.test(f))).toEqual([]);
    // Everything the build wrote (code, types, maps, assets such as the trainer's kernels.wasm) ships.
    const dist = path.join(REPO_ROOT, 'packages', dir, 'dist');
    const built = (fs.readdirSync(dist, { recursive: true }) as string[])
      .map((f) => `dist/${f.split(path.sep).join('/')}`)
      .filter(
        (f) => fs.statSync(path.join(REPO_ROOT, 'packages', dir, f)).isFile() && !f.endsWith('.tsbuildinfo'),
      );
    expect(built.filter((f) => !p.files.includes(f))).toEqual([]);
  }
});

test('the packages install as real folders of the project, not links into the repository', () => {
  for (const p of PACKAGES) {
    const dir = path.join(project, 'node_modules', ...p.name.split('/'));
    expect(fs.lstatSync(dir).isSymbolicLink()).toBe(false);
    const resolved = require.resolve(p.name, { paths: [project] });
    expect(path.relative(project, resolved).startsWith('..')).toBe(false);
    const types = (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { types: string })
      .types;
    expect(fs.existsSync(path.join(dir, types))).toBe(true);
  }
});

test('every installed package accepts this Node version (engines)', () => {
  const refusing: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === '.bin') continue;
      const full = path.join(dir, entry.name);
      if (entry.name.startsWith('@')) {
        walk(full);
        continue;
      }
      const manifestFile = path.join(full, 'package.json');
      if (fs.existsSync(manifestFile)) {
        const m = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as {
          name?: string;
          version?: string;
          engines?: { node?: string };
        };
        if (m.engines?.node && !semver.satisfies(process.versions.node, m.engines.node))
          refusing.push(`${m.name}@${m.version} wants node ${m.engines.node}`);
      }
      if (fs.existsSync(path.join(full, 'node_modules'))) walk(path.join(full, 'node_modules'));
    }
  };
  walk(path.join(project, 'node_modules'));
  expect(refusing).toEqual([]);
});

test.each(Object.keys(BINS))('%s --help and --version run from the installed package', (name) => {
  const help = bin(name, ['--help'], project);
  expect(help).toEqual(expect.objectContaining({ code: 0, stdout: expect.stringMatching(/^Usage: /) }));
  const version = bin(name, ['--version'], project);
  expect(version.code).toBe(0);
  expect(version.stdout.trim()).toBe(packed.find((p) => p.name === name)?.version);
});

test('dataver init, add, push, and pull in a fresh clone, from the installed package', () => {
  const work = path.join(scratch, 'work');
  const remote = path.join(scratch, 'remote');
  fs.mkdirSync(path.join(work, 'data', 'nested'), { recursive: true });
  fs.mkdirSync(remote);
  git(work, 'init', '-q', '-b', 'main');
  git(work, 'config', 'user.email', 'test@example.com');
  git(work, 'config', 'user.name', 'Test');
  const files: Record<string, Buffer> = {
    'data/a.bin': Buffer.from('alpha'.repeat(1000)),
    'data/nested/b.txt': Buffer.from('beta\n'),
  };
  for (const [rel, bytes] of Object.entries(files)) fs.writeFileSync(path.join(work, rel), bytes);

  for (const args of [
    ['init'],
    ['add', 'data'],
    ['remote', 'add', 'origin', remote, '--default'],
    ['push'],
  ]) {
    const r = bin('dataver', args, work);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: expect.any(String) });
  }
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'track data');

  const clone = path.join(scratch, 'clone');
  git(scratch, 'clone', '-q', work, clone);
  expect(fs.existsSync(path.join(clone, 'data', 'a.bin'))).toBe(false);
  const pulled = bin('dataver', ['pull'], clone);
  expect(pulled.stderr).toBe('');
  expect(pulled.code).toBe(0);
  for (const [rel, bytes] of Object.entries(files))
    expect(fs.readFileSync(path.join(clone, rel))).toEqual(bytes);
  expect(bin('dataver', ['status', '--exit-code'], clone).code).toBe(0);
});

test('a TypeScript consumer compiles against the published types', () => {
  const consumer = path.join(project, 'consumer.ts');
  fs.writeFileSync(
    consumer,
    [
      "import { DataverError, ExitCode } from '@dataver/foundation';",
      "import { readTensor, type Tensor } from '@dataver/tensor';",
      "import { checkDataLineage } from 'dataver';",
      "import { generate } from 'corrupt-mnist';",
      "import { loadTrainConfig } from 'trainer';",
      'const exit: number = ExitCode.usage;',
      "const error = new DataverError('USAGE', 'x');",
      'const tensor: Promise<Tensor> = readTensor(String(error.exitCode + exit));',
      'export { checkDataLineage, generate, loadTrainConfig, tensor };',
      '',
    ].join('\n'),
  );
  const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(
    process.execPath,
    [
      tsc,
      '--noEmit',
      '--strict',
      '--module',
      'node16',
      '--moduleResolution',
      'node16',
      '--target',
      'es2022',
      '--skipLibCheck',
      '--typeRoots',
      path.join(REPO_ROOT, 'node_modules', '@types'),
      '--types',
      'node',
      consumer,
    ],
    { cwd: project, encoding: 'utf8', timeout: 300_000 },
  );
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
});
