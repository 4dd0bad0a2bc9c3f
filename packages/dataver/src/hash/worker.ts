// Worker thread body: hashes, ingests or places batches of files with blocking I/O.
import { parentPort } from 'node:worker_threads';
import { zip } from '../util/invariants.js';
import { hashFileSync } from './file.js';
import { ingestFileSync } from './ingest.js';
import { placeFileSync } from './place.js';
import type { PoolRequest, PoolResponse } from './pool.js';

const scratch = Buffer.allocUnsafe(1 << 20);

const port = parentPort;
port?.on('message', (request: PoolRequest) => {
  port.postMessage(runBatch(request));
});

/** Runs one batch; a failure of one file is reported for that file, not for the batch. */
export function runBatch(request: PoolRequest, buffer: Buffer = scratch): PoolResponse {
  const results: PoolResponse['results'] = [];
  const dests = request.op === 'place' ? request.dests : request.files.map(() => '');
  for (const [file, dest] of zip(request.files, dests)) {
    try {
      if (request.op === 'place') {
        placeFileSync(file, dest, request.mode);
        results.push({ hash: '', size: 0 });
        continue;
      }
      results.push(
        request.op === 'hash' ? hashFileSync(file, buffer) : ingestFileSync(file, request.root, buffer),
      );
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      results.push({ error: e.message, code: e.code, path: e.path });
    }
  }
  return { id: request.id, results };
}
