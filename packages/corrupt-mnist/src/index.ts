// Public API of corrupt-mnist: the IDX reader and the generate / process / import / preview
// steps of the Corrupt MNIST data set (tensor formats live in @dataver/tensor).

export { defaultMnistDir, type GenerateOptions, type GenerateResult, generate } from './generate.js';
export { type IdxExpectation, parseIdx, readIdx } from './idx.js';
export { type ImportOptions, type ImportResult, importCourse } from './import.js';
export { type PreviewOptions, preview, renderGrid } from './preview.js';
export {
  findShards,
  type ProcessOptions,
  type ProcessStats,
  processRaw,
  type SplitStats,
} from './process.js';
export { type CorruptionLog, corruptDigit, RECIPE } from './recipe/corrupt.js';
