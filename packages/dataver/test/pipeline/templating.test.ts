// dataver.yaml's DVC-style features: vars, ${...}, foreach/matrix, wdir, per-output options,
// TOML params/metrics, Windows name rules and the platform's shell (unit tests).

import { caseClash, windowsNameProblem } from '../../src/lock/portable-names';
import { parsePipeline } from '../../src/pipeline/config';
import { parseParamsFile } from '../../src/pipeline/params';
import { shellFor, stageEnv } from '../../src/pipeline/repro';
import { parseToml } from '../../src/pipeline/toml';
import { parseMetricsText } from '../../src/pipeline/values';

const files: Record<string, string> = {
  'params.yaml': 'train:\n  lr: 0.1\n  epochs: 3\nmodels: [cnn, mlp]\n',
  'extra.yaml': 'seed: 7\nsize: {w: 28}\n',
  'sub/local.toml': '[opt]\nname = "adam"\n',
};
const read = (f: string) => files[f];

describe('templating', () => {
  test('vars, ${} interpolation with types kept, and used params tracked', () => {
    const p = parsePipeline(
      [
        'vars:',
        '  - extra.yaml:seed',
        '  - inline: {n: 2}',
        'stages:',
        '  train:',
        '    cmd: python train.py --lr ${train.lr} --seed ${seed} --n ${inline.n} \\${HOME}',
        '    outs:',
        '      - model-${train.epochs}.bin',
        '',
      ].join('\n'),
      'dataver.yaml',
      read,
    );
    const [train] = p.stages;
    expect(train?.cmd).toBe('python train.py --lr 0.1 --seed 7 --n 2 ${HOME}');
    expect(train?.outs).toEqual(['model-3.bin']);
    expect(train?.params.map((x) => x.id).sort()).toEqual(['extra.yaml:seed', 'train.epochs', 'train.lr']);
  });

  test('foreach over a list, a mapping and ${var}; matrix; names as DVC makes them', () => {
    const p = parsePipeline(
      [
        'stages:',
        '  fit:',
        '    foreach: ${models}',
        '    do:',
        '      cmd: fit ${item}',
        '      outs:',
        '        - out/${item}',
        '  sizes:',
        '    foreach: {small: 1, big: 9}',
        '    do:',
        '      cmd: make ${key} ${item}',
        '  grid:',
        '    matrix:',
        '      model: [cnn, mlp]',
        '      lr: [0.1, 0.01]',
        '    cmd: grid ${item.model} ${item.lr} ${key}',
        '',
      ].join('\n'),
      'dataver.yaml',
      read,
    );
    expect(p.stages.map((s) => s.name)).toEqual([
      'fit@cnn',
      'fit@mlp',
      'sizes@small',
      'sizes@big',
      'grid@cnn-0.1',
      'grid@cnn-0.01',
      'grid@mlp-0.1',
      'grid@mlp-0.01',
    ]);
    expect(p.stages[1]?.outs).toEqual(['out/mlp']);
    expect(p.stages[1]?.template).toBe('fit');
    expect(p.stages[1]?.params.map((x) => x.id)).toEqual(['models']);
    expect(p.stages[3]?.cmd).toBe('make big 9');
    expect(p.stages[5]?.cmd).toBe('grid cnn 0.01 cnn-0.01');
  });

  test('wdir: paths, params and stage vars files are relative to it', () => {
    const p = parsePipeline(
      [
        'stages:',
        '  s:',
        '    wdir: sub',
        '    vars: [local.toml]',
        '    cmd: run ${opt.name}',
        '    deps: [in.txt, ../shared.txt]',
        '    params: [lr]',
        '    outs:',
        '      - out: {persist: true}',
        '      - report.csv: {cache: false}',
        '    metrics: [m.toml]',
        '',
      ].join('\n'),
      'dataver.yaml',
      read,
    );
    const [s] = p.stages;
    expect(s?.wdir).toBe('sub');
    expect(s?.cmd).toBe('run adam');
    expect(s?.deps).toEqual(['sub/in.txt', 'shared.txt']);
    expect(s?.outs).toEqual(['sub/out']);
    expect(s?.persist).toEqual(['sub/out']);
    expect(s?.uncachedOuts).toEqual(['sub/report.csv']);
    expect(s?.metrics).toEqual(['sub/m.toml']);
    expect(s?.params.map((x) => x.id)).toEqual(['sub/params.yaml:lr', 'sub/local.toml:opt.name']);
  });

  test.each([
    ['stages:\n  a:\n    cmd: x ${nope}\n', /^dataver\.yaml:3:10: stages\.a\.cmd: \$\{nope\} is not defined/],
    ['stages:\n  a:\n    foreach: [1]\n    cmd: x\n', /foreach and do go together|unknown key 'cmd'/],
    ['stages:\n  a:\n    foreach: 3\n    do: {cmd: x}\n', /foreach must be a list/],
    ['stages:\n  a:\n    matrix: {m: []}\n    cmd: x\n', /matrix\.m must be a non-empty list/],
    ['vars: [missing.yaml]\nstages: {}\n', /vars file missing\.yaml does not exist/],
    ['vars: [{train: 1}]\nstages: {}\n', /'train' from an inline mapping is already defined/],
    [
      'stages:\n  a:\n    cmd: x\n    wdir: ../up\n',
      /wdir: '\.\.\/up' is not a folder inside the repository/,
    ],
    [
      'stages:\n  a:\n    cmd: x\n    outs: [data/aux.txt]\n',
      /^dataver\.yaml:4:12: .*'aux\.txt' is a reserved name on Windows \(AUX\)/,
    ],
    ['stages:\n  a:\n    cmd: x\n    outs: ["data/a:b"]\n', /holds ':'/],
    [
      'stages:\n  a:\n    cmd: x\n    outs: [Model]\n  b:\n    cmd: y\n    outs: [model]\n',
      /differ only in letter case/,
    ],
    ['stages:\n  a:\n    cmd: x\n    outs: [{m: {remote: r}}]\n', /stages\.a\.outs\.0\.m/],
  ])('rejects %j with a positioned message', (text, pattern) => {
    expect(() => parsePipeline(text, 'dataver.yaml', read)).toThrow(pattern);
  });
});

