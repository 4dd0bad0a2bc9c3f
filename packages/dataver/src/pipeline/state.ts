// A stage's current state (cmd, dep hashes, params values, out hashes) and how
// it differs from the state recorded in data.lock.json. Hashes come from the
// stat cache (`resolveHashes`), so checking an up-to-date pipeline touches only
// file metadata; each path is hashed at most once per run.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { Repo } from '../core/repo.js';
import type { Listing, StatCache } from '../core/stat-cache.js';
import {
  hashOf,
  listDirectory,
  manifestFields,
  resolveHashes,
  statFile,
  type WorkspaceFile,
} from '../core/workspace.js';
import type { StageState } from '../lock/schema.js';
import { manifestHash } from '../odb/manifest.js';
import { allOutputs, type Stage } from './config.js';
import { canonicalJson, type ParamsFiles, resolveParams } from './params.js';

/** Why a stage is stale. */
export type StaleReason =
  | { kind: 'new' }
  | { kind: 'always-changed' }
  | { kind: 'cmd' }
  | { kind: 'dep'; path: string; change: 'modified' | 'added' | 'removed' | 'missing' }
  | { kind: 'param'; key: string; change: 'modified' | 'added' | 'removed'; old?: unknown; new?: unknown }
  | { kind: 'out'; path: string; change: 'modified' | 'missing' | 'added' | 'removed' }
  /** Dry run only: an upstream stage would run, so this one would see new inputs. */
  | { kind: 'upstream'; stage: string };

export interface StageCheck {
  name: string;
  stale: boolean;
  reasons: StaleReason[];
  /** The state the stage would be recorded with now (outs: what the workspace holds). */
  current: StageState;
  /** Hash of the inputs (cmd, dep hashes, params, out paths): the run-cache key. */
  inputsKey: string;
}

export interface PathHash {
  kind: 'file' | 'dir';
  hash: string;
  size: number;
  /** The files (for a directory known by its listing digest, without hashes: see `resolveFiles`). */
  files: WorkspaceFile[];
}

/**
 * Hashes workspace paths (files, or directories as manifests), memoized for one run.
 *
 * @example
 * const hasher = new PathHasher(repo, await StatCache.load(repo));
 * const hashes = await hasher.hashAll(['data/raw', 'params.yaml']);
 */
export class PathHasher {
  private readonly memo = new Map<string, PathHash | undefined>();

  constructor(
    private readonly repo: Repo,
    private statCache: StatCache,
  ) {}

  /** Use another stat cache (after a command that saved its own). */
  reset(statCache: StatCache): void {
    this.statCache = statCache;
    this.memo.clear();
  }

  /** Writes the hashes learnt so far to the stat cache file, for the next run and for `add`/`checkout`. */
  async save(): Promise<void> {
    await this.statCache.save();
  }

  /** Forget what is known about paths a stage just wrote. */
  invalidate(paths: string[]): void {
    for (const key of [...this.memo.keys()]) {
      if (paths.some((p) => key === p || key.startsWith(`${p}/`) || p.startsWith(`${key}/`)))
        this.memo.delete(key);
    }
  }

  /** Hashes several paths with one parallel batch for what the stat cache cannot vouch for. */
  async hashAll(repoPaths: string[]): Promise<Map<string, PathHash | undefined>> {
    const todo = repoPaths.filter((p) => !this.memo.has(p));
    const plans: Array<
      | { path: string; kind: 'file'; files: [WorkspaceFile]; listing?: undefined }
      | { path: string; kind: 'dir'; files: WorkspaceFile[]; listing: Listing }
    > = [];
    for (const p of new Set(todo)) {
      let st: fs.Stats;
      try {
        st = fs.statSync(this.repo.abs(p));
      } catch {
        this.memo.set(p, undefined);
        continue;
      }
      if (st.isDirectory()) {
        const listing = listDirectory(this.repo, p);
        const files = listing.files();
        const known = this.statCache.lookupDir(p, listing);
        const size = files.reduce((n, f) => n + f.size, 0);
        // Same listing metadata as when the manifest was last computed: no per-file lookups.
        if (known) this.memo.set(p, { kind: 'dir', hash: known, size, files });
        else plans.push({ path: p, kind: 'dir', files, listing });
      } else {
        const f = statFile(this.repo, p);
        if (f) plans.push({ path: p, kind: 'file', files: [f] });
        else this.memo.set(p, undefined);
      }
    }
    await this.resolveFiles(plans.flatMap((p) => p.files));
    for (const plan of plans) {
      const size = plan.files.reduce((n, f) => n + f.size, 0);
      const hash = plan.kind === 'file' ? hashOf(plan.files[0]) : manifestHash(plan.files, manifestFields);
      if (plan.listing) this.statCache.recordDir(plan.path, plan.listing, hash);
      this.memo.set(plan.path, { kind: plan.kind, hash, size, files: plan.files });
    }
    return new Map(repoPaths.map((p) => [p, this.memo.get(p)]));
  }

  /** Fills in the hashes of files that lack one (a directory known by its listing digest has none). */
  async resolveFiles(files: WorkspaceFile[]): Promise<void> {
    const todo = files.filter((f) => f.hash === undefined);
    if (todo.length > 0) await resolveHashes(this.repo, this.statCache, todo);
  }
}

