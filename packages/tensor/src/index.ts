// Public API of @dataver/tensor: tensor file formats (.pt, .npy, .safetensors), dtypes and
// streaming statistics, for every package above it. No knowledge of any data set lives here.
export {
  bfloat16ToFloat,
  DEFAULT_MAX_BYTES,
  DTYPES,
  type DTypeInfo,
  floatToBfloat16,
  floatToHalf,
  halfToFloat,
} from './dtype/dtype.js';
export type {
  DType,
  NamedTensor,
  ParseOptions,
  Tensor,
  TensorData,
  TensorFormat,
} from './dtype/types.js';
export {
  formatFromPath,
  parseTensorFile,
  readTensor,
  readTensorFile,
  serializeTensorChunks,
  sniffFormat,
  type TensorFile,
  type WriteTensorOptions,
  writeTensor,
} from './file/io.js';
export { type ChunkFiller, type StreamWriteOptions, writeTensorStreaming } from './file/stream.js';
export { summarizeFile, type TensorFileSummary } from './file/summarize.js';
export { type NpyHeader, parseNpy, parseNpyHeader, serializeNpy } from './format/npy.js';
export {
  flattenTensors,
  isTensor,
  type PtInput,
  type PtTree,
  type PtValue,
  parsePt,
  serializePt,
  serializePtChunks,
} from './format/pt.js';
export { parseSafetensors, type SafetensorsInput, serializeSafetensors } from './format/safetensors.js';
export {
  round6,
  StatsAccumulator,
  summarizeTensor,
  type TensorStats,
  type TensorSummary,
} from './stats/stats.js';
