// The `trainer` command line: declarations only, on the house harness. Each command's module (and
// tfjs with it) is loaded when that command runs, so `trainer --help` and `trainer backend` start fast.
import {
  createProgram,
  exampleText,
  lazyAction,
  parseInteger,
  parseNumber,
  parseSignedInteger,
  runProgram,
} from '@dataver/foundation';
import { type Command, Option } from 'commander';

const int = parseSignedInteger;
const num = parseNumber;

/** Builds the commander program (exported for tests).
 *
 * @example
 * ```ts
 * await buildProgram().parseAsync(['node', 'trainer', 'backend']);
 * ```
 */
export function buildProgram(): Command {
  const program = createProgram({
    name: 'trainer',
    description:
      'Train, evaluate, explain and serve the Corrupt MNIST CNN on dataver-versioned data (TensorFlow.js)',
    version: require('../../package.json').version as string,
    example: 'trainer train --config configs/train.yaml --out models/latest',
  });
  const run = lazyAction;

  program
    .command('backend')
    .description('Print which TensorFlow.js backend would run, and why')
    .option('--json', 'print JSON')
    .addHelpText('after', exampleText('trainer backend --json'))
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
    .option('--model <name>', 'architecture: cnn-small | cnn-medium | cnn-large (overrides model)')
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
    .addHelpText('after', exampleText('trainer train --epochs 2 --out models/quick'))
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
      new Option(
        '--sweep [kind]',
        'robustness on the MNIST test digits: rotated −60°…60° the course way, and/or each corruption alone',
      )
        .choices(['all', 'rotation', 'corruptions'])
        .preset('all'),
    )
    .option('--sweep-limit <n>', 'sweep over the first N MNIST test digits (default 10000)', parseInteger)
    .option(
      '--manifest <file>',
      "the evaluated set's manifest.json (corrupt-mnist generate): accuracy per shard",
    )
    .option('--metrics <file>', 'also write the headline metrics (JSON) here, e.g. for a pipeline')
    .addOption(
      new Option('--backend <name>', 'force a backend').choices(['auto', 'tensorflow', 'wasm', 'cpu']),
    )
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      exampleText(
        'trainer evaluate --model models/latest --images data/holdout/test_images.pt --targets data/holdout/test_target.pt --raw --manifest data/holdout/manifest.json --sweep',
      ),
    )
    .action(run(() => import('./commands/evaluate.js')));

  program
    .command('predict')
    .description(
      'Classify PNG/JPEG images of digits (any size or colour): class, all ten probabilities, optional plot',
    )
    .argument('<image...>', 'image files')
    .requiredOption('--model <dir>', 'model directory')
    .option('--top-k <n>', 'classes to list', int, 3)
    .option('--threshold <p>', 'flag predictions below this confidence', num, 0.7)
    .option('--plot <file.png>', 'write each input digit beside a bar chart of its probabilities')
    .addOption(
      new Option('--backend <name>', 'force a backend').choices(['auto', 'tensorflow', 'wasm', 'cpu']),
    )
    .option('--json', 'print JSON (all ten probabilities, top-k, low-confidence flag)')
    .addHelpText(
      'after',
      exampleText('trainer predict --model models/latest seven.png three.jpg --plot predictions.png'),
    )
    .action(run(() => import('./commands/predict.js')));

  program
    .command('serve')
    .description(
      'HTTP API (POST /predict, /predict-drawing, /predict-batch; GET /health, /ready, /model-info, /metrics, /docs, /redoc) and a drawing page',
    )
    .addOption(new Option('--model <dir>', 'model directory').env('TRAINER_MODEL').makeOptionMandatory())
    .addOption(
      new Option('--report <dir>', 'evaluation report folder whose accuracy and sweep /model-info shows').env(
        'TRAINER_REPORT',
      ),
    )
    .addOption(new Option('--port <n>', 'port (0 = any free port)').env('PORT').argParser(int).default(8080))
    .addOption(new Option('--host <host>', 'interface to listen on').env('HOST').default('127.0.0.1'))
    .addOption(
      new Option('--threshold <p>', 'low-confidence threshold')
        .env('TRAINER_THRESHOLD')
        .argParser(num)
        .default(0.7),
    )
    .addOption(
      new Option('--backend <name>', 'force a backend').choices(['auto', 'tensorflow', 'wasm', 'cpu']),
    )
    .addOption(
      new Option('--workers <n>', 'model worker threads (default: one per core, at most 4)')
        .env('TRAINER_WORKERS')
        .argParser(int),
    )
    .addOption(
      new Option('--decode-workers <n>', 'threads that decode large images (default 1)')
        .env('TRAINER_DECODE_WORKERS')
        .argParser(int),
    )
    .addOption(
      new Option('--max-batch <n>', 'most images in one model call (default 64)')
        .env('TRAINER_MAX_BATCH')
        .argParser(int),
    )
    .addOption(
      new Option('--max-body-bytes <n>', 'largest request body (default 16 MiB)')
        .env('TRAINER_MAX_BODY_BYTES')
        .argParser(int),
    )
    .addOption(
      new Option('--max-pixels <n>', 'largest width × height of an image (default 4096 × 4096)')
        .env('TRAINER_MAX_PIXELS')
        .argParser(int),
    )
    .addOption(
      new Option('--max-dimension <n>', 'largest width or height of an image (default 8192)')
        .env('TRAINER_MAX_DIMENSION')
        .argParser(int),
    )
    .addOption(
      new Option('--max-batch-items <n>', 'most images in one /predict-batch request (default 64)')
        .env('TRAINER_MAX_BATCH_ITEMS')
        .argParser(int),
    )
    .addOption(
      new Option('--decode-timeout <ms>', 'longest decode of one image (default 5000)')
        .env('TRAINER_DECODE_TIMEOUT_MS')
        .argParser(int),
    )
    .addOption(
      new Option('--log-level <level>', 'request log level (JSON lines on stdout; default info)')
        .env('LOG_LEVEL')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    )
    .addOption(
      new Option('--shutdown-timeout <ms>', 'on SIGTERM, longest wait for requests in flight (default 10000)')
        .env('TRAINER_SHUTDOWN_TIMEOUT_MS')
        .argParser(int),
    )
    .addHelpText('after', exampleText('trainer serve --model models/latest --host 0.0.0.0 --port 8000'))
    .action(run(() => import('./commands/serve.js')));

  program
    .command('augment-preview')
    .description('Write a PNG grid of training images before/after augmentation')
    .requiredOption('--out <file>', 'PNG to write')
    .option('--config <file>', 'YAML config (augmentation settings)')
    .option('--data <dir>', 'processed data folder')
    .option('--count <n>', 'images', int, 16)
    .option('--seed <n>', 'seed', int, 0)
    .addHelpText('after', exampleText('trainer augment-preview --out grid.png'))
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
export function main(argv: string[]): Promise<void> {
  return runProgram(buildProgram(), argv);
}
