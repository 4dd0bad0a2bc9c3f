// Public library API of trainer. Importing it loads tfjs; the CLI (bin/trainer.js) loads lazily instead.
export {
  type BackendChoice,
  type BackendName,
  type BackendPreference,
  describeBackend,
  initBackend,
} from './backend/select.js';
export { type InferenceResult, infer } from './batch.js';
export {
  applyOverrides,
  loadTrainConfig,
  parseTrainConfig,
  type TrainConfig,
  trainConfigSchema,
} from './config.js';
export { type Dataset, datasetFromTensors, loadProcessed, type Normalization } from './data/dataset.js';
export { decodeImage, normalizeInk, toMnist } from './data/image.js';
export { type EvaluationReport, evaluate, perClassReport } from './evaluate.js';
export {
  countParams,
  createModel,
  MODEL_NAMES,
  type Model,
  type ModelName,
  type ModelOptions,
} from './model/index.js';
export { loadCheckpoint, loadModel, saveCheckpoint, saveModel } from './model/io.js';
export { type Prediction, predictFiles, predictNormalized } from './predict.js';
export { createServer } from './serve/server.js';
export { type TrainResult, train } from './train.js';
