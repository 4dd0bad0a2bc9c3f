// Built-in `.safetensors` meta reader: parses the JSON header, then streams each tensor's bytes once.
import * as fs from 'node:fs';
import { streamInto } from './npy.js';
import { ELEMENT_SIZES, type ElementCode, StatsAccumulator } from './stats.js';
import type { MetaReader, TensorMeta, TensorSummary } from './types.js';

const CODES: Record<string, [ElementCode, string]> = {
  BOOL: ['b1', 'bool'],
  U8: ['u1', 'uint8'],
  I8: ['i1', 'int8'],
  U16: ['u2', 'uint16'],
  I16: ['i2', 'int16'],
  U32: ['u4', 'uint32'],
  I32: ['i4', 'int32'],
  U64: ['u8', 'uint64'],
  I64: ['i8', 'int64'],
  F16: ['f2', 'float16'],
  BF16: ['bf16', 'bfloat16'],
  F32: ['f4', 'float32'],
  F64: ['f8', 'float64'],
};

/**
 * Reads dtype, shape and statistics of every tensor in a `.safetensors` file (in data order).
 *
 * @example
 * const meta = await readSafetensorsMeta('model.safetensors');
 */
export async function readSafetensorsMeta(filePath: string): Promise<TensorMeta> {
  const handle = await fs.promises.open(filePath, 'r');
  let header: Record<string, { dtype?: unknown; shape?: unknown; data_offsets?: unknown }>;
  let dataStart: number;
  let fileSize: number;
  try {
    fileSize = (await handle.stat()).size;
    const lenBuf = Buffer.alloc(8);
    if ((await handle.read(lenBuf, 0, 8, 0)).bytesRead < 8) throw new Error('.safetensors file is truncated');
    const len = Number(lenBuf.readBigUInt64LE(0));
    if (len > 100_000_000 || 8 + len > fileSize)
      throw new Error(`.safetensors header length ${len} is invalid`);
    const buf = Buffer.alloc(len);
    await handle.read(buf, 0, len, 8);
    header = JSON.parse(buf.toString('utf8'));
    if (typeof header !== 'object' || header === null || Array.isArray(header))
      throw new Error('.safetensors header is not an object');
    dataStart = 8 + len;
  } finally {
    await handle.close();
  }
  const entries: (TensorSummary & { begin: number })[] = [];
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const code = typeof e?.dtype === 'string' ? CODES[e.dtype] : undefined;
    if (!code) throw new Error(`.safetensors tensor '${name}' has unsupported dtype ${String(e?.dtype)}`);
    const shape = e.shape;
    const offsets = e.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new Error(`.safetensors tensor '${name}' has an invalid shape`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((d) => Number.isSafeInteger(d) && d >= 0)
    ) {
      throw new Error(`.safetensors tensor '${name}' has invalid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== numel * ELEMENT_SIZES[code[0]] || dataStart + end > fileSize) {
      throw new Error(`.safetensors tensor '${name}' data does not match its shape or the file size`);
    }
    const acc = new StatsAccumulator(code[0], true);
    await streamInto(filePath, acc, dataStart + begin, dataStart + end);
    entries.push({ name, dtype: code[1], shape: shape as number[], ...acc.result(), begin });
  }
  entries.sort((a, b) => a.begin - b.begin || ((a.name ?? '') < (b.name ?? '') ? -1 : 1));
  return { format: 'safetensors', tensors: entries.map(({ begin: _begin, ...t }) => t) };
}

export const safetensorsMetaReader: MetaReader = {
  name: 'safetensors',
  extensions: ['.safetensors'],
  read: readSafetensorsMeta,
};
