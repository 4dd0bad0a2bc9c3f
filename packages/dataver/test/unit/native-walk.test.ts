// The native walker against the file system itself: every entry, kind and number equal to what
// Node's own lstat reports, on a tree with the awkward cases; and its digest, which a no-op
// status trusts: equal for the same tree on any thread count, different after any change.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  KIND_DIR,
  KIND_FILE,
  KIND_SYMLINK,
  META,
  nativeWalk,
  nativeWalkAvailable,
} from '../../src/util/native-walk';

const optional = process.platform === 'win32';
if (optional)
  console.log('native walker tests skipped: the native walker is not built on Windows (optional)');
const maybe = optional ? describe.skip : describe;

maybe('native walker', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dataver-walk-'));
    const files: Record<string, string> = {
      'a.bin': 'a',
      'empty.bin': '',
      'b/c/d.bin': 'deep',
      'b/é-ü.bin': 'unicode',
      'b/.dv-1-abcdef.tmp/x.bin': 'temp',
      'z/1.bin': '1',
    };
    for (let i = 0; i < 300; i++) files[`many/f${i}.bin`] = `${i}`;
    for (const [rel, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), content);
    }
    fs.symlinkSync('a.bin', path.join(root, 'link.bin'));
    fs.mkdirSync(path.join(root, 'emptydir'));
    execFileSync('mkfifo', [path.join(root, 'pipe')]);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test('is built', () => {
    if (!nativeWalkAvailable())
      throw new Error(
        'the native walker is not built: run `npm run build` (it needs a C compiler: apt-get install -y gcc)',
      );
  });

  const walk = (dir = root, threads?: number) => {
    const listing = nativeWalk(dir, threads);
    if (!listing) throw new Error('the native walker is not built: run `npm run build`');
    return listing;
  };
  const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

  test('lists every entry with lstat’s numbers', () => {
    const listing = walk();
    const names = listing.names.toString('utf8').split('\0');
    expect(names.pop()).toBe('');
    const expected = (fs.readdirSync(root, { recursive: true }) as string[])
      .map((p) => p.split(path.sep).join('/'))
      .sort(byBytes);
    expect([...names].sort(byBytes)).toEqual(expected);
    expect(listing.meta.length).toBe(names.length * META);
    names.forEach((rel, i) => {
      const st = fs.lstatSync(path.join(root, rel));
      const m = Array.from(listing.meta.subarray(i * META, (i + 1) * META));
      const kind = st.isFile()
        ? KIND_FILE
        : st.isDirectory()
          ? KIND_DIR
          : st.isSymbolicLink()
            ? KIND_SYMLINK
            : 4;
      expect([rel, m[0]]).toEqual([rel, kind]);
      if (kind === KIND_FILE)
        expect([rel, ...m.slice(1)]).toEqual([
          rel,
          st.size,
          st.mtimeMs,
          st.ctimeMs,
          st.ino,
          st.dev,
          st.nlink,
        ]);
    });
  });

  test('newest is the latest file time stamp; links says a symlink was met', () => {
    const listing = walk();
    let newest = 0;
    for (let m = 0; m < listing.meta.length; m += META)
      if (listing.meta[m] === KIND_FILE)
        newest = Math.max(newest, listing.meta[m + 2] as number, listing.meta[m + 3] as number);
    expect(listing.newest).toBe(newest);
    expect(listing.links).toBe(true);
    expect(walk(path.join(root, 'many')).links).toBe(false);
  });

  describe('digest', () => {
    let tree: string;
    beforeEach(() => {
      tree = fs.mkdtempSync(path.join(os.tmpdir(), 'dataver-walk-digest-'));
      for (let d = 0; d < 20; d++)
        for (let i = 0; i < 30; i++) {
          fs.mkdirSync(path.join(tree, `d${d}`), { recursive: true });
          fs.writeFileSync(path.join(tree, `d${d}`, `f${i}.bin`), `${d}/${i}`);
        }
    });
    afterEach(() => fs.rmSync(tree, { recursive: true, force: true }));

    test('is the same for the same tree on 1, 2, 3 and 8 threads (the threads finish in any order)', () => {
      const digests = [1, 2, 3, 8, 8, 2].map((t) => walk(tree, t).digest);
      expect(new Set(digests).size).toBe(1);
      expect(digests[0]).toMatch(/^[0-9a-f]{32}-620$/); // 600 files and 20 folders
    });

    const file = () => path.join(tree, 'd7', 'f3.bin');
    const changes: [string, () => void][] = [
      [
        'content of the same size, same mtime (a new ctime)',
        () => {
          const st = fs.statSync(file());
          fs.writeFileSync(file(), '7/9');
          fs.utimesSync(file(), st.atime, st.mtime);
        },
      ],
      ['mtime alone', () => fs.utimesSync(file(), new Date(0), new Date(1_000_000))],
      ['size', () => fs.appendFileSync(file(), 'x')],
      ['a new file', () => fs.writeFileSync(path.join(tree, 'd7', 'new.bin'), '')],
      ['a new empty folder', () => fs.mkdirSync(path.join(tree, 'd7', 'sub'))],
      ['a deleted file', () => fs.rmSync(file())],
      ['a rename', () => fs.renameSync(file(), path.join(tree, 'd7', 'f3.bim'))],
      ['a move to another folder', () => fs.renameSync(file(), path.join(tree, 'd8', 'f3.bin'))],
      [
        'two files swapping names',
        () => {
          const other = path.join(tree, 'd7', 'f4.bin');
          fs.renameSync(file(), `${file()}.swap`);
          fs.renameSync(other, file());
          fs.renameSync(`${file()}.swap`, other);
        },
      ],
      [
        'a file replaced by a folder',
        () => {
          fs.rmSync(file());
          fs.mkdirSync(file());
        },
      ],
      [
        'a file replaced by a symlink',
        () => {
          fs.rmSync(file());
          fs.symlinkSync('f4.bin', file());
        },
      ],
    ];
    test.each(changes)('changes with %s', (_, change) => {
      const before = walk(tree).digest;
      change();
      expect(walk(tree).digest).not.toBe(before);
    });
  });

  test('a missing folder throws ENOENT', () => {
    expect(() => walk(path.join(root, 'nope'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  test('an unreadable folder throws, never lists it as empty', () => {
    if (process.getuid?.() === 0) {
      // root reads every folder; a file where a folder is expected still fails
      expect(() => nativeWalk(path.join(root, 'a.bin'))).toThrow(
        expect.objectContaining({ code: 'ENOTDIR' }),
      );
      return;
    }
    const locked = path.join(root, 'locked');
    fs.mkdirSync(locked);
    fs.chmodSync(locked, 0);
    try {
      expect(() => nativeWalk(root)).toThrow(expect.objectContaining({ code: 'EACCES' }));
    } finally {
      fs.chmodSync(locked, 0o755);
    }
  });
});
