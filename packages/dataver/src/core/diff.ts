// `dataver diff`: what changed between two locks: outputs added, modified or
// deleted, the files inside directories (from their manifests in the cache),
// sizes, and the tensor metadata (dtype, shape, statistics) the lock records.
import { isDataverError } from '@dataver/foundation';
import type { Lock, OutputEntry, TensorMetaValue } from '../lock/schema.js';
import type { ManifestEntry } from '../odb/manifest.js';
import { present } from '../util/invariants.js';
import type { Repo } from './repo.js';
import { computeStatus } from './status.js';
import { collectTensorMeta } from './tensor-meta.js';
import { manifestEntries, type WorkspaceFile } from './workspace.js';

export type ChangeState = 'added' | 'modified' | 'deleted';

/** One changed file of a directory output (`path` is inside the directory). */
export type FileDiff =
  | { path: string; state: 'added'; sizeAfter: number }
  | { path: string; state: 'deleted'; sizeBefore: number }
  | { path: string; state: 'modified'; sizeBefore: number; sizeAfter: number };

/** One changed property of one tensor: `mean 0.1307 → 0`. */
export interface TensorFieldChange {
  field: 'dtype' | 'shape' | 'mean' | 'std' | 'min' | 'max' | 'tensor';
  before?: unknown;
  after?: unknown;
}

export interface TensorDiff {
  /** File path inside a directory output (absent for a file output). */
  file?: string;
  /** Tensor name inside the file (safetensors), if any. */
  tensor?: string;
  /** `float32 [60000,1,28,28]` of the newer version (or the older one when deleted). */
  summary: string;
  changes: TensorFieldChange[];
}

export interface OutputDiff {
  path: string;
  kind: 'file' | 'dir';
  state: ChangeState;
  sizeBefore?: number;
  sizeAfter?: number;
  filesBefore?: number;
  filesAfter?: number;
  hashBefore?: string;
  hashAfter?: string;
  /** File-level changes of a directory (complete; renderers may shorten them). */
  files: FileDiff[];
  /** Set when a manifest was not in the cache, so file-level detail is unknown. */
  filesUnknown?: string;
  tensors: TensorDiff[];
}

export interface DiffResult {
  outputs: OutputDiff[];
  totals: {
    added: number;
    modified: number;
    deleted: number;
    sizeBefore: number;
    sizeAfter: number;
  };
  /** Directory manifests that the cache lacks (fetch them for file-level detail). */
  missingManifests: string[];
  /** Outputs whose lock entry states a size the objects contradict (totals use the objects' size). */
  lockProblems: Array<{ path: string; stated: number; actual: number }>;
}

export interface DiffOptions {
  /** Manifests that are not in the cache, by hash (the workspace's own directories). */
  manifests?: ReadonlyMap<string, ManifestEntry[]>;
}

/**
 * Compares two locks (older `a`, newer `b`).
 *
 * @example
 * const result = await diffLocks(repo, await readLockAtRevision(root, 'HEAD~1'), await readLock(root));
 * for (const o of result.outputs) console.log(o.state, o.path);
 */
