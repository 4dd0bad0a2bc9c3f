// docs/recover.md's Python script, taken from the page, restores a commit's data without
// dataver from remotes that dataver really pushed: a folder, and a GCS emulator bucket copied
// to disk. Every restored file must be the original, byte for byte, for packed small objects,
// loose large ones, files and directories; a damaged object is named and the rest restored.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dv, tempDir, tempRepo, writeFiles } from '../helpers/cli';
import { REPO_ROOT, useGcsEmulator } from '../helpers/gcs-emulator';

const { locatePython } = require(path.join(REPO_ROOT, 'scripts', 'lib', 'tools.js')) as {
  locatePython(modules: string[]): { path?: string; hint?: string };
};

const emulator = useGcsEmulator();

/** The script of docs/recover.md: the python block after its `recover.py` marker. */
function scriptFromDocs(): string {
  const page = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'recover.md'), 'utf8');
  const match = /<!-- recover\.py[^>]*-->\s*```python\n([\s\S]*?)```/.exec(page);
  if (!match?.[1]) throw new Error('docs/recover.md has no recover.py block');
  const file = path.join(tempDir('recover-script-'), 'recover.py');
  fs.writeFileSync(file, match[1]);
  return file;
}

function python(): string {
  const found = locatePython([]);
  if (!found.path) throw new Error(`the recovery script needs Python 3; install it with: ${found.hint}`);
  return found.path;
}

/** The tracked data: many small files (packed), one large (loose), nested folders, a single file. */
function dataFiles(): Record<string, Buffer> {
  const files: Record<string, Buffer> = {
    'data/big.bin': randomBytes(1536 * 1024),
    'data/single.txt': Buffer.from('one tracked file\n'),
  };
  for (let i = 0; i < 120; i++) files[`data/small/part-${i % 4}/f${i}.bin`] = randomBytes(100 + i * 37);
  files['data/small/empty.txt'] = Buffer.alloc(0);
  return files;
}

function trackedRepo(files: Record<string, Buffer>): string {
  const repo = tempRepo();
  writeFiles(repo, files);
  const r = dv(repo, ['add', 'data/small', 'data/big.bin', 'data/single.txt', '-q']);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return repo;
}

function recover(
  remoteCopy: string,
  lock: string,
): { code: number; stdout: string; stderr: string; dest: string } {
  const dest = tempDir('recovered-');
  const r = spawnSync(python(), [scriptFromDocs(), remoteCopy, lock, dest], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, dest };
}

function expectRestored(dest: string, files: Record<string, Buffer>, except: string[] = []): void {
  // Buffer.equals, not toEqual: jest compares buffers element by element, seconds per MiB.
  const differing = Object.entries(files)
    .filter(([rel]) => !except.includes(rel))
    .filter(([rel, bytes]) => !fs.readFileSync(path.join(dest, ...rel.split('/'))).equals(bytes))
    .map(([rel]) => rel);
  expect(differing).toEqual([]);
}

/** The data, tracked and pushed to a fresh folder remote. */
function pushedToFolder(files: Record<string, Buffer>): { repo: string; remote: string } {
  const repo = trackedRepo(files);
  const remote = tempDir('remote-');
  for (const args of [
    ['remote', 'add', 'origin', remote, '--default'],
    ['push', '-q'],
  ]) {
    expect(dv(repo, args).code).toBe(0);
  }
  return { repo, remote };
}

test('from a folder remote: packs (plain tar) and loose objects give back every file', () => {
  const files = dataFiles();
  const { repo, remote } = pushedToFolder(files);
  // Both kinds of storage are exercised.
  expect(fs.readdirSync(path.join(remote, 'packs')).some((f) => f.endsWith('.tar'))).toBe(true);
  expect(fs.readdirSync(path.join(remote, 'objects', 'sha256')).length).toBeGreaterThan(0);

  const r = recover(remote, path.join(repo, 'data.lock.json'));
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/restored 123 files of 3 outputs/);
  expectRestored(r.dest, files);
});

test("from a clone's cache, packs of a pull included, linked in as the page shows", () => {
  const files = dataFiles();
  const { repo, remote } = pushedToFolder(files);
  const clone = tempDir('clone-');
  spawnSync('git', ['init', '-q', clone]);
  fs.copyFileSync(path.join(repo, 'data.lock.json'), path.join(clone, 'data.lock.json'));
  for (const args of [
    ['init', '-q'],
    ['remote', 'add', 'origin', remote, '--default'],
    ['pull', '-q'],
  ]) {
    const r = dv(clone, args);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  }
  expect(fs.readdirSync(path.join(clone, '.dataver', 'cache', 'packs')).some((f) => f.endsWith('.tar'))).toBe(
    true,
  );
  // The page's shell lines, run from the clone.
  const page = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'recover.md'), 'utf8');
  const lines = /```bash\n(mkdir -p cache-copy[\s\S]*?)```/.exec(page)?.[1];
  expect(lines).toBeDefined();
  const shell = spawnSync('bash', ['-e', '-c', lines as string], { cwd: clone, encoding: 'utf8' });
  expect(shell.stderr).toBe('');
  const r = recover(path.join(clone, 'cache-copy'), path.join(clone, 'data.lock.json'));
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expectRestored(r.dest, files);
});

test('a damaged object is named with the path that needs it, and everything else is restored', () => {
  const files = dataFiles();
  const { repo, remote } = pushedToFolder(files);
  const lock = JSON.parse(fs.readFileSync(path.join(repo, 'data.lock.json'), 'utf8')) as {
    outputs: Record<string, { hash: string }>;
  };
  const big = lock.outputs['data/big.bin']?.hash ?? '';
  const loose = path.join(remote, 'objects', 'sha256', big.slice(0, 2), big.slice(2));
  fs.chmodSync(loose, 0o644);
  const bytes = fs.readFileSync(loose);
  bytes[1000] = (bytes[1000] ?? 0) ^ 0xff;
  fs.writeFileSync(loose, bytes);

  const r = recover(remote, path.join(repo, 'data.lock.json'));
  expect(r.code).toBe(1);
  expect(r.stderr.trim()).toBe(`corrupt object ${big} (data/big.bin)`);
  expect(fs.existsSync(path.join(r.dest, 'data', 'big.bin'))).toBe(false);
  expectRestored(r.dest, files, ['data/big.bin']);
});

test('from a GCS bucket (the emulator), copied to disk as gcloud storage cp -r would', async () => {
  const files = dataFiles();
  const repo = trackedRepo(files);
  const prefix = `datasets/${randomBytes(4).toString('hex')}`;
  const env = { STORAGE_EMULATOR_HOST: emulator().endpoint };
  for (const args of [
    ['remote', 'add', 'gcs', `gs://recover-test/${prefix}`, '--default'],
    ['push', '-q'],
  ]) {
    const r = dv(repo, args, env);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  }
  const { Storage } = require('@google-cloud/storage') as typeof import('@google-cloud/storage');
  const bucket = new Storage({ apiEndpoint: emulator().endpoint, projectId: 'demo-test' }).bucket(
    'recover-test',
  );
  const [objects] = await bucket.getFiles({ prefix: `${prefix}/` });
  const copy = tempDir('remote-copy-');
  for (const object of objects) {
    const target = path.join(copy, ...object.name.slice(prefix.length + 1).split('/'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const [content] = await object.download();
    fs.writeFileSync(target, content);
  }
  expect(fs.existsSync(path.join(copy, 'packs'))).toBe(true);

  const r = recover(copy, path.join(repo, 'data.lock.json'));
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expectRestored(r.dest, files);
});
