// `dataver repro`: runs the stale stages of dataver.yaml in topological order.
// A stage whose inputs match a state seen before gets its outputs back from the
// cache instead of running. Outputs are saved to the cache before the command
// deletes them, a failed command gets the previous outputs back, and the lock is
// written after each stage that succeeds (never after one that fails).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { DataverError } from '@dataver/foundation';
import { addPaths } from '../core/add.js';
import { checkout } from '../core/checkout.js';
import { ignoreOutputs } from '../core/gitignore.js';
import { neededObjects } from '../core/objects.js';
import { ensureInternalDirs, type Repo } from '../core/repo.js';
import { readRunRecord, writeRunRecord } from '../core/run-cache.js';
import { StatCache } from '../core/stat-cache.js';
import { hashOf, manifestFields } from '../core/workspace.js';
import { readLock, writeLock } from '../lock/lock-file.js';
import { isSameOrInside } from '../lock/paths.js';
import type { Lock, OutputEntry, StageState } from '../lock/schema.js';
import { present, zip } from '../util/invariants.js';
import { allOutputs, gitOutputs, PIPELINE_FILE, type Pipeline, readPipeline, type Stage } from './config.js';
import { buildGraph, edgesOf, type StageGraph, selectStages, stageOf } from './graph.js';
import { loadParamsFiles, type ParamsFiles, resolveParams } from './params.js';
import { checkStage, inputsUnchanged, PathHasher, type StageCheck, type StaleReason } from './state.js';

export interface ReproOptions {
  /** Run the selected stages even when they are up to date (and never restore from the run cache). */
  force?: boolean;
  /** Only say what would run. */
  dryRun?: boolean;
  /** Select the targets and what depends on them, rather than what they depend on. */
  downstream?: boolean;
  /** Where the commands' stdout goes: the terminal, or stderr (keeps `--json` output clean). */
  commandStdout?: 'inherit' | 'stderr';
  /** Told as each stage starts and ends. */
  onEvent?: (event: ReproEvent) => void;
}

export type StageAction = 'up-to-date' | 'ran' | 'restored' | 'would-run';

export interface StageOutcome {
  stage: string;
  action: StageAction;
  reasons: StaleReason[];
  /** For `restored`: where the outputs came from. */
  from?: 'run-cache' | 'lock';
  seconds?: number;
  /**
   * For `ran`: dependencies and params that changed while the command ran. The lock keeps what the
   * command started from, so the stage is stale (and runs again) until it runs on what is there now.
   */
  changedWhileRunning?: string[];
}

export type ReproEvent =
  | { type: 'running'; stage: string; cmd: string; reasons: StaleReason[] }
  | { type: 'outcome'; outcome: StageOutcome };

export interface ReproResult {
  stages: StageOutcome[];
  /** True when no stage ran or was restored (the pipeline was up to date). */
  upToDate: boolean;
}

/**
 * Loads dataver.yaml and checks it against the workspace: graph errors, nested
 * outputs, missing dependencies and unknown params keys all fail here, before
 * anything runs.
 *
 * @example
 * const { pipeline, graph } = await loadCheckedPipeline(repo, lock);
 */
