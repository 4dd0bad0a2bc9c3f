// Summaries (dtype, shape, statistics) of tensor files, streamed: only headers and the pickle
// are held in memory; tensor data passes through the one StatsAccumulator in C order.
import type { FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs/promises';
import { DataverError, withFile } from '@dataver/foundation';
import {
  checkZipCrc,
  crc32,
  decodeZipEntry,
  locateZipDirectory,
  looksLikeZip,
  parseZipDirectory,
  ZIP_LOCAL_HEADER_BYTES,
  ZIP_TAIL_BYTES,
  type ZipEntry,
  zipDataOffset,
} from '../container/zip.js';
import { DEFAULT_MAX_BYTES, DTYPES } from '../dtype/dtype.js';
import type { TensorFormat } from '../dtype/types.js';
import {
  checkNpyDataLength,
  NPY_PREAMBLE_BYTES,
  npyHeaderSpan,
  npyLayout,
  parseNpy,
  parseNpyHeader,
} from '../format/npy.js';
import {
  checkTensorView,
  flattenTensors,
  isBigEndianRecord,
  materializeTensor,
  parsePt,
  ptArchive,
  ptTensorRefs,
  storageEntry,
} from '../format/pt.js';
import { parseSafetensorsHeader, safetensorsHeaderLength } from '../format/safetensors.js';
import { StatsAccumulator, summarizeTensor, summaryOf, type TensorSummary } from '../stats/stats.js';
import { formatFromPath, sniffFormat } from './io.js';

/** A file's tensor summaries with the format that read it. */
export interface TensorFileSummary {
  format: TensorFormat;
  tensors: TensorSummary[];
}

/** Bytes read per step while streaming tensor data. */
const CHUNK = 1 << 20;

/**
 * Summarizes every tensor of a `.pt`/`.pth`, `.npy` or `.safetensors` file (format from the
 * extension, else from the first bytes). Statistics follow one rule in every format, so the
 * same tensor gives the same summary whichever format holds it; see `StatsAccumulator.result`.
 * Tensor data is streamed, never loaded whole, except for strided or compressed `.pt` storages,
 * legacy `.pt` files and Fortran-ordered `.npy` arrays.
 *
 * @example
 * const { format, tensors } = await summarizeFile('data/processed/train_images.pt');
 * // 'pt', [{ dtype: 'float32', shape: [30000, 1, 28, 28], mean: 0, std: 1, min: -0.42, max: 2.8 }]
 */
export async function summarizeFile(filePath: string): Promise<TensorFileSummary> {
  const handle = await fs.open(filePath, 'r').catch(withFile(filePath));
  try {
    const size = (await handle.stat()).size;
    const file = new RandomAccess(handle, size);
    const format = formatFromPath(filePath) ?? sniffFormat(await file.read(0, Math.min(size, 16)));
    switch (format) {
      case 'npy':
        return { format, tensors: [await summarizeNpy(file)] };
      case 'safetensors':
        return { format, tensors: await summarizeSafetensors(file) };
      case 'pt':
        return { format, tensors: await summarizePt(file) };
      default:
        throw new DataverError('UNSUPPORTED_FORMAT', 'unknown tensor file format', {
          hint: 'use a .pt, .npy or .safetensors file',
        });
    }
  } catch (error) {
    return withFile(filePath)(error);
  } finally {
    await handle.close();
  }
}

/** Positioned reads of one open file whose size is known. */
class RandomAccess {
  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** Exactly `length` bytes at `offset`, or a TRUNCATED error. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset + length > this.size)
      throw new DataverError(
        'TRUNCATED',
        `needs bytes ${offset}..${offset + length} of a ${this.size}-byte file`,
      );
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(out, done, length - done, offset + done);
      if (bytesRead === 0) throw new DataverError('TRUNCATED', 'file ended while it was being read');
      done += bytesRead;
    }
    return out;
  }

  /** Hands bytes [start, end) to `onChunk` in order, in pieces of at most 1 MiB. */
  async stream(start: number, end: number, onChunk: (chunk: Uint8Array, at: number) => void): Promise<void> {
    if (end > this.size)
      throw new DataverError('TRUNCATED', `data runs to byte ${end} of a ${this.size}-byte file`);
    // one buffer, reused: every consumer copies what it keeps
    const buffer = Buffer.alloc(Math.min(CHUNK, Math.max(1, end - start)));
    for (let at = start; at < end; ) {
      const { bytesRead } = await this.handle.read(buffer, 0, Math.min(buffer.length, end - at), at);
      if (bytesRead === 0) throw new DataverError('TRUNCATED', 'file ended while it was being read');
      onChunk(buffer.subarray(0, bytesRead), at);
      at += bytesRead;
    }
  }

  /** The whole file, for the formats that are not streamed. */
  async all(): Promise<Uint8Array> {
    if (this.size > DEFAULT_MAX_BYTES)
      throw new DataverError('TOO_LARGE', `file of ${this.size} bytes is too large to read whole`);
    return this.read(0, this.size);
  }
}

