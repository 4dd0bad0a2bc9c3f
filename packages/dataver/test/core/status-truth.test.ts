// No speed-up may make status call a changed file unchanged: every kind of edit, made right after
// a status that trusted its caches, is reported — with the native walker, without it, and with
// the file-system monitor vouching for the folders (and reading only the changed paths).
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
    expect: /^M links\/link\.bin$/m,
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
    // Symlinks in a folder of their own: a folder holding one is always walked.
    writeFiles(path.join(repo, 'links'), { 'plain.bin': 'plain' });
    fs.writeFileSync(path.join(repo, 'outside.txt'), 'target');
    fs.symlinkSync('../outside.txt', path.join(repo, 'links/link.bin'));
    expect(dv(repo, ['add', 'data', 'links'], env).code).toBe(0);
    if (monitor) expect(dv(repo, ['fsmonitor', 'start']).code).toBe(0);
  });

  test.each(edits)('$name is reported', ({ change, expect: pattern }) => {
    // Twice: the second status is the one that trusts the caches the first one wrote.
    for (let i = 0; i < 2; i++) expect(dv(repo, ['status', '--porcelain'], env).stdout).toBe('');
    if (monitor) expect(dv(repo, ['status', '-v'], env).stderr).toMatch(/1 folder\(s\) walked, 0 read/);
    change(data, repo);
    const r = dv(repo, ['status', '--porcelain', '-v'], env);
    expect(r.stdout).toMatch(pattern);
    if (monitor && pattern.source.includes('data'))
      expect(r.stderr).toMatch(/1 folder\(s\) walked, 1 read at the changed paths only/);
    expect(dv(repo, ['status', '--exit-code'], env).code).toBe(1);
    expect(dv(repo, ['add', 'data', 'links'], env).code).toBe(0);
  });

  test('files being written (temporary names) are not data', () => {
    writeFiles(data, { 'a/.dv-1-0123456789ab.tmp': 'partial', '.dv-1-0123456789ab.tmp/x.bin': 'partial' });
    expect(dv(repo, ['status', '--porcelain'], env).stdout).toBe('');
  });
});

describe('status from the monitor across edits, without an add in between', () => {
  let repo: string;
  afterAll(() => dv(repo, ['fsmonitor', 'stop']));

  /** The monitor's answer and a full walk's (DATAVER_FSMONITOR=0), as --json reports them (hashes included). */
  const both = () => {
    const read = (env: NodeJS.ProcessEnv) => {
      const r = dv(repo, ['status', '--json', '-v'], env);
      const { outputs } = JSON.parse(r.stdout);
      return { outputs, stderr: r.stderr };
    };
    const monitored = read({});
    const walked = read({ DATAVER_FSMONITOR: '0' });
    expect(walked.stderr).toMatch(/turned off/);
    return { monitored, walked };
  };

  test('each status equals a walk, and only the changed paths are read', () => {
    repo = tempRepo();
    const data = path.join(repo, 'data');
    const files: Record<string, string> = {};
    for (let i = 0; i < 30; i++) files[`${['x', 'y', 'z'][i % 3]}/${i}.bin`] = `file ${i}`;
    writeFiles(data, files);
    expect(dv(repo, ['add', 'data']).code).toBe(0);
    expect(dv(repo, ['fsmonitor', 'start']).code).toBe(0);
    expect(dv(repo, ['status', '--porcelain']).stdout).toBe('');
    const at = (rel: string) => path.join(data, rel);
    const steps: Array<[string, () => void]> = [
      ['modify', () => fs.appendFileSync(at('x/0.bin'), '!')],
      ['add a nested folder', () => writeFiles(data, { 'new/deep/a.bin': 'a', 'new/b.bin': 'b' })],
      ['delete', () => fs.rmSync(at('y/1.bin'))],
      ['undo the first edit', () => fs.writeFileSync(at('x/0.bin'), 'file 0')],
      ['nothing', () => undefined],
      [
        'a file becomes a folder',
        () => {
          fs.rmSync(at('z/2.bin'));
          writeFiles(data, { 'z/2.bin/inner.bin': 'inner' });
        },
      ],
      ['rename a folder', () => fs.renameSync(at('new'), at('newer'))],
      ['delete a folder of the version', () => fs.rmSync(at('y'), { recursive: true })],
      ['a write in flight', () => writeFiles(data, { 'x/.dv-1-0123456789ab.tmp': 'partial' })],
      [
        'undo the rest',
        () => {
          fs.rmSync(at('newer'), { recursive: true });
          fs.rmSync(at('z/2.bin'), { recursive: true });
          fs.writeFileSync(at('z/2.bin'), 'file 2');
          for (let i = 1; i < 30; i += 3) writeFiles(data, { [`y/${i}.bin`]: `file ${i}` });
          fs.rmSync(at('x/.dv-1-0123456789ab.tmp'));
        },
      ],
    ];
    for (const [name, step] of steps) {
      step();
      // The text forms first: they skip the new folder hash and read the locked manifest only
      // where the changed paths lead; the --json status after them must still get every hash right.
      const text = dv(repo, ['status', '--porcelain', '-v']);
      const textWalked = dv(repo, ['status', '--porcelain'], { DATAVER_FSMONITOR: '0' });
      expect({ name, porcelain: text.stdout }).toEqual({ name, porcelain: textWalked.stdout });
      expect({ name, verbose: text.stderr }).toMatchObject({
        name,
        verbose: expect.stringMatching(/0 folder\(s\) walked/),
      });
      const { monitored, walked } = both();
      expect({ name, outputs: monitored.outputs }).toEqual({ name, outputs: walked.outputs });
      // Read at the changed paths, or vouched for; never walked.
      expect({ name, verbose: monitored.stderr }).toMatchObject({
        name,
        verbose: expect.stringMatching(/0 folder\(s\) walked/),
      });
    }
    expect(dv(repo, ['status', '--porcelain']).stdout).toBe('');
  });
});