export async function loadCheckedPipeline(
  repo: Repo,
  lock: Lock,
): Promise<{ pipeline: Pipeline; graph: StageGraph; paramsFiles: ParamsFiles }> {
  const pipeline = await readPipeline(repo.root);
  if (!pipeline) {
    throw new DataverError('PIPELINE_INVALID', `no ${PIPELINE_FILE} in ${repo.root}`, {
      hint: 'add a stage: dataver stage add <name> --cmd "…" --dep … --out …',
    });
  }
  const graph = buildGraph(pipeline);
  const stageOuts = new Set(graph.producers.keys());
  for (const [tracked, entry] of Object.entries(lock.outputs)) {
    if (stageOuts.has(tracked)) continue;
    for (const out of stageOuts) {
      if (isSameOrInside(out, tracked) || isSameOrInside(tracked, out)) {
        throw new DataverError(
          'PIPELINE_INVALID',
          `output ${out} of stage '${graph.producers.get(out)}' overlaps ${tracked}, tracked ${entry.stage ? `by stage '${entry.stage}'` : 'with `dataver add`'}`,
          {
            hint: `outputs may not nest: stop tracking it (dataver remove ${tracked}) or change the stage's outs`,
          },
        );
      }
    }
  }
  for (const stage of pipeline.stages) {
    for (const dep of stage.deps) {
      if (fs.existsSync(repo.abs(dep))) continue;
      const produced = [...stageOuts].some((o) => isSameOrInside(dep, o) || isSameOrInside(o, dep));
      if (produced) continue;
      const tracked = lock.outputs[dep] !== undefined;
      throw new DataverError(
        'PIPELINE_INVALID',
        `dependency ${dep} of stage '${stage.name}' does not exist and no stage produces it`,
        {
          hint: tracked
            ? `it is tracked: restore it with \`dataver checkout ${dep}\` (or \`dataver pull ${dep}\`)`
            : `create it, or fix the deps of '${stage.name}' in ${PIPELINE_FILE} (line ${stage.line})`,
        },
      );
    }
  }
  const paramsFiles = await loadParamsFiles(
    repo.root,
    pipeline.stages.flatMap((s) => s.params),
  );
  for (const stage of pipeline.stages) resolveParams(stage.name, stage.params, paramsFiles);
  return { pipeline, graph, paramsFiles };
}

/**
 * Reproduces the pipeline (or the given stages and what they need). Call it while
 * holding the repository write lock.
 *
 * @example
 * const { stages, upToDate } = await reproduce(repo, ['train'], { dryRun: true });
 */
export async function reproduce(
  repo: Repo,
  targets: string[],
  options: ReproOptions = {},
): Promise<ReproResult> {
  const lock = await readLock(repo.root);
  const { graph, paramsFiles } = await loadCheckedPipeline(repo, lock);
  const selected = selectStages(graph, targets, { downstream: options.downstream });
  if (!options.dryRun) await ensureInternalDirs(repo);
  const hasher = new PathHasher(repo, await StatCache.load(repo));
  const outcomes: StageOutcome[] = [];
  const wouldRun = new Set<string>();
  const report = (outcome: StageOutcome) => {
    outcomes.push(outcome);
    options.onEvent?.({ type: 'outcome', outcome });
  };

  for (const name of selected) {
    const stage = stageOf(graph, name);
    const check = await checkStage(stage, lock.stages[name], hasher, paramsFiles);
    const reasons = [...check.reasons];
    for (const up of edgesOf(graph.upstream, name))
      if (wouldRun.has(up)) reasons.push({ kind: 'upstream', stage: up });
    if (reasons.length === 0 && !options.force) {
      report({ stage: name, action: 'up-to-date', reasons });
      continue;
    }
    if (options.dryRun) {
      wouldRun.add(name);
      report({ stage: name, action: 'would-run', reasons });
      continue;
    }
    const started = Date.now();
    // A stage without outputs runs for its side effects: there is nothing to restore instead.
    // Persistent outputs depend on what was there before: such a stage always runs.
    const restorable = allOutputs(stage).length > 0 && stage.persist.length === 0;
    if (!options.force && !stage.alwaysChanged && restorable) {
      const from = await restoreOutputs(repo, stage, check, lock, hasher);
      if (from) {
        await recordStage(repo, stage, lock, hasher, paramsFiles, check.inputsKey);
        report({ stage: name, action: 'restored', from, reasons, seconds: (Date.now() - started) / 1000 });
        continue;
      }
    }
    options.onEvent?.({ type: 'running', stage: name, cmd: stage.cmd, reasons });
    await runStage(repo, stage, hasher, options.commandStdout ?? 'inherit');
    const changed = await recordStage(repo, stage, lock, hasher, paramsFiles, check.inputsKey, check.current);
    report({
      stage: name,
      action: 'ran',
      reasons,
      seconds: (Date.now() - started) / 1000,
      ...(changed.length > 0 ? { changedWhileRunning: changed } : {}),
    });
  }
  if (!options.dryRun) await hasher.save();
  if (!options.dryRun && targets.length === 0) {
    // Stages deleted from dataver.yaml leave the lock with the next full repro.
    for (const name of Object.keys(lock.stages)) if (!graph.stages.has(name)) delete lock.stages[name];
    await writeLock(repo.root, lock);
  }
  return { stages: outcomes, upToDate: outcomes.every((o) => o.action === 'up-to-date') };
}

