// The stat cache trusts nothing a clever edit or a crash can leave half-true: entries must match
// size, mtime, ctime and inode, and an entry not older than the cache file is racy (git's rule).
import { promises as fs, utimesSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { recordListing } from '../../src/core/checkout';
import { defaultConfig } from '../../src/core/config';
import { Repo } from '../../src/core/repo';
import { describeListing, isRacy, StatCache } from '../../src/core/stat-cache';
import { listDirectory } from '../../src/core/workspace';

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'dataver-stat-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const hash = 'a'.repeat(64);
const st = (mtimeMs: number, ctimeMs = mtimeMs) => ({ size: 5, mtimeMs, ctimeMs, ino: 7 });

/** Saves `entries` and sets the cache files' mtime to `stampMs`. */
async function savedAt(repo: Repo, stampMs: number, record: (c: StatCache) => void): Promise<void> {
  const cache = await StatCache.load(repo);
  record(cache);
  await cache.save();
  for (const name of ['stat-cache.bin', 'outputs.json']) {
    const file = path.join(repo.stateDir, name);
    await fs.stat(file).then(
      () => utimesSync(file, stampMs / 1000, stampMs / 1000),
      () => undefined,
    );
  }
}

test('isRacy: only strictly older than the cache file is trusted', () => {
  expect(isRacy(999, 1000)).toBe(false);
  expect(isRacy(1000, 1000)).toBe(true);
  expect(isRacy(1001, 1000)).toBe(true);
  expect(isRacy(1, undefined)).toBe(true);
});

test('an entry is trusted when every field matches and it is older than the cache file', async () => {
  const repo = new Repo(root, defaultConfig());
  await savedAt(repo, 2_000_000, (c) => c.record('a.txt', st(1_000_000), hash));
  const cache = await StatCache.load(repo);
  expect(cache.lookup('a.txt', st(1_000_000))).toBe(hash);
  expect(cache.lookup('a.txt', st(1_000_000, 1_500_000))).toBeUndefined(); // ctime moved: an edit
  expect(cache.lookup('a.txt', { ...st(1_000_000), ino: 8 })).toBeUndefined();
});

test('a racy entry (changed in the tick the cache was written) is hashed again, then trusted', async () => {
  const repo = new Repo(root, defaultConfig());
  await savedAt(repo, 1_000_000, (c) => c.record('a.txt', st(1_000_000), hash));
  const cache = await StatCache.load(repo);
  expect(cache.lookup('a.txt', st(1_000_000))).toBeUndefined();
  // After the re-hash, the cache is written again (later), and the entry is old enough.
  cache.record('a.txt', st(1_000_000), hash);
  await cache.save();
  expect((await StatCache.load(repo)).lookup('a.txt', st(1_000_000))).toBe(hash);
});

test('a directory listing is trusted only when its newest file is older than the cache file', async () => {
  const repo = new Repo(root, defaultConfig());
  const files = [
    { rel: 'x', ...st(1_000_000) },
    { rel: 'y', ...st(3_000_000, 3_500_000) },
  ];
  const listing = describeListing(files);
  expect(listing.newest).toBe(3_500_000);
  await savedAt(repo, 3_500_000, (c) => c.recordDir('d', listing, hash));
  expect((await StatCache.load(repo)).lookupDir('d', listing)).toBeUndefined();
  await savedAt(repo, 4_000_000, (c) => c.recordDir('d', listing, hash));
  expect((await StatCache.load(repo)).lookupDir('d', listing)).toBe(hash);
  expect(describeListing([files[0], { ...files[1], ctimeMs: 3_600_000 }]).digest).not.toBe(listing.digest);
});

describe('recordListing: a checkout records a folder only where every file is vouched for', () => {
  const H = 'b'.repeat(64);
  const wanted = [
    { repoPath: 'data/a.txt', hash: 'a'.repeat(64) },
    { repoPath: 'data/b.txt', hash: 'c'.repeat(64) },
  ];
  /** Writes the two files and records each as a checkout does, right after its write. */
  async function checkedOut(repo: Repo): Promise<StatCache> {
    await fs.mkdir(path.join(root, 'data'));
    const cache = await StatCache.load(repo);
    for (const [i, w] of wanted.entries()) {
      const file = repo.abs(w.repoPath);
      await fs.writeFile(file, `file ${i}`);
      cache.record(w.repoPath, await fs.stat(file), w.hash);
    }
    return cache;
  }
  const recorded = (repo: Repo, cache: StatCache) => cache.lookupDir('data', listDirectory(repo, 'data'));

  test('files as written: the listing is recorded with the version', async () => {
    const repo = new Repo(root, defaultConfig());
    const cache = await checkedOut(repo);
    expect(await recordListing(repo, cache, 'data', H, wanted)).toBe(true);
    expect(recorded(repo, cache)).toBe(H);
  });

  test('a file changed after its write (same size): not recorded', async () => {
    const repo = new Repo(root, defaultConfig());
    const cache = await checkedOut(repo);
    await new Promise((resolve) => setTimeout(resolve, 20)); // past the clock tick of the write
    await fs.writeFile(repo.abs('data/b.txt'), 'FILE 1');
    expect(await recordListing(repo, cache, 'data', H, wanted)).toBe(false);
    expect(recorded(repo, cache)).toBeUndefined();
  });

  test('a file the checkout does not know of, or one missing: not recorded', async () => {
    const repo = new Repo(root, defaultConfig());
    const cache = await checkedOut(repo);
    await fs.writeFile(repo.abs('data/c.txt'), 'extra');
    expect(await recordListing(repo, cache, 'data', H, wanted)).toBe(false);
    await fs.rm(repo.abs('data/c.txt'));
    await fs.rm(repo.abs('data/b.txt'));
    expect(await recordListing(repo, cache, 'data', H, wanted)).toBe(false);
  });

  test('a time stamp not older than the clock read before the walk (racy): not recorded', async () => {
    const repo = new Repo(root, defaultConfig());
    await checkedOut(repo);
    // The stat cache holds the file's metadata as it is; only its time stamp is too new to vouch.
    const future = Date.now() / 1000 + 60;
    utimesSync(repo.abs('data/a.txt'), future, future);
    const cache = await StatCache.load(repo);
    for (const w of wanted) cache.record(w.repoPath, await fs.stat(repo.abs(w.repoPath)), w.hash);
    expect(await recordListing(repo, cache, 'data', H, wanted)).toBe(false);
  });
});
