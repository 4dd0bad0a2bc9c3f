// The stat cache trusts nothing a clever edit or a crash can leave half-true: entries must match
// size, mtime, ctime and inode, and an entry not older than the cache file is racy (git's rule).
import { promises as fs, utimesSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultConfig } from '../../src/core/config';
import { Repo } from '../../src/core/repo';
import { describeListing, isRacy, StatCache } from '../../src/core/stat-cache';

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
