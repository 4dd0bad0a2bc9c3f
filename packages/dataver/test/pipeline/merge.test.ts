// The data.lock.json merge driver: pure three-way merge properties, and real
// `git merge`s of branches that reproduced different stages.
import fc from 'fast-check';
import { describeConflict, mergeLocks, renderConflicts } from '../../src/git/merge-lock';
import { parseLock, serializeLock } from '../../src/lock/lock-file';
import type { Lock, OutputEntry, StageState } from '../../src/lock/schema';
import { CLI } from '../helpers/cli';
import { dv, git, lockOf, ok, q, read, tempRepo, writeFiles } from './helpers';

const hashArb = fc.constantFrom(...'0123456789ab'.split('').map((c) => c.repeat(64)));
const outputArb: fc.Arbitrary<OutputEntry> = fc.record({
  hash: hashArb,
  size: fc.nat({ max: 1000 }),
  kind: fc.constantFrom('file' as const, 'dir' as const),
});
const stageArb: fc.Arbitrary<StageState> = fc.record({
  cmd: fc.constantFrom('a', 'b', 'c'),
  deps: fc.dictionary(fc.constantFrom('d1', 'd2'), hashArb),
  params: fc.dictionary(fc.constantFrom('lr', 'epochs'), fc.oneof(fc.integer(), fc.double({ noNaN: true }))),
  outs: fc.dictionary(fc.constantFrom('o1', 'o2'), hashArb),
});
const pathArb = fc.constantFrom('data/a', 'data/b', 'data/c', 'models/m', 'x');
const stageNameArb = fc.constantFrom('prepare', 'train', 'evaluate');
const lockArb: fc.Arbitrary<Lock> = fc.record({
  version: fc.constant(1 as const),
  outputs: fc.dictionary(pathArb, outputArb),
  stages: fc.dictionary(stageNameArb, stageArb),
});

const text = (lock: Lock) => serializeLock(lock);

/** A lock with some entries of `base` replaced or deleted by those of `other`, only at `keys`. */
function changeAt(base: Lock, other: Lock, outputKeys: string[], stageKeys: string[]): Lock {
  const out: Lock = { version: 1, outputs: { ...base.outputs }, stages: { ...base.stages } };
  for (const k of outputKeys) {
    if (other.outputs[k]) out.outputs[k] = other.outputs[k];
    else delete out.outputs[k];
  }
  for (const k of stageKeys) {
    if (other.stages[k]) out.stages[k] = other.stages[k];
    else delete out.stages[k];
  }
  return out;
}

