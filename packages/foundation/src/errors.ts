// The one error model of dataver, corrupt-mnist and trainer. Every expected failure is a
// DataverError with a stable `code`; its exit code comes from one table. The CLI harness turns it
// into one line of what went wrong and one of what to do. Anything else is a bug (exit 70).

/** Exit codes of every command of every tool (docs/cli.md is generated from this table). */
export const ExitCode = {
  ok: 0,
  /** Differences found (`--exit-code`, a conflicted lock). */
  differences: 1,
  /** Usage or configuration error. */
  usage: 2,
  /** Data missing or corrupt. */
  data: 3,
  /** Remote, network or authentication error. */
  remote: 4,
  /** Repository busy (another process holds its write lock). */
  busy: 5,
  /** A bug: an unexpected error, printed with its stack (BSD's EX_SOFTWARE). */
  internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** What each exit code means, in one line (for help texts and generated docs). */
export const EXIT_CODE_MEANINGS: Readonly<Record<ExitCode, string>> = {
  0: 'success',
  1: 'differences or problems found (`--exit-code`, `doctor`), or a conflicted data.lock.json',
  2: 'usage or configuration error',
  3: 'data missing or corrupt',
  4: 'remote, network or authentication error',
  5: 'repository busy: another process holds its write lock',
  70: 'internal error (a bug): printed with its stack trace',
};

interface CodeInfo {
  readonly exit: ExitCode;
  readonly summary: string;
}

const code = (exit: ExitCode, summary: string): CodeInfo => ({ exit, summary });

/**
 * Every stable error code, the exit code it maps to and what it means. One table for all three
 * tools, so that the same failure exits the same way wherever it surfaces.
 */
export const ERROR_CODES = {
  // differences found (1)
  LOCK_CONFLICT: code(ExitCode.differences, 'data.lock.json holds an unresolved merge conflict'),
  // usage and configuration (2)
  USAGE: code(ExitCode.usage, 'a command was called wrongly'),
  CONFIG_INVALID: code(ExitCode.usage, 'a configuration file or value is invalid'),
  NOT_A_REPO: code(ExitCode.usage, 'not inside a dataver repository'),
  ALREADY_INITIALIZED: code(ExitCode.usage, 'the repository is initialized already'),
  PATH_OUTSIDE_REPO: code(ExitCode.usage, 'a path lies outside the repository'),
  PATH_NOT_FOUND: code(ExitCode.usage, 'a path given on the command line does not exist'),
  PATH_OVERLAP: code(ExitCode.usage, 'two outputs overlap'),
  PATH_INVALID: code(ExitCode.usage, 'a path cannot be held on every operating system'),
  NOT_TRACKED: code(ExitCode.usage, 'a path is not tracked'),
  LOCK_INVALID: code(ExitCode.usage, 'data.lock.json is malformed'),
  PIPELINE_INVALID: code(ExitCode.usage, 'dataver.yaml is malformed'),
  REMOTE_UNKNOWN: code(ExitCode.usage, 'no such remote is configured'),
  UNSAVED_CHANGES: code(ExitCode.usage, 'the command would overwrite unsaved changes'),
  STAGE_FAILED: code(ExitCode.usage, 'a stage command failed (exit code: the command’s own)'),
  UNSUPPORTED_FORMAT: code(ExitCode.usage, 'a file format is not supported'),
  LINEAGE_UNAVAILABLE: code(ExitCode.usage, 'data lineage cannot be determined'),
  // data missing or corrupt (3)
  NOT_FOUND: code(ExitCode.data, 'a file the command reads does not exist'),
  OBJECT_MISSING: code(ExitCode.data, 'an object is in neither the cache nor the remote'),
  OBJECT_CORRUPT: code(ExitCode.data, 'an object’s bytes do not match its hash'),
  DATA_INVALID: code(ExitCode.data, 'data does not have the expected content'),
  DATA_MISSING: code(ExitCode.data, 'data a command needs is missing'),
  DATA_DIRTY: code(ExitCode.data, 'data differs from data.lock.json'),
  TRUNCATED: code(ExitCode.data, 'a file ends early'),
  CORRUPT: code(ExitCode.data, 'a file is malformed'),
  UNSUPPORTED_DTYPE: code(ExitCode.data, 'a tensor has a dtype that is not supported'),
  UNSUPPORTED_CONTENT: code(ExitCode.data, 'a file holds something other than tensors'),
  PICKLE_FORBIDDEN: code(ExitCode.data, 'a pickle refers to code outside the tensor whitelist'),
  SHAPE_MISMATCH: code(ExitCode.data, 'tensors do not have the expected shapes'),
  TOO_LARGE: code(ExitCode.data, 'an input is larger than allowed'),
  MODEL_MISSING: code(ExitCode.data, 'a model directory lacks its files'),
  MODEL_INCOMPATIBLE: code(ExitCode.data, 'a model was saved by an incompatible version'),
  CHECKPOINT_CORRUPT: code(ExitCode.data, 'a checkpoint is damaged'),
  IMAGE_INVALID: code(ExitCode.data, 'an image cannot be decoded'),
  NO_SPACE: code(ExitCode.data, 'the disk is full'),
  PERMISSION: code(ExitCode.data, 'a file or folder cannot be read or written'),
  IO: code(ExitCode.data, 'a file system operation failed'),
  // remote (4)
  REMOTE_UNREACHABLE: code(ExitCode.remote, 'the remote cannot be reached'),
  REMOTE_AUTH: code(ExitCode.remote, 'credentials are missing or invalid'),
  REMOTE_PERMISSION: code(ExitCode.remote, 'the credentials lack a permission'),
  REMOTE_NOT_FOUND: code(ExitCode.remote, 'the bucket or folder of the remote does not exist'),
  REMOTE_ERROR: code(ExitCode.remote, 'the remote answered with an error'),
  // busy (5)
  REPO_BUSY: code(ExitCode.busy, 'another process holds the repository’s write lock'),
} as const satisfies Record<string, CodeInfo>;
export type ErrorCode = keyof typeof ERROR_CODES;

/** The exit code of each error code (a view of ERROR_CODES). */
export const ErrorCodes: Readonly<Record<ErrorCode, ExitCode>> = Object.fromEntries(
  Object.entries(ERROR_CODES).map(([name, info]) => [name, info.exit]),
) as Record<ErrorCode, ExitCode>;

export interface DataverErrorOptions {
  /** One line that tells the user what to do about it. */
  hint?: string;
  /** The underlying error, kept for `--verbose`. */
  cause?: unknown;
  /** Structured details for `--json` output (never secrets). */
  data?: Record<string, unknown>;
  /** The file concerned: put in front of the message and into `data.file`. */
  file?: string;
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
  readonly file?: string;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options: DataverErrorOptions = {}) {
    super(
      options.file ? `${options.file}: ${message}` : message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'DataverError';
    this.code = code;
    this.hint = options.hint;
    this.file = options.file;
    this.data = options.file ? { ...options.data, file: options.file } : options.data;
    this.exitCode = options.exitCode ?? ErrorCodes[code];
  }
}

/**
 * True for a DataverError, optionally of one code.
 *
 * @example
 * if (isDataverError(error, 'OBJECT_MISSING')) console.error(error.hint);
 */
export function isDataverError(error: unknown, code?: ErrorCode): error is DataverError {
  return error instanceof DataverError && (code === undefined || error.code === code);
}

/**
 * The errno code of a Node system error (`ENOENT`, …), if it is one.
 *
 * @example
 * if (errnoCode(error) === 'ENOENT') return undefined;
 */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** The errno codes that a user causes (full disk, read-only folder) rather than a bug. */
const USER_FS_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS']);

/**
 * Turns a file-system failure that the user caused (full disk, read-only cache) into a
 * DataverError about `path`, or undefined for any other error.
 *
 * @example
 * const mapped = userFsError(error, '.dataver/cache'); if (mapped) throw mapped;
 */
export function userFsError(error: unknown, path: string): DataverError | undefined {
  const errno = errnoCode(error);
  if (error instanceof DataverError || !errno || !USER_FS_ERRNOS.has(errno)) return undefined;
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    return new DataverError('NO_SPACE', `no space left on device while writing ${path}`, {
      hint: 'free disk space (try `dataver gc --force`), then run the command again',
      cause: error,
    });
  }
  return new DataverError('PERMISSION', `permission denied: ${path}`, {
    hint: 'check the ownership and permissions of that path (is it read-only?)',
    cause: error,
  });
}

