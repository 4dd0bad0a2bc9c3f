// The fast path of reading data.lock.json: a hand-written check that accepts only locks the zod
// schema (schema.ts) surely accepts unchanged, so that the commands a user runs most (status,
// add) never load zod, which costs a third of their start-up. Anything it does not accept — an
// invalid lock, or a valid one written in a way it does not handle (unknown keys that zod would
// strip, unusual numbers) — goes to the schema, which decides and names the problem. A property
// test holds it to that: accepted ⇒ the schema accepts the same value and returns the same
// value, keys in the schema's order (code compares entries by their JSON).
import { isJsonObject as isObject, type JsonObject as Obj, pickKeys as pick } from '../util/json-shape.js';
import { findOverlap, isSafeRelativePath, isTrackablePath } from './paths.js';
import type { Lock } from './schema.js';

export const LOCK_VERSION = 1;

/** A lock with nothing in it. */
export function emptyLock(): Lock {
  return { version: LOCK_VERSION, outputs: {}, stages: {} };
}

const mapValues = (o: Obj, f: (v: Obj) => Obj): Obj =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v as Obj)]));

const HASH = /^[0-9a-f]{64}$/;
const COMMIT = /^[0-9a-f]{40,64}$/;

const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isOptional = (v: unknown, check: (v: unknown) => boolean) => v === undefined || check(v);
const isString = (v: unknown) => typeof v === 'string';
const isNonEmpty = (v: unknown) => typeof v === 'string' && v.length > 0;
const isFiniteNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const isHash = (v: unknown) => typeof v === 'string' && HASH.test(v);

// Each object's keys, in the order of its zod schema (the order zod returns them in).
const SUMMARY_ORDER = ['name', 'dtype', 'shape', 'mean', 'std', 'min', 'max'];
function isTensorSummary(v: unknown): boolean {
  return (
    isObject(v, SUMMARY_ORDER) &&
    isOptional(v.name, isString) &&
    isString(v.dtype) &&
    Array.isArray(v.shape) &&
    v.shape.every(isCount) &&
    ['mean', 'std', 'min', 'max'].every((k) => isOptional(v[k], isFiniteNumber))
  );
}

const META_ORDER = ['format', 'tensors'];
const orderMeta = (m: Obj): Obj => ({
  format: m.format,
  tensors: (m.tensors as Obj[]).map((t) => pick(t, SUMMARY_ORDER)),
});
function isTensorMeta(v: unknown): boolean {
  return (
    isObject(v, META_ORDER) &&
    isString(v.format) &&
    Array.isArray(v.tensors) &&
    v.tensors.every(isTensorSummary)
  );
}

/** Values the union of schema.ts takes as they are: one tensor meta, or one per file path. */
function isMeta(v: unknown): boolean {
  return isTensorMeta(v) || (isObject(v) && Object.values(v).every(isTensorMeta));
}

const IMPORT_ORDER = ['url', 'rev', 'commit', 'path'];
function isImportSource(v: unknown): boolean {
  return (
    isObject(v, IMPORT_ORDER) &&
    isNonEmpty(v.url) &&
    isOptional(v.rev, isNonEmpty) &&
    typeof v.commit === 'string' &&
    COMMIT.test(v.commit) &&
    typeof v.path === 'string' &&
    isSafeRelativePath(v.path)
  );
}

const OUTPUT_ORDER = ['hash', 'size', 'files', 'kind', 'stage', 'meta', 'import'];
function orderOutput(e: Obj): Obj {
  const out = pick(e, OUTPUT_ORDER);
  if (out.meta)
    out.meta = isTensorMeta(out.meta) ? orderMeta(out.meta as Obj) : mapValues(out.meta as Obj, orderMeta);
  if (out.import) out.import = pick(out.import as Obj, IMPORT_ORDER);
  return out;
}
function isOutputEntry(v: unknown): boolean {
  return (
    isObject(v, OUTPUT_ORDER) &&
    isHash(v.hash) &&
    isCount(v.size) &&
    isOptional(v.files, isCount) &&
    (v.kind === 'file' || v.kind === 'dir') &&
    isOptional(v.stage, isString) &&
    isOptional(v.meta, isMeta) &&
    isOptional(v.import, isImportSource)
  );
}

/** A record of repository paths to hashes (a stage's deps and outs). */
function isPathHashes(v: unknown): boolean {
  return isObject(v) && Object.entries(v).every(([p, h]) => isSafeRelativePath(p) && isHash(h));
}

const STAGE_ORDER = ['cmd', 'deps', 'params', 'outs'];
function isStageState(v: unknown): boolean {
  return (
    isObject(v, STAGE_ORDER) &&
    isString(v.cmd) &&
    isPathHashes(v.deps) &&
    isObject(v.params) &&
    isPathHashes(v.outs)
  );
}

const LOCK_ORDER = ['version', 'outputs', 'stages'];

/**
 * The lock, when `raw` (parsed JSON) is one that the schema accepts as it is; undefined when
 * only the schema can tell (then it decides, and names what is wrong).
 *
 * @example
 * const lock = acceptLock(JSON.parse(text)) ?? lockSchema.parse(JSON.parse(text));
 */
export function acceptLock(raw: unknown): Lock | undefined {
  if (!isObject(raw, LOCK_ORDER) || raw.version !== LOCK_VERSION) return undefined;
  const { outputs, stages = {} } = raw;
  if (!isObject(outputs) || !isObject(stages)) return undefined;
  for (const [p, entry] of Object.entries(outputs))
    if (!isTrackablePath(p) || !isOutputEntry(entry)) return undefined;
  for (const state of Object.values(stages)) if (!isStageState(state)) return undefined;
  if (findOverlap(Object.keys(outputs))) return undefined;
  return {
    version: LOCK_VERSION,
    outputs: mapValues(outputs, orderOutput),
    stages: mapValues(stages, (st) => pick(st, STAGE_ORDER)),
  } as Lock;
}
