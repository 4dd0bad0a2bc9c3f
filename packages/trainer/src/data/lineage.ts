// Where the training data comes from and what dataver says about it: the workspace data checked against
// data.lock.json (clean, dirty, or outside any repository), or the data of another git revision
// materialized outside the workspace. Everything goes through dataver's library API.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataverError, type Logger } from '@dataver/foundation';
import { checkDataLineage, type LockedOutput, lineageAtRevision, materializeRevision } from 'dataver';

/** Lineage as recorded in metadata.json (commit and repoRoot go to logs/run.json instead). */
export interface LineageRecord {
  status: 'clean' | 'dirty' | 'unknown' | 'revision';
  repoRoot: string | null;
  outputs: LockedOutput[];
  dirty: Array<{ path: string; state: string }>;
  allowDirty: boolean;
  rev: string | null;
  commit: string | null;
}

/** The data folder to read and its lineage. */
export interface DataSource {
  /** Folder holding the processed files (inside a temporary copy for a revision). */
  dataDir: string;
  /** Folder that the data files are named relative to in metadata. */
  filesRoot: string;
  lineage: LineageRecord;
  /** Removes a temporary copy (a no-op for workspace data). */
  cleanup(): void;
}

/** Options of {@link resolveDataSource}. */
export interface DataSourceOptions {
  /** Folder that `dataDir` is relative to. */
  cwd: string;
  /** The data folder as configured (relative to `cwd` or absolute). */
  dataDir: string;
  /** Train on the data of this git revision instead of the workspace. */
  rev?: string;
  /** Accept workspace data that differs from the lock, or lies outside any repository's lock. */
  allowDirty?: boolean;
  log: Logger;
}

/**
 * Finds the data to train on and its lineage. Workspace data that differs from data.lock.json is refused
 * (DATA_DIRTY, exit 3) unless `allowDirty`; with `rev`, that revision's data is materialized into a
 * temporary folder (call `cleanup` once it is read). dataver's own errors keep their code and exit code.
 *
 * @example
 * ```ts
 * const source = await resolveDataSource({ cwd: '.', dataDir: 'data/processed', log: stderrLogger() });
 * try { await loadProcessed(source.dataDir); } finally { source.cleanup(); }
 * ```
 */
export async function resolveDataSource(options: DataSourceOptions): Promise<DataSource> {
  const { cwd, log } = options;
  const dataDir = path.resolve(cwd, options.dataDir);
  if (options.rev !== undefined) return revisionSource({ ...options, rev: options.rev }, dataDir);
  const lineage = await checkDataLineage({ cwd, paths: [dataDir] });
  const workspace = { dataDir, filesRoot: cwd, cleanup: () => {} };
  const base = {
    repoRoot: lineage.repoRoot,
    outputs: lineage.outputs,
    dirty: lineage.dirty,
    allowDirty: options.allowDirty === true,
    rev: null,
  };
  if (lineage.repoRoot === null) {
    log.warn(`${options.dataDir} is not inside a dataver repository: its lineage is unknown`);
    return { ...workspace, lineage: { ...base, status: 'unknown', commit: null } };
  }
  if (lineage.dirty.length > 0) {
    const what = lineage.dirty.map((d) => `${d.path} (${d.state})`).join(', ');
    if (!options.allowDirty) {
      throw new DataverError('DATA_DIRTY', `data differs from data.lock.json: ${what}`, {
        hint: 'restore it with `dataver checkout`, record it with `dataver add`, or pass --allow-dirty',
      });
    }
    log.warn(`training on data that differs from data.lock.json (--allow-dirty): ${what}`);
    return { ...workspace, lineage: { ...base, status: 'dirty', commit: lineage.commit } };
  }
  return { ...workspace, lineage: { ...base, status: 'clean', commit: lineage.commit } };
}

async function revisionSource(
  options: DataSourceOptions & { rev: string },
  dataDir: string,
): Promise<DataSource> {
  const { cwd, rev, log } = options;
  const revision = await lineageAtRevision({ cwd, rev, paths: [dataDir] }).catch(
    inContext(`--rev needs data inside a dataver repository (${dataDir})`, 'NOT_A_REPO'),
  );
  const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'trainer-rev-'));
  const cleanup = () => fs.rmSync(dest, { recursive: true, force: true });
  try {
    await materializeRevision({ cwd, rev, paths: [dataDir], dest }).catch(
      inContext(`data of revision ${rev}`),
    );
  } catch (error) {
    cleanup();
    throw error;
  }
  log.info(`training on the data of revision ${rev} (materialized in ${dest})`);
  return {
    dataDir: path.join(dest, path.relative(revision.repoRoot, dataDir)),
    filesRoot: dest,
    cleanup,
    lineage: {
      status: 'revision',
      repoRoot: revision.repoRoot,
      outputs: revision.outputs,
      dirty: [],
      allowDirty: false,
      rev,
      commit: revision.commit,
    },
  };
}

/**
 * A `.catch` handler that puts `context` in front of a DataverError's message (of any code, or only of
 * `onlyCode`) and keeps everything else: code, exit code, hint, data, cause chain. Other errors are bugs
 * and pass unchanged.
 */
function inContext(context: string, onlyCode?: DataverError['code']): (error: unknown) => never {
  return (error: unknown) => {
    if (!(error instanceof DataverError) || (onlyCode !== undefined && error.code !== onlyCode)) throw error;
    throw new DataverError(error.code, `${context}: ${error.message}`, {
      hint: error.hint,
      data: error.data,
      exitCode: error.exitCode,
      cause: error,
    });
  };
}