async function summarizeNpy(file: RandomAccess): Promise<TensorSummary> {
  const { dataOffset } = npyHeaderSpan(await file.read(0, Math.min(file.size, NPY_PREAMBLE_BYTES)));
  if (dataOffset > file.size) throw new DataverError('TRUNCATED', '.npy header is truncated');
  const h = npyLayout(parseNpyHeader(await file.read(0, dataOffset)));
  checkNpyDataLength(h, file.size);
  // column-major data is not in C order: summarize the transposed tensor instead
  if (h.fortranOrder && h.shape.length >= 2) return summarizeTensor(parseNpy(await file.all()));
  const acc = new StatsAccumulator(h.dtype, h.bigEndian);
  await file.stream(h.dataOffset, h.dataOffset + h.nbytes, (chunk) => acc.pushBytes(chunk));
  return summaryOf(acc, h.shape);
}

async function summarizeSafetensors(file: RandomAccess): Promise<TensorSummary[]> {
  const length = safetensorsHeaderLength(await file.read(0, Math.min(file.size, 8)), file.size);
  const dataStart = 8 + length;
  const entries = parseSafetensorsHeader(
    await file.read(8, length),
    file.size - dataStart,
    Number.POSITIVE_INFINITY,
  );
  const out: TensorSummary[] = [];
  for (const e of entries) {
    const acc = new StatsAccumulator(e.dtype);
    await file.stream(dataStart + e.begin, dataStart + e.end, (chunk) => acc.pushBytes(chunk));
    out.push(summaryOf(acc, e.shape, e.name));
  }
  return out;
}

async function summarizePt(file: RandomAccess): Promise<TensorSummary[]> {
  const head = await file.read(0, Math.min(file.size, 4));
  if (!looksLikeZip(head)) {
    // the legacy format interleaves pickles and storages: it is parsed whole
    return flattenTensors(parsePt(await file.all())).map(({ name, tensor }) =>
      summarizeTensor(tensor, name || undefined),
    );
  }
  const tailOffset = Math.max(0, file.size - ZIP_TAIL_BYTES);
  const tail = await file.read(tailOffset, file.size - tailOffset);
  const dir = locateZipDirectory(tail, tailOffset);
  const cd =
    dir.offset >= tailOffset
      ? tail.subarray(dir.offset - tailOffset, dir.offset - tailOffset + dir.size)
      : await file.read(dir.offset, dir.size);
  const archive = ptArchive(parseZipDirectory(cd, dir.count));
  const dataOffset = async (entry: ZipEntry): Promise<number> => {
    const start = zipDataOffset(await file.read(entry.localHeaderOffset, ZIP_LOCAL_HEADER_BYTES), entry);
    if (start + entry.compressedSize > file.size)
      throw new DataverError('TRUNCATED', `zip entry ${entry.name} runs past the end of the file`);
    return start;
  };
  const readEntry = async (entry: ZipEntry, maxBytes: number): Promise<Uint8Array> =>
    decodeZipEntry(await file.read(await dataOffset(entry), entry.compressedSize), entry, true, maxBytes);

  const bigEndian = isBigEndianRecord(archive.byteorder && (await readEntry(archive.byteorder, 64)));
  const out: TensorSummary[] = [];
  for (const { name, ref } of ptTensorRefs(await readEntry(archive.pkl, DEFAULT_MAX_BYTES))) {
    const entry = storageEntry(archive, ref.storage, Number.MAX_SAFE_INTEGER);
    const { contiguous, numel } = checkTensorView(ref, entry.size);
    if (entry.method !== 0 || !contiguous) {
      const data = await readEntry(entry, DEFAULT_MAX_BYTES);
      out.push(
        summarizeTensor(materializeTensor(ref, data, bigEndian, DEFAULT_MAX_BYTES), name || undefined),
      );
      continue;
    }
    // the whole record goes through the CRC; the tensor's own range through the statistics
    const start = await dataOffset(entry);
    const es = DTYPES[ref.storage.dtype].size;
    const from = start + ref.offset * es;
    const to = from + numel * es;
    const acc = new StatsAccumulator(ref.storage.dtype, bigEndian);
    let crc = 0;
    await file.stream(start, start + entry.size, (chunk, at) => {
      crc = crc32(chunk, crc);
      const a = Math.max(from, at);
      const b = Math.min(to, at + chunk.length);
      if (a < b) acc.pushBytes(chunk.subarray(a - at, b - at));
    });
    checkZipCrc(entry, crc);
    out.push(summaryOf(acc, ref.size, name || undefined));
  }
  return out;
}
