// dataver plugin: lets `dataver add` record dtype, shape and statistics of `.pt` files.
// Enable with `"plugins": ["corrupt-mnist/dataver-plugin"]` in .dataver/config.json.
import type { MetaReader, TensorMeta } from 'dataver';
import { summarizeFile } from './summary.js';

/**
 * Reads the metadata of a PyTorch `.pt`/`.pth` file with the restricted unpickler.
 *
 * @example
 * const meta = await readPtMeta('data/processed/train_images.pt');
 * // { format: 'pt', tensors: [{ dtype: 'float32', shape: [30000, 1, 28, 28], mean: 0, std: 1, … }] }
 */
export async function readPtMeta(filePath: string): Promise<TensorMeta> {
  const { format, tensors } = await summarizeFile(filePath);
  return { format, tensors };
}

/** The readers dataver loads from this module. */
export const metaReaders: MetaReader[] = [
  { name: 'corrupt-mnist-pt', extensions: ['.pt', '.pth'], read: readPtMeta },
];