export async function diffLocks(
  repo: Repo,
  a: Lock,
  b: Lock,
  options: DiffOptions = {},
): Promise<DiffResult> {
  const paths = [...new Set([...Object.keys(a.outputs), ...Object.keys(b.outputs)])].sort();
  const outputs: OutputDiff[] = [];
  const missingManifests: string[] = [];
  const lockProblems: DiffResult['lockProblems'] = [];
  const reported = new Set<string>();
  let sizeBefore = 0;
  let sizeAfter = 0;
  // The size a version really has (its manifest's or object's), whatever its lock entry states.
  const sizeOf = async (p: string, entry: OutputEntry | undefined): Promise<number> => {
    if (!entry) return 0;
    let actual: number | undefined;
    const known = options.manifests?.get(entry.hash);
    if (known) actual = known.reduce((n, e) => n + e.size, 0);
    else if (repo.cache.has(entry.hash)) {
      actual =
        entry.kind === 'dir'
          ? (await repo.cache.readManifest(entry.hash)).reduce((n, e) => n + e.size, 0)
          : repo.cache.sizeOf(entry.hash);
    }
    if (actual === undefined || actual === entry.size) return entry.size;
    const key = `${p}\0${entry.hash}`;
    if (!reported.has(key)) lockProblems.push({ path: p, stated: entry.size, actual });
    reported.add(key);
    return actual;
  };
  for (const p of paths) {
    const before = a.outputs[p];
    const after = b.outputs[p];
    sizeBefore += await sizeOf(p, before);
    sizeAfter += await sizeOf(p, after);
    if (before && after && before.hash === after.hash && before.kind === after.kind) continue;
    const state: ChangeState = !before ? 'added' : !after ? 'deleted' : 'modified';
    const kind = present(after ?? before, `the entry of ${p}`).kind; // p is a key of a or b
    const diff: OutputDiff = {
      path: p,
      kind,
      state,
      sizeBefore: before?.size,
      sizeAfter: after?.size,
      filesBefore: before?.kind === 'dir' ? before.files : undefined,
      filesAfter: after?.kind === 'dir' ? after.files : undefined,
      hashBefore: before?.hash,
      hashAfter: after?.hash,
      files: [],
      tensors: diffMeta(before, after),
    };
    if (kind === 'dir') {
      const load = async (entry: OutputEntry | undefined): Promise<ManifestEntry[] | undefined> => {
        if (entry?.kind !== 'dir') return [];
        const known = options.manifests?.get(entry.hash);
        if (known) return known;
        try {
          return await repo.cache.readManifest(entry.hash);
        } catch (error) {
          if (!isDataverError(error, 'OBJECT_MISSING')) throw error;
          missingManifests.push(entry.hash);
          return undefined;
        }
      };
      const [m1, m2] = await Promise.all([load(before), load(after)]);
      if (m1 && m2) diff.files = diffManifestEntries(m1, m2);
      else
        diff.filesUnknown =
          'the directory manifest is not in the cache: run `dataver fetch` for file-level detail';
    }
    outputs.push(diff);
  }
  const count = (s: ChangeState) => outputs.filter((o) => o.state === s).length;
  return {
    outputs,
    totals: {
      added: count('added'),
      modified: count('modified'),
      deleted: count('deleted'),
      sizeBefore,
      sizeAfter,
    },
    missingManifests,
    lockProblems,
  };
}

/**
 * File-level differences of two manifests (both sorted by path), in one merge walk.
 *
 * @example
 * diffManifestEntries([{ path: 'a', hash: h1, size: 1 }], []); // [{ path: 'a', state: 'deleted', sizeBefore: 1 }]
 */
export function diffManifestEntries(before: ManifestEntry[], after: ManifestEntry[]): FileDiff[] {
  const out: FileDiff[] = [];
  let i = 0;
  let j = 0;
  for (;;) {
    const x = before[i];
    const y = after[j];
    if (x === undefined && y === undefined) break;
    if (x !== undefined && (y === undefined || x.path < y.path)) {
      out.push({ path: x.path, state: 'deleted', sizeBefore: x.size });
      i++;
    } else if (y !== undefined && (x === undefined || y.path < x.path)) {
      out.push({ path: y.path, state: 'added', sizeAfter: y.size });
      j++;
    } else if (x !== undefined && y !== undefined) {
      if (x.hash !== y.hash)
        out.push({ path: x.path, state: 'modified', sizeBefore: x.size, sizeAfter: y.size });
      i++;
      j++;
    }
  }
  return out;
}

type MetaMap = Record<string, TensorMetaValue>;

function isTensorMeta(meta: OutputEntry['meta']): meta is TensorMetaValue {
  return meta !== undefined && Array.isArray((meta as TensorMetaValue).tensors);
}

/** Per-file tensor meta of an output: `''` is the file itself. */
function metaFiles(entry: OutputEntry | undefined): MetaMap {
  if (!entry?.meta) return {};
  if (isTensorMeta(entry.meta)) return { '': entry.meta };
  return entry.meta as MetaMap;
}

const FIELDS = ['mean', 'std', 'min', 'max'] as const;

/**
 * Tensor meta changes between two versions of an output.
 *
 * @example
 * diffMeta(before, after)[0].changes; // [{ field: 'mean', before: 0.1307, after: 0 }]
 */
