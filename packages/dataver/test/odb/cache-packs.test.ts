// Small objects that a pull fetches are kept whole in packs in the local cache
// (.dataver/cache/packs): every command that reads the cache finds them there, through the real CLI.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { cloneOf, dv, git, publishData, sharedRepo, tempDir, writeFiles } from '../helpers/cli';

jest.setTimeout(120_000);

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function expectOk(r: { code: number; stderr: string; stdout?: string }): void {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
}

/** A shared repository (sharedRepo) with `files` added, committed and pushed to both remotes. */
function published(files: Record<string, string>): { repo: string; remote: string; bare: string } {
  const shared = sharedRepo();
  publishData(shared.repo, files);
  return shared;
}

const clone = cloneOf;

function someFiles(n: number, tag = ''): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) files[`data/d${i % 4}/f${i}.txt`] = `${tag}file ${i}\n`.repeat(1 + (i % 9));
  return files;
}

const packsDir = (repo: string) => path.join(repo, '.dataver', 'cache', 'packs');
const packNames = (repo: string) =>
  existsSync(packsDir(repo))
    ? readdirSync(packsDir(repo))
        .filter((n) => n.endsWith('.tar'))
        .sort()
    : [];
const looseObjects = (repo: string) =>
  readdirSync(path.join(repo, '.dataver', 'cache', 'sha256'), { recursive: true })
    .map(String)
    .filter((n) => /^[0-9a-f]{2}[/\\][0-9a-f]{62}$/.test(n));

function expectFiles(repo: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files))
    expect(readFileSync(path.join(repo, rel), 'utf8')).toBe(content);
}

