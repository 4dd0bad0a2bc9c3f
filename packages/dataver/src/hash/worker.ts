// Worker thread body: hashes, ingests or places batches of files with blocking I/O.
// Ingest and place are loaded on first use: they pull in @dataver/foundation, whose loading
// would more than double the start-up of a worker that only hashes.
import { parentPort } from 'node:worker_threads';
import { zip } from '../util/invariants.js';
import { type HashResult, hashFileSync, pageAlignedBuffer } from './file.js';
import type { IngestResult } from './ingest.js';
import type { PoolRequest, PoolResponse } from './pool.js';

// Large enough for ingest's small-file path (a file read whole, written only when new).
const scratch = pageAlignedBuffer(1 << 20);

const port = parentPort;
port?.on('message', (request: PoolRequest) => {
  runBatch(request).then((response) => port.postMessage(response));
});

type FileOperation = (file: string, dest: string) => HashResult | IngestResult;

async function operationFor(request: PoolRequest, buffer: Buffer): Promise<FileOperation> {
  switch (request.op) {
    case 'hash':
      return (file) => hashFileSync(file, buffer);
    case 'ingest': {
      const { ingestFileSync } = require('./ingest.js') as typeof import('./ingest.js');
      return (file) => ingestFileSync(file, request.root, buffer);
    }
    case 'place': {
      const { placeFileSync } = require('./place.js') as typeof import('./place.js');
      return (file, dest) => {
        placeFileSync(file, dest, request.mode);
        return { hash: '', size: 0 };
      };
    }
  }
}

/** Runs one batch; a failure of one file is reported for that file, not for the batch. */
export async function runBatch(request: PoolRequest, buffer: Buffer = scratch): Promise<PoolResponse> {
  const operation = await operationFor(request, buffer);
  const results: PoolResponse['results'] = [];
  const dests = request.op === 'place' ? request.dests : request.files.map(() => '');
  for (const [file, dest] of zip(request.files, dests)) {
    try {
      results.push(operation(file, dest));
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      results.push({ error: e.message, code: e.code, path: e.path });
    }
  }
  return { id: request.id, results };
}
