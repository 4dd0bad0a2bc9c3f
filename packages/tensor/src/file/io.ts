// File-level tensor I/O: pick the codec from the extension (or the bytes), read whole files,
// and write atomically (temp file + fsync + rename) so a crash never leaves a half-written tensor.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DataverError, withFile, writeFileAtomic } from '@dataver/foundation';
import type { NamedTensor, ParseOptions, Tensor, TensorFormat } from '../dtype/types.js';
import { parseNpy, serializeNpyChunks } from '../format/npy.js';
import { flattenTensors, type PtInput, parsePt, serializePtChunks } from '../format/pt.js';
import { parseSafetensors, serializeSafetensorsChunks } from '../format/safetensors.js';

/** A file's tensors with the format that parsed it. */
export interface TensorFile {
  format: TensorFormat;
  tensors: NamedTensor[];
}

/**
 * The format named by a path's extension (`.pt`/`.pth`, `.npy`, `.safetensors`), else undefined.
 *
 * @example
 * formatFromPath('data/processed/train_images.pt'); // 'pt'
 */
export function formatFromPath(filePath: string): TensorFormat | undefined {
  const ext = path.extname(filePath).toLowerCase();
  if (ext === '.pt' || ext === '.pth') return 'pt';
  if (ext === '.npy') return 'npy';
  if (ext === '.safetensors') return 'safetensors';
  return undefined;
}

/**
 * The format the first bytes of a file look like (npy magic, zip or pickle, safetensors JSON).
 *
 * @example
 * sniffFormat(firstBytes); // 'npy'
 */
export function sniffFormat(bytes: Uint8Array): TensorFormat | undefined {
  if (bytes.length >= 6 && bytes[0] === 0x93 && bytes[1] === 0x4e && bytes[2] === 0x55) return 'npy';
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b) return 'pt';
  if (bytes.length >= 2 && bytes[0] === 0x80) return 'pt';
  if (bytes.length >= 9 && bytes[8] === 0x7b) return 'safetensors';
  return undefined;
}

/**
 * Parses tensor file bytes of a known format (or sniffed from the bytes) into named tensors.
 *
 * @example
 * const { tensors } = parseTensorFile(bytes, 'safetensors');
 */
export function parseTensorFile(
  bytes: Uint8Array,
  format?: TensorFormat,
  options: ParseOptions = {},
): TensorFile {
  const fmt = format ?? sniffFormat(bytes);
  switch (fmt) {
    case 'pt':
      return { format: 'pt', tensors: flattenTensors(parsePt(bytes, options)) };
    case 'npy':
      return { format: 'npy', tensors: [{ name: '', tensor: parseNpy(bytes, options) }] };
    case 'safetensors':
      return { format: 'safetensors', tensors: parseSafetensors(bytes, options) };
    default:
      throw new DataverError('UNSUPPORTED_FORMAT', 'unknown tensor file format', {
        hint: 'use a .pt, .npy or .safetensors file',
      });
  }
}

/**
 * Reads every tensor in a file (dicts/lists in `.pt`, all entries of `.safetensors`).
 *
 * @example
 * const { tensors } = await readTensorFile('checkpoint.pt');
 * for (const { name, tensor } of tensors) console.log(name, tensor.shape);
 */
export async function readTensorFile(filePath: string, options: ParseOptions = {}): Promise<TensorFile> {
  const bytes = await fs.readFile(filePath).catch(withFile(filePath));
  try {
    return parseTensorFile(bytes, formatFromPath(filePath), options);
  } catch (error) {
    return withFile(filePath)(error);
  }
}

/**
 * Reads the one tensor in a file; a file with zero or several tensors is an error.
 *
 * @example
 * const images = await readTensor('data/processed/train_images.pt'); // float32 [30000,1,28,28]
 */
export async function readTensor(filePath: string, options: ParseOptions = {}): Promise<Tensor> {
  const { tensors } = await readTensorFile(filePath, options);
  const [only] = tensors;
  if (!only || tensors.length !== 1) {
    throw new DataverError(
      'UNSUPPORTED_CONTENT',
      tensors.length === 0
        ? 'holds no tensor'
        : `holds ${tensors.length} tensors, expected one (use readTensorFile)`,
      { file: filePath },
    );
  }
  return only.tensor;
}

export interface WriteTensorOptions {
  /** Defaults to the format named by the extension; required for other extensions. */
  format?: TensorFormat;
  /**
   * fsync the file (and its folder) before and after the rename (default true). Turn off only
   * for scratch output: a crash may then leave an empty file under the final name.
   */
  sync?: boolean;
}

/**
 * Serializes tensors in a format, as the pieces of the file.
 *
 * @example
 * const chunks = serializeTensorChunks(t, 'npy');
 */
export function serializeTensorChunks(value: PtInput, format: TensorFormat): Uint8Array[] {
  switch (format) {
    case 'pt':
      return serializePtChunks(value);
    case 'npy':
      if (Array.isArray(value) || !('data' in value && ArrayBuffer.isView(value.data))) {
        throw new DataverError('USAGE', '.npy holds exactly one tensor');
      }
      return serializeNpyChunks(value as Tensor);
    case 'safetensors':
      if (Array.isArray(value))
        return serializeSafetensorsChunks(value.map((tensor, i) => ({ name: String(i), tensor })));
      return serializeSafetensorsChunks(value);
    default:
      throw new DataverError('UNSUPPORTED_FORMAT', `unknown tensor format ${String(format)}`);
  }
}

/**
 * Writes a tensor (or, for .pt/.safetensors, a dict or list of tensors) atomically; the format
 * comes from the extension unless given.
 *
 * @example
 * await writeTensor('data/processed/train_target.pt', { dtype: 'int64', shape: [3], data: new BigInt64Array([1n, 2n, 3n]) });
 */
export async function writeTensor(
  filePath: string,
  tensor: PtInput,
  options: WriteTensorOptions = {},
): Promise<void> {
  const format = options.format ?? formatFromPath(filePath);
  if (!format) {
    throw new DataverError('UNSUPPORTED_FORMAT', 'cannot tell the tensor format from the extension', {
      file: filePath,
      hint: 'use .pt, .npy or .safetensors, or pass { format }',
    });
  }
  let chunks: Uint8Array[];
  try {
    chunks = serializeTensorChunks(tensor, format);
  } catch (error) {
    return withFile(filePath)(error);
  }
  await writeFileAtomic(filePath, chunks, { sync: options.sync });
}
