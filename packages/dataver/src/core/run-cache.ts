// The run cache: for each input state a stage has been run with (cmd, dep
// hashes, params), the outputs it produced. A stage whose inputs match a
// recorded state gets its outputs back from the object cache instead of
// running. Records live in .dataver/cache/runs/ab/cdef….json, beside the
// objects they point at, and gc keeps the objects of every record: that is why
// the run cache sits in core/ (gc's layer) while repro (pipeline/) reads and writes it.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { errnoCode, writeFileAtomic } from '@dataver/foundation';
import { z } from 'zod';
import { isSafeRelativePath } from '../lock/paths.js';
import type { Lock, OutputEntry } from '../lock/schema.js';
import { outputEntrySchema } from '../lock/schema.js';
import type { Repo } from './repo.js';

const recordSchema = z.object({
  version: z.literal(1),
  stage: z.string(),
  cmd: z.string(),
  outs: z.record(z.string().refine(isSafeRelativePath), outputEntrySchema),
  /** Metrics are small and not in the object cache: their text is kept here. */
  metrics: z.record(z.string().refine(isSafeRelativePath), z.string()),
});

export type RunRecord = z.infer<typeof recordSchema>;

function runsDir(repo: Repo): string {
  return path.join(repo.cache.root, 'runs');
}

function recordPath(repo: Repo, key: string): string {
  return path.join(runsDir(repo), key.slice(0, 2), `${key.slice(2)}.json`);
}

/**
 * The record for an input state, or undefined (a damaged record counts as absent).
 *
 * @example
 * const record = await readRunRecord(repo, check.inputsKey);
 */
export async function readRunRecord(repo: Repo, key: string): Promise<RunRecord | undefined> {
  try {
    const parsed = recordSchema.safeParse(JSON.parse(await fsp.readFile(recordPath(repo, key), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Records what a stage produced for an input state.
 *
 * @example
 * await writeRunRecord(repo, key, { version: 1, stage: 'train', cmd, outs, metrics: {} });
 */
export async function writeRunRecord(repo: Repo, key: string, record: RunRecord): Promise<void> {
  const file = recordPath(repo, key);
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(record)}\n`);
}

/**
 * Every run record as a lock (outputs only), so that gc keeps their objects.
 *
 * @example
 * const locks = await runCacheLocks(repo);
 */
export async function runCacheLocks(repo: Repo): Promise<Lock[]> {
  const locks: Lock[] = [];
  let prefixes: string[];
  try {
    prefixes = await fsp.readdir(runsDir(repo));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return locks;
    throw error;
  }
  for (const prefix of prefixes) {
    for (const name of await fsp.readdir(path.join(runsDir(repo), prefix)).catch(() => [] as string[])) {
      if (!name.endsWith('.json')) continue;
      const record = await readRunRecord(repo, prefix + name.slice(0, -'.json'.length));
      if (record) locks.push({ version: 1, outputs: record.outs as Record<string, OutputEntry>, stages: {} });
    }
  }
  return locks;
}

/**
 * Forgets every recorded run (`gc --no-run-cache --force`).
 *
 * @example
 * await clearRunCache(repo);
 */
export async function clearRunCache(repo: Repo): Promise<void> {
  await fsp.rm(runsDir(repo), { recursive: true, force: true });
}
