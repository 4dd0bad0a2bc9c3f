// A lock made on Linux must check out on Windows and macOS: `add` refuses file names those systems
// cannot hold (reserved names, forbidden characters, a trailing dot, names differing only in case)
// with one line and exit 2, before anything is hashed or written.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dv, expectCleanError, tempRepo, writeFiles } from '../helpers/cli';

function lockOutputs(dir: string): string[] {
  const file = path.join(dir, 'data.lock.json');
  if (!existsSync(file)) return [];
  return Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { outputs: object }).outputs);
}

/** Whether this file system tells `a` from `A` (macOS and Windows usually do not). */
function caseSensitive(dir: string): boolean {
  writeFileSync(path.join(dir, 'case-probe'), '');
  return !existsSync(path.join(dir, 'CASE-PROBE'));
}

const unportable: Array<[string, RegExp]> = [
  ['data/aux.txt', /data\/aux\.txt: 'aux\.txt' is a reserved name on Windows \(AUX\)/],
  ['data/Com1', /reserved name on Windows \(COM1\)/],
  ['data/trailing.', /ends with a dot or a space/],
];
if (process.platform !== 'win32') unportable.push(['data/a:b.txt', /data\/a:b\.txt/]);

test.each(unportable)('add refuses %s (exit 2) and writes nothing', (name, message) => {
  const dir = tempRepo();
  writeFiles(dir, { 'data/ok.txt': 'fine', [name]: 'x' });
  const r = dv(dir, ['add', 'data']);
  expectCleanError(r, 2, message);
  expect(r.stderr).toMatch(/hint: rename it/);
  expect(lockOutputs(dir)).toEqual([]);
});

test('add refuses two names that differ only in letter case', () => {
  const dir = tempRepo();
  if (!caseSensitive(dir)) {
    console.log('skipped: this file system does not tell Raw.txt from raw.txt, so the clash cannot be made');
    return;
  }
  writeFiles(dir, { 'data/Raw.txt': 'a', 'data/raw.txt': 'b' });
  expectCleanError(
    dv(dir, ['add', 'data']),
    2,
    /data\/Raw\.txt and data\/raw\.txt differ only in letter case/,
  );
  expect(lockOutputs(dir)).toEqual([]);
});

test('portable names are added as before', () => {
  const dir = tempRepo();
  writeFiles(dir, { 'data/con-tent.txt': 'a', 'data/aux/../auxiliary.txt': 'b', 'data/naming.v2.csv': 'c' });
  expect(dv(dir, ['add', 'data']).code).toBe(0);
  expect(lockOutputs(dir)).toEqual(['data']);
});
