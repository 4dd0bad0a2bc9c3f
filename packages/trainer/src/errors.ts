// Expected failures of the trainer: one error type with a stable code, which the CLI turns into one
// line of what went wrong, one line of what to do, and an exit code. Anything else is a bug.

/** Exit codes shared with dataver: 2 usage or config, 3 data missing or corrupt. */
export const EXIT = { usage: 2, data: 3 } as const;

/** Stable error codes. */
export type TrainerErrorCode =
  | 'CONFIG_INVALID'
  | 'USAGE'
  | 'DATA_MISSING'
  | 'DATA_INVALID'
  | 'DATA_DIRTY'
  | 'MODEL_MISSING'
  | 'MODEL_INCOMPATIBLE'
  | 'CHECKPOINT_CORRUPT'
  | 'IMAGE_INVALID'
  | 'LINEAGE_UNAVAILABLE';

const EXIT_BY_CODE: Record<TrainerErrorCode, number> = {
  CONFIG_INVALID: EXIT.usage,
  USAGE: EXIT.usage,
  DATA_MISSING: EXIT.data,
  DATA_INVALID: EXIT.data,
  DATA_DIRTY: EXIT.data,
  MODEL_MISSING: EXIT.data,
  MODEL_INCOMPATIBLE: EXIT.data,
  CHECKPOINT_CORRUPT: EXIT.data,
  IMAGE_INVALID: EXIT.data,
  LINEAGE_UNAVAILABLE: EXIT.usage,
};

/** An expected failure: message, optional hint, exit code by code. */
export class TrainerError extends Error {
  readonly code: TrainerErrorCode;
  readonly exitCode: number;
  readonly hint?: string;

  /**
   * @example
   * ```ts
   * throw new TrainerError('DATA_MISSING', 'data/processed/train_images.pt not found', { hint: 'run dataver pull' });
   * ```
   */
  constructor(code: TrainerErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TrainerError';
    this.code = code;
    this.exitCode = EXIT_BY_CODE[code];
    this.hint = options.hint;
  }
}
