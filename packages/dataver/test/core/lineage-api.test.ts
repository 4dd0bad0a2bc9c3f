// The lineage library API (checkDataLineage, lineageAtRevision, resolveCommit, currentCommit) where the
// dataver root is a subfolder of the git work tree, as in a monorepo, and outside git and dataver.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DataverError } from '@dataver/foundation';
import {
  checkDataLineage,
  currentCommit,
  lineageAtRevision,
  materializeRevision,
  resolveCommit,
} from '../../src/index';
import { dv, git, tempDir } from '../helpers/cli';

let top: string;
let project: string;
let first: { commit: string; hash: string };
let second: { commit: string; hash: string };

const lockedHash = () =>
  JSON.parse(readFileSync(path.join(project, 'data.lock.json'), 'utf8')).outputs['data/set'].hash as string;

beforeAll(() => {
  top = tempDir('dataver-lineage-');
  git(top, 'init', '-q', '-b', 'main');
  git(top, 'config', 'user.email', 'test@example.com');
  git(top, 'config', 'user.name', 'test');
  project = path.join(top, 'project');
  mkdirSync(path.join(project, 'data/set'), { recursive: true });
  expect(dv(project, ['init']).code).toBe(0);
  writeFileSync(path.join(project, 'data/set/a.txt'), 'version one\n');
  expect(dv(project, ['add', 'data/set']).code).toBe(0);
  git(top, 'add', '-A');
  git(top, 'commit', '-qm', 'data v1');
  first = { commit: git(top, 'rev-parse', 'HEAD').trim(), hash: lockedHash() };
  writeFileSync(path.join(project, 'data/set/a.txt'), 'version two\n');
  expect(dv(project, ['add', 'data/set']).code).toBe(0);
  git(top, 'commit', '-qam', 'data v2');
  second = { commit: git(top, 'rev-parse', 'HEAD').trim(), hash: lockedHash() };
  expect(second.hash).not.toBe(first.hash);
}, 120_000);

test('checkDataLineage in a subfolder repository: locked hash and HEAD commit', async () => {
  const lineage = await checkDataLineage({ cwd: project, paths: ['data/set'] });
  expect(lineage).toEqual({
    repoRoot: project,
    commit: second.commit,
    outputs: [{ path: 'data/set', hash: second.hash }],
    dirty: [],
  });
});

test('lineageAtRevision reads the lock of that revision below the git top level', async () => {
  const lineage = await lineageAtRevision({ cwd: project, rev: 'HEAD~1', paths: ['data/set/a.txt'] });
  expect(lineage).toEqual({
    repoRoot: project,
    rev: 'HEAD~1',
    commit: first.commit,
    outputs: [{ path: 'data/set', hash: first.hash }],
  });
  // Paths are relative to cwd, wherever that is inside the repository.
  const fromData = await lineageAtRevision({ cwd: path.join(project, 'data'), rev: 'HEAD', paths: ['set'] });
  expect(fromData.outputs).toEqual([{ path: 'data/set', hash: second.hash }]);
});

test('materializeRevision writes that revision’s files in a subfolder repository', async () => {
  const dest = tempDir('dataver-lineage-dest-');
  const files = await materializeRevision({ cwd: project, rev: 'HEAD~1', paths: ['data/set'], dest });
  expect(files).toEqual([path.join(dest, 'data/set/a.txt')]);
  expect(readFileSync(path.join(dest, 'data/set/a.txt'), 'utf8')).toBe('version one\n');
});

test('resolveCommit and currentCommit; an unknown revision is a usage error', async () => {
  expect(await resolveCommit({ cwd: project, rev: 'HEAD~1' })).toBe(first.commit);
  expect(await resolveCommit({ cwd: project, rev: 'main' })).toBe(second.commit);
  expect(await currentCommit({ cwd: path.join(project, 'data') })).toBe(second.commit);
  const unknown = await resolveCommit({ cwd: project, rev: 'no-such-branch' }).catch((e: unknown) => e);
  expect(unknown).toBeInstanceOf(DataverError);
  expect(unknown).toMatchObject({ code: 'USAGE', exitCode: 2 });
});

test('no commit to record outside git, before the first commit, or outside dataver', async () => {
  const plain = tempDir('dataver-lineage-nogit-');
  mkdirSync(path.join(plain, 'data'));
  writeFileSync(path.join(plain, 'data/x.txt'), 'x\n');
  expect(dv(plain, ['init']).code).toBe(0);
  expect(await currentCommit({ cwd: plain })).toBeNull();
  const fresh = tempDir('dataver-lineage-fresh-');
  git(fresh, 'init', '-q');
  expect(dv(fresh, ['init']).code).toBe(0);
  expect(await currentCommit({ cwd: fresh })).toBeNull();
  const outside = tempDir('dataver-lineage-outside-');
  expect(await currentCommit({ cwd: outside })).toBeNull();
  expect(await checkDataLineage({ cwd: outside, paths: ['x'] })).toEqual({
    repoRoot: null,
    commit: null,
    outputs: [],
    dirty: [],
  });
});
