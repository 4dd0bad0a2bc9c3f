// Bad pipelines: each gives one line of what is wrong, one hint, exit 2, and
// writes nothing (the lock and the outputs stay as they were).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expectCleanError } from '../helpers/cli';
import { dv, read, tempRepo, writeFiles } from './helpers';

function repoWith(files: Record<string, string>): string {
  const root = tempRepo();
  writeFiles(root, { 'in.txt': 'x\n', 'params.yaml': 'train:\n  lr: 0.1\n', ...files });
  return root;
}

function expectPipelineError(root: string, pattern: RegExp, args = ['repro']): void {
  const lock = read(root, 'data.lock.json');
  const r = dv(root, args);
  expectCleanError(r, 2, pattern);
  expect(r.stderr).toMatch(/\nhint: /);
  expect(read(root, 'data.lock.json')).toBe(lock);
  expect(existsSync(path.join(root, 'out'))).toBe(false);
}

describe('bad pipelines', () => {
  test('malformed YAML: line and column', () => {
    const root = repoWith({ 'dataver.yaml': 'stages:\n  a:\n    cmd: echo\n      bad: [\n' });
    expectPipelineError(root, /^error: dataver\.yaml:\d+:\d+: invalid YAML/);
    const tabs = repoWith({ 'dataver.yaml': 'stages:\n  a:\n    cmd: "x"\n    cmd: "y"\n' });
    expectPipelineError(tabs, /^error: dataver\.yaml:4:5: invalid YAML: Map keys must be unique/);
  });

  test('schema errors point at the offending key', () => {
    const unknownKey = repoWith({ 'dataver.yaml': 'stages:\n  a:\n    cmd: echo hi\n    output: [out]\n' });
    expectPipelineError(unknownKey, /^error: dataver\.yaml:4:5: stages\.a: unknown key 'output'/);
    const noCmd = repoWith({ 'dataver.yaml': 'stages:\n  a:\n    outs: [out]\n' });
    expectPipelineError(noCmd, /^error: dataver\.yaml:3:5: stages\.a\.cmd: /);
    const badPath = repoWith({ 'dataver.yaml': 'stages:\n  a:\n    cmd: echo\n    outs: [../escape]\n' });
    expectPipelineError(
      badPath,
      /^error: dataver\.yaml:4:12: stages\.a\.outs: '\.\.\/escape' is not a path inside/,
    );
  });

  test('an unknown params key names the stage and the file', () => {
    const root = repoWith({
      'dataver.yaml': 'stages:\n  a:\n    cmd: echo > out\n    params: [train.momentum]\n    outs: [out]\n',
    });
    expectPipelineError(root, /^error: stage 'a': params key 'train\.momentum' is not in params\.yaml/);
    const noFile = repoWith({
      'dataver.yaml': 'stages:\n  a:\n    cmd: echo > out\n    params: [other.yaml:lr]\n    outs: [out]\n',
    });
    expectPipelineError(noFile, /reads params from other\.yaml, which does not exist/);
  });

  test('a dependency that does not exist and that no stage produces', () => {
    const root = repoWith({
      'dataver.yaml':
        'stages:\n  a:\n    cmd: cat missing.txt > out\n    deps: [missing.txt]\n    outs: [out]\n',
    });
    expectPipelineError(
      root,
      /^error: dependency missing\.txt of stage 'a' does not exist and no stage produces it/,
    );
  });

  test('an output inside another output', () => {
    const root = repoWith({
      'dataver.yaml':
        'stages:\n  a:\n    cmd: mkdir -p out\n    outs: [out]\n  b:\n    cmd: echo > out/x\n    outs: [out/x]\n',
    });
    expectPipelineError(root, /^error: output out\/x \(stage 'b'\) is inside output out \(stage 'a'\)/);
  });

  test('two stages with the same output', () => {
    const root = repoWith({
      'dataver.yaml':
        'stages:\n  a:\n    cmd: echo > out\n    outs: [out]\n  b:\n    cmd: echo > out\n    outs: [out]\n',
    });
    expectPipelineError(root, /^error: output out is produced by two stages: 'a' and 'b'/);
  });

  test('a cycle names its stages', () => {
    const root = repoWith({
      'dataver.yaml':
        'stages:\n  a:\n    cmd: cat y > x\n    deps: [y]\n    outs: [x]\n  b:\n    cmd: cat x > y\n    deps: [x]\n    outs: [y]\n',
    });
    expectPipelineError(root, /^error: the stages form a cycle: (a → b → a|b → a → b)/);
    expectPipelineError(root, /cycle/, ['status']);
  });

  test('an unknown stage and a missing dataver.yaml', () => {
    const root = repoWith({ 'dataver.yaml': 'stages:\n  a:\n    cmd: echo > out\n    outs: [out]\n' });
    expectPipelineError(root, /^error: no stage named 'nope' in dataver\.yaml/, ['repro', 'nope']);
    const empty = repoWith({});
    expectPipelineError(empty, /^error: no dataver\.yaml in /);
  });

  test('stage add refuses what would make the pipeline invalid, and leaves the file as it was', () => {
    const yaml = '# keep me\nstages:\n  a:\n    cmd: echo > out\n    outs: [out]\n';
    const root = repoWith({ 'dataver.yaml': yaml });
    const r = dv(root, ['stage', 'add', 'b', '--cmd', 'echo', '--out', 'out']);
    expectCleanError(r, 2, /output out is produced by two stages/);
    expect(read(root, 'dataver.yaml')).toBe(yaml);
  });
});
