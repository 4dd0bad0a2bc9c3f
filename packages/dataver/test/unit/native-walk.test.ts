// The native walker against the file system itself: every entry, kind and number equal to what
// Node's own lstat reports, in byte order, on a tree with the awkward cases.
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

  test('lists every entry with lstat’s numbers, sorted by bytes', () => {
    const listing = nativeWalk(root);
    if (!listing) throw new Error('the native walker is not built: run `npm run build`');
    const names = listing.names.toString('utf8').split('\0');
    expect(names.pop()).toBe('');
    const expected = (fs.readdirSync(root, { recursive: true }) as string[])
      .map((p) => p.split(path.sep).join('/'))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(names).toEqual(expected);
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

  test('a missing folder throws ENOENT', () => {
    expect(() => nativeWalk(path.join(root, 'nope'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
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
