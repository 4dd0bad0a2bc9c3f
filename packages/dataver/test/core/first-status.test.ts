// The first status after a pull: the checkout records the folder's listing, so that status takes
// the no-op path at once, but only where the stat cache may vouch for every file in it. An edit
// after the pull, or a file made from an object nobody verified, is still read again.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { commitAll, dv, dvOk, git, tempDir, tempRepo, writeFiles } from '../helpers/cli';

const FILES: Record<string, string> = {};
for (let i = 0; i < 40; i++) FILES[`data/${i % 4}/f${i}.txt`] = `file ${i}\n`.repeat(1 + i);

/** A repository with a folder output pushed to a folder remote, and a fresh clone of it. */
function pushedRepo(): { dir: string; clone: string } {
  const dir = tempRepo();
  writeFiles(dir, FILES);
  dvOk(dir, ['add', 'data']);
  const remote = path.join(tempDir(), 'remote');
  mkdirSync(remote);
  dvOk(dir, ['remote', 'add', 'origin', remote, '--default']);
  dvOk(dir, ['push']);
  commitAll(dir);
  const clone = path.join(tempDir(), 'clone');
  git(path.dirname(clone), 'clone', '-q', dir, clone);
  return { dir, clone };
}

/** What `status --verbose` says of the folder `data`: the no-op path, or how many files it read. */
function statusOfData(clone: string): { code: number; path: string; stdout: string } {
  const r = dv(clone, ['status', '--verbose', '--exit-code'], { DATAVER_FSMONITOR: '0' });
  const line = r.stderr.split('\n').find((l) => l.startsWith('data: ')) ?? '(no line about data)';
  return { code: r.code, path: line, stdout: r.stdout };
}

const lockedHash = (clone: string) =>
  (
    JSON.parse(readFileSync(path.join(clone, 'data.lock.json'), 'utf8')) as {
      outputs: Record<string, { hash: string }>;
    }
  ).outputs.data?.hash;

describe('the first status after a pull', () => {
  it('takes the no-op path: the listing is recorded with the locked version, the objects marked', () => {
    const { clone } = pushedRepo();
    dvOk(clone, ['pull']);
    const outputs = JSON.parse(readFileSync(path.join(clone, '.dataver/state/outputs.json'), 'utf8')) as {
      dirs: Record<string, [string, string, number]>;
    };
    expect(outputs.dirs.data?.[1]).toBe(lockedHash(clone));
    const marks = readFileSync(path.join(clone, '.dataver/cache/complete-dirs.json'), 'utf8');
    expect(marks).toContain(lockedHash(clone));
    expect(statusOfData(clone)).toMatchObject({
      code: 0,
      path: 'data: listing as recorded, no file looked up',
    });
  });

  it('after a pull that wrote some files and kept the rest, also takes the no-op path', () => {
    const { dir, clone } = pushedRepo();
    dvOk(clone, ['pull']);
    writeFiles(dir, { 'data/0/f0.txt': 'changed upstream\n', 'data/new.txt': 'new\n' });
    unlinkSync(path.join(dir, 'data/1/f1.txt'));
    dvOk(dir, ['add', 'data']);
    dvOk(dir, ['push']);
    commitAll(dir, 'v2');
    git(clone, 'pull', '-q');
    const pulled = JSON.parse(dvOk(clone, ['pull', '--json']).stdout) as {
      checkout: { restored: number; unchanged: number; removed: number };
    };
    expect(pulled.checkout).toMatchObject({ restored: 2, removed: 1, unchanged: 38 });
    expect(statusOfData(clone)).toMatchObject({
      code: 0,
      path: 'data: listing as recorded, no file looked up',
    });
  });

  it('reports a file edited right after the pull (same size, same second) as modified', () => {
    const { clone } = pushedRepo();
    dvOk(clone, ['pull']);
    const file = path.join(clone, 'data/2/f6.txt');
    const before = statSync(file);
    writeFileSync(file, readFileSync(file, 'utf8').replace('file 6', 'FILE 6'));
    const second = Math.floor(before.mtimeMs / 1000);
    // Where the clock crossed into the next second since the pull's write, the edit is moved back.
    if (Math.floor(statSync(file).mtimeMs / 1000) !== second)
      utimesSync(file, before.atime, new Date(second * 1000 + 999));
    expect(statSync(file).size).toBe(before.size);
    expect(Math.floor(statSync(file).mtimeMs / 1000)).toBe(second);
    expect(statusOfData(clone)).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/modified.*f6\.txt/),
    });
  });

  it('reports an edit whose mtime was set back to the written one as modified', () => {
    const { clone } = pushedRepo();
    dvOk(clone, ['pull']);
    const file = path.join(clone, 'data/3/f7.txt');
    const before = statSync(file);
    writeFileSync(file, readFileSync(file, 'utf8').replace('file 7', 'file X'));
    utimesSync(file, before.atime, before.mtime);
    // utimes keeps microseconds: the mtime is the written one to within a millisecond.
    expect(statSync(file).size).toBe(before.size);
    expect(Math.abs(statSync(file).mtimeMs - before.mtimeMs)).toBeLessThan(1);
    expect(statusOfData(clone)).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/modified.*f7\.txt/),
    });
  });

  it('does not vouch for files a checkout made from objects it did not verify (a damaged cache object)', () => {
    const { clone } = pushedRepo();
    dvOk(clone, ['pull']);
    const file = path.join(clone, 'data/0/f4.txt');
    const hash = createHash('sha256').update(readFileSync(file)).digest('hex');
    // The pull kept the small objects in a pack: its member (header named by the hash) is damaged.
    const packs = path.join(clone, '.dataver/cache/packs');
    const pack = path.join(packs, readdirSync(packs).find((n) => n.endsWith('.tar')) as string);
    chmodSync(pack, 0o644);
    const bytes = readFileSync(pack);
    const member = bytes.indexOf(hash);
    expect(member).toBeGreaterThanOrEqual(0);
    bytes[member + 512] ^= 0x20; // same size, other bytes: only reading them can tell
    writeFileSync(pack, bytes);
    unlinkSync(file);
    dvOk(clone, ['checkout', 'data']);
    const status = statusOfData(clone);
    expect(status).toMatchObject({ code: 1, stdout: expect.stringMatching(/modified.*f4\.txt/) });
    expect(status.path).toMatch(/^data: listing not as recorded, 40 files looked up, 1 hashed$/);
  });
});
