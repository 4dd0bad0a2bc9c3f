// Worker thread body: hashes, ingests or places batches of files with blocking I/O.
import { parentPort } from 'node:worker_threads';
import { hashFileSync } from './file.js';
import { ingestFileSync } from './ingest.js';
import { placeFileSync } from './place.js';
import type { PoolRequest, PoolResponse } from './pool.js';

const scratch = Buffer.allocUnsafe(1 << 20);

parentPort?.on('message', (request: PoolRequest) => {
  parentPort!.postMessage(runBatch(request));
});

/** Runs one batch; a failure of one file is reported for that file, not for the batch. */
export function runBatch(request: PoolRequest, buffer: Buffer = scratch): PoolResponse {
  const results: PoolResponse['results'] = [];
  for (const [i, file] of request.files.entries()) {
    try {
      if (request.op === 'place') {
        placeFileSync(file, request.dests![i], request.mode!);
        results.push({ hash: '', size: 0 });
        continue;
      }
      results.push(
        request.op === 'hash' ? hashFileSync(file, buffer) : ingestFileSync(file, request.root!, buffer),
      );
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      results.push({ error: e.message, code: e.code });
    }
  }
  return { id: request.id, results };
}
