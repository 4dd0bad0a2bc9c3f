// dataver.yaml: the human-edited pipeline. Parsed with `yaml` (keeping source
// positions) and validated with zod, so every error points at a line:column.
import path from 'node:path';
import { DataverError } from '@dataver/foundation';
import { type Document, isMap, LineCounter, type Node, parseDocument } from 'yaml';
import { z } from 'zod';
import { isSafeRelativePath } from '../lock/paths.js';
import { readTextOrUndefined } from '../util/fs.js';
import { present } from '../util/invariants.js';
import { firstIssue, firstYamlError } from '../util/parse-errors.js';

export const PIPELINE_FILE = 'dataver.yaml';
export const DEFAULT_PARAMS_FILE = 'params.yaml';

/** A parameter a stage reads: a (possibly dotted) key of a YAML params file. */
export interface ParamRef {
  file: string;
  key: string;
  /** How the lock names it: `key` for the default params file, else `file:key`. */
  id: string;
}

/** One validated stage of dataver.yaml. */
export interface Stage {
  name: string;
  cmd: string;
  deps: string[];
  params: ParamRef[];
  /** Tracked, cached outputs. */
  outs: string[];
  /** Metrics JSON files: outputs committed to git, not cached. */
  metrics: string[];
  alwaysChanged: boolean;
  /** 1-based line of the stage's name in dataver.yaml (for messages). */
  line: number;
}

export interface Pipeline {
  /** Stages in file order. */
  stages: Stage[];
  /** Params file used for plain keys. */
  paramsFile: string;
}

const STAGE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

const pathList = z.array(z.string().min(1, 'must not be empty'));
const paramEntry = z.union([
  z.string().min(1, 'must not be empty'),
  z.record(z.string(), z.array(z.string().min(1))),
]);

const stageSchema = z
  .object({
    cmd: z.union([z.string().min(1, 'must not be empty'), z.array(z.string().min(1)).min(1)]),
    deps: pathList.optional(),
    params: z.array(paramEntry).optional(),
    outs: pathList.optional(),
    metrics: pathList.optional(),
    always_changed: z.boolean().optional(),
    desc: z.string().optional(),
  })
  .strict();

const pipelineSchema = z
  .object({
    params: z.string().min(1).optional(),
    stages: z.record(z.string().regex(STAGE_NAME, 'stage names use letters, digits, _ . -'), stageSchema),
  })
  .strict();

export type StageSpec = z.infer<typeof stageSchema>;

/**
 * A path as written in dataver.yaml turned into a repository path: `./` and trailing
 * `/` dropped; anything leaving the repository or entering .dataver/ or .git/ refused.
 *
 * @example
 * normalizeStagePath('./data/raw/'); // 'data/raw'
 * normalizeStagePath('../x'); // undefined
 */
export function normalizeStagePath(p: string): string | undefined {
  const cleaned = path.posix.normalize(p.trim()).replace(/\/+$/, '');
  if (!isSafeRelativePath(cleaned)) return undefined;
  const first = cleaned.split('/')[0];
  return first === '.dataver' || first === '.git' ? undefined : cleaned;
}

function errorAt(
  file: string,
  pos: { line: number; col: number } | undefined,
  message: string,
): DataverError {
  const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
  return new DataverError('PIPELINE_INVALID', `${where}: ${message}`, {
    hint: `fix ${file} (see docs/pipelines.md for the format)`,
    data: { file, line: pos?.line, column: pos?.col },
  });
}

/** Position of the deepest node of `doc` along `keyPath` (keys point at their key, values at their value). */
function positionOf(
  doc: Document,
  lines: LineCounter,
  keyPath: PropertyKey[],
  atKey = false,
): { line: number; col: number } {
  let node: unknown = doc.contents;
  let best: Node | undefined = node as Node;
  for (const [i, key] of keyPath.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown })?.value === key);
      if (!pair) break;
      const last = i === keyPath.length - 1;
      best = last && atKey ? (pair.key as Node) : ((pair.value as Node) ?? (pair.key as Node));
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node && typeof key === 'number') {
      const item = (node as { items: unknown[] }).items[key];
      if (!item) break;
      best = item as Node;
      node = item;
    } else break;
  }
  const offset = best?.range?.[0] ?? 0;
  return lines.linePos(offset);
}

