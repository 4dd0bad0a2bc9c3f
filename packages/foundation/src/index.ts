// Public API of @dataver/foundation: what every tool of the project stands on. It depends on no
// other package of ours, and holds no domain logic.

export {
  formatBytes,
  type GlobalOptions,
  type Logger,
  Output,
  type Progress,
  silentLogger,
  silentProgress,
  stderrLogger,
} from './cli/output.js';
export {
  type CommandAction,
  createProgram,
  exampleText,
  lazyAction,
  type ProgramOptions,
  parseInteger,
  parseNumber,
  parseSignedInteger,
  reportError,
  runCommand,
  runProgram,
  withExample,
} from './cli/program.js';
export * from './errors.js';
export {
  fsyncDir,
  fsyncDirSync,
  isProcessAlive,
  isStaleTemp,
  isTempName,
  renameWithRetry,
  type SyncStrategy,
  syncFileSystem,
  syncStrategy,
  tempOwnerPid,
  tmpNameFor,
  type WriteFileAtomicOptions,
  writeAllOrNothing,
  writeFileAtomic,
  writeFileAtomicSync,
  writeFileAtomicWith,
} from './fs/atomic.js';
export { deriveSeed, mix32, Rng, type RngState } from './random.js';