/**
 * Compares a stage's current state with its recorded one.
 *
 * @example
 * const check = await checkStage(stage, lock.stages[stage.name], hasher, paramsFiles);
 * if (check.stale) console.log(describeReasons(check.reasons));
 */
export async function checkStage(
  stage: Stage,
  recorded: StageState | undefined,
  hasher: PathHasher,
  paramsFiles: ParamsFiles,
): Promise<StageCheck> {
  const params = resolveParams(stage.name, stage.params, paramsFiles);
  const hashes = await hasher.hashAll([...stage.deps, ...allOutputs(stage)]);
  const deps: Record<string, string> = {};
  const missingDeps: string[] = [];
  for (const d of stage.deps) {
    const h = hashes.get(d);
    if (h) deps[d] = h.hash;
    else missingDeps.push(d);
  }
  const outs: Record<string, string> = {};
  for (const o of allOutputs(stage)) {
    const h = hashes.get(o);
    if (h) outs[o] = h.hash;
  }
  const current: StageState = { cmd: stage.cmd, deps, params, outs };
  const reasons: StaleReason[] = [];
  if (!recorded) reasons.push({ kind: 'new' });
  else {
    if (recorded.cmd !== stage.cmd) reasons.push({ kind: 'cmd' });
    for (const d of stage.deps) {
      const before = recorded.deps[d];
      const now = deps[d];
      if (now === undefined) reasons.push({ kind: 'dep', path: d, change: 'missing' });
      else if (before === undefined) reasons.push({ kind: 'dep', path: d, change: 'added' });
      else if (before !== now) reasons.push({ kind: 'dep', path: d, change: 'modified' });
    }
    for (const d of Object.keys(recorded.deps)) {
      if (!stage.deps.includes(d)) reasons.push({ kind: 'dep', path: d, change: 'removed' });
    }
    for (const [key, value] of Object.entries(params)) {
      if (!(key in recorded.params)) reasons.push({ kind: 'param', key, change: 'added', new: value });
      else if (canonicalJson(recorded.params[key]) !== canonicalJson(value))
        reasons.push({ kind: 'param', key, change: 'modified', old: recorded.params[key], new: value });
    }
    for (const key of Object.keys(recorded.params)) {
      if (!(key in params))
        reasons.push({ kind: 'param', key, change: 'removed', old: recorded.params[key] });
    }
    for (const o of allOutputs(stage)) {
      const before = recorded.outs[o];
      if (outs[o] === undefined) reasons.push({ kind: 'out', path: o, change: 'missing' });
      else if (before === undefined) reasons.push({ kind: 'out', path: o, change: 'added' });
      else if (before !== outs[o]) reasons.push({ kind: 'out', path: o, change: 'modified' });
    }
    for (const o of Object.keys(recorded.outs)) {
      if (!allOutputs(stage).includes(o)) reasons.push({ kind: 'out', path: o, change: 'removed' });
    }
  }
  if (stage.alwaysChanged) reasons.push({ kind: 'always-changed' });
  return {
    name: stage.name,
    stale: reasons.length > 0,
    reasons,
    current,
    inputsKey: inputsKey(stage, deps, params, missingDeps),
  };
}

/**
 * True when only outputs differ: the inputs equal the recorded ones.
 *
 * @example
 * inputsUnchanged([{ kind: 'out', path: 'model', change: 'missing' }]); // true
 */
export function inputsUnchanged(reasons: StaleReason[]): boolean {
  return reasons.every((r) => r.kind === 'out' && r.change !== 'removed' && r.change !== 'added');
}

/**
 * The run-cache key: everything that determines what a stage's command produces.
 *
 * @example
 * const key = inputsKey(stage, check.current.deps, check.current.params);
 */
export function inputsKey(
  stage: Stage,
  deps: Record<string, string>,
  params: Record<string, unknown>,
  missingDeps: string[] = [],
): string {
  const text = canonicalJson({
    cmd: stage.cmd,
    deps,
    missingDeps,
    params,
    outs: [...stage.outs].sort(),
    metrics: [...stage.metrics].sort(),
    // Only when used, so that the keys of stages without them stay what they were.
    ...(stage.uncachedOuts.length > 0 ? { uncached: [...stage.uncachedOuts].sort() } : {}),
    ...(stage.persist.length > 0 ? { persist: [...stage.persist].sort() } : {}),
    ...(stage.wdir !== '.' ? { wdir: stage.wdir } : {}),
  });
  return createHash('sha256').update(text).digest('hex');
}

/**
 * One short phrase per reason, for people.
 *
 * @example
 * describeReasons([{ kind: 'param', key: 'lr', change: 'modified', old: 0.1, new: 0.2 }]); // 'param lr 0.1 → 0.2'
 */
export function describeReasons(reasons: StaleReason[]): string {
  return reasons.map(describeReason).join(', ');
}

function describeReason(r: StaleReason): string {
  switch (r.kind) {
    case 'new':
      return 'never run';
    case 'always-changed':
      return 'always_changed';
    case 'cmd':
      return 'cmd changed';
    case 'dep':
      return `dep ${r.path} ${r.change}`;
    case 'param':
      return r.change === 'modified'
        ? `param ${r.key} ${short(r.old)} → ${short(r.new)}`
        : `param ${r.key} ${r.change}`;
    case 'out':
      return `out ${r.path} ${r.change}`;
    default:
      return `upstream stage ${r.stage} would run`;
  }
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}
