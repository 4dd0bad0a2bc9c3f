// Public API of corrupt-mnist: tensor I/O (.pt, .npy, .safetensors), the IDX reader,
// and the generate / process / import / preview steps of the Corrupt MNIST data set.
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
export { round6, summarizeFile, summarizeTensor, type TensorStatsSummary } from './summary.js';
export { DTYPES, type DTypeInfo } from './tensor/dtype.js';
export {
  formatFromPath,
  parseTensorFile,
  readTensor,
  readTensorFile,
  serializeTensorChunks,
  type TensorFile,
  type WriteTensorOptions,
  writeTensor,
} from './tensor/io.js';
export { type NpyHeader, parseNpy, parseNpyHeader, serializeNpy } from './tensor/npy.js';
export {
  flattenTensors,
  isTensor,
  type NamedTensor,
  type ParseOptions,
  type PtInput,
  type PtValue,
  parsePt,
  serializePt,
  serializePtChunks,
} from './tensor/pt.js';
export { parseSafetensors, type SafetensorsInput, serializeSafetensors } from './tensor/safetensors.js';
export { type ChunkFiller, type StreamWriteOptions, writeTensorStreaming } from './tensor/stream.js';
export type { DType, Tensor, TensorData, TensorFormat } from './tensor/types.js';
