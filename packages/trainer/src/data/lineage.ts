// The one place where the trainer talks to dataver's library API: is the data we are about to train on
// the data that `data.lock.json` records, and where do we get the data of another commit. The functions
// are looked up at run time so that the trainer still builds and runs against a dataver without them.
import { DataverError } from '@dataver/foundation';

/** What dataver knows about a set of data paths. */
export interface DataLineage {
  /** Root of the dataver repository, or null when the data is not inside one. */
  repoRoot: string | null;
  /** Locked outputs covering the paths, with their hashes. */
  outputs: Array<{ path: string; hash: string }>;
  /** Paths whose files differ from the lock (or are untracked), with the state dataver reports. */
  dirty: Array<{ path: string; state: string }>;
}

interface DataverLineageApi {
  checkDataLineage(options: { cwd: string; paths: string[] }): Promise<DataLineage>;
  materializeRevision(options: {
    cwd: string;
    rev: string;
    paths: string[];
    dest: string;
  }): Promise<string[]>;
}

async function dataverApi(): Promise<Partial<DataverLineageApi>> {
  try {
    return (await import('dataver')) as unknown as Partial<DataverLineageApi>;
  } catch (error) {
    throw new DataverError(
      'LINEAGE_UNAVAILABLE',
      `the dataver library could not be loaded: ${(error as Error).message}`,
      {
        cause: error,
        hint: 'build it with `npx tsc -b packages/dataver`',
      },
    );
  }
}

/**
 * Asks dataver whether the data paths match the lock.
 *
 * @example
 * ```ts
 * const { repoRoot, dirty } = await checkDataLineage({ cwd: process.cwd(), paths: ['data/processed'] });
 * ```
 */
export async function checkDataLineage(options: { cwd: string; paths: string[] }): Promise<DataLineage> {
  const api = await dataverApi();
  if (typeof api.checkDataLineage !== 'function') {
    throw new DataverError('LINEAGE_UNAVAILABLE', 'this dataver build has no checkDataLineage()', {
      hint: 'update and rebuild the dataver package, or pass --no-lineage',
    });
  }
  return api.checkDataLineage(options);
}

/**
 * Writes the data of git revision `rev` for the tracked `paths` under `dest`, leaving the workspace alone.
 *
 * @example
 * ```ts
 * await materializeRevision({ cwd: '.', rev: 'HEAD~1', paths: ['data/processed'], dest: '/tmp/rev' });
 * ```
 */
export async function materializeRevision(options: {
  cwd: string;
  rev: string;
  paths: string[];
  dest: string;
}): Promise<string[]> {
  const api = await dataverApi();
  if (typeof api.materializeRevision !== 'function') {
    throw new DataverError(
      'LINEAGE_UNAVAILABLE',
      'this dataver build has no materializeRevision(), so --rev cannot work',
      {
        hint: 'update and rebuild the dataver package',
      },
    );
  }
  try {
    return await api.materializeRevision(options);
  } catch (error) {
    const e = error as Error & { exitCode?: number; hint?: string };
    throw new DataverError('DATA_MISSING', `data of revision ${options.rev}: ${e.message}`, {
      cause: error,
      hint: e.hint,
    });
  }
}
