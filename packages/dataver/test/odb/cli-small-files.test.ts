// Many small files through the real CLI and a folder remote: a pull large enough to place its
// files on several threads, and an index whose segments are merged by size tier.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cloneOf, dv, git, publishData, sharedRepo, writeFiles } from '../helpers/cli';

jest.setTimeout(120_000);

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function expectOk(r: { code: number; stderr: string }): void {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
}

const setUp = sharedRepo;
const clone = cloneOf;

function segments(remote: string): string[] {
  return readdirSync(path.join(remote, 'index'))
    .filter((n) => n.startsWith('seg-'))
    .sort();
}

/** Writes files under the repository, adds and commits them, and pushes data and commits. */
const publish = publishData;

test('a pull and a checkout of thousands of files in many folders write each one whole', () => {
  const { repo, bare } = setUp();
  // Folders of unequal sizes, so the threads' shares are uneven to balance.
  const files: Record<string, string> = {};
  for (let i = 0; i < 1600; i++)
    files[`data/d${i % 7}/${i % 3}/f${i}.txt`] = `file ${i}\n`.repeat(1 + (i % 5));
  publish(repo, files);

  const copy = clone(bare);
  const pulled = dv(copy, ['pull', '--json']);
  expectOk(pulled);
  expect(JSON.parse(pulled.stdout).checkout.restored).toBe(1600);
  for (const [rel, content] of Object.entries(files))
    expect(readFileSync(path.join(copy, rel), 'utf8')).toBe(content);
  // No temporary file of the placement is left in any folder.
  const leftovers = readdirSync(path.join(copy, 'data'), { recursive: true }).filter((n) =>
    String(n).includes('.dv-'),
  );
  expect(leftovers).toEqual([]);
  // Nor of the cache's copies, which another thread wrote while this one placed the files.
  const cacheLeftovers = readdirSync(path.join(copy, '.dataver', 'cache'), { recursive: true }).filter((n) =>
    String(n).includes('.dv-'),
  );
  expect(cacheLeftovers).toEqual([]);
  // The pull vouched for what it wrote: status finds nothing to hash or report.
  const status = dv(copy, ['status', '--json']);
  expectOk(status);
  expect(JSON.stringify(JSON.parse(status.stdout))).not.toMatch(/modified|added|deleted/);
  // A checkout from the cache places the files on several threads, folder by folder.
  rmSync(path.join(copy, 'data'), { recursive: true });
  const restored = dv(copy, ['checkout', '--json']);
  expectOk(restored);
  expect(JSON.parse(restored.stdout).restored).toBe(1600);
  for (const [rel, content] of Object.entries(files))
    expect(readFileSync(path.join(copy, rel), 'utf8')).toBe(content);
  // A second pull has nothing to do.
  const again = dv(copy, ['pull', '--json']);
  expectOk(again);
  expect(JSON.parse(again.stdout).checkout).toMatchObject({ restored: 0, unchanged: 1600 });
});

test('small pushes merge only small index segments; a big one is never rewritten', () => {
  const { repo, remote, bare } = setUp();
  const big: Record<string, string> = {};
  for (let i = 0; i < 600; i++) big[`data/big/f${i}.txt`] = `big ${i}\n`;
  writeFiles(repo, big);
  expectOk(dv(repo, ['add', 'data/big', '-q']));
  expectOk(dv(repo, ['push', '-q']));
  const [bigSegment] = segments(remote);
  expect(segments(remote)).toHaveLength(1);

  const small: Record<string, string> = {};
  for (let i = 0; i < 9; i++) {
    const rel = `data/small${i}.txt`;
    small[rel] = `small ${i}\n`;
    writeFiles(repo, { [rel]: small[rel] as string });
    expectOk(dv(repo, ['add', rel, '-q']));
    expectOk(dv(repo, ['push', '-q']));
  }
  // Eight one-entry segments became one; the ninth waits for its tier to fill.
  const after = segments(remote);
  expect(after).toHaveLength(3);
  expect(after).toContain(bigSegment);

  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'data');
  git(repo, 'push', '-q', 'origin', 'main');
  const copy = clone(bare);
  const status = dv(copy, ['status', '--remote', '--json']);
  expectOk(status);
  expectOk(dv(copy, ['pull', '-q']));
  for (const [rel, content] of Object.entries({ ...big, ...small }))
    expect(sha(readFileSync(path.join(copy, rel)))).toBe(sha(content));
});

// In a link mode the cache's copies are loose files: 600 files are written by a worker thread, in
// batches; 40 by the pull's own thread when it finishes. In the copy modes they go into a pack.
// Either way a write that fails fails the pull, naming what is in the way.
test.each([
  ['hardlink', 600],
  ['hardlink', 40],
  ['reflink', 600],
])(
  'a pull (%s) of %i files into a cache with a file where an object folder belongs fails naming it; the next pull completes',
  (link, count) => {
    const { repo, bare } = setUp();
    const files: Record<string, string> = {};
    for (let i = 0; i < count; i++) files[`data/d${i % 4}/f${i}.txt`] = `blocked ${i}\n`;
    publish(repo, files);

    const copy = clone(bare);
    expectOk(dv(copy, ['config', 'set', 'cache.link', link]));
    const hash = sha('blocked 0\n');
    const cache = path.join(copy, '.dataver', 'cache');
    const blocker =
      link === 'hardlink' ? path.join(cache, 'sha256', hash.slice(0, 2)) : path.join(cache, 'packs');
    mkdirSync(path.dirname(blocker), { recursive: true });
    writeFileSync(blocker, 'in the way\n');
    // (Another object of that folder may be the one named.)
    const failed = dv(copy, ['pull']);
    expect(failed.code).toBe(3);
    const named = link === 'hardlink' ? `sha256/${hash.slice(0, 2)}/[0-9a-f]{62}` : 'packs';
    expect(failed.stderr).toMatch(
      new RegExp(`^error: cannot write \\S*${named}: something else is in the way`),
    );
    expect(failed.stderr).not.toMatch(/internal error|\n\s+at /);
    // Nothing claims that the missing object is there.
    expect(dv(copy, ['status']).stdout).toMatch(/not in cache\s+data/);

    rmSync(blocker);
    expectOk(dv(copy, ['pull', '-q']));
    expectOk(dv(copy, ['verify', '-q']));
    for (const [rel, content] of Object.entries(files))
      expect(readFileSync(path.join(copy, rel), 'utf8')).toBe(content);
    expect(dv(copy, ['status']).stdout).toMatch(/up to date/);
  },
);
