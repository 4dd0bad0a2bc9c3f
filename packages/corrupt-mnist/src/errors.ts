// Every expected failure of corrupt-mnist is a TensorError: a stable code, a one-line
// message naming the file, a hint, and the exit code the CLI returns (same table as dataver).

/** Exit codes shared with dataver: 2 usage, 3 data missing or corrupt. */
export const TensorExitCode = { ok: 0, usage: 2, data: 3 } as const;

/** Stable error codes and the exit code each maps to. */
export const TensorErrorCodes = {
  USAGE: TensorExitCode.usage,
  UNSUPPORTED_FORMAT: TensorExitCode.usage,
  NOT_FOUND: TensorExitCode.data,
  TRUNCATED: TensorExitCode.data,
  CORRUPT: TensorExitCode.data,
  UNSUPPORTED_DTYPE: TensorExitCode.data,
  UNSUPPORTED_CONTENT: TensorExitCode.data,
  PICKLE_FORBIDDEN: TensorExitCode.data,
  SHAPE_MISMATCH: TensorExitCode.data,
  TOO_LARGE: TensorExitCode.data,
  IO: TensorExitCode.data,
} as const;
export type TensorErrorCode = keyof typeof TensorErrorCodes;

export interface TensorErrorOptions {
  /** One line telling the user what to do about it. */
  hint?: string;
  /** The file concerned, if any; prefixed to the message by `withFile`. */
  file?: string;
  cause?: unknown;
}

/**
 * An expected failure while reading, writing or building tensors.
 *
 * @example
 * throw new TensorError('TRUNCATED', 'data.pkl: unexpected end of pickle', { file: 'x.pt' });
 */
export class TensorError extends Error {
  readonly code: TensorErrorCode;
  readonly exitCode: number;
  readonly hint?: string;
  readonly file?: string;

  constructor(code: TensorErrorCode, message: string, options: TensorErrorOptions = {}) {
    super(
      options.file ? `${options.file}: ${message}` : message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'TensorError';
    this.code = code;
    this.exitCode = TensorErrorCodes[code];
    this.hint = options.hint;
    this.file = options.file;
  }
}

/**
 * True for a TensorError, optionally of one code.
 *
 * @example
 * if (isTensorError(error, 'PICKLE_FORBIDDEN')) console.error(error.message);
 */
export function isTensorError(error: unknown, code?: TensorErrorCode): error is TensorError {
  return error instanceof TensorError && (code === undefined || error.code === code);
}

/**
 * Re-throws `error` with the file name in front of its message (parsers work on bytes and
 * do not know the path); non-TensorErrors from the file system become IO/NOT_FOUND errors.
 *
 * @example
 * const t = await fs.readFile(p).then(parsePt).catch(withFile(p));
 */
export function withFile(file: string): (error: unknown) => never {
  return (error: unknown) => {
    if (error instanceof TensorError) {
      if (error.file) throw error;
      throw new TensorError(error.code, error.message, { file, hint: error.hint, cause: error });
    }
    const errno =
      typeof error === 'object' && error !== null && 'code' in error
        ? String((error as { code: unknown }).code)
        : '';
    if (errno === 'ENOENT') {
      throw new TensorError('NOT_FOUND', 'no such file', { file, hint: 'check the path', cause: error });
    }
    if (errno === 'EISDIR')
      throw new TensorError('USAGE', 'is a directory, expected a file', { file, cause: error });
    if (errno) {
      throw new TensorError('IO', `${errno} (${(error as Error).message})`, { file, cause: error });
    }
    throw error;
  };
}
