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
} from './dtype.js';
import type { NamedTensor, ParseOptions } from './pt.js';
import type { Tensor } from './types.js';

/** Header bytes above this are refused (the reference implementation uses 100 MB). */
const MAX_HEADER = 100_000_000;

/**
 * Parses a `.safetensors` file into its named tensors, in file order of their data.
 *
 * @example
 * const tensors = parseSafetensors(await fs.readFile('model.safetensors'));
 */
export function parseSafetensors(bytes: Uint8Array, options: ParseOptions = {}): NamedTensor[] {
  if (bytes.length < 8)
    throw new DataverError('TRUNCATED', '.safetensors file is shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER)
    throw new DataverError('CORRUPT', `.safetensors header length ${headerLen} is implausible`);
  if (8 + headerLen > bytes.length)
    throw new DataverError('TRUNCATED', '.safetensors header runs past the end of the file');
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLen).toString('utf8'));
  } catch (cause) {
    throw new DataverError('CORRUPT', '.safetensors header is not valid JSON', { cause });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new DataverError('CORRUPT', '.safetensors header is not a JSON object');
  }
  const data = bytes.subarray(8 + headerLen);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const out: (NamedTensor & { begin: number })[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (
      typeof e !== 'object' ||
      e === null ||
      typeof e.dtype !== 'string' ||
      !Array.isArray(e.shape) ||
      !Array.isArray(e.data_offsets)
    ) {
      throw new DataverError('CORRUPT', `.safetensors entry '${name}' lacks dtype, shape or data_offsets`);
    }
    const dtype = dtypeFromSafetensors(e.dtype);
    if (!dtype)
      throw new DataverError(
        'UNSUPPORTED_DTYPE',
        `.safetensors tensor '${name}' has unsupported dtype ${e.dtype}`,
      );
    const shape = e.shape as number[];
    const numel = numelOf(shape, `.safetensors tensor '${name}'`);
    const [begin, end] = e.data_offsets as number[];
    if (
      !Number.isSafeInteger(begin) ||
      !Number.isSafeInteger(end) ||
      begin! < 0 ||
      end! < begin! ||
      end! > data.length
    ) {
      throw new DataverError('TRUNCATED', `.safetensors tensor '${name}' has data offsets outside the file`);
    }
    const nbytes = numel * DTYPES[dtype].size;
    if (end! - begin! !== nbytes) {
      throw new DataverError(
        'CORRUPT',
        `.safetensors tensor '${name}' spans ${end! - begin!} bytes, shape needs ${nbytes}`,
      );
    }
    if (nbytes > maxBytes) throw new DataverError('TOO_LARGE', `.safetensors tensor '${name}' is too large`);
    out.push({
      name,
      begin: begin!,
      tensor: { dtype, shape, data: decodeElements(data.subarray(begin!, end!), dtype, numel) },
    });
  }
  out.sort((a, b) => a.begin - b.begin || (a.name < b.name ? -1 : 1));
  return out.map(({ name, tensor }) => ({ name, tensor }));
}

/** Input to `serializeSafetensors`: one tensor (named `tensor`) or named tensors. */
export type SafetensorsInput = Tensor | Record<string, Tensor> | NamedTensor[];

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
  const header: Record<string, unknown> = {};
  if (metadata) header['__metadata__'] = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const { name, tensor } of named) {
    validateTensor(tensor, `tensor '${name}'`);
    const bytes = encodeElements(tensor);
    header[name] = {
      dtype: DTYPES[tensor.dtype].safetensors,
      shape: tensor.shape,
      data_offsets: [offset, offset + bytes.length],
    };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // pad with spaces so the data starts 8-byte aligned, as the reference writer does
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  head.write(json, 8, 'utf8');
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