describe('mergeLocks (properties)', () => {
  test('merge(base, x, x) = x', () => {
    fc.assert(
      fc.property(lockArb, lockArb, (base, x) => {
        const m = mergeLocks(base, x, x);
        expect(m.conflicts).toEqual([]);
        expect(text(m.lock)).toBe(text(x));
      }),
    );
  });

  test('merge(base, base, x) = x and merge(base, x, base) = x', () => {
    fc.assert(
      fc.property(lockArb, lockArb, (base, x) => {
        expect(text(mergeLocks(base, base, x).lock)).toBe(text(x));
        expect(text(mergeLocks(base, x, base).lock)).toBe(text(x));
        expect(mergeLocks(base, base, x).conflicts).toEqual([]);
      }),
    );
  });

  test('changes to disjoint entries merge without conflict, in either order, keeping both', () => {
    fc.assert(
      fc.property(
        lockArb,
        lockArb,
        lockArb,
        fc.subarray(['data/a', 'data/b', 'data/c', 'models/m', 'x']),
        fc.subarray(['prepare', 'train', 'evaluate']),
        (base, a, b, outKeys, stageKeys) => {
          const allOut = ['data/a', 'data/b', 'data/c', 'models/m', 'x'];
          const allStages = ['prepare', 'train', 'evaluate'];
          const ours = changeAt(base, a, outKeys, stageKeys);
          const theirs = changeAt(
            base,
            b,
            allOut.filter((k) => !outKeys.includes(k)),
            allStages.filter((k) => !stageKeys.includes(k)),
          );
          const ab = mergeLocks(base, ours, theirs);
          const ba = mergeLocks(base, theirs, ours);
          expect(ab.conflicts).toEqual([]);
          expect(text(ab.lock)).toBe(text(ba.lock));
          for (const k of outKeys) expect(ab.lock.outputs[k]).toEqual(ours.outputs[k]);
          for (const k of allOut.filter((x) => !outKeys.includes(x)))
            expect(ab.lock.outputs[k]).toEqual(theirs.outputs[k]);
        },
      ),
    );
  });

  test('the same entry changed differently on both sides is a conflict; the rendered file shows both', () => {
    const base: Lock = {
      version: 1,
      outputs: { a: { hash: '0'.repeat(64), size: 1, kind: 'file' } },
      stages: {},
    };
    const ours: Lock = { ...base, outputs: { a: { hash: '1'.repeat(64), size: 1, kind: 'file' } } };
    const theirs: Lock = {
      ...base,
      outputs: { a: { hash: '2'.repeat(64), size: 1, kind: 'file' }, b: base.outputs.a },
    };
    const m = mergeLocks(base, ours, theirs);
    expect(m.conflicts.map((c) => c.key)).toEqual(['a']);
    expect(m.lock.outputs.b).toEqual(base.outputs.a);
    expect(describeConflict(m.conflicts[0])).toBe(
      `output a: changed differently on both sides (ours: ${'1'.repeat(12)}, theirs: ${'2'.repeat(12)})`,
    );
    const rendered = renderConflicts(m);
    expect(rendered).toMatch(/<<<<<<< ours\n {4}"a": \{\n/);
    expect(rendered).toMatch(/=======\n {4}"a": \{/);
    expect(() => parseLock(rendered)).toThrow(/unresolved merge conflict markers/);
    const deleted = mergeLocks(base, { ...base, outputs: {} }, theirs);
    expect(renderConflicts(deleted)).toMatch(/\/\/ "a" deleted on this side/);
  });
});

/** A repo with two independent stages and the merge driver set up by `dataver init --git-hooks`. */
function twoStageRepo(): string {
  const root = tempRepo({ init: false });
  ok(root, ['init', '-q', '--git-hooks']);
  expect(read(root, '.gitattributes')).toBe('data.lock.json merge=dataver\n/.gitignore merge=union\n');
  // The driver runs the CLI that installed it: this build.
  expect(git(root, 'config', 'merge.dataver.driver').trim()).toBe(
    `"${process.execPath}" "${CLI}" merge-driver %O %A %B %P`,
  );
  writeFiles(root, {
    'a.txt': 'a\n',
    'b.txt': 'b\n',
    'dataver.yaml': [
      'stages:',
      '  sa:',
      `    cmd: ${q('tr a-z A-Z < a.txt > out-a.txt')}`,
      '    deps: [a.txt]',
      '    outs: [out-a.txt]',
      '  sb:',
      `    cmd: ${q('tr a-z A-Z < b.txt > out-b.txt')}`,
      '    deps: [b.txt]',
      '    outs: [out-b.txt]',
      '',
    ].join('\n'),
  });
  ok(root, ['repro']);
  git(root, 'add', '-A');
  git(root, 'commit', '-qm', 'pipeline');
  return root;
}

describe('merge driver with git merge', () => {
  test('a clone sets the driver up with `dataver init --git-hooks` (the repository exists already)', () => {
    const origin = twoStageRepo();
    const clone = `${origin}-clone`;
    git(origin, 'clone', '-q', origin, clone);
    const before = require('node:child_process').spawnSync(
      'git',
      ['config', '--get', 'merge.dataver.driver'],
      { cwd: clone },
    );
    expect(before.status).toBe(1); // not configured in a fresh clone
    expect(ok(clone, ['init', '--git-hooks']).stdout).toMatch(/Set up the data\.lock\.json merge driver/);
    expect(git(clone, 'config', '--get', 'merge.dataver.driver').trim()).toBe(
      `"${process.execPath}" "${CLI}" merge-driver %O %A %B %P`,
    );
    expect(read(clone, '.gitattributes')).toBe('data.lock.json merge=dataver\n/.gitignore merge=union\n');
    require('node:fs').rmSync(clone, { recursive: true, force: true });
  });

  test('branches that reproduced different stages merge cleanly', () => {
    const root = twoStageRepo();
    git(root, 'checkout', '-qb', 'feature');
    writeFiles(root, { 'a.txt': 'a changed\n' });
    ok(root, ['repro']);
    git(root, 'commit', '-qam', 'change a');
    const featureLock = lockOf(root);
    git(root, 'checkout', '-q', 'main');
    ok(root, ['checkout']);
    writeFiles(root, { 'b.txt': 'b changed\n' });
    ok(root, ['repro']);
    git(root, 'commit', '-qam', 'change b');
    const mainLock = lockOf(root);

    git(root, 'merge', '-q', '-m', 'merge feature', 'feature');
    const merged = lockOf(root);
    expect(merged.stages.sa).toEqual(featureLock.stages.sa);
    expect(merged.stages.sb).toEqual(mainLock.stages.sb);
    expect(merged.outputs['out-a.txt']).toEqual(featureLock.outputs['out-a.txt']);
    expect(merged.outputs['out-b.txt']).toEqual(mainLock.outputs['out-b.txt']);
    ok(root, ['checkout']);
    expect(read(root, 'out-a.txt')).toBe('A CHANGED\n');
    expect(ok(root, ['repro']).stdout).toMatch(/nothing to reproduce/);
  });

  test('a true conflict stops the merge with a clear description', () => {
    const root = twoStageRepo();
    git(root, 'checkout', '-qb', 'feature');
    writeFiles(root, { 'a.txt': 'a from feature\n' });
    ok(root, ['repro']);
    git(root, 'commit', '-qam', 'feature a');
    git(root, 'checkout', '-q', 'main');
    ok(root, ['checkout']);
    writeFiles(root, { 'a.txt': 'a from main\n', 'b.txt': 'b from main\n' });
    ok(root, ['repro']);
    git(root, 'commit', '-qam', 'main a and b');
    const r = require('node:child_process').spawnSync('git', ['merge', 'feature'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr + r.stdout).toMatch(/data\.lock\.json: 2 conflicting entries/);
    expect(r.stderr + r.stdout).toMatch(/output out-a\.txt: changed differently on both sides/);
    expect(r.stderr + r.stdout).toMatch(/stage 'sa': changed differently on both sides/);
    const lockText = read(root, 'data.lock.json');
    expect(lockText).toMatch(/<<<<<<< ours/);
    // sb changed on one side only: merged, outside the markers.
    expect(lockText).toMatch(/>>>>>>> theirs\n {4}"out-b\.txt"/);
    const status = dv(root, ['status']);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/unresolved merge conflict markers/);
  });
});