/**
 * A `.catch` handler that rethrows user-caused file-system failures as DataverErrors and
 * anything else unchanged.
 *
 * @example
 * await fs.writeFile(p, data).catch(rethrowFsError(p));
 */
export function rethrowFsError(path: string): (error: unknown) => never {
  return (error: unknown) => {
    throw userFsError(error, path) ?? error;
  };
}

/**
 * A `.catch` handler for code that reads or writes one named file: a DataverError without a file
 * gets `file` in front of its message; every system error becomes a DataverError about `file`
 * (missing → NOT_FOUND, a folder → USAGE, full or read-only → NO_SPACE / PERMISSION, else IO).
 * Parsers work on bytes and do not know the path; this is where it is added.
 *
 * @example
 * const tensor = await fs.readFile(p).then(parsePt).catch(withFile(p));
 */
export function withFile(file: string): (error: unknown) => never {
  return (error: unknown) => {
    if (error instanceof DataverError) {
      if (error.file) throw error;
      throw new DataverError(error.code, error.message, {
        file,
        hint: error.hint,
        data: error.data,
        cause: error,
      });
    }
    const errno = errnoCode(error);
    if (!errno) throw error;
    const user = userFsError(error, file);
    if (user) throw user;
    if (errno === 'ENOENT' || errno === 'ENOTDIR')
      throw new DataverError('NOT_FOUND', 'no such file', { file, hint: 'check the path', cause: error });
    if (errno === 'EISDIR')
      throw new DataverError('USAGE', 'is a folder, expected a file', { file, cause: error });
    throw new DataverError('IO', `${errno} (${(error as Error).message})`, { file, cause: error });
  };
}