export function diffMeta(before: OutputEntry | undefined, after: OutputEntry | undefined): TensorDiff[] {
  const m1 = metaFiles(before);
  const m2 = metaFiles(after);
  const out: TensorDiff[] = [];
  for (const file of [...new Set([...Object.keys(m1), ...Object.keys(m2)])].sort()) {
    const t1 = m1[file]?.tensors ?? [];
    const t2 = m2[file]?.tensors ?? [];
    const count = Math.max(t1.length, t2.length);
    for (let i = 0; i < count; i++) {
      const named = t2[i]?.name;
      const x = (named !== undefined ? t1.find((t) => t.name === named) : undefined) ?? t1[i];
      const y = t2[i] ?? (x?.name !== undefined ? t2.find((t) => t.name === x.name) : undefined);
      const shown = present(y ?? x, `tensor ${i} of ${file}`); // i < the longer list's length
      const changes: TensorFieldChange[] = [];
      if (!x || !y) {
        changes.push({
          field: 'tensor',
          before: x ? 'present' : undefined,
          after: y ? 'present' : undefined,
        });
        for (const f of FIELDS)
          if (shown[f] !== undefined) changes.push({ field: f, before: x?.[f], after: y?.[f] });
      } else {
        if (x.dtype !== y.dtype) changes.push({ field: 'dtype', before: x.dtype, after: y.dtype });
        if (JSON.stringify(x.shape) !== JSON.stringify(y.shape))
          changes.push({ field: 'shape', before: x.shape, after: y.shape });
        for (const f of FIELDS) if (x[f] !== y[f]) changes.push({ field: f, before: x[f], after: y[f] });
      }
      if (changes.length === 0) continue;
      out.push({
        file: file === '' ? undefined : file,
        tensor: shown.name,
        summary: `${shown.dtype} [${shown.shape.join(',')}]`,
        changes,
      });
    }
  }
  return out;
}

/**
 * A number as the diff shows it: 4 decimals for ordinary magnitudes.
 *
 * @example
 * formatStat(0.13066); // '0.1307'
 */
export function formatStat(value: unknown): string {
  if (typeof value !== 'number')
    return value === undefined ? '–' : Array.isArray(value) ? `[${value.join(',')}]` : String(value);
  if (Math.abs(value) >= 1e6) return value.toExponential(3);
  // A normalized mean of -7e-9 is zero for a reader: no "-0.0000".
  const text = value.toFixed(4);
  return /^-0\.0+$/.test(text) ? text.slice(1) : text;
}

/**
 * `mean 0.1307 → 0.0000` for each change.
 *
 * @example
 * describeTensorChanges([{ field: 'mean', before: 0.1307, after: 0 }]); // 'mean 0.1307 → 0.0000'
 */
export function describeTensorChanges(changes: TensorFieldChange[]): string {
  const whole = changes.find((c) => c.field === 'tensor');
  if (whole) {
    // Added or removed: its statistics, not a column of "– →".
    const side = whole.after === undefined ? 'before' : 'after';
    const stats = changes.filter((c) => c.field !== 'tensor').map((c) => `${c.field} ${formatStat(c[side])}`);
    return [side === 'after' ? 'new' : 'removed', ...stats].join('  ');
  }
  return changes.map((c) => `${c.field} ${formatStat(c.before)} → ${formatStat(c.after)}`).join('  ');
}

/** The workspace as a lock: what `diff` compares when no newer revision is given. */
export interface WorkspaceVersion {
  lock: Lock;
  /** Manifests of the workspace's changed directories (not in the cache until `add`). */
  manifests: Map<string, ManifestEntry[]>;
  /** Outputs whose files differ from data.lock.json. */
  changed: Array<{ path: string; workspace: 'modified' | 'deleted' }>;
}

/**
 * The lock as the workspace files are now: outputs whose files changed get their current hash,
 * size and tensor metadata (as `dataver add` would record them), deleted ones are left out.
 *
 * @example
 * const { lock, manifests } = await workspaceVersion(repo, await readLock(repo.root));
 * await diffLocks(repo, head, lock, { manifests });
 */
export async function workspaceVersion(
  repo: Repo,
  lock: Lock,
  onWarning?: (message: string) => void,
): Promise<WorkspaceVersion> {
  const files = new Map<string, WorkspaceFile[]>();
  const statuses = await computeStatus(repo, lock, undefined, { workspaceFiles: files, onWarning });
  const outputs: Lock['outputs'] = { ...lock.outputs };
  const manifests = new Map<string, ManifestEntry[]>();
  const changed: WorkspaceVersion['changed'] = [];
  for (const s of statuses) {
    if (s.workspace === 'unchanged') continue;
    changed.push({ path: s.path, workspace: s.workspace });
    const entry = present(lock.outputs[s.path], `the entry of ${s.path}`);
    const current = files.get(s.path);
    if (s.workspace === 'deleted' || !current || s.actualHash === undefined) {
      delete outputs[s.path];
      continue;
    }
    const size = current.reduce((n, f) => n + f.size, 0);
    const next: OutputEntry = { kind: entry.kind, hash: s.actualHash, size };
    if (entry.kind === 'dir') {
      manifests.set(s.actualHash, manifestEntries(current));
      next.files = current.length;
    }
    if (entry.stage) next.stage = entry.stage;
    const meta = await collectTensorMeta(repo, entry.kind, current, onWarning);
    if (meta) next.meta = meta;
    outputs[s.path] = next;
  }
  return { lock: { ...lock, outputs }, manifests, changed };
}
