// Public library API of dataver.

export {
  checkDataLineage,
  currentCommit,
  type DataLineage,
  type LockedOutput,
  lineageAtRevision,
  materializeRevision,
  type RevisionLineage,
  resolveCommit,
} from './core/lineage.js';
export { Repo } from './core/repo.js';
export { computeStatus, type OutputStatus } from './core/status.js';
export { hashFile } from './hash/file.js';
export { readLock } from './lock/lock-file.js';
export type { Lock, OutputEntry } from './lock/schema.js';
export type * from './meta/types.js';
export type * from './storage/types.js';
