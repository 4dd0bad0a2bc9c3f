// No speed-up may make status call a changed file unchanged: every kind of edit, made right after
// a status that trusted its caches, is reported — with the native walker, without it, and with
// the file-system monitor vouching for the folders.
import * as fs from 'node:fs';
import path from 'node:path';
import { dv, tempRepo, writeFiles } from '../helpers/cli';

type Edit = { name: string; change: (data: string, repo: string) => void; expect: RegExp };

const edits: Edit[] = [
  {
    name: 'append a byte',
    change: (d) => fs.appendFileSync(path.join(d, 'a/1.bin'), 'x'),
    expect: /^M data\/a\/1\.bin$/m,
  },
  {
    name: 'same size, old mtime put back',
    change: (d) => {
      const f = path.join(d, 'a/2.bin');
      const st = fs.statSync(f);
      fs.writeFileSync(f, 'TWO');
      fs.utimesSync(f, st.atime, st.mtime);
    },
    expect: /^M data\/a\/2\.bin$/m,
  },
  {
    name: 'same size at once (racy)',
    change: (d) => fs.writeFileSync(path.join(d, 'b/3.bin'), 'thr'),
    expect: /^M data\/b\/3\.bin$/m,
  },
  { name: 'delete', change: (d) => fs.rmSync(path.join(d, 'b/4.bin')), expect: /^D data\/b\/4\.bin$/m },
  {
    name: 'new file in a new folder',
    change: (d) => writeFiles(d, { 'c/d/e.bin': 'new' }),
    expect: /^A data\/c\/d\/e\.bin$/m,
  },
  {
    name: 'rename',
    change: (d) => fs.renameSync(path.join(d, 'a/1.bin'), path.join(d, 'a/1-renamed.bin')),
    expect: /^A data\/a\/1-renamed\.bin$/m,
  },
  {
    name: 'swap two files of one size',
    change: (d) => {
      const [x, y] = [path.join(d, 'a/2.bin'), path.join(d, 'b/3.bin')];
      fs.renameSync(x, `${x}.swap`);
      fs.renameSync(y, x);
      fs.renameSync(`${x}.swap`, y);
    },
    expect: /^M data\/a\/2\.bin$/m,
  },
  {
    name: 'the target of a symlink edited',
    change: (_d, repo) => fs.writeFileSync(path.join(repo, 'outside.txt'), 'edited target'),
    expect: /^M data\/link\.bin$/m,
  },
];

describe.each([
  ['native walker', {}, false],
  ['JavaScript walker', { DATAVER_NATIVE: '0' }, false],
  ['file-system monitor', {}, true],
])('status with the %s', (_name, env, monitor) => {
  let repo: string;
  let data: string;
  afterAll(() => {
    if (monitor) dv(repo, ['fsmonitor', 'stop']);
  });
  beforeAll(() => {
    repo = tempRepo();
    data = path.join(repo, 'data');
    writeFiles(data, { 'a/1.bin': 'one', 'a/2.bin': 'two', 'b/3.bin': 'THR', 'b/4.bin': 'four' });
    for (let i = 0; i < 50; i++) writeFiles(data, { [`many/${i}.bin`]: `${i}` });
    fs.writeFileSync(path.join(repo, 'outside.txt'), 'target');
    fs.symlinkSync('../outside.txt', path.join(data, 'link.bin'));
    expect(dv(repo, ['add', 'data'], env).code).toBe(0);
    if (monitor) expect(dv(repo, ['fsmonitor', 'start']).code).toBe(0);
  });

  test.each(edits)('$name is reported', ({ change, expect: pattern }) => {
    // Twice: the second status is the one that trusts the caches the first one wrote.
    for (let i = 0; i < 2; i++) expect(dv(repo, ['status', '--porcelain'], env).stdout).toBe('');
    if (monitor) expect(dv(repo, ['status', '-v'], env).stderr).toMatch(/0 folder\(s\) walked/);
    change(data, repo);
    const r = dv(repo, ['status', '--porcelain'], env);
    expect(r.stdout).toMatch(pattern);
    expect(dv(repo, ['status', '--exit-code'], env).code).toBe(1);
    expect(dv(repo, ['add', 'data'], env).code).toBe(0);
  });

  test('files being written (temporary names) are not data', () => {
    writeFiles(data, { 'a/.dv-1-0123456789ab.tmp': 'partial', '.dv-1-0123456789ab.tmp/x.bin': 'partial' });
    expect(dv(repo, ['status', '--porcelain'], env).stdout).toBe('');
  });
});
