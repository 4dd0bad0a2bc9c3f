// Parameters: values that stages read from YAML params files. A stage's state
// records the value of each key it names, so changing one value re-runs only
// the stages that read it.
import path from 'node:path';
import { DataverError } from '@dataver/foundation';
import { LineCounter, parseDocument } from 'yaml';
import { readTextOrUndefined } from '../util/fs.js';
import { firstYamlError } from '../util/parse-errors.js';
import type { ParamRef } from './config.js';
import { parseToml } from './toml.js';

/** Parsed params files by repository path (undefined: the file does not exist). */
export type ParamsFiles = Map<string, unknown>;

/**
 * Parses the text of a params file; errors carry line:column.
 *
 * @example
 * parseParamsText('train:\n  lr: 0.01\n', 'params.yaml'); // { train: { lr: 0.01 } }
 */
export function parseParamsText(text: string, file: string): unknown {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const syntax = firstYamlError(doc, lines);
  if (syntax) {
    throw new DataverError(
      'PIPELINE_INVALID',
      `${file}:${syntax.line}:${syntax.col}: invalid YAML: ${syntax.message}`,
      {
        hint: `fix ${file}`,
        data: { file, line: syntax.line, column: syntax.col },
      },
    );
  }
  return doc.toJS() ?? {};
}

/**
 * A params (or vars) file's values: YAML (JSON is YAML too) or TOML by the file's extension.
 *
 * @example
 * parseParamsFile('[train]\nlr = 0.1\n', 'params.toml'); // { train: { lr: 0.1 } }
 */
export function parseParamsFile(text: string, file: string): unknown {
  if (file.endsWith('.toml')) return parseToml(text, file);
  if (file.endsWith('.py')) {
    throw new DataverError('UNSUPPORTED_FORMAT', `${file}: Python params files are not read by dataver`, {
      hint: 'move the values to a YAML, JSON or TOML file',
    });
  }
  return parseParamsText(text, file);
}

/**
 * Reads every params file that `refs` name (once each).
 *
 * @example
 * const files = await loadParamsFiles(repo.root, stage.params);
 */
export async function loadParamsFiles(
  root: string,
  refs: ParamRef[],
  read: (file: string) => Promise<string | undefined> = (f) => readTextOrUndefined(path.join(root, f)),
): Promise<ParamsFiles> {
  const files: ParamsFiles = new Map();
  for (const file of new Set(refs.map((r) => r.file))) {
    const text = await read(file);
    files.set(file, text === undefined ? undefined : parseParamsFile(text, file));
  }
  return files;
}

/**
 * The value at a dotted key (`train.lr`), or undefined when absent.
 *
 * @example
 * lookupParam({ train: { lr: 0.1 } }, 'train.lr'); // 0.1
 */
export function lookupParam(tree: unknown, key: string): unknown {
  if (tree !== null && typeof tree === 'object' && key in (tree as object)) {
    return (tree as Record<string, unknown>)[key]; // a key that itself contains dots
  }
  let node: unknown = tree;
  for (const part of key.split('.')) {
    if (node === null || typeof node !== 'object' || !(part in (node as object))) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/**
 * The values of a stage's params; unknown keys and missing files are errors naming the stage.
 *
 * @example
 * const values = resolveParams('train', stage.params, files); // { 'train.lr': 0.01 }
 */
export function resolveParams(
  stageName: string,
  refs: ParamRef[],
  files: ParamsFiles,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const ref of refs) {
    const tree = files.get(ref.file);
    if (tree === undefined) {
      throw new DataverError(
        'PIPELINE_INVALID',
        `stage '${stageName}' reads params from ${ref.file}, which does not exist`,
        {
          hint: `create ${ref.file} with the key '${ref.key}', or fix the stage's params in dataver.yaml`,
        },
      );
    }
    const value = lookupParam(tree, ref.key);
    if (value === undefined) {
      const known = tree && typeof tree === 'object' ? Object.keys(tree).slice(0, 8).join(', ') : '';
      throw new DataverError(
        'PIPELINE_INVALID',
        `stage '${stageName}': params key '${ref.key}' is not in ${ref.file}`,
        {
          hint: known ? `keys at the top of ${ref.file}: ${known}` : `add '${ref.key}' to ${ref.file}`,
        },
      );
    }
    out[ref.id] = value;
  }
  return out;
}

/**
 * Every leaf of a params tree as dotted keys (for `params diff`).
 *
 * @example
 * flattenParams({ train: { lr: 0.1 } }); // { 'train.lr': 0.1 }
 */
export function flattenParams(tree: unknown, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (tree !== null && typeof tree === 'object' && !Array.isArray(tree)) {
    for (const [k, v] of Object.entries(tree)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0)
        Object.assign(out, flattenParams(v, key));
      else out[key] = v;
    }
  } else if (prefix) out[prefix] = tree;
  return out;
}

/**
 * Canonical JSON (sorted keys) for comparing values and hashing.
 *
 * @example
 * canonicalJson({ b: 1, a: 2 }); // '{"a":2,"b":1}'
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value));
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortDeep((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}
