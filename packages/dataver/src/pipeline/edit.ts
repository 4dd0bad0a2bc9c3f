// `dataver stage add`: edits dataver.yaml through yaml's Document API, so the
// comments and layout of the rest of the file survive; the result is validated
// as a whole before it is written.
import path from 'node:path';
import { DataverError, writeFileAtomic } from '@dataver/foundation';
import { isMap, parseDocument, type YAMLMap } from 'yaml';
import { readTextOrUndefined } from '../util/fs.js';
import { normalizeStagePath, PIPELINE_FILE, type Pipeline, parsePipeline } from './config.js';
import { buildGraph } from './graph.js';

export interface StageInput {
  name: string;
  cmd: string;
  deps?: string[];
  outs?: string[];
  params?: string[];
  metrics?: string[];
  alwaysChanged?: boolean;
}

/**
 * The new text of dataver.yaml with a stage added (or replaced with `force`).
 *
 * @example
 * const text = addStageToText('', { name: 'train', cmd: 'python train.py', deps: ['data'], outs: ['model'] });
 */
export function addStageToText(text: string, input: StageInput, options: { force?: boolean } = {}): string {
  if (text.trim() !== '') parsePipeline(text); // refuse to edit a file that is already invalid
  const doc = parseDocument(text.trim() === '' ? 'stages: {}\n' : text);
  let stages = doc.get('stages', true);
  if (!isMap(stages)) {
    doc.set('stages', doc.createNode({}));
    stages = doc.get('stages', true);
  }
  const map = stages as YAMLMap;
  if (map.flow && map.items.length === 0) map.flow = false;
  if (map.has(input.name) && !options.force) {
    throw new DataverError('USAGE', `stage '${input.name}' already exists in ${PIPELINE_FILE}`, {
      hint: 'give another name, or replace it with --force',
    });
  }
  const clean = (field: string, paths: string[] | undefined) =>
    (paths ?? []).map((p) => {
      const n = normalizeStagePath(p);
      if (!n) {
        throw new DataverError('USAGE', `${field} '${p}' is not a path inside the repository`, {
          hint: 'give paths relative to the repository root',
        });
      }
      return n;
    });
  const spec: Record<string, unknown> = { cmd: input.cmd };
  const deps = clean('--dep', input.deps);
  const params = input.params ?? [];
  const outs = clean('--out', input.outs);
  const metrics = clean('--metric', input.metrics);
  if (deps.length > 0) spec.deps = deps;
  if (params.length > 0) spec.params = params;
  if (outs.length > 0) spec.outs = outs;
  if (metrics.length > 0) spec.metrics = metrics;
  if (input.alwaysChanged) spec.always_changed = true;
  map.set(input.name, doc.createNode(spec));
  const next = doc.toString({ flowCollectionPadding: false });
  checkPipeline(parsePipeline(next));
  return next;
}

function checkPipeline(pipeline: Pipeline): void {
  buildGraph(pipeline);
}

/**
 * Adds a stage to `<root>/dataver.yaml` (created when absent).
 *
 * @example
 * await addStage(repo.root, { name: 'prepare', cmd: 'node prepare.js', outs: ['data/prepared'] });
 */
export async function addStage(
  root: string,
  input: StageInput,
  options: { force?: boolean } = {},
): Promise<string> {
  const file = path.join(root, PIPELINE_FILE);
  const text = (await readTextOrUndefined(file)) ?? '';
  const next = addStageToText(text, input, options);
  await writeFileAtomic(file, next);
  return next;
}
