// The logger the library functions take: the CLI decides what -q and -v show; tests pass a silent one.

/** Where progress messages go. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

/**
 * A logger that writes to stderr at a verbosity level (0 quiet, 1 normal, 2 verbose).
 *
 * @example
 * ```ts
 * const log = consoleLogger(1); log.info('training');
 * ```
 */
export function consoleLogger(level: 0 | 1 | 2): Logger {
  return {
    info: (m) => {
      if (level >= 1) process.stderr.write(`${m}\n`);
    },
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
    debug: (m) => {
      if (level >= 2) process.stderr.write(`${m}\n`);
    },
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = { info: () => {}, warn: () => {}, debug: () => {} };
