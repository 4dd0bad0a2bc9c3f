// A pool of worker threads that hash (or hash-and-copy) many files on all
// cores. Small files travel in batches so that messaging costs stay below the
// I/O; big files go one per message so that the cores share the work evenly.

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { HashResult } from './file.js';
import { hashFile } from './file.js';
import type { IngestResult } from './ingest.js';
import type { LinkMode } from './place.js';

export interface PoolRequest {
  id: number;
  op: 'hash' | 'ingest' | 'place';
  files: string[];
  /** Content-addressed root for `ingest`. */
  root?: string;
  /** Destinations for `place`, one per file. */
  dests?: string[];
  /** Link mode for `place`. */
  mode?: LinkMode;
}

export type FileFailure = { error: string; code?: string };
export interface PoolResponse {
  id: number;
  results: Array<HashResult | IngestResult | FileFailure>;
}

export interface FileJob {
  path: string;
  /** Size in bytes, from a previous stat; drives batching. */
  size: number;
}

export interface PoolOptions {
  /** Worker threads (default: available cores). */
  workers?: number;
  /** Called after each file with its index. */
  onFile?: (index: number, bytes: number) => void;
}

const BATCH_BYTES = 8 << 20;
const BATCH_FILES = 256;

/** True when a failure object, not a hash. */
export function isFailure(result: HashResult | FileFailure): result is FileFailure {
  return 'error' in result;
}

/**
 * Hashes many files on all cores; results are in input order, a file that
 * cannot be read yields a `FileFailure`.
 *
 * @example
 * const results = await hashFiles(paths.map((p) => ({ path: p, size: 0 })));
 */
export function hashFiles(
  files: FileJob[],
  options: PoolOptions = {},
): Promise<Array<HashResult | FileFailure>> {
  return runPool('hash', files, undefined, options);
}

/**
 * Copies many files into a content-addressed root (`root/ab/cdef…`) while hashing them.
 *
 * @example
 * const results = await ingestFiles(jobs, '.dataver/cache/sha256');
 */
export function ingestFiles(
  files: FileJob[],
  root: string,
  options: PoolOptions = {},
): Promise<Array<IngestResult | FileFailure>> {
  return runPool('ingest', files, root, options) as Promise<Array<IngestResult | FileFailure>>;
}

/**
 * Copies (or links) many objects to workspace paths on all cores; each appears atomically.
 * Parent folders must exist. Results in input order; a failed file yields a `FileFailure`.
 *
 * @example
 * await placeFiles([{ path: objectPath, size }], ['data/a.bin'], 'reflink');
 */
export function placeFiles(
  files: FileJob[],
  dests: string[],
  mode: LinkMode,
  options: PoolOptions = {},
): Promise<Array<HashResult | FileFailure>> {
  // One thread: creating files in the same folder from two threads contends on the folder's
  // lock and measured slower here (1.4 s vs 0.7 s for 10 000 files) than one thread alone.
  return runPool('place', files, undefined, { workers: 1, ...options }, { dests, mode });
}

function workerScript(): string | undefined {
  const compiled = path.join(__dirname, 'worker.js');
  return existsSync(compiled) ? compiled : undefined;
}

async function runPool(
  op: PoolRequest['op'],
  files: FileJob[],
  root: string | undefined,
  options: PoolOptions,
  place?: { dests: string[]; mode: LinkMode },
): Promise<Array<HashResult | IngestResult | FileFailure>> {
  const results: Array<HashResult | IngestResult | FileFailure> = new Array(files.length);
  if (files.length === 0) return results;
  const batches = makeBatches(files);
  const script = workerScript();
  const workerCount = Math.min(options.workers ?? availableParallelism(), batches.length);

  // One small job, or no compiled worker (unit tests on sources): do it here.
  if (!script || workerCount <= 1 || (files.length === 1 && op === 'hash')) {
    const { runBatch } = await import('./worker.js');
    for (const batch of batches) {
      if (op === 'hash' && batch.length === 1) {
        const file = files[batch[0]];
        try {
          results[batch[0]] = await hashFile(file.path);
        } catch (error) {
          const e = error as NodeJS.ErrnoException;
          results[batch[0]] = { error: e.message, code: e.code };
        }
        options.onFile?.(batch[0], files[batch[0]].size);
        continue;
      }
      const response = runBatch({
        id: 0,
        op,
        files: batch.map((i) => files[i].path),
        root,
        dests: place && batch.map((i) => place.dests[i]),
        mode: place?.mode,
      });
      batch.forEach((fileIndex, k) => {
        results[fileIndex] = response.results[k];
        options.onFile?.(fileIndex, files[fileIndex].size);
      });
      // Let timers (the progress bar) run between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return results;
  }

  const workers = Array.from({ length: workerCount }, () => new Worker(script));
  try {
    let next = 0;
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            let current = -1;
            const send = () => {
              if (next >= batches.length) return resolve();
              current = next++;
              worker.postMessage({
                id: current,
                op,
                root,
                files: batches[current].map((i) => files[i].path),
                dests: place && batches[current].map((i) => place.dests[i]),
                mode: place?.mode,
              });
            };
            worker.on('message', (response: PoolResponse) => {
              batches[current].forEach((fileIndex, k) => {
                results[fileIndex] = response.results[k];
                options.onFile?.(fileIndex, files[fileIndex].size);
              });
              send();
            });
            worker.on('error', reject);
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

/** Groups file indexes into batches of at most BATCH_FILES files / BATCH_BYTES bytes, big files first. */
function makeBatches(files: FileJob[]): number[][] {
  const order = files.map((_, i) => i).sort((a, b) => files[b].size - files[a].size);
  const batches: number[][] = [];
  let batch: number[] = [];
  let bytes = 0;
  for (const i of order) {
    if (batch.length > 0 && (batch.length >= BATCH_FILES || bytes + files[i].size > BATCH_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(i);
    bytes += files[i].size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
