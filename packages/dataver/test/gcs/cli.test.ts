// The real CLI against the GCS emulator: push from one clone, pull in a fresh
// clone (byte-identical), a deleted remote object fails pull with exit 3 and
// its path, and kill -9 during push leaves a remote that the next push completes.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { looseKey } from '../../src/odb/remote-index';
import { GcsStorage } from '../../src/storage/gcs';
import { dv, dvSpawn, git, tempDir, tempRepo, writeFiles } from '../helpers/cli';
import { useGcsEmulator } from '../helpers/gcs-emulator';

const emulator = useGcsEmulator();
const MiB = 1024 * 1024;
// No ambient credentials or emulator settings may leak into these runs.
const env = { STORAGE_EMULATOR_HOST: '', DATAVER_GCS_CREDENTIALS: '', GOOGLE_APPLICATION_CREDENTIALS: '' };

function ok(cwd: string, args: string[]): string {
  const r = dv(cwd, args, env);
  if (r.code !== 0) throw new Error(`dataver ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A repo with tracked data and a GCS remote under a fresh prefix; returns the repo and the prefix. */
function repoWithData(files: Record<string, Buffer>): { dir: string; url: string } {
  const dir = tempRepo();
  writeFiles(dir, files);
  ok(dir, ['add', 'data']);
  const url = `gs://dataver-cli/${randomBytes(4).toString('hex')}`;
  ok(dir, ['remote', 'add', 'origin', url, '--default']);
  ok(dir, ['config', 'set', 'remote.origin.endpoint', emulator().endpoint]);
  return { dir, url };
}

function commitAndClone(dir: string): string {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'data');
  const clone = path.join(tempDir(), 'clone');
  git(path.dirname(clone), 'clone', '-q', dir, clone);
  return clone;
}

function someFiles(smallCount: number, largeSizes: number[]): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < smallCount; i++) files[`data/small/${i}.bin`] = randomBytes(2000 + (i % 50) * 40);
  largeSizes.forEach((size, i) => {
    files[`data/large-${i}.bin`] = randomBytes(size);
  });
  return files;
}

function expectSameFiles(files: Record<string, Buffer>, root: string): void {
  for (const [rel, content] of Object.entries(files)) {
    expect(readFileSync(path.join(root, rel)).equals(content)).toBe(true);
  }
}

describe('dataver CLI with a GCS remote (emulator)', () => {
  test('push, then pull in a fresh clone: byte-identical', () => {
    const files = someFiles(120, [9 * MiB, 1.5 * MiB]);
    const { dir } = repoWithData(files);
    const pushed = JSON.parse(ok(dir, ['push', '--json']));
    expect(pushed).toMatchObject({ uploaded: expect.any(Number), skipped: 0 });
    expect(ok(dir, ['remote', 'test', 'origin'])).toMatch(/none \(emulator\)/);
    const clone = commitAndClone(dir);
    ok(clone, ['pull']);
    expectSameFiles(files, clone);
    // Nothing left to send; the remote verifies clean.
    expect(JSON.parse(ok(dir, ['push', '--json']))).toMatchObject({ uploaded: 0 });
    ok(clone, ['verify', '--remote', 'origin']);
  });

  test('pull exits 3 and names the file whose object was deleted from the bucket', async () => {
    const files = someFiles(5, [2 * MiB]);
    const { dir, url } = repoWithData(files);
    ok(dir, ['push']);
    const hash = (await import('node:crypto'))
      .createHash('sha256')
      .update(files['data/large-0.bin'])
      .digest('hex');
    const storage = new GcsStorage({ url, endpoint: emulator().endpoint, env: {} });
    await storage.delete(looseKey(hash));
    const clone = commitAndClone(dir);
    const r = dv(clone, ['pull'], env);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('data/large-0.bin');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  test('kill -9 during push, then push again: completes, and the remote is consistent', async () => {
    const files = someFiles(800, [9 * MiB, 9 * MiB, 3 * MiB]);
    const { dir } = repoWithData(files);
    let killed = 0;
    for (const delay of [350, 550, 800]) {
      const child = dvSpawn(dir, ['push'], { env: { ...process.env, ...env } });
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, delay));
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        killed++;
      }
      await exited;
    }
    expect(killed).toBeGreaterThan(0);
    ok(dir, ['push']);
    ok(dir, ['verify', '--remote', 'origin']);
    const clone = commitAndClone(dir);
    ok(clone, ['pull']);
    expectSameFiles(files, clone);
  });
});
