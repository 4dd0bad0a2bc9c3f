// Worker thread body: hashes, ingests or places batches of files with blocking I/O.
// Ingest and place are loaded on first use: they pull in @dataver/foundation, whose loading
// would more than double the start-up of a worker that only hashes.
import { closeSync, openSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { type HashResult, hashFileSync, pageAlignedBuffer, readExactlySync } from './file.js';
import type { IngestResult } from './ingest.js';
import type { PoolRequest, PoolResponse } from './pool.js';

// Large enough for ingest's small-file path (a file read whole, written only when new).
const scratch = pageAlignedBuffer(1 << 20);

// Temporary names of `store` writes, one per folder (see reusedTmpName).
const tmpNames = new Map<string, string>();

const port = parentPort;
port?.on('message', (request: PoolRequest) => {
  runBatch(request).then((response) => port.postMessage(response));
});

/**
 * What a batch does to its file number `index`, named by `file` (a path, or for `store` a hash);
 * `close` releases what the batch opened.
 */
type FileOperation = ((file: string, index: number) => HashResult | IngestResult) & { close?: () => void };

async function operationFor(request: PoolRequest, buffer: Buffer): Promise<FileOperation> {
  switch (request.op) {
    case 'hash':
      return (file) => hashFileSync(file, buffer);
    case 'ingest': {
      const { ingestFileSync } = require('./ingest.js') as typeof import('./ingest.js');
      return (file) => ingestFileSync(file, request.root, buffer);
    }
    case 'place': {
      const { placeBytesSync, placeFileSync } = require('./place.js') as typeof import('./place.js');
      const ranges = request.ranges;
      if (ranges) {
        const { reusedTmpName } = require('./ingest.js') as typeof import('./ingest.js');
        const packs = new PackReader();
        const unpack: FileOperation = (pack, index) => {
          const dest = request.dests[index] as string;
          const bytes = packs.read(pack, ranges[2 * index] as number, ranges[2 * index + 1] as number);
          placeBytesSync(bytes, dest, reusedTmpName(tmpNames, dest));
          return { hash: '', size: bytes.length };
        };
        unpack.close = () => packs.close();
        return unpack;
      }
      return (file, index) => {
        placeFileSync(file, request.dests[index] as string, request.mode);
        return { hash: '', size: 0 };
      };
    }
    case 'store': {
      const { objectPathIn, reusedTmpName, storeObjectSync } =
        require('./ingest.js') as typeof import('./ingest.js');
      return (hash, index) => {
        const bytes = request.blobs[index] as Uint8Array;
        storeObjectSync(request.root, hash, bytes, reusedTmpName(tmpNames, objectPathIn(request.root, hash)));
        return { hash, size: bytes.length };
      };
    }
  }
}

/** Runs one batch; a failure of one file is reported for that file, not for the batch. */
export async function runBatch(request: PoolRequest, buffer: Buffer = scratch): Promise<PoolResponse> {
  const operation = await operationFor(request, buffer);
  const results: PoolResponse['results'] = [];
  try {
    for (const [index, file] of request.files.entries()) {
      try {
        results.push(operation(file, index));
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        results.push({ error: e.message, code: e.code, path: e.path });
      }
    }
  } finally {
    operation.close?.();
  }
  return { id: request.id, results };
}

/**
 * Reads ranges of packs, each pack opened once per batch. Threads share the process's file
 * descriptors, so the batch closes them itself (a finished worker would not).
 */
class PackReader {
  private readonly fds = new Map<string, number>();

  read(pack: string, offset: number, size: number): Buffer {
    let fd = this.fds.get(pack);
    if (fd === undefined) {
      fd = openSync(pack, 'r');
      this.fds.set(pack, fd);
    }
    return readExactlySync(fd, offset, size);
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}
