// `.safetensors` files: 8-byte little-endian header length, a JSON header, then packed tensor data.
import { DataverError } from '@dataver/foundation';
import {
  DEFAULT_MAX_BYTES,
  DTYPES,
  decodeElements,
  dtypeFromSafetensors,
  encodeElements,
  numelOf,
  validateTensor,
} from '../dtype/dtype.js';
import type { DType, NamedTensor, ParseOptions, Tensor } from '../dtype/types.js';

/** Header bytes above this are refused (the reference implementation uses 100 MB). */
const MAX_HEADER = 100_000_000;

/** One tensor of a `.safetensors` header; offsets are relative to the data after the header. */
export interface SafetensorsEntry {
  name: string;
  dtype: DType;
  shape: number[];
  numel: number;
  begin: number;
  end: number;
}

/**
 * The header's JSON length from a file's first 8 bytes, checked against the file size.
 *
 * @example
 * const length = safetensorsHeaderLength(first8, fileSize); // the data starts at 8 + length
 */
export function safetensorsHeaderLength(first: Uint8Array, fileSize: number): number {
  if (first.length < 8 || fileSize < 8)
    throw new DataverError('TRUNCATED', '.safetensors file is shorter than its 8-byte header length');
  const length = Number(new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true));
  if (length > MAX_HEADER)
    throw new DataverError('CORRUPT', `.safetensors header length ${length} is implausible`);
  if (8 + length > fileSize)
    throw new DataverError('TRUNCATED', '.safetensors header runs past the end of the file');
  return length;
}

/**
 * Parses and validates the JSON header against the `dataLength` bytes of data that follow it;
 * entries come in file order of their data.
 *
 * @example
 * const entries = parseSafetensorsHeader(json, fileSize - 8 - json.length);
 */
export function parseSafetensorsHeader(
  json: Uint8Array,
  dataLength: number,
  maxBytes = DEFAULT_MAX_BYTES,
): SafetensorsEntry[] {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'));
  } catch (cause) {
    throw new DataverError('CORRUPT', '.safetensors header is not valid JSON', { cause });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new DataverError('CORRUPT', '.safetensors header is not a JSON object');
  }
  const out: SafetensorsEntry[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e: unknown = entry;
    if (
      typeof e !== 'object' ||
      e === null ||
      !('dtype' in e && typeof e.dtype === 'string') ||
      !('shape' in e && Array.isArray(e.shape)) ||
      !('data_offsets' in e && Array.isArray(e.data_offsets))
    ) {
      throw new DataverError('CORRUPT', `.safetensors entry '${name}' lacks dtype, shape or data_offsets`);
    }
    const dtype = dtypeFromSafetensors(e.dtype);
    if (!dtype)
      throw new DataverError(
        'UNSUPPORTED_DTYPE',
        `.safetensors tensor '${name}' has unsupported dtype ${e.dtype}`,
      );
    const shape: unknown[] = e.shape;
    if (!shape.every((d): d is number => typeof d === 'number'))
      throw new DataverError('CORRUPT', `.safetensors tensor '${name}' has an invalid shape`);
    const numel = numelOf(shape, `.safetensors tensor '${name}'`);
    const [begin, end]: unknown[] = e.data_offsets;
    if (
      typeof begin !== 'number' ||
      typeof end !== 'number' ||
      !Number.isSafeInteger(begin) ||
      !Number.isSafeInteger(end) ||
      begin < 0 ||
      end < begin ||
      end > dataLength
    ) {
      throw new DataverError('TRUNCATED', `.safetensors tensor '${name}' has data offsets outside the file`);
    }
    const nbytes = numel * DTYPES[dtype].size;
    if (end - begin !== nbytes) {
      throw new DataverError(
        'CORRUPT',
        `.safetensors tensor '${name}' spans ${end - begin} bytes, shape needs ${nbytes}`,
      );
    }
    if (nbytes > maxBytes) throw new DataverError('TOO_LARGE', `.safetensors tensor '${name}' is too large`);
    out.push({ name, dtype, shape, numel, begin, end });
  }
  return out.sort((a, b) => a.begin - b.begin || (a.name < b.name ? -1 : 1));
}

/**
 * Parses a `.safetensors` file into its named tensors, in file order of their data.
 *
 * @example
 * const tensors = parseSafetensors(await fs.readFile('model.safetensors'));
 */
export function parseSafetensors(bytes: Uint8Array, options: ParseOptions = {}): NamedTensor[] {
  const length = safetensorsHeaderLength(bytes, bytes.length);
  const data = bytes.subarray(8 + length);
  const entries = parseSafetensorsHeader(
    bytes.subarray(8, 8 + length),
    data.length,
    options.maxBytes ?? DEFAULT_MAX_BYTES,
  );
  return entries.map(({ name, dtype, shape, numel, begin, end }) => ({
    name,
    tensor: { dtype, shape, data: decodeElements(data.subarray(begin, end), dtype, numel) },
  }));
}

/** Input to `serializeSafetensors`: one tensor (named `tensor`) or named tensors. */
export type SafetensorsInput = Tensor | Record<string, Tensor> | NamedTensor[];

/** A tensor to lay out in a `.safetensors` header: its data follows the previous one's. */
export interface SafetensorsLayout {
  name: string;
  dtype: DType;
  shape: number[];
  nbytes: number;
}

/**
 * The 8-byte length and the JSON header for tensors stored one after another in this order,
 * padded with spaces so the data starts 8-byte aligned, as the reference writer does.
 *
 * @example
 * const head = safetensorsHeaderBytes([{ name: 'x', dtype: 'float32', shape: [2], nbytes: 8 }]);
 */
export function safetensorsHeaderBytes(
  tensors: readonly SafetensorsLayout[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header['__metadata__'] = metadata;
  let offset = 0;
  for (const { name, dtype, shape, nbytes } of tensors) {
    header[name] = { dtype: DTYPES[dtype].safetensors, shape, data_offsets: [offset, offset + nbytes] };
    offset += nbytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  head.write(json, 8, 'utf8');
  return head;
}

/**
 * The file as pieces: length + header, then each tensor's data.
 *
 * @example
 * await writeFileAtomic('m.safetensors', serializeSafetensorsChunks({ w, b }));
 */
export function serializeSafetensorsChunks(
  input: SafetensorsInput,
  metadata?: Record<string, string>,
): Uint8Array[] {
  const named: NamedTensor[] = Array.isArray(input)
    ? input
    : 'dtype' in input && 'data' in input && ArrayBuffer.isView((input as Tensor).data)
      ? [{ name: 'tensor', tensor: input as Tensor }]
      : Object.entries(input as Record<string, Tensor>).map(([name, tensor]) => ({ name, tensor }));
  const chunks: Uint8Array[] = [];
  const layout: SafetensorsLayout[] = [];
  for (const { name, tensor } of named) {
    validateTensor(tensor, `tensor '${name}'`);
    const bytes = encodeElements(tensor);
    layout.push({ name, dtype: tensor.dtype, shape: tensor.shape, nbytes: bytes.length });
    chunks.push(bytes);
  }
  const head = safetensorsHeaderBytes(layout, metadata);
  return [head, ...chunks];
}

/**
 * Serializes tensors as a `.safetensors` file.
 *
 * @example
 * const bytes = serializeSafetensors({ images: t, targets: y });
 */
export function serializeSafetensors(input: SafetensorsInput, metadata?: Record<string, string>): Uint8Array {
  return Buffer.concat(serializeSafetensorsChunks(input, metadata));
}
