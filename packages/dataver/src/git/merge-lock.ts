// Three-way merge of data.lock.json, entry by entry: each output and each stage
// state is one unit. A side that left an entry as it was in the base takes the
// other side's version; only an entry both sides changed differently conflicts.
import { serializeLock, sortKeys } from '../lock/lock-file.js';
import type { Lock } from '../lock/schema.js';
import { present } from '../util/invariants.js';

export interface LockConflict {
  section: 'outputs' | 'stages';
  key: string;
  base?: unknown;
  ours?: unknown;
  theirs?: unknown;
}

export interface LockMerge {
  /** The merged lock; a conflicting entry holds our version. */
  lock: Lock;
  conflicts: LockConflict[];
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function mergeSection<T>(
  section: 'outputs' | 'stages',
  base: Record<string, T>,
  ours: Record<string, T>,
  theirs: Record<string, T>,
  conflicts: LockConflict[],
): Record<string, T> {
  const out: Record<string, T> = {};
  const keys = new Set([...Object.keys(base), ...Object.keys(ours), ...Object.keys(theirs)]);
  for (const key of [...keys].sort()) {
    const b = base[key];
    const o = ours[key];
    const t = theirs[key];
    let merged: T | undefined;
    if (same(o, t)) merged = o;
    else if (same(o, b)) merged = t;
    else if (same(t, b)) merged = o;
    else {
      conflicts.push({ section, key, base: b, ours: o, theirs: t });
      merged = o;
    }
    if (merged !== undefined) out[key] = merged;
  }
  return out;
}

/**
 * Merges two locks that share a base.
 *
 * @example
 * const { lock, conflicts } = mergeLocks(base, ours, theirs);
 * if (conflicts.length === 0) await writeLock(root, lock);
 */
export function mergeLocks(base: Lock, ours: Lock, theirs: Lock): LockMerge {
  const conflicts: LockConflict[] = [];
  const outputs = mergeSection('outputs', base.outputs, ours.outputs, theirs.outputs, conflicts);
  const stages = mergeSection('stages', base.stages, ours.stages, theirs.stages, conflicts);
  return { lock: { version: ours.version, outputs, stages }, conflicts };
}

const PLACEHOLDER = (i: number) => `@@dataver-conflict-${i}@@`;

/**
 * The lock text with git-style conflict markers around each conflicting entry
 * (and only those), so the file shows exactly what to decide.
 *
 * @example
 * await fs.writeFile(oursPath, renderConflicts(merge));
 */
export function renderConflicts(merge: LockMerge): string {
  const marked: Lock = {
    ...merge.lock,
    outputs: { ...merge.lock.outputs },
    stages: { ...merge.lock.stages },
  };
  merge.conflicts.forEach((c, i) => {
    (marked[c.section] as Record<string, unknown>)[c.key] = PLACEHOLDER(i);
  });
  const lines = serializeLock(marked).split('\n');
  const out: string[] = [];
  for (const line of lines) {
    const m = /^(\s*)("(?:[^"\\]|\\.)*"): "@@dataver-conflict-(\d+)@@"(,?)$/.exec(line);
    if (!m) {
      out.push(line);
      continue;
    }
    const [, indent, key, index, comma] = m;
    const c = present(merge.conflicts[Number(index)], `conflict ${index}`);
    const side = (value: unknown) =>
      value === undefined
        ? `${indent}// ${key} deleted on this side`
        : `${indent}${key}: ${JSON.stringify(sortKeys(value), null, 2).split('\n').join(`\n${indent}`)}${comma}`;
    out.push('<<<<<<< ours', side(c.ours), '=======', side(c.theirs), '>>>>>>> theirs');
  }
  return out.join('\n');
}

/**
 * One line per conflict, for the merge driver's message.
 *
 * @example
 * describeConflict({ section: 'outputs', key: 'data/raw', ours, theirs });
 */
export function describeConflict(c: LockConflict): string {
  const what = c.section === 'outputs' ? `output ${c.key}` : `stage '${c.key}'`;
  const hashOf = (v: unknown) => {
    if (v === undefined) return 'deleted';
    const h = (v as { hash?: unknown }).hash;
    return typeof h === 'string' ? h.slice(0, 12) : 'changed';
  };
  if (c.section === 'stages' && c.ours !== undefined && c.theirs !== undefined) {
    const o = c.ours as Record<string, unknown>;
    const t = c.theirs as Record<string, unknown>;
    const fields = ['cmd', 'deps', 'params', 'outs'].filter((f) => !same(o[f], t[f]));
    return `${what}: changed differently on both sides (${fields.join(', ')} differ)`;
  }
  if (c.ours === undefined || c.theirs === undefined)
    return `${what}: deleted on one side, changed on the other (ours: ${hashOf(c.ours)}, theirs: ${hashOf(c.theirs)})`;
  return `${what}: changed differently on both sides (ours: ${hashOf(c.ours)}, theirs: ${hashOf(c.theirs)})`;
}
