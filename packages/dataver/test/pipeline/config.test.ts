// dataver.yaml parsing, stage editing and the stage graph: unit and property tests.
import fc from 'fast-check';
import { parsePipeline } from '../../src/pipeline/config';
import { addStageToText } from '../../src/pipeline/edit';
import { buildGraph, selectStages } from '../../src/pipeline/graph';
import { flattenParams, lookupParam } from '../../src/pipeline/params';

const EXAMPLE = `# comment at the top
params: params.yaml
stages:
  prepare:
    cmd: node prepare.js
    deps: [data/raw, ./src/prepare.js]
    params: [prepare.seed, other.yaml:size, {third.yaml: [a.b]}]
    outs: [data/prepared/]
  train:
    cmd:
      - node train.js
      - echo done
    deps: [data/prepared]
    outs: [model]
    metrics: [metrics.json]
    always_changed: true
`;

describe('parsePipeline', () => {
  test('reads every field, normalizing paths and params', () => {
    const p = parsePipeline(EXAMPLE);
    expect(p.stages.map((s) => s.name)).toEqual(['prepare', 'train']);
    const [prepare, train] = p.stages;
    expect(prepare.deps).toEqual(['data/raw', 'src/prepare.js']);
    expect(prepare.outs).toEqual(['data/prepared']);
    expect(prepare.params.map((x) => x.id)).toEqual(['prepare.seed', 'other.yaml:size', 'third.yaml:a.b']);
    expect(prepare.line).toBe(4);
    expect(train.cmd).toBe('node train.js && echo done');
    expect(train.metrics).toEqual(['metrics.json']);
    expect(train.alwaysChanged).toBe(true);
  });

  test.each([
    ['stages:\n  a:\n    cmd: [unclosed\n', /^dataver\.yaml:\d+:\d+: invalid YAML/],
    ['stages:\n  a:\n    cmd: x\n    deps: data\n', /^dataver\.yaml:4:11: stages\.a\.deps: /],
    ['stages:\n  "bad name":\n    cmd: x\n', /stage names use letters/],
    [
      'stages:\n  a:\n    cmd: x\n    outs: [.dataver/cache]\n',
      /^dataver\.yaml:4:12: .*not a path inside the repository/,
    ],
    ['- just\n- a list\n', /^dataver\.yaml:1:1: expected a mapping with a `stages:` key/],
    [
      'stages:\n  a:\n    cmd: x\n    always_changed: "yes"\n',
      /^dataver\.yaml:4:21: stages\.a\.always_changed: /,
    ],
  ])('rejects %j', (text, pattern) => {
    expect(() => parsePipeline(text)).toThrow(pattern);
  });

  test('never throws anything but a DataverError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          parsePipeline(text);
        } catch (error) {
          expect((error as { code?: string }).code).toBe('PIPELINE_INVALID');
        }
      }),
      { numRuns: 300 },
    );
  });
});

const segment = fc.stringMatching(/^[a-z][a-z0-9_-]{0,7}$/);
const pathArb = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));

describe('addStageToText', () => {
  test('what it writes parses back to the same stage, and the rest of the file keeps its comments', () => {
    fc.assert(
      fc.property(
        segment,
        fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0),
        fc.uniqueArray(pathArb, { maxLength: 3 }),
        fc.uniqueArray(
          segment.map((s) => `train.${s}`),
          { maxLength: 3 },
        ),
        (name, cmd, deps, params) => {
          const base =
            '# keep this comment\nstages:\n  first: # and this one\n    cmd: echo first > first.txt\n    outs: [first.txt]\n';
          const deduped = deps.filter((d) => d !== 'first.txt' && !d.startsWith('out/'));
          const text = addStageToText(base, {
            name: `s-${name}`,
            cmd,
            deps: deduped,
            params,
            outs: [`out/${name}`],
          });
          expect(text).toMatch(/^# keep this comment\n/);
          expect(text).toMatch(/# and this one/);
          expect(text).toMatch(/outs: \[first\.txt\]/);
          const stage = parsePipeline(text).stages.find((s) => s.name === `s-${name}`)!;
          expect(stage.cmd).toBe(cmd);
          expect(stage.deps).toEqual(deduped);
          expect(stage.params.map((p) => p.id)).toEqual(params);
          expect(stage.outs).toEqual([`out/${name}`]);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('creates the file from nothing', () => {
    const text = addStageToText('', { name: 'a', cmd: 'echo > x', outs: ['x'] });
    expect(text).toBe('stages:\n  a:\n    cmd: echo > x\n    outs:\n      - x\n');
  });
});

describe('stage graph', () => {
  const pipeline = parsePipeline(
    'stages:\n' +
      '  evaluate:\n    cmd: e\n    deps: [model, data/prepared/test]\n    metrics: [m.json]\n' +
      '  prepare:\n    cmd: p\n    deps: [data/raw]\n    outs: [data/prepared]\n' +
      '  train:\n    cmd: t\n    deps: [data/prepared]\n    outs: [model]\n' +
      '  other:\n    cmd: o\n    outs: [o.txt]\n',
  );

  test('orders stages upstream first (ties in file order) and selects what targets need', () => {
    const graph = buildGraph(pipeline);
    expect(graph.order).toEqual(['prepare', 'train', 'evaluate', 'other']);
    expect(selectStages(graph, ['evaluate'])).toEqual(['prepare', 'train', 'evaluate']);
    expect(selectStages(graph, ['train'], { downstream: true })).toEqual(['train', 'evaluate']);
    expect(() => selectStages(graph, ['nope'])).toThrow(/no stage named 'nope'/);
  });

  test('a dependency on its own output is refused', () => {
    expect(() =>
      buildGraph(parsePipeline('stages:\n  a:\n    cmd: x\n    deps: [o/x]\n    outs: [o]\n')),
    ).toThrow(/stage 'a' depends on its own output o\/x/);
  });
});

describe('params', () => {
  test('dotted keys and flattening', () => {
    const tree = { train: { lr: 0.1, layers: [1, 2] }, 'a.b': 3 };
    expect(lookupParam(tree, 'train.lr')).toBe(0.1);
    expect(lookupParam(tree, 'a.b')).toBe(3);
    expect(lookupParam(tree, 'train.nope')).toBeUndefined();
    expect(flattenParams(tree)).toEqual({ 'train.lr': 0.1, 'train.layers': [1, 2], 'a.b': 3 });
  });
});
