// The meta readers dataver ships with: the tensor formats of @dataver/tensor, which streams the
// data once for statistics and whose unpickler refuses any global outside the tensor rebuilds.
import { summarizeFile } from '@dataver/tensor';
import type { MetaReader } from './types.js';

/** The readers dataver ships with; plugins are asked only about other extensions. */
export const builtinMetaReaders: readonly MetaReader[] = [
  { name: 'pt', extensions: ['.pt', '.pth'], read: summarizeFile },
  { name: 'npy', extensions: ['.npy'], read: summarizeFile },
  { name: 'safetensors', extensions: ['.safetensors'], read: summarizeFile },
];