describe('TOML and metrics formats', () => {
  test('reads what toml.dump writes', () => {
    expect(
      parseToml(
        'title = "x" # c\n[train]\nlr = 1e-3\nepochs = 1_000\nok = true\ntags = ["a", \'b\']\n[train.opt]\nname = "adam"\n[[runs]]\nid = 1\n[[runs]]\nid = 2\npoint = {x = 1, y = -2.5}\n',
      ),
    ).toEqual({
      title: 'x',
      train: { lr: 0.001, epochs: 1000, ok: true, tags: ['a', 'b'], opt: { name: 'adam' } },
      runs: [{ id: 1 }, { id: 2, point: { x: 1, y: -2.5 } }],
    });
    expect(() => parseToml('a = \n', 'm.toml')).toThrow(/^m\.toml:1: invalid TOML/);
    expect(() => parseToml('a = 1\na = 2\n', 'm.toml')).toThrow(/defined twice/);
  });

  test('metrics files by extension', () => {
    expect(parseMetricsText('{"acc": 0.9}', 'm.json')).toEqual({ acc: 0.9 });
    expect(parseMetricsText('acc: 0.9\n', 'm.yaml')).toEqual({ acc: 0.9 });
    expect(parseMetricsText('acc = 0.9\n', 'm.toml (HEAD)')).toEqual({ acc: 0.9 });
    expect(() => parseMetricsText('acc = \n', 'm.toml')).toThrow(/not valid TOML/);
    expect(parseParamsFile('{"a": 1}', 'p.json')).toEqual({ a: 1 });
  });
});

describe('portable names and the platform shell', () => {
  test('Windows rules run on every OS', () => {
    expect(windowsNameProblem('data/CON')).toMatch(/reserved name on Windows \(CON\)/);
    expect(windowsNameProblem('data/lpt1.log')).toMatch(/LPT1/);
    expect(windowsNameProblem('a/b*.txt')).toMatch(/'\*'/);
    expect(windowsNameProblem('a/trailing.')).toMatch(/ends with a dot/);
    expect(windowsNameProblem('data/console.txt')).toBeUndefined();
    expect(caseClash(['a/X', 'b', 'a/x'])).toEqual(['a/X', 'a/x']);
    expect(caseClash(['a', 'b'])).toBeUndefined();
  });

  test('sh on Unix, cmd.exe on Windows; PATH kept in whatever case the OS spells it', () => {
    expect(shellFor('echo hi', 'linux', {})).toEqual({
      file: '/bin/sh',
      args: ['-c', 'echo hi'],
      verbatim: false,
    });
    expect(shellFor('echo hi', 'win32', { ComSpec: 'C:\\Windows\\system32\\cmd.exe' })).toEqual({
      file: 'C:\\Windows\\system32\\cmd.exe',
      args: ['/d', '/s', '/c', '"echo hi"'],
      verbatim: true,
    });
    const env = stageEnv({ Path: 'X' }, '/repo', 'train');
    expect(Object.keys(env).filter((k) => k.toUpperCase() === 'PATH')).toEqual(['Path']);
    expect(env.DATAVER_STAGE).toBe('train');
  });
});
