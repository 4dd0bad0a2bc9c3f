// data.lock.json: the machine-written record of tracked outputs and stage
// states. Validated on read (it may be hand-edited or come from a hostile
// commit) and written deterministically so that git merges it cleanly.
import { z } from 'zod';
import { LOCK_VERSION } from './accept.js';
import { findOverlap, isSafeRelativePath, isTrackablePath } from './paths.js';

// Kept in the zod-free module, so that reading a lock needs no zod: see accept.ts.
export { emptyLock, LOCK_VERSION } from './accept.js';

const hash = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256');
const relativePath = z.string().refine(isSafeRelativePath, 'must be a relative path inside the repository');
const outputPath = z
  .string()
  .refine(isTrackablePath, 'must be a relative path inside the repository, outside .git/ and .dataver/');

export const tensorSummarySchema = z.object({
  name: z.string().optional(),
  dtype: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  mean: z.number().optional(),
  std: z.number().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
});

export const tensorMetaSchema = z.object({
  format: z.string(),
  tensors: z.array(tensorSummarySchema),
});

export const importSourceSchema = z
  .object({
    /** The git repository (URL or absolute folder). */
    url: z.string().min(1),
    /** The revision followed (`dataver update` moves to its newest commit); absent: the default branch. */
    rev: z.string().min(1).optional(),
    /** The commit the data was taken from. */
    commit: z.string().regex(/^[0-9a-f]{40,64}$/, 'must be a full git commit id'),
    /** The tracked path there. */
    path: relativePath,
  })
  .strict();

export const outputEntrySchema = z
  .object({
    /** sha256 of the file, or of the directory's manifest object. */
    hash,
    /** Total bytes (all files for a directory). */
    size: z.number().int().nonnegative(),
    /** Number of files, for a directory. */
    files: z.number().int().nonnegative().optional(),
    kind: z.enum(['file', 'dir']),
    /** The stage that produces this output, if any. */
    stage: z.string().optional(),
    /** Tensor metadata: for a file, its own; for a directory, per file path inside it. */
    meta: z.union([tensorMetaSchema, z.record(z.string(), tensorMetaSchema)]).optional(),
    /** For `dataver import`: the git repository, revision and path the data comes from. */
    import: importSourceSchema.optional(),
  })
  .strict();

export const stageStateSchema = z
  .object({
    cmd: z.string(),
    deps: z.record(relativePath, hash),
    params: z.record(z.string(), z.unknown()),
    outs: z.record(relativePath, hash),
  })
  .strict();

export const lockSchema = z
  .object({
    version: z.literal(LOCK_VERSION),
    outputs: z.record(outputPath, outputEntrySchema),
    stages: z.record(z.string(), stageStateSchema).default({}),
  })
  .strict()
  .superRefine((lock, ctx) => {
    // Overlapping outputs (e.g. after a merge of two branches) would fight each other forever.
    const overlap = findOverlap(Object.keys(lock.outputs));
    if (overlap) {
      ctx.addIssue({
        code: 'custom',
        path: ['outputs', overlap[1]],
        message: `overlaps the output ${overlap[0]}; keep one of them`,
      });
    }
  });

export type OutputEntry = z.infer<typeof outputEntrySchema>;
export type StageState = z.infer<typeof stageStateSchema>;
export type Lock = z.infer<typeof lockSchema>;
export type TensorMetaValue = z.infer<typeof tensorMetaSchema>;
export type ImportSource = z.infer<typeof importSourceSchema>;
