// Params and metrics of a revision or of the workspace, flattened to dotted
// keys, and the comparison of two of them, for `params diff` and `metrics
// show|diff`. A revision is read through git; the pipeline of that revision
// says which files hold its params and metrics.
import path from 'node:path';
import { DataverError } from '@dataver/foundation';
import { readTextOrUndefined } from '../util/fs.js';
import { DEFAULT_PARAMS_FILE, PIPELINE_FILE, parsePipelineWith } from './config.js';
import { canonicalJson, flattenParams, parseParamsFile } from './params.js';

/** Where files are read from: the workspace, or a git revision. */
export interface Source {
  label: string;
  read(file: string): Promise<string | undefined>;
}

/**
 * The workspace, or a revision when `rev` is given.
 *
 * @example
 * const head = await openSource(repo.root, 'HEAD');
 */
export async function openSource(root: string, rev?: string): Promise<Source> {
  if (rev === undefined) {
    return { label: 'workspace', read: (f) => readTextOrUndefined(path.join(root, f)) };
  }
  const { readFileAtRevision, resolveRevision } =
    require('../git/revisions.js') as typeof import('../git/revisions.js');
  const commit = await resolveRevision(root, rev); // an unknown revision fails here, once
  return { label: rev, read: (f) => readFileAtRevision(root, commit, f) };
}

/** file → flat key → value. */
export type Values = Map<string, Record<string, unknown>>;

async function pipelineOf(source: Source) {
  const text = await source.read(PIPELINE_FILE);
  return text === undefined
    ? undefined
    : parsePipelineWith(text, `${PIPELINE_FILE} (${source.label})`, (f) => source.read(f));
}

/**
 * All params of a source: the default params file and every file a stage names.
 *
 * @example
 * const params = await readParams(await openSource(root));
 */
export async function readParams(source: Source): Promise<Values> {
  const pipeline = await pipelineOf(source);
  const files = new Set([pipeline?.paramsFile ?? DEFAULT_PARAMS_FILE]);
  for (const s of pipeline?.stages ?? []) for (const p of s.params) files.add(p.file);
  const out: Values = new Map();
  for (const file of [...files].sort()) {
    const text = await source.read(file);
    if (text !== undefined) out.set(file, flattenParams(parseParamsFile(text, `${file} (${source.label})`)));
  }
  return out;
}

/**
 * All metrics of a source: each stage's metrics JSON files, flattened (`loss.train`).
 *
 * @example
 * const metrics = await readMetrics(await openSource(root, 'main'));
 */
export async function readMetrics(source: Source): Promise<Values> {
  const pipeline = await pipelineOf(source);
  const out: Values = new Map();
  const files = [...new Set((pipeline?.stages ?? []).flatMap((s) => s.metrics))].sort();
  for (const file of files) {
    const text = await source.read(file);
    if (text === undefined) continue;
    out.set(file, flattenParams(parseMetricsText(text, `${file} (${source.label})`)));
  }
  return out;
}

/**
 * The values of a metrics file: JSON, or YAML (`.yaml`/`.yml`) or TOML (`.toml`) by its extension.
 *
 * @example
 * parseMetricsText('accuracy = 0.98\n', 'metrics.toml'); // { accuracy: 0.98 }
 */
export function parseMetricsText(text: string, file: string): unknown {
  const name = file.replace(/ \(.*\)$/, '');
  try {
    if (/\.(ya?ml|toml)$/.test(name)) return parseParamsFile(text, name);
    return JSON.parse(text);
  } catch (error) {
    const format = name.endsWith('.toml') ? 'TOML' : /\.ya?ml$/.test(name) ? 'YAML' : 'JSON';
    throw new DataverError('DATA_INVALID', `metrics file ${file} is not valid ${format}`, {
      hint: 'metrics files are JSON, YAML or TOML mappings written by the stage command, e.g. {"accuracy": 0.98}',
      cause: error,
    });
  }
}

export interface ValueRow {
  file: string;
  key: string;
  old?: unknown;
  new?: unknown;
  /** new − old when both are numbers. */
  change?: number;
  state: 'added' | 'modified' | 'deleted' | 'unchanged';
}

/**
 * Rows comparing two sets of values, sorted by file then key.
 *
 * @example
 * const rows = compareValues(oldParams, newParams).filter((r) => r.state !== 'unchanged');
 */
export function compareValues(a: Values, b: Values): ValueRow[] {
  const rows: ValueRow[] = [];
  for (const file of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(file) ?? {};
    const y = b.get(file) ?? {};
    for (const key of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
      const inX = key in x;
      const inY = key in y;
      const row: ValueRow = {
        file,
        key,
        old: x[key],
        new: y[key],
        state: !inX
          ? 'added'
          : !inY
            ? 'deleted'
            : canonicalJson(x[key]) === canonicalJson(y[key])
              ? 'unchanged'
              : 'modified',
      };
      if (typeof x[key] === 'number' && typeof y[key] === 'number')
        row.change = Number(((y[key] as number) - (x[key] as number)).toPrecision(12));
      rows.push(row);
    }
  }
  return rows;
}
