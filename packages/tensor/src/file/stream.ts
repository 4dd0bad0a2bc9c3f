// Streaming writes of one large tensor: the data is produced chunk by chunk into a reused
// buffer and written while the next chunk is produced, so no full-size array is allocated.
// For .pt the CRC is known only at the end; it is patched into the local header then.
import { DataverError, writeFileAtomicWith } from '@dataver/foundation';
import { crc32, planZip, type ZipRecord, zipCentralDirectory, zipLocalHeader } from '../container/zip.js';
import { allocData, DTYPES, numelOf } from '../dtype/dtype.js';
import type { TensorData, TensorFormat } from '../dtype/types.js';
import { npyHeaderBytes } from '../format/npy.js';
import { ptEntries, ptPickle, type TensorSpec } from '../format/pt.js';
import { safetensorsHeaderBytes } from '../format/safetensors.js';
import { formatFromPath } from './io.js';

/** Fills `out` with the elements starting at flat element index `start`. */
export type ChunkFiller = (out: TensorData, start: number) => void;

export interface StreamWriteOptions {
  format?: TensorFormat;
  /** fsync before the rename (default true). */
  sync?: boolean;
  /** Elements per chunk (default 256 Ki). */
  chunkElements?: number;
}

/**
 * Writes one tensor whose elements `fill` produces chunk by chunk, atomically (temp + rename),
 * byte-identical to `writeTensor` of the same values.
 *
 * @example
 * await writeTensorStreaming('x.pt', { dtype: 'float32', shape: [1000] }, (out, start) => {
 *   for (let i = 0; i < out.length; i++) out[i] = start + i;
 * });
 */
export async function writeTensorStreaming(
  filePath: string,
  spec: TensorSpec,
  fill: ChunkFiller,
  options: StreamWriteOptions = {},
): Promise<void> {
  const format = options.format ?? formatFromPath(filePath);
  if (!format)
    throw new DataverError('UNSUPPORTED_FORMAT', 'cannot tell the tensor format from the extension', {
      file: filePath,
    });
  if (DTYPES[spec.dtype].widened)
    throw new DataverError('UNSUPPORTED_DTYPE', `streaming writes do not support ${spec.dtype}`, {
      file: filePath,
    });
  const numel = numelOf(spec.shape);
  const es = DTYPES[spec.dtype].size;
  const nbytes = numel * es;
  let head: Uint8Array[];
  let tail: (crc: number) => Uint8Array[] = () => [];
  let patch: ((crc: number) => { at: number; bytes: Uint8Array }[]) | undefined;
  if (format === 'pt') {
    // the records of a one-tensor archive; its storage's data is what `fill` streams
    const pickle = ptPickle(spec, () => {});
    const isData = (name: string): boolean => name.endsWith('/data/0');
    const plan = planZip(
      ptEntries('archive', pickle, [new Uint8Array(0)]).map((e) => ({
        ...e,
        size: isData(e.name) ? nbytes : e.data.length,
      })),
    );
    const record = (e: (typeof plan.entries)[number], dataCrc: number): ZipRecord => ({
      name: e.name,
      size: e.size,
      crc: isData(e.name) ? dataCrc : crc32(e.data),
      offset: e.offset,
    });
    const at = plan.entries.findIndex((e) => isData(e.name));
    const before = plan.entries.slice(0, at);
    const storage = plan.entries.slice(at, at + 1);
    const after = plan.entries.slice(at + 1);
    // the storage's CRC is known only at the end: its local header is written again then
    head = [
      ...before.flatMap((e) => [zipLocalHeader(record(e, 0)), e.data]),
      ...storage.map((e) => zipLocalHeader(record(e, 0))),
    ];
    tail = (crc) => [
      ...after.flatMap((e) => [zipLocalHeader(record(e, crc)), e.data]),
      zipCentralDirectory(
        plan.entries.map((e) => record(e, crc)),
        plan.centralOffset,
      ),
    ];
    patch = (crc) => storage.map((e) => ({ at: e.offset, bytes: zipLocalHeader(record(e, crc)) }));
  } else if (format === 'npy') {
    head = [npyHeaderBytes(spec)];
  } else {
    head = [safetensorsHeaderBytes([{ name: 'tensor', dtype: spec.dtype, shape: spec.shape, nbytes }])];
  }

  await writeFileAtomicWith(
    filePath,
    async (handle) => {
      let pos = 0;
      const put = async (b: Uint8Array): Promise<void> => {
        let done = 0;
        while (done < b.length) {
          const { bytesWritten } = await handle.write(b, done, b.length - done, pos + done);
          done += bytesWritten;
        }
        pos += b.length;
      };
      for (const b of head) await put(b);
      // two buffers: one is being written while the other is filled
      const chunk = Math.max(1, Math.min(options.chunkElements ?? 1 << 18, numel));
      let filling = allocData(spec.dtype, chunk);
      let writing = allocData(spec.dtype, chunk);
      let crc = 0;
      let inFlight: Promise<void> = Promise.resolve();
      for (let start = 0; start < numel; start += chunk) {
        const n = Math.min(chunk, numel - start);
        const out = filling.subarray(0, n);
        fill(out, start);
        const bytes = new Uint8Array(out.buffer, out.byteOffset, n * es);
        if (patch) crc = crc32(bytes, crc);
        await inFlight;
        inFlight = put(bytes);
        [filling, writing] = [writing, filling];
      }
      await inFlight;
      for (const b of tail(crc)) await put(b);
      for (const p of patch?.(crc) ?? []) await handle.write(p.bytes, 0, p.bytes.length, p.at);
    },
    { sync: options.sync ?? true },
  );
}
