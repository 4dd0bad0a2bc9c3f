// Public API of corrupt-mnist: the IDX reader and the generate / process / import / preview
// steps of the Corrupt MNIST data set (tensor formats live in @dataver/tensor).

export {
  defaultMnistDir,
  type GenerateManifest,
  type GenerateOptions,
  type GenerateResult,
  generate,
  type RawDtype,
  RECIPES,
  type RecipeName,
  type ShardRecord,
} from './generate.js';
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
export {
  applyCorruption,
  CORRUPTIONS,
  type CorruptionKind,
  type CorruptionLog,
  corruptDigit,
  RECIPE,
} from './recipe/corrupt.js';
export {
  COURSE_RECIPE,
  courseAngle,
  nearestRotationMap,
  remapPixels,
  rotateNearest,
  toUnitFloat,
} from './recipe/course.js';