/**
 * After a stage ran or was restored (or is committed as it is): cache and lock its outputs,
 * record its state, and remember the run when it ran. `ranFrom` is the state the command started
 * from, for a stage that ran: the lock records *those* dependencies and params, never ones that
 * changed while it ran (a run on other inputs than the lock claims would be trusted from then on).
 * Returns what changed while it ran (nothing is then remembered in the run cache either).
 *
 * @example
 * await recordStage(repo, stage, lock, hasher, paramsFiles, check.inputsKey);
 */
export async function recordStage(
  repo: Repo,
  stage: Stage,
  lock: Lock,
  hasher: PathHasher,
  paramsFiles: ParamsFiles,
  key: string,
  ranFrom?: StageState,
): Promise<string[]> {
  await hasher.save();
  if (stage.outs.length > 0) await addPaths(repo, stage.outs, { stage: stage.name, lock });
  hasher.reset(await StatCache.load(repo));
  const after = await checkStage(stage, undefined, hasher, paramsFiles);
  await hasher.save();
  const changed = ranFrom ? changedInputs(ranFrom, after.current) : [];
  lock.stages[stage.name] = ranFrom
    ? { ...after.current, deps: ranFrom.deps, params: ranFrom.params }
    : after.current;
  await writeLock(repo.root, lock);
  if (!ranFrom || changed.length > 0) return changed;
  const metrics: Record<string, string> = {};
  for (const m of stage.metrics) metrics[m] = await fsp.readFile(repo.abs(m), 'utf8');
  const outs: Record<string, OutputEntry> = {};
  for (const o of stage.outs) outs[o] = present(lock.outputs[o], `the lock entry of ${o}, just added`);
  // `cache: false` outputs may be binary and large: a stage with them is not remembered in the run cache.
  if (stage.uncachedOuts.length > 0) return changed;
  await writeRunRecord(repo, key, { version: 1, stage: stage.name, cmd: stage.cmd, outs, metrics });
  return changed;
}

/** The dependencies and params whose value differs between two states of a stage, sorted. */
function changedInputs(before: StageState, after: StageState): string[] {
  const deps = new Set([...Object.keys(before.deps), ...Object.keys(after.deps)]);
  const params = new Set([...Object.keys(before.params), ...Object.keys(after.params)]);
  return [
    ...[...deps].filter((d) => before.deps[d] !== after.deps[d]),
    ...[...params]
      .filter((k) => JSON.stringify(before.params[k]) !== JSON.stringify(after.params[k]))
      .map((k) => `param ${k}`),
  ].sort();
}

/** A record of outputs to restore: from the run cache, or the lock when only outputs changed. */
interface Candidate {
  from: 'run-cache' | 'lock';
  outs: Record<string, OutputEntry>;
  /** Metrics text to write; absent means the workspace file is already right. */
  metrics: Record<string, string>;
}