/**
 * Parses and validates dataver.yaml text.
 *
 * @example
 * const pipeline = parsePipeline('stages:\n  hello:\n    cmd: echo hi > out.txt\n    outs: [out.txt]\n');
 * pipeline.stages[0].outs; // ['out.txt']
 */
export function parsePipeline(text: string, file = PIPELINE_FILE): Pipeline {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const syntax = firstYamlError(doc, lines);
  if (syntax) {
    const message = syntax.message.replace(/ at line \d+, column \d+:?$/, '');
    throw errorAt(file, syntax, `invalid YAML: ${message}`);
  }
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch (error) {
    // Unresolved or excessive aliases fail only when the document is converted.
    throw errorAt(file, undefined, `invalid YAML: ${(error as Error).message}`);
  }
  const result = pipelineSchema.safeParse(raw);
  if (!result.success) {
    const issue = firstIssue(result.error);
    let keyPath = issue.path;
    let message = issue.message;
    let atKey = false;
    if (issue.code === 'unrecognized_keys') {
      const key = present(issue.keys[0], 'the unrecognized key');
      keyPath = [...issue.path, key];
      atKey = true;
      message = `unknown key '${key}'${issue.path.length === 2 ? ' (a stage has cmd, deps, params, outs, metrics, always_changed, desc)' : ''}`;
    } else if (issue.code === 'invalid_key') {
      message = 'stage names use letters, digits, _ . - (and start with a letter, digit or _)';
      atKey = true;
    } else if (issue.code === 'invalid_type' && issue.path.length === 0) {
      message = 'expected a mapping with a `stages:` key';
    }
    const shown = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw errorAt(file, positionOf(doc, lines, keyPath, atKey), `${shown}${message}`);
  }
  const paramsFile = result.data.params ?? DEFAULT_PARAMS_FILE;
  const stages: Stage[] = [];
  for (const [name, spec] of Object.entries(result.data.stages)) {
    const at = (...sub: PropertyKey[]) => positionOf(doc, lines, ['stages', name, ...sub]);
    const paths = (field: 'deps' | 'outs' | 'metrics') =>
      (spec[field] ?? []).map((p, i) => {
        const normalized = normalizeStagePath(p);
        if (!normalized) {
          throw errorAt(
            file,
            at(field, i),
            `stages.${name}.${field}: '${p}' is not a path inside the repository (nor in .dataver/ or .git/)`,
          );
        }
        return normalized;
      });
    const params: ParamRef[] = [];
    (spec.params ?? []).forEach((entry, i) => {
      const refs: Array<[string, string]> =
        typeof entry === 'string'
          ? [splitParam(entry, paramsFile)]
          : Object.entries(entry).flatMap(([f, keys]) => keys.map((k): [string, string] => [f, k]));
      for (const [f, key] of refs) {
        const normalizedFile = normalizeStagePath(f);
        if (!normalizedFile || key.length === 0) {
          throw errorAt(
            file,
            at('params', i),
            `stages.${name}.params: '${f}:${key}' is not a valid parameter`,
          );
        }
        params.push({
          file: normalizedFile,
          key,
          id: normalizedFile === paramsFile ? key : `${normalizedFile}:${key}`,
        });
      }
    });
    const line = positionOf(doc, lines, ['stages', name], true).line;
    const stage: Stage = {
      name,
      cmd: Array.isArray(spec.cmd) ? spec.cmd.join(' && ') : spec.cmd,
      deps: unique(paths('deps')),
      params: params.filter((p, i) => params.findIndex((q) => q.id === p.id) === i),
      outs: unique(paths('outs')),
      metrics: unique(paths('metrics')),
      alwaysChanged: spec.always_changed === true,
      line,
    };
    stages.push(stage);
  }
  return { stages, paramsFile };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function splitParam(entry: string, defaultFile: string): [string, string] {
  // `file.yaml:key` names another file; a plain key reads the default params file.
  const [, file, key] = /^(.+\.ya?ml):(.+)$/.exec(entry) ?? [];
  return file !== undefined && key !== undefined ? [file, key] : [defaultFile, entry];
}

/**
 * Reads `<root>/dataver.yaml`; undefined when the repository has no pipeline.
 *
 * @example
 * const pipeline = await readPipeline(repo.root);
 */
export async function readPipeline(root: string): Promise<Pipeline | undefined> {
  const text = await readTextOrUndefined(path.join(root, PIPELINE_FILE));
  return text === undefined ? undefined : parsePipeline(text);
}
