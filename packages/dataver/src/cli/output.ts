// Rendering for the CLI: text for people, --json for machines, progress bars
// only on a TTY, and errors as one line of what went wrong plus one of what to do.
import type { Progress } from '../core/progress.js';
import { silentProgress } from '../core/progress.js';
import { DataverError, ExitCode, errnoCode, rethrowFsError } from '../errors.js';

export interface GlobalOptions {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export class Output {
  constructor(readonly options: GlobalOptions) {}

  get json(): boolean {
    return this.options.json === true;
  }

  /** A line for people (suppressed by --quiet and --json). */
  info(line: string): void {
    if (!this.options.quiet && !this.options.json) process.stdout.write(`${line}\n`);
  }

  /** A warning on stderr (kept with --json, suppressed by --quiet). */
  warn(line: string): void {
    if (!this.options.quiet) process.stderr.write(`warning: ${line}\n`);
  }

  /** Details shown with --verbose only. */
  debug(line: string): void {
    if (this.options.verbose) process.stderr.write(`${line}\n`);
  }

  /** The command's result: JSON on stdout with --json, else rendered text. */
  result(value: unknown, render: () => string | string[]): void {
    if (this.json) {
      process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      return;
    }
    if (this.options.quiet) return;
    const text = render();
    const lines = Array.isArray(text) ? text : [text];
    if (lines.length > 0 && !(lines.length === 1 && lines[0] === ''))
      process.stdout.write(`${lines.join('\n')}\n`);
  }

  /** A progress bar on stderr when it is a terminal; silent otherwise. */
  progress(): Progress {
    if (this.options.quiet || this.json || !process.stderr.isTTY || process.env.CI) return silentProgress;
    return createBar();
  }
}

function createBar(): Progress {
  // Loaded lazily: most runs have no TTY, and start-up time matters.
  const cliProgress = require('cli-progress') as typeof import('cli-progress');
  let bar: import('cli-progress').SingleBar | undefined;
  let bytes = 0;
  let totalBytes = 0;
  let started = 0;
  return {
    start(label, total, total_bytes = 0) {
      bytes = 0;
      totalBytes = total_bytes;
      started = Date.now();
      bar = new cliProgress.SingleBar(
        {
          format: `${label.padEnd(10)} {bar} {value}/{total} files {sizes} {rate}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
          fps: 10,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { sizes: '', rate: '' });
    },
    tick(count, b = 0) {
      bytes += b;
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      bar?.increment(count, {
        sizes: totalBytes > 0 ? `${formatBytes(bytes)}/${formatBytes(totalBytes)}` : '',
        rate: bytes > 0 ? `${formatBytes(bytes / seconds)}/s` : '',
      });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Prints an error the way DESIGN.md promises and returns the exit code. */
export function reportError(error: unknown, options: GlobalOptions): number {
  const errno = errnoCode(error);
  if (
    !(error instanceof DataverError) &&
    errno &&
    ['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS'].includes(errno)
  ) {
    try {
      rethrowFsError((error as { path?: string }).path ?? '(unknown path)')(error);
    } catch (mapped) {
      return reportError(mapped, options);
    }
  }
  if (error instanceof DataverError) {
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ error: { code: error.code, message: error.message, hint: error.hint, ...error.data } }, null, 2)}\n`,
      );
    }
    process.stderr.write(`error: ${error.message}\n`);
    if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    if (options.verbose && error.cause)
      process.stderr.write(`${(error.cause as Error).stack ?? String(error.cause)}\n`);
    return error.exitCode;
  }
  // Not an expected failure: a bug. Show everything.
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ error: { code: 'INTERNAL', message: String((error as Error)?.message ?? error) } }, null, 2)}\n`,
    );
  }
  process.stderr.write(`internal error: ${(error as Error)?.stack ?? String(error)}\n`);
  process.stderr.write('hint: this is a bug in dataver; please report it with the output above\n');
  return 70;
}

export { ExitCode };