async function restoreOutputs(
  repo: Repo,
  stage: Stage,
  check: StageCheck,
  lock: Lock,
  hasher: PathHasher,
): Promise<'run-cache' | 'lock' | undefined> {
  const candidates: Candidate[] = [];
  const record = await readRunRecord(repo, check.inputsKey);
  if (record) candidates.push({ from: 'run-cache', outs: record.outs, metrics: record.metrics });
  const recorded = lock.stages[stage.name];
  if (recorded && inputsUnchanged(check.reasons)) {
    // Only outputs differ from the lock: the lock itself says what they should be.
    const outs: Record<string, OutputEntry> = {};
    for (const o of stage.outs) {
      const entry = lock.outputs[o];
      if (entry && entry.hash === recorded.outs[o]) outs[o] = entry;
    }
    const metricsOk = gitOutputs(stage).every((m) => check.current.outs[m] === recorded.outs[m]);
    if (metricsOk) candidates.push({ from: 'lock', outs, metrics: {} });
  }
  for (const candidate of candidates) {
    const keys = Object.keys(candidate.outs).sort();
    if (keys.join('\0') !== [...stage.outs].sort().join('\0')) continue;
    const metricKeys = Object.keys(candidate.metrics).sort().join('\0');
    if (candidate.from === 'run-cache' && metricKeys !== [...stage.metrics].sort().join('\0')) continue;
    const subset: Lock = { version: 1, outputs: candidate.outs, stages: {} };
    const { objects, missingManifests } = await neededObjects(repo, subset);
    if (missingManifests.length > 0 || objects.some((o) => !repo.cache.has(o.hash))) continue;
    await saveOutputs(repo, stage.outs, hasher);
    await hasher.save();
    await checkout(repo, subset, undefined, { force: true });
    hasher.reset(await StatCache.load(repo)); // checkout recorded the restored files
    for (const [m, text] of Object.entries(candidate.metrics)) {
      await fsp.mkdir(path.dirname(repo.abs(m)), { recursive: true });
      await fsp.writeFile(repo.abs(m), text);
    }
    await ignoreOutputs(repo.root, stage.outs);
    hasher.invalidate(allOutputs(stage));
    return candidate.from;
  }
  return undefined;
}

/**
 * Copies the workspace versions of outputs into the cache (cheap when they are the
 * locked ones) and returns them as lock entries, so they can be put back later.
 */
async function saveOutputs(
  repo: Repo,
  outs: string[],
  hasher: PathHasher,
): Promise<Record<string, OutputEntry>> {
  const hashes = await hasher.hashAll(outs);
  const saved: Record<string, OutputEntry> = {};
  const files = [...hashes.values()].flatMap((h) => h?.files ?? []);
  await hasher.resolveFiles(files);
  const unsaved = files.filter((f) => !repo.cache.has(hashOf(f)));
  if (unsaved.length > 0) {
    const results = await repo.cache.ingest(unsaved.map((f) => ({ path: f.abs, size: f.size })));
    for (const [f, r] of zip(unsaved, results)) {
      if (r.hash !== f.hash) {
        throw new DataverError('STAGE_FAILED', `${f.path} changed while dataver was saving it`, {
          hint: 'make sure nothing else writes the stage outputs, then run `dataver repro` again',
        });
      }
    }
  }
  for (const [out, h] of hashes) {
    if (!h) continue;
    if (h.kind === 'dir') {
      await repo.cache.putManifest(h.files, manifestFields);
      saved[out] = { kind: 'dir', hash: h.hash, size: h.size, files: h.files.length };
    } else saved[out] = { kind: 'file', hash: h.hash, size: h.size };
  }
  return saved;
}

/** Runs a stage's command with its outputs cleared; on failure the previous outputs come back. */
async function runStage(
  repo: Repo,
  stage: Stage,
  hasher: PathHasher,
  stdout: 'inherit' | 'stderr',
): Promise<void> {
  const saved = await saveOutputs(repo, stage.outs, hasher);
  const savedMetrics = new Map<string, Buffer>();
  for (const m of gitOutputs(stage)) {
    const bytes = await fsp.readFile(repo.abs(m)).catch(() => undefined);
    if (bytes) savedMetrics.set(m, bytes);
  }
  // Outputs are deleted before the command runs (it must make them afresh), except `persist: true` ones.
  const clear = async (all: boolean) => {
    for (const out of [...stage.outs, ...stage.uncachedOuts]) {
      if (all || !stage.persist.includes(out)) await fsp.rm(repo.abs(out), { recursive: true, force: true });
    }
  };
  const putBack = async () => {
    await clear(true);
    if (Object.keys(saved).length > 0)
      await checkout(repo, { version: 1, outputs: saved, stages: {} }, undefined, { force: true });
    for (const m of gitOutputs(stage)) {
      const bytes = savedMetrics.get(m);
      if (bytes) await fsp.writeFile(repo.abs(m), bytes);
      else await fsp.rm(repo.abs(m), { force: true });
    }
  };
  await clear(false);
  await hasher.save();
  for (const p of allOutputs(stage)) await fsp.mkdir(path.dirname(repo.abs(p)), { recursive: true });
  await fsp.mkdir(repo.abs(stage.wdir), { recursive: true });
  hasher.invalidate(allOutputs(stage));

  const status = await runCommand(stage.cmd, repo.root, stage.wdir, stdout, stage.name);
  if (status !== 0) {
    await putBack();
    // 127: sh's "command not found"; 9009: cmd.exe's.
    const notFound = status === 127 || status === 9009;
    const interrupted = status === 130 || status === 143 || status === 129;
    throw new DataverError(
      'STAGE_FAILED',
      notFound
        ? `stage '${stage.name}': command not found (exit ${status}): ${stage.cmd}`
        : interrupted
          ? `stage '${stage.name}' was interrupted (exit status ${status})`
          : `stage '${stage.name}' failed with exit status ${status}: ${stage.cmd}`,
      {
        hint: notFound
          ? `check the cmd of '${stage.name}' in ${PIPELINE_FILE} (line ${stage.line}): is the program installed and on PATH?`
          : 'its previous outputs and the lock are unchanged; fix the command or its inputs and run `dataver repro` again',
        exitCode: status,
        data: { stage: stage.name, status },
      },
    );
  }
  const missing = allOutputs(stage).filter((p) => !fs.existsSync(repo.abs(p)));
  if (missing.length > 0) {
    await putBack();
    throw new DataverError(
      'STAGE_FAILED',
      `stage '${stage.name}' succeeded but did not write ${missing.join(', ')}`,
      {
        hint: `make the command write its declared outs and metrics, or fix them in ${PIPELINE_FILE} (line ${stage.line})`,
        data: { stage: stage.name, missing },
      },
    );
  }
  hasher.invalidate(allOutputs(stage));
}

