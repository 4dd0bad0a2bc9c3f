// Every expected failure is a DataverError with a stable code; the CLI turns it
// into one line of what went wrong, one line of what to do, and an exit code.
// Anything else that reaches the CLI is a bug and shows a stack trace.

/** Exit codes, documented in docs/cli.md. */
export const ExitCode = {
  ok: 0,
  /** Differences found (`--exit-code`). */
  differences: 1,
  /** Usage or configuration error. */
  usage: 2,
  /** Data missing or corrupt. */
  data: 3,
  /** Remote, network or authentication error. */
  remote: 4,
  /** Repository busy (another dataver holds the lock). */
  busy: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Stable error codes and the exit code each maps to. */
export const ErrorCodes = {
  USAGE: ExitCode.usage,
  CONFIG_INVALID: ExitCode.usage,
  NOT_A_REPO: ExitCode.usage,
  ALREADY_INITIALIZED: ExitCode.usage,
  PATH_OUTSIDE_REPO: ExitCode.usage,
  PATH_NOT_FOUND: ExitCode.usage,
  PATH_OVERLAP: ExitCode.usage,
  NOT_TRACKED: ExitCode.usage,
  LOCK_INVALID: ExitCode.usage,
  PIPELINE_INVALID: ExitCode.usage,
  REMOTE_UNKNOWN: ExitCode.usage,
  UNSAVED_CHANGES: ExitCode.usage,
  STAGE_FAILED: ExitCode.usage,
  OBJECT_MISSING: ExitCode.data,
  OBJECT_CORRUPT: ExitCode.data,
  DATA_INVALID: ExitCode.data,
  NOT_FOUND: ExitCode.data,
  NO_SPACE: ExitCode.data,
  PERMISSION: ExitCode.data,
  REMOTE_UNREACHABLE: ExitCode.remote,
  REMOTE_AUTH: ExitCode.remote,
  REMOTE_PERMISSION: ExitCode.remote,
  REMOTE_NOT_FOUND: ExitCode.remote,
  REMOTE_ERROR: ExitCode.remote,
  REPO_BUSY: ExitCode.busy,
} as const;
export type ErrorCode = keyof typeof ErrorCodes;

export interface DataverErrorOptions {
  /** One line that tells the user what to do about it. */
  hint?: string;
  /** The underlying error, kept for `--verbose`. */
  cause?: unknown;
  /** Structured details for `--json` output (never secrets). */
  data?: Record<string, unknown>;
  /** Overrides the exit code derived from `code` (e.g. a stage command's own status). */
  exitCode?: number;
}

/**
 * An expected failure: a stable `code`, a one-line message and a hint.
 *
 * @example
 * throw new DataverError('NOT_A_REPO', 'not inside a dataver repository', {
 *   hint: 'run `dataver init` at the root of your project',
 * });
 */
export class DataverError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly data?: Record<string, unknown>;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options: DataverErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DataverError';
    this.code = code;
    this.hint = options.hint;
    this.data = options.data;
    this.exitCode = options.exitCode ?? ErrorCodes[code];
  }
}

/** True for a DataverError, optionally of one code. */
export function isDataverError(error: unknown, code?: ErrorCode): error is DataverError {
  return error instanceof DataverError && (code === undefined || error.code === code);
}

/** The errno code of a Node system error (`ENOENT`, …), if it is one. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * Turns file-system failures that users cause (full disk, read-only cache) into
 * DataverErrors; anything else is rethrown unchanged.
 *
 * @example
 * await fs.writeFile(p, data).catch(rethrowFsError(p));
 */
export function rethrowFsError(path: string): (error: unknown) => never {
  return (error: unknown) => {
    switch (errnoCode(error)) {
      case 'ENOSPC':
      case 'EDQUOT':
        throw new DataverError('NO_SPACE', `no space left on device while writing ${path}`, {
          hint: 'free disk space (try `dataver gc --force`), then run the command again',
          cause: error,
        });
      case 'EACCES':
      case 'EPERM':
      case 'EROFS':
        throw new DataverError('PERMISSION', `permission denied: ${path}`, {
          hint: 'check the ownership and permissions of that path (is the cache read-only?)',
          cause: error,
        });
      default:
        throw error;
    }
  };
}
