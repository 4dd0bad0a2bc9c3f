// Built-in `.npy` meta reader: parses the header, then streams the data once for statistics.
import * as fs from 'node:fs';
import { ELEMENT_SIZES, type ElementCode, StatsAccumulator } from './stats.js';
import type { MetaReader, TensorMeta } from './types.js';

const DTYPE_NAMES: Record<string, string> = {
  b1: 'bool',
  u1: 'uint8',
  i1: 'int8',
  u2: 'uint16',
  i2: 'int16',
  u4: 'uint32',
  i4: 'int32',
  u8: 'uint64',
  i8: 'int64',
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
};

async function readRange(filePath: string, start: number, length: number): Promise<Buffer> {
  const handle = await fs.promises.open(filePath, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, start);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Streams bytes [start, end) of a file into a stats accumulator.
 *
 * @example
 * await streamInto('x.npy', new StatsAccumulator('f4'), 128);
 */
export async function streamInto(
  filePath: string,
  acc: StatsAccumulator,
  start: number,
  end?: number,
): Promise<void> {
  if (end !== undefined && end <= start) return;
  const stream = fs.createReadStream(filePath, {
    start,
    end: end === undefined ? undefined : end - 1,
    highWaterMark: 1 << 20,
  });
  for await (const chunk of stream) acc.push(chunk as Buffer);
}

/**
 * Reads dtype, shape and statistics of a `.npy` file.
 *
 * @example
 * const meta = await readNpyMeta('data/processed/train_images.npy');
 */
export async function readNpyMeta(filePath: string): Promise<TensorMeta> {
  const head = await readRange(filePath, 0, 12);
  if (head.length < 10 || head[0] !== 0x93 || head.toString('latin1', 1, 6) !== 'NUMPY')
    throw new Error('not a .npy file (bad magic)');
  const major = head[6]!;
  if (major < 1 || major > 3) throw new Error(`.npy version ${major} is not supported`);
  const headerLen = major === 1 ? head.readUInt16LE(8) : head.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const fileSize = (await fs.promises.stat(filePath)).size;
  // a damaged length must not make us allocate gigabytes
  if (start + headerLen > fileSize)
    throw new Error(`.npy header length ${headerLen} runs past the end of the file`);
  const text = (await readRange(filePath, start, headerLen)).toString('latin1');
  if (text.length < headerLen) throw new Error('.npy header is truncated');
  const descr = /'descr'\s*:\s*'([<>|=]?)([a-z]\d+)'/.exec(text);
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (!descr || shapeText === undefined) throw new Error('.npy header lacks descr or shape');
  const code = descr[2] as ElementCode;
  if (!(code in DTYPE_NAMES)) throw new Error(`.npy dtype ${descr[1]}${descr[2]} is not supported`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => Number.parseInt(s, 10));
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new Error('.npy shape is invalid');
  const numel = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  const size = fileSize;
  if (size - dataStart < numel * ELEMENT_SIZES[code])
    throw new Error(`.npy data is truncated (${size - dataStart} of ${numel * ELEMENT_SIZES[code]} bytes)`);
  const acc = new StatsAccumulator(code, descr[1] !== '>');
  await streamInto(filePath, acc, dataStart, dataStart + numel * ELEMENT_SIZES[code]);
  return { format: 'npy', tensors: [{ dtype: DTYPE_NAMES[code]!, shape, ...acc.result() }] };
}

export const npyMetaReader: MetaReader = { name: 'npy', extensions: ['.npy'], read: readNpyMeta };