/**
 * The platform's shell and its arguments for a command, as DVC and npm scripts do: `/bin/sh -c`
 * on Unix, `cmd.exe /d /s /c` (or %ComSpec%) on Windows.
 *
 * @example
 * shellFor('echo hi', 'linux', {}); // { file: '/bin/sh', args: ['-c', 'echo hi'] }
 */
export function shellFor(
  cmd: string,
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): { file: string; args: string[]; verbatim: boolean } {
  if (platform === 'win32') {
    return {
      file: env.ComSpec ?? env.COMSPEC ?? 'cmd.exe',
      args: ['/d', '/s', '/c', `"${cmd}"`],
      verbatim: true,
    };
  }
  return { file: '/bin/sh', args: ['-c', cmd], verbatim: false };
}

/**
 * The environment of a stage command: the project's node_modules/.bin first on PATH (whatever
 * the variable's case: Windows spells it `Path`), and DATAVER_STAGE.
 *
 * @example
 * stageEnv({ Path: 'C:\\bin' }, 'C:\\repo', 'train').Path; // 'C:\\repo\\node_modules\\.bin;C:\\bin'
 */
export function stageEnv(env: NodeJS.ProcessEnv, root: string, stage: string): NodeJS.ProcessEnv {
  const key = Object.keys(env).find((k) => k.toUpperCase() === 'PATH') ?? 'PATH';
  const bin = path.join(root, 'node_modules', '.bin');
  return { ...env, [key]: [bin, env[key]].filter(Boolean).join(path.delimiter), DATAVER_STAGE: stage };
}

/** The stage's command in the platform's shell, in its wdir; resolves with the exit status (128 + n for a signal). */
function runCommand(
  cmd: string,
  root: string,
  wdir: string,
  stdout: 'inherit' | 'stderr',
  stage: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const cwd = path.join(root, wdir);
    const shell = shellFor(cmd);
    const child = spawn(shell.file, shell.args, {
      cwd,
      windowsVerbatimArguments: shell.verbatim,
      stdio: ['inherit', stdout === 'stderr' ? 2 : 'inherit', 'inherit'],
      // Like npm scripts: tools installed in the project (node_modules/.bin) are on PATH.
      env: stageEnv(process.env, root, stage),
    });
    // Ctrl-C reaches the command too (same process group): let it end, then put the
    // previous outputs back, rather than dying with the outputs half-written.
    const ignore = () => {};
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, ignore);
    const done = () => {
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeListener(signal, ignore);
    };
    child.on('error', (error) => {
      done();
      reject(error);
    });
    child.on('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0));
    });
  });
}
