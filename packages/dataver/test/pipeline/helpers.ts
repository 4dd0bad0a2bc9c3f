// Helpers for the pipeline tests: temp repositories with a pipeline, stage
// commands that count their runs, and a tiny .npy writer.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { dv, git, type RunResult, tempRepo, writeFiles } from '../helpers/cli';

export { dv, git, type RunResult, tempRepo, writeFiles };

/**
 * A shell command for a stage: appends the stage name to counts/<name> (outside
 * every output, so restoring from the cache leaves it alone), then runs `body`.
 */
export function counted(name: string, body: string): string {
  return `mkdir -p counts && echo run >> counts/${name} && ${body}`;
}

/** How many times a stage's counted command ran. */
export function runs(root: string, name: string): number {
  try {
    return readFileSync(path.join(root, 'counts', name), 'utf8')
      .split('\n')
      .filter(Boolean).length;
  } catch {
    return 0;
  }
}

export function read(root: string, rel: string): string {
  return readFileSync(path.join(root, rel), 'utf8');
}

export function lockOf(root: string): {
  outputs: Record<string, { hash: string; stage?: string; meta?: unknown }>;
  stages: Record<
    string,
    {
      cmd: string;
      deps: Record<string, string>;
      params: Record<string, unknown>;
      outs: Record<string, string>;
    }
  >;
} {
  return JSON.parse(read(root, 'data.lock.json'));
}

/** Runs dataver and fails the test with its output when the exit code is not the expected one. */
export function ok(root: string, args: string[], code = 0): RunResult {
  const r = dv(root, args);
  if (r.code !== code)
    throw new Error(`dataver ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** A little-endian float32 .npy file (format 1.0). */
export function npyFloat32(values: number[], shape: number[]): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64);
  header += '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(new Float32Array(values).buffer)]);
}

/** A YAML double-quoted scalar (JSON strings are valid YAML). */
export function q(text: string): string {
  return JSON.stringify(text);
}

/** A pipeline repo: prepare (data/raw.txt → data/prepared/) → train (params train.*) → evaluate (metrics). */
export function pipelineRepo(): string {
  const root = tempRepo();
  writeFiles(root, {
    'data/raw.txt': 'one\ntwo\nthree\n',
    'params.yaml': '# training settings\ntrain:\n  lr: 0.1\n  epochs: 2\nprepare:\n  upper: true\n',
    'dataver.yaml': [
      '# The pipeline of this test project.',
      'stages:',
      '  prepare:',
      `    cmd: ${q(counted('prepare', 'mkdir -p data/prepared && tr a-z A-Z < data/raw.txt > data/prepared/all.txt'))}`,
      '    deps: [data/raw.txt]',
      '    params: [prepare.upper]',
      '    outs: [data/prepared]',
      '  train:',
      `    cmd: ${q(counted('train', "node -e \"const f=require('fs');const p=f.readFileSync('params.yaml','utf8');f.writeFileSync('model.txt', f.readFileSync('data/prepared/all.txt','utf8')+p)\""))}`,
      '    deps: [data/prepared]',
      '    params: [train.lr, train.epochs]',
      '    outs: [model.txt]',
      '  evaluate:',
      `    cmd: ${q(counted('evaluate', "node -e \"const f=require('fs');f.writeFileSync('metrics.json', JSON.stringify({accuracy: f.readFileSync('model.txt','utf8').length/100, loss: {train: 0.5}}))\""))}`,
      '    deps: [model.txt]',
      '    metrics: [metrics.json]',
      '',
    ].join('\n'),
  });
  return root;
}