/** Where a pack member's bytes start, by walking the tar headers. */
function memberOffset(pack: Buffer, hash: string): number {
  for (let at = 0; at + 512 <= pack.length; ) {
    const name = pack.toString('ascii', at, at + 64);
    const size = Number.parseInt(pack.toString('ascii', at + 124, at + 135), 8);
    if (name === hash) return at + 512;
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${hash} is not in the pack`);
}

test('a pull keeps small objects in one pack, a plain tar named by its hash, and every reader finds them', () => {
  const files = someFiles(300);
  const { bare } = published(files);
  const copy = clone(bare);
  expectOk(dv(copy, ['pull', '-q']));
  expectFiles(copy, files);

  // One pack and its index; the only loose object is the folder's manifest.
  const [pack, ...more] = packNames(copy);
  expect(more).toEqual([]);
  const packBytes = readFileSync(path.join(packsDir(copy), pack as string));
  expect(pack).toBe(`pack-${sha(packBytes)}.tar`);
  expect(existsSync(path.join(packsDir(copy), (pack as string).replace(/\.tar$/, '.idx')))).toBe(true);
  expect(looseObjects(copy)).toHaveLength(1);
  const members = execFileSync('tar', ['tf', path.join(packsDir(copy), pack as string)], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .sort();
  expect(members).toEqual([...new Set(Object.values(files).map((c) => sha(c)))].sort());

  // status is clean; checkout rebuilds deleted and edited files from the pack; verify rehashes it.
  expect(dv(copy, ['status', '--json']).stdout).not.toMatch(/modified|deleted/);
  const victim = path.join(copy, 'data/d1/f5.txt');
  writeFileSync(victim, 'edited\n');
  expectOk(dv(copy, ['checkout', '--force', '-q']));
  expectFiles(copy, files);
  const verify = dv(copy, ['verify', '--json']);
  expectOk(verify);
  expect(JSON.parse(verify.stdout).checked).toBe(new Set(Object.values(files)).size + 1);
  // diff of the lock against itself reads sizes from the cache, packs included.
  expectOk(dv(copy, ['diff', 'HEAD', '-q']));
});

test('push sends packed objects on to another remote, whole and verified', () => {
  const files = someFiles(120);
  const { bare } = published(files);
  const copy = clone(bare);
  expectOk(dv(copy, ['pull', '-q']));
  expect(packNames(copy)).toHaveLength(1);

  const second = path.join(tempDir(), 'second');
  mkdirSync(second);
  expectOk(dv(copy, ['remote', 'add', 'second', second, '-q']));
  expectOk(dv(copy, ['push', '-r', 'second', '-q']));
  // packThreshold 1 byte: every packed object goes loose to this one.
  const third = path.join(tempDir(), 'third');
  mkdirSync(third);
  expectOk(dv(copy, ['remote', 'add', 'third', third, '-q']));
  expectOk(dv(copy, ['config', 'set', 'remote.third.packThreshold', '1']));
  expectOk(dv(copy, ['push', '-r', 'third', '-q']));

  for (const name of ['second', 'third']) {
    const other = clone(bare);
    const url = name === 'second' ? second : third;
    expectOk(dv(other, ['remote', 'add', name, url, '--default', '-q']));
    expectOk(dv(other, ['pull', '-q']));
    expectFiles(other, files);
  }
  expect(readdirSync(path.join(third, 'objects', 'sha256'), { recursive: true }).length).toBeGreaterThan(100);
});

test('gc rewrites a pack without its garbage; verify --fix drops a damaged member and pull restores it', () => {
  const v1 = someFiles(200);
  const { repo, bare } = published(v1);
  const copy = clone(bare);
  expectOk(dv(copy, ['pull', '-q']));

  // A second version replaces half of the files; the clone pulls it into a second pack.
  const v2 = {
    ...v1,
    ...Object.fromEntries(
      Object.keys(v1)
        .slice(0, 100)
        .map((k) => [k, `new ${k}\n`]),
    ),
  };
  writeFiles(repo, v2);
  expectOk(dv(repo, ['add', 'data', '-q']));
  git(repo, 'commit', '-qam', 'v2');
  expectOk(dv(repo, ['push', '-q']));
  git(repo, 'push', '-q', 'origin', 'main');
  git(copy, 'pull', '-q', '--ff-only');
  expectOk(dv(copy, ['pull', '-q']));
  expectFiles(copy, v2);
  const before = packNames(copy);
  expect(before).toHaveLength(2);

  const dry = JSON.parse(dv(copy, ['gc', '--json']).stdout);
  expect(dry.objects).toBe(101); // 100 old files and the old manifest
  expectOk(dv(copy, ['gc', '--force', '-q']));
  const after = packNames(copy);
  expect(after.filter((p) => before.includes(p))).toHaveLength(1); // the v2 pack is untouched
  expect(after).toHaveLength(2); // the v1 pack was rewritten with its live half
  expect(JSON.parse(dv(copy, ['gc', '--json']).stdout).objects).toBe(0);
  const verified = dv(copy, ['verify', '--json']);
  expectOk(verified);
  expect(JSON.parse(verified.stdout).checked).toBe(new Set(Object.values(v2)).size + 1);
  rmData(copy);
  expectOk(dv(copy, ['checkout', '-q']));
  expectFiles(copy, v2);

  // One byte of one member flipped: verify names it, --fix drops it, pull fetches it again.
  const target = sha(v2['data/d2/f150.txt'] as string);
  const packPath = path.join(
    packsDir(copy),
    packNames(copy).find((p) => readFileSync(path.join(packsDir(copy), p)).includes(target)) as string,
  );
  const at = memberOffset(readFileSync(packPath), target);
  flipByte(packPath, at);
  const bad = dv(copy, ['verify', '--json']);
  expect(bad.code).toBe(3);
  expect(JSON.parse(bad.stdout).error.corrupt).toEqual([target]);
  expect(dv(copy, ['verify', '--fix', '-q']).code).toBe(3);
  expectOk(dv(copy, ['verify', '-q']));
  rmData(copy);
  expectOk(dv(copy, ['pull', '-q']));
  expectFiles(copy, v2);
  expectOk(dv(copy, ['verify', '-q']));
});

test('a truncated or damaged pack index is rebuilt from its pack, never trusted', () => {
  const files = someFiles(80);
  const { bare } = published(files);
  const copy = clone(bare);
  expectOk(dv(copy, ['pull', '-q']));
  const [pack] = packNames(copy);
  const idx = path.join(packsDir(copy), (pack as string).replace(/\.tar$/, '.idx'));
  const good = readFileSync(idx);
  truncateSync(idx, 100);
  rmData(copy);
  expectOk(dv(copy, ['checkout', '-q']));
  expectFiles(copy, files);
  expect(readFileSync(idx)).toEqual(good);

  // An index whose entries point elsewhere (checksum left stale) is rebuilt the same way.
  flipByte(idx, 60);
  rmData(copy);
  expectOk(dv(copy, ['checkout', '-q']));
  expectFiles(copy, files);
  expect(readFileSync(idx)).toEqual(good);

  // A pack that no longer hashes to its name, with its index lost: the member whose bytes changed
  // counts as missing, the others still hash to their names and are used.
  truncateSync(idx, 0);
  const packPath = path.join(packsDir(copy), pack as string);
  const damaged = readFileSync(packPath).toString('ascii', 0, 64); // the first member, at 512…
  flipByte(packPath, 512);
  rmData(copy);
  const checkout = dv(copy, ['checkout']);
  expect(checkout.code).toBe(3);
  const lost = Object.keys(files).filter((rel) => sha(files[rel] as string) === damaged);
  expect(lost).toHaveLength(1);
  expectFiles(copy, Object.fromEntries(Object.entries(files).filter(([rel]) => !lost.includes(rel))));
  const verify = dv(copy, ['verify', '--json']);
  expect(verify.code).toBe(3);
  expect(JSON.parse(verify.stdout).error.damagedPacks).toEqual([(pack as string).slice(5, 69)]);
  // --fix salvages the pack: a new one with the intact members; pull fetches the lost one.
  expect(dv(copy, ['verify', '--fix', '-q']).code).toBe(3);
  const [salvaged, ...others] = packNames(copy);
  expect(others).toEqual([]);
  expect(salvaged).not.toBe(pack);
  expectOk(dv(copy, ['verify', '-q']));
  expectOk(dv(copy, ['pull', '-q']));
  expectFiles(copy, files);
  expectOk(dv(copy, ['verify', '-q']));
});

test('link modes keep objects loose, and a packed object is unpacked when a link needs it', () => {
  const files = someFiles(40);
  const { bare } = published(files);
  const linked = clone(bare);
  expectOk(dv(linked, ['config', 'set', 'cache.link', 'hardlink']));
  expectOk(dv(linked, ['pull', '-q']));
  expectFiles(linked, files);
  expect(packNames(linked)).toEqual([]);
  expect(statSync(path.join(linked, 'data/d0/f0.txt')).nlink).toBe(2);

  const copy = clone(bare);
  expectOk(dv(copy, ['pull', '-q']));
  expect(packNames(copy)).toHaveLength(1);
  expectOk(dv(copy, ['config', 'set', 'cache.link', 'hardlink']));
  rmData(copy);
  expectOk(dv(copy, ['checkout', '-q']));
  expectFiles(copy, files);
  expect(statSync(path.join(copy, 'data/d0/f0.txt')).nlink).toBe(2);

  // Now the object has a loose copy and a packed one; readers take the packed one first, so verify
  // checks it too, and --fix drops only the bad copy.
  const target = sha(files['data/d0/f0.txt'] as string);
  const [pack] = packNames(copy);
  const packPath = path.join(packsDir(copy), pack as string);
  flipByte(packPath, memberOffset(readFileSync(packPath), target));
  const bad = dv(copy, ['verify', '--json']);
  expect(bad.code).toBe(3);
  expect(JSON.parse(bad.stdout).error.corrupt).toEqual([target]);
  expect(dv(copy, ['verify', '--fix', '-q']).code).toBe(3);
  expectOk(dv(copy, ['verify', '-q']));
  expectFiles(copy, files);
});

test('a pack write cut short by a killed process leaves nothing that a later command trusts', () => {
  const files = someFiles(50);
  const { bare } = published(files);
  const copy = clone(bare);
  // What `kill -9` during a pull leaves: the open pack's temporary file, named for a dead process.
  mkdirSync(packsDir(copy), { recursive: true });
  const stale = path.join(packsDir(copy), '.dv-999999-0123456789ab.tmp');
  writeFileSync(stale, Buffer.alloc(4096, 1));
  expectOk(dv(copy, ['pull', '-q']));
  expectFiles(copy, files);
  expect(existsSync(stale)).toBe(false);
  expectOk(dv(copy, ['verify', '-q']));
});

function rmData(repo: string): void {
  rmSync(path.join(repo, 'data'), { recursive: true, force: true });
}

function flipByte(file: string, at: number): void {
  const fd = openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] = (b[0] as number) ^ 0xff;
    writeSync(fd, b, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}
