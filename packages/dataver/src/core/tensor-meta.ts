// Tensor metadata for the lock: dtype/shape/statistics of .pt/.npy/.safetensors
// files, from the readers in meta/ (built-in ones and plugins named in config).
import type { OutputEntry } from '../lock/schema.js';
import { readTensorMeta } from '../meta/index.js';
import type { TensorMeta } from '../meta/types.js';
import type { Repo } from './repo.js';
import type { WorkspaceFile } from './workspace.js';

const TENSOR_EXTENSIONS = new Set(['.pt', '.pth', '.npy', '.safetensors']);
/** Directories with more tensor files than this get no per-file meta (keeps the lock small). */
const MAX_META_FILES = 64;

function isTensorFile(p: string): boolean {
  const dot = p.lastIndexOf('.');
  return dot >= 0 && TENSOR_EXTENSIONS.has(p.slice(dot).toLowerCase());
}

/**
 * Reads tensor metadata for an output: a file's own, or a map for the tensor files of a directory.
 *
 * @example
 * const meta = await collectTensorMeta(repo, 'dir', files);
 */
export async function collectTensorMeta(
  repo: Repo,
  kind: 'file' | 'dir',
  files: WorkspaceFile[],
  onWarning?: (message: string) => void,
): Promise<OutputEntry['meta'] | undefined> {
  const tensors = files.filter((f) => isTensorFile(f.path));
  const [first] = tensors;
  if (first === undefined || tensors.length > MAX_META_FILES) return undefined;
  const options = { repoRoot: repo.root, plugins: repo.config.plugins, onWarning };
  if (kind === 'file') return (await readTensorMeta(first.abs, options)) ?? undefined;
  const out: Record<string, TensorMeta> = {};
  for (const f of tensors) {
    const meta = await readTensorMeta(f.abs, options);
    if (meta) out[f.rel] = meta;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
