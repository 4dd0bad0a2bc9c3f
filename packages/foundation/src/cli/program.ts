// The program harness every CLI is built on: commander with the global flags, help after a usage
// error, commands loaded only when they run (so `--help` starts fast), errors turned into one
// line + hint + exit code (JSON with --json), and a stack trace only for bugs or with --verbose.
import type { Command } from 'commander';
import { DataverError, ExitCode, userFsError } from '../errors.js';
import { type GlobalOptions, Output } from './output.js';

/**
 * commander, loaded when a program is built or an argument parsed: what uses only the rest of
 * foundation (hash workers, a command run without the parser) skips its ~10 ms of loading.
 */
function commander(): typeof import('commander') {
  return require('commander') as typeof import('commander');
}

/** A command's implementation: gets the output, the positional arguments and the merged options. */
export type CommandAction = (
  output: Output,
  args: unknown[],
  options: Record<string, unknown> & GlobalOptions,
) => Promise<number | undefined> | Promise<void>;

export interface ProgramOptions {
  /** The executable's name, e.g. `dataver`. */
  name: string;
  description: string;
  /** Shown by `-V, --version`. */
  version: string;
  /** An example printed at the end of `--help`. */
  example?: string;
}

/**
 * A commander program with the house conventions: `-q`, `-v`, `-V`, usage errors that exit 2
 * (never commander's exit 1, which means "differences found" here), suggestions and a help hint
 * after a mistake, and the exit-code table at the end of `--help`. Subcommands declared on it
 * inherit all of that.
 *
 * @example
 * const program = createProgram({ name: 'dataver', description: '…', version: '0.1.0' });
 * program.command('init').action(lazyAction(() => import('./commands/init.js')));
 */
export function createProgram(options: ProgramOptions): Command {
  const program = new (commander().Command)(options.name)
    .exitOverride()
    .description(options.description)
    .version(options.version, '-V, --version')
    .option('-q, --quiet', 'print nothing but errors')
    .option('-v, --verbose', 'print details, and stack traces of errors')
    .showSuggestionAfterError()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  program.configureHelp({ sortSubcommands: false });
  const exitCodes = [
    `Exit codes: ${ExitCode.ok} ok, ${ExitCode.differences} differences found (--exit-code), ${ExitCode.usage} usage or config error,`,
    `${ExitCode.data} data missing or corrupt, ${ExitCode.remote} remote/network/auth error, ${ExitCode.busy} repository busy, ${ExitCode.internal} internal error.`,
  ].join('\n');
  program.addHelpText('after', `\n${exitCodes}${options.example ? `\n${exampleText(options.example)}` : ''}`);
  return program;
}

/**
 * The example section of a `--help` text.
 *
 * @example
 * command.addHelpText('after', exampleText('dataver add data/raw'));
 */
export function exampleText(text: string): string {
  return `\nExample:\n  ${text}`;
}

/**
 * Appends an example to a command's `--help`.
 *
 * @example
 * withExample(program.command('add'), 'dataver add data/raw');
 */
export function withExample(command: Command, text: string): Command {
  return command.addHelpText('after', exampleText(text));
}

/**
 * A commander action that loads a command module only when the command runs, calls its
 * `exportName` export with (output, args, options) and turns its result or error into
 * `process.exitCode`.
 *
 * @example
 * program.command('status').action(lazyAction(() => import('./commands/status.js')));
 */
export function lazyAction(
  load: () => Promise<unknown>,
  exportName = 'run',
): (...actionArgs: unknown[]) => Promise<void> {
  return async (...actionArgs: unknown[]) => {
    const command = actionArgs[actionArgs.length - 1] as Command;
    const options = command.optsWithGlobals() as Record<string, unknown> & GlobalOptions;
    await runCommand(load, exportName, actionArgs.slice(0, -2), options);
  };
}

/**
 * Runs a command module's action with parsed arguments and options, as a lazyAction does: its
 * result is the exit code, an error is reported (one line + hint, or JSON). A CLI may call it
 * without building its parser for an invocation it recognizes itself.
 *
 * @example
 * await runCommand(async () => require('./commands/status.js'), 'run', [[]], {});
 */
export async function runCommand(
  load: () => Promise<unknown>,
  exportName: string,
  args: unknown[],
  options: Record<string, unknown> & GlobalOptions,
): Promise<void> {
  guardStdout();
  let code: number | undefined;
  try {
    const mod = (await load()) as Record<string, unknown>;
    const action = mod[exportName];
    if (typeof action !== 'function') throw new Error(`command module has no export '${exportName}'`);
    const result = await (action as CommandAction)(new Output(options), args, options);
    code = typeof result === 'number' ? result : undefined;
  } catch (error) {
    code = reportError(error, options);
  }
  process.exitCode = code ?? 0;
}

let stdoutGuarded = false;

/** A closed pipe on stdout (`dataver status | head -1`) ends the process quietly, once set up. */
function guardStdout(): void {
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

/**
 * A commander argument parser for non-negative integers.
 *
 * @example
 * cmd.option('--seed <n>', 'seed', parseInteger, 0);
 */
export function parseInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new (commander().InvalidArgumentError)('expected a non-negative integer');
  return Number(value);
}

/**
 * A commander argument parser for any integer (negative too).
 *
 * @example
 * cmd.option('--angle <deg>', 'rotation', parseSignedInteger);
 */
export function parseSignedInteger(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new (commander().InvalidArgumentError)('expected an integer');
  return Number(value);
}

/**
 * A commander argument parser for finite numbers.
 *
 * @example
 * cmd.option('--lr <x>', 'learning rate', parseNumber);
 */
export function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new (commander().InvalidArgumentError)('expected a number');
  return n;
}

/**
 * Prints an error the house way and returns its exit code: a DataverError as `error: …` and
 * `hint: …` (and as `{"error": {code, message, hint, …}}` on stdout with --json); a user-caused
 * file-system error likewise; anything else as a bug, with its stack, exit 70.
 *
 * @example
 * process.exitCode = reportError(error, { json: false });
 */
export function reportError(error: unknown, options: GlobalOptions): number {
  const mapped = userFsError(error, (error as { path?: string } | null)?.path ?? '(unknown path)');
  if (mapped) return reportError(mapped, options);
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
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ error: { code: 'INTERNAL', message: String((error as Error)?.message ?? error) } }, null, 2)}\n`,
    );
  }
  process.stderr.write(`internal error: ${(error as Error)?.stack ?? String(error)}\n`);
  process.stderr.write('hint: this is a bug; please report it with the output above\n');
  return ExitCode.internal;
}

/**
 * Parses `argv` with `program` and sets `process.exitCode`: help and version 0, usage errors 2
 * (as JSON too with --json), an early-closed stdout pipe (`| head`) is no error.
 *
 * @example
 * await runProgram(buildProgram(), process.argv);
 */
export async function runProgram(program: Command, argv: readonly string[]): Promise<void> {
  guardStdout();
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof commander().CommanderError) {
      process.exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      if (process.exitCode !== 0 && argv.includes('--json')) {
        const message = error.message.replace(/^error: /, '');
        process.stdout.write(`${JSON.stringify({ error: { code: 'USAGE', message } }, null, 2)}\n`);
      }
      return;
    }
    const verbose = argv.includes('-v') || argv.includes('--verbose');
    process.exitCode = reportError(error, { json: argv.includes('--json'), verbose });
  }
}
