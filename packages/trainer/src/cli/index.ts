// The `trainer` command line: commander wiring only. Each command's module (and tfjs with it) is loaded
// when that command runs, so `trainer --help` and `trainer backend` start fast.
import { Command, CommanderError, Option } from 'commander';
import { EXIT } from '../errors.js';

/** Global flags shared by every command. */
export interface GlobalFlags {
  quiet?: boolean;
  verbose?: boolean;
}

/** Verbosity level from -q / -v.
 *
 * @example
 * ```ts
 * verbosity({ quiet: true }); // 0
 * ```
 */
export function verbosity(flags: GlobalFlags): 0 | 1 | 2 {
  return flags.quiet ? 0 : flags.verbose ? 2 : 1;
}

function example(text: string): string {
  return `\nExample:\n  $ ${text}\n`;
}

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n))
    throw new CommanderError(EXIT.usage, 'trainer.invalidArgument', `not an integer: ${v}`);
  return n;
};
const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n))
    throw new CommanderError(EXIT.usage, 'trainer.invalidArgument', `not a number: ${v}`);
  return n;
};

/** Builds the commander program (exported for tests).
 *
 * @example
 * ```ts
 * await buildProgram().parseAsync(['node', 'trainer', 'backend']);
 * ```
 */
export function buildProgram(): Command {
  const program = new Command('trainer')
    .description(
      'Train, evaluate, explain and serve the Corrupt MNIST CNN on dataver-versioned data (TensorFlow.js)',
    )
    .option('-q, --quiet', 'only errors')
    .option('-v, --verbose', 'more detail, stack traces on errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.addHelpText('after', example('trainer train --config configs/train.yaml --out models/latest'));
  const run = (
    loader: () => Promise<{ run: (opts: never, globals: GlobalFlags) => Promise<number | undefined> }>,
  ) =>
    async function (this: Command, ...args: unknown[]) {
      const cmd = args[args.length - 1] as Command;
      const opts = { ...cmd.opts(), args: cmd.args };
      const mod = await loader();
      const code = await mod.run(opts as never, program.opts<GlobalFlags>());
      if (code) process.exitCode = code;
    };

  program
    .command('backend')
    .description('Print which TensorFlow.js backend would run, and why')
    .option('--json', 'print JSON')
    .addHelpText('after', example('trainer backend --json'))
    .action(run(() => import('./commands/backend.js')));

  program
    .command('train')
    .description(
      'Train a model on processed data (seeded, checkpointed); writes model, metadata, metrics, plots',
    )
    .option('--config <file>', 'YAML config (default: configs/train.yaml when present)')
    .option('--data <dir>', 'processed data folder (overrides data.dir)')
    .option('--epochs <n>', 'epochs (overrides epochs)', int)
    .option('--batch-size <n>', 'batch size (overrides batchSize)', int)
    .option('--workers <n>', 'data-parallel worker threads (overrides workers)', int)
    .option('--lr <x>', 'learning rate (overrides learningRate)', num)
    .option('--seed <n>', 'seed (overrides seed)', int)
    .option('--model <name>', 'architecture: cnn-small | cnn-large (overrides model)')
    .option('--limit <n>', 'use only the first N training images', int)
    .option('--no-augment', 'turn augmentation off')
    .option('--out <dir>', 'run directory (overrides output.dir)')
    .option('--logs <dir>', 'checkpoints, metrics.jsonl, TensorBoard, run.json (default <out>/logs)')
    .option('--resume', 'continue from <logs>/checkpoints/last.ckpt')
    .option('--allow-dirty', 'train on data that differs from data.lock.json (recorded in metadata)')
    .option('--rev <revision>', 'train on the data of another git revision (workspace untouched)')
    .addOption(
      new Option('--backend <name>', 'force a backend').choices(['auto', 'tensorflow', 'wasm', 'cpu']),
    )
    .option('--json', 'print the result as JSON')
    .addHelpText('after', example('trainer train --epochs 2 --out models/quick'))
    .action(run(() => import('./commands/train.js')));

  program
    .command('evaluate')
    .description('Accuracy, per-class precision/recall/F1, confusion matrix and worst samples of a model')
    .requiredOption('--model <dir>', 'model directory')
    .option('--data <dir>', 'processed folder whose test split is used', 'data/processed')
    .option('--images <file>', 'image tensor (.pt, .npy, .safetensors)')
    .option('--targets <file>', 'target tensor')
    .option('--raw', 'float images are raw pixels (0–1 or 0–255), normalize them')
    .option('--report <dir>', 'write confusion_matrix.{png,json}, worst.png, report.json, metrics.json')
    .addOption(
      new Option('--backend <name>', 'force a backend').choices(['auto', 'tensorflow', 'wasm', 'cpu']),
    )
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      example('trainer evaluate --model models/latest --data data/processed --report reports/eval'),
    )
    .action(run(() => import('./commands/evaluate.js')));

  program
    .command('predict')
    .description('Classify PNG/JPEG images of digits (any size or colour)')
    .argument('<image...>', 'image files')
    .requiredOption('--model <dir>', 'model directory')
    .option('--top-k <n>', 'classes to list', int, 3)
    .option('--threshold <p>', 'flag predictions below this confidence', num, 0.7)
    .addOption(
      new Option('--backend <name>', 'force a backend').choices(['auto', 'tensorflow', 'wasm', 'cpu']),
    )
    .option('--json', 'print JSON')
    .addHelpText('after', example('trainer predict --model models/latest seven.png three.jpg'))
    .action(run(() => import('./commands/predict.js')));

  program
    .command('serve')
    .description('HTTP API (POST /predict, GET /health, GET /model) and a drawing page')
    .requiredOption('--model <dir>', 'model directory')
    .option('--port <n>', 'port (0 = any free port)', int, 8080)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--threshold <p>', 'low-confidence threshold', num, 0.7)
    .addOption(
      new Option('--backend <name>', 'force a backend').choices(['auto', 'tensorflow', 'wasm', 'cpu']),
    )
    .addHelpText('after', example('trainer serve --model models/latest --port 8080'))
    .action(run(() => import('./commands/serve.js')));

  program
    .command('augment-preview')
    .description('Write a PNG grid of training images before/after augmentation')
    .requiredOption('--out <file>', 'PNG to write')
    .option('--config <file>', 'YAML config (augmentation settings)')
    .option('--data <dir>', 'processed data folder')
    .option('--count <n>', 'images', int, 16)
    .option('--seed <n>', 'seed', int, 0)
    .addHelpText('after', example('trainer augment-preview --out grid.png'))
    .action(run(() => import('./commands/augment-preview.js')));
  return program;
}

/**
 * Runs the CLI.
 *
 * @example
 * ```ts
 * await main(['node', 'trainer', 'backend']);
 * ```
 */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = await reportError(error, argv.includes('-v') || argv.includes('--verbose'));
  }
}

async function reportError(error: unknown, verbose: boolean): Promise<number> {
  if (error instanceof CommanderError) {
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.exitCode === 0
    )
      return 0;
    // commander already printed the message
    return EXIT.usage;
  }
  const e = error as Error & { exitCode?: number; hint?: string; code?: string };
  const expected =
    typeof e.exitCode === 'number' &&
    (e.name === 'TrainerError' || e.name === 'TensorError' || e.name === 'DataverError');
  if (expected) {
    process.stderr.write(`error: ${e.message}\n`);
    if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
    if (verbose && e.stack) process.stderr.write(`${e.stack}\n`);
    return e.exitCode!;
  }
  process.stderr.write(`internal error: ${e?.stack ?? String(error)}\n`);
  return 1;
}
