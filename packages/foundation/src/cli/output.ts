// Rendering for every CLI: text for people, --json for machines, progress bars only on a TTY,
// diagnostics on stderr. Library code takes a Logger or a Progress and never prints itself.

/** The flags every command of every tool understands. */
export interface GlobalOptions {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

/** Where library functions send progress messages; the CLI decides what -q and -v show. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

/** A logger that drops everything (tests, embedding). */
export const silentLogger: Logger = { info: () => {}, warn: () => {}, debug: () => {} };

/**
 * A logger that writes to stderr: info unless quiet, debug only when verbose, warnings always.
 *
 * @example
 * const log = stderrLogger({ verbose: true }); log.debug('details');
 */
export function stderrLogger(options: GlobalOptions): Logger {
  return {
    info: (m) => {
      if (!options.quiet) process.stderr.write(`${m}\n`);
    },
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
    debug: (m) => {
      if (options.verbose) process.stderr.write(`${m}\n`);
    },
  };
}

/** Progress of long work, decoupled from rendering: core functions tick it, the CLI draws it. */
export interface Progress {
  start(label: string, total: number, totalBytes?: number): void;
  tick(count: number, bytes?: number): void;
  stop(): void;
}

/** A Progress that does nothing (tests, --quiet, --json, no TTY, CI). */
export const silentProgress: Progress = {
  start() {},
  tick() {},
  stop() {},
};

/**
 * What a command prints, shaped by the global flags.
 *
 * @example
 * const out = new Output({ json: false });
 * out.result({ added: 3 }, () => 'added 3 outputs');
 */
export class Output {
  /** Progress messages on stderr, at the verbosity the flags ask for. */
  readonly logger: Logger;

  constructor(readonly options: GlobalOptions) {
    this.logger = stderrLogger(options);
  }

  get json(): boolean {
    return this.options.json === true;
  }

  /** A line for people on stdout (suppressed by --quiet and --json). */
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

  /** The command's result: JSON on stdout with --json, else the rendered text. */
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

  /** A progress bar on stderr when it is a terminal (and not CI); silent otherwise. */
  progress(): Progress {
    if (this.options.quiet || this.json || !process.stderr.isTTY || process.env['CI']) return silentProgress;
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
          format: `${label.padEnd(10)} {bar} {value}/{total} {sizes} {rate}`,
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

/**
 * A byte count for people.
 *
 * @example
 * formatBytes(1536); // '1.5 KiB'
 */
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
