// kill -9 at random moments of add, checkout and push: afterwards the
// repository is consistent (valid lock, no corrupt objects, no half files)
// and the next command completes.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { dv, dvSpawn, git, tempDir, tempRepo, writeFiles } from '../helpers/cli';

const ROUNDS = 6;

function payload(): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 1500; i++)
    files[`data/${i % 20}/f${i}.bin`] = Buffer.alloc(512 + ((i * 7919) % 6000), i % 251);
  for (let i = 0; i < 3; i++) files[`data/big${i}.bin`] = Buffer.alloc(6 << 20, i + 1);
  return files;
}

/** Starts a command and kills it with SIGKILL after a random delay (or lets it finish). */
async function killSomewhere(cwd: string, args: string[], maxDelayMs: number): Promise<void> {
  const child = dvSpawn(cwd, args);
  const delay = 20 + Math.floor(Math.random() * maxDelayMs);
  const timer = setTimeout(() => child.kill('SIGKILL'), delay);
  await new Promise((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
}

/** The invariants that must hold after any crash. */
function expectConsistent(dir: string): void {
  const status = dv(dir, ['status', '--json']);
  expect([0, 1]).toContain(status.code); // never a parse error or an internal error
  const verify = dv(dir, ['verify', '--json']);
  expect(verify.stderr).toBe('');
  expect(verify.code).toBe(0);
}

describe('kill -9', () => {
  it('during add: lock valid, cache intact, the next add completes', async () => {
    const dir = tempRepo();
    const files = payload();
    writeFiles(dir, files);
    for (let round = 0; round < ROUNDS; round++) {
      await killSomewhere(dir, ['add', 'data'], 600);
      expectConsistent(dir);
    }
    expect(dv(dir, ['add', 'data']).code).toBe(0);
    expect(dv(dir, ['status', '--exit-code']).code).toBe(0);
    // The killed adds' temporary files are gone: every command removes those of dead processes.
    for (const folder of ['.dataver/cache/sha256', '.dataver/tmp', '.dataver/state', '.']) {
      expect(readdirSync(path.join(dir, folder)).filter((n) => /^\.dv-\d+-[0-9a-f]+\.tmp$/.test(n))).toEqual(
        [],
      );
    }
    expect(dv(dir, ['gc', '--force']).code).toBe(0);
    expect(dv(dir, ['verify']).code).toBe(0);
  });

  it('during checkout: files are whole or absent, and the next checkout completes', async () => {
    const dir = tempRepo();
    const files = payload();
    writeFiles(dir, files);
    expect(dv(dir, ['add', 'data']).code).toBe(0);
    for (let round = 0; round < ROUNDS; round++) {
      rmSync(path.join(dir, 'data'), { recursive: true, force: true });
      await killSomewhere(dir, ['checkout'], 500);
      for (const [rel, content] of Object.entries(files)) {
        const p = path.join(dir, rel);
        if (existsSync(p)) expect(readFileSync(p).equals(content)).toBe(true);
      }
      expectConsistent(dir);
    }
    expect(dv(dir, ['checkout']).code).toBe(0);
    expect(dv(dir, ['status', '--exit-code']).code).toBe(0);
  });

  it('during push: push again completes and a fresh clone pulls identical data', async () => {
    const dir = tempRepo();
    const files = payload();
    writeFiles(dir, files);
    expect(dv(dir, ['add', 'data']).code).toBe(0);
    const remote = path.join(tempDir(), 'remote');
    mkdirSync(remote);
    expect(dv(dir, ['remote', 'add', 'origin', remote, '--default']).code).toBe(0);
    for (let round = 0; round < ROUNDS; round++) await killSomewhere(dir, ['push'], 400);
    const push = dv(dir, ['push', '--json']);
    expect(push.code).toBe(0);
    expect(dv(dir, ['verify', '--remote', 'origin']).code).toBe(0);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'data');
    const clone = tempDir();
    git(clone, 'clone', '-q', dir, '.');
    expect(dv(clone, ['pull']).code).toBe(0);
    for (const [rel, content] of Object.entries(files))
      expect(readFileSync(path.join(clone, rel)).equals(content)).toBe(true);
  });
});
