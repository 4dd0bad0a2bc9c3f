// The dataver command line. Commands are declared here and implemented in
// ./commands/*, loaded only when run (the harness of @dataver/foundation), so
// `dataver --help` starts fast.
import { createProgram, lazyAction, runProgram, withExample } from '@dataver/foundation';
import { type Command, Option } from 'commander';

/** A lazily loaded command of ./commands/<moduleName>.js. */
function lazy(moduleName: string, exportName = 'run') {
  return lazyAction(() => import(`./commands/${moduleName}.js`), exportName);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const json = () => new Option('--json', 'print the result as JSON');

/** Builds the program (exported for tests and for generating docs/cli.md). */
export function buildProgram(): Command {
  const program = createProgram({
    name: 'dataver',
    description: 'Version data the way git versions code: content-addressed, cached, pushed and pulled.',
    version: require('../../package.json').version as string,
    example:
      'dataver init && dataver add data/raw && git add data.lock.json .gitignore && git commit -m "track data"',
  });

  withExample(
    program
      .command('init')
      .description('create .dataver/ and data.lock.json in the current folder')
      .option('--git-hooks', 'also set up the data.lock.json merge driver in this git repository')
      .addOption(json())
      .action(lazy('init')),
    'dataver init',
  );
  withExample(
    program
      .command('add')
      .description('track files and directories: cache their content and record them in data.lock.json')
      .argument('<paths...>', 'files or directories inside the repository')
      .addOption(json())
      .action(lazy('add')),
    'dataver add data/raw models/model.bin',
  );
  withExample(
    program
      .command('remove')
      .description('stop tracking outputs (the files and cached objects stay)')
      .argument('<paths...>', 'tracked outputs')
      .addOption(json())
      .action(lazy('remove')),
    'dataver remove data/old',
  );
  withExample(
    program
      .command('status')
      .description('show outputs whose workspace or cache differs from data.lock.json')
      .argument('[paths...]', 'limit to these outputs')
      .option('--exit-code', 'exit with 1 when anything differs')
      .option('-r, --remote [name]', 'also show which objects the remote lacks')
      .addOption(json())
      .action(lazy('status')),
    'dataver status --exit-code data/processed',
  );
  withExample(
    program
      .command('checkout')
      .description('restore the workspace to what data.lock.json says, from the cache')
      .argument('[paths...]', 'limit to these outputs')
      .option('-f, --force', 'overwrite unsaved changes and delete untracked files in tracked directories')
      .option('--rev <revision>', 'materialize the data of another git revision (without switching branches)')
      .addOption(json())
      .action(lazy('checkout')),
    'dataver checkout data/raw',
  );
  withExample(
    program
      .command('hash')
      .description('print sha256 hashes of files, in the format of sha256sum (all cores)')
      .argument('<files...>', 'files to hash')
      .addOption(json())
      .action(lazy('hash')),
    'dataver hash data/big.bin | sha256sum --check',
  );

  const remote = program
    .command('remote')
    .description('manage remotes (gs://bucket/prefix or a local folder)');
  withExample(
    remote
      .command('add')
      .description('add a remote')
      .argument('<name>', 'remote name, e.g. origin')
      .argument('<url>', 'gs://bucket/prefix, or a folder path')
      .option('-d, --default', 'make it the default remote')
      .action(lazy('remote', 'add')),
    'dataver remote add origin gs://my-bucket/datasets --default',
  );
  withExample(
    remote.command('list').description('list remotes').addOption(json()).action(lazy('remote', 'list')),
    'dataver remote list',
  );
  withExample(
    remote
      .command('remove')
      .description('remove a remote')
      .argument('<name>')
      .action(lazy('remote', 'remove')),
    'dataver remote remove old',
  );
  withExample(
    remote
      .command('test')
      .description('check that a remote is reachable, authenticated and writable')
      .argument('[name]', 'remote name (default: the default remote)')
      .addOption(json())
      .action(lazy('remote', 'test')),
    'dataver remote test origin',
  );

  const config = program.command('config').description('read and change .dataver/config.json');
  withExample(
    config.command('get').description('print a value').argument('<key>').action(lazy('config', 'get')),
    'dataver config get cache.link',
  );
  withExample(
    config
      .command('set')
      .description('set a value')
      .argument('<key>', 'core.remote, cache.link, plugins, remote.<name>.<option>')
      .argument('<value>')
      .action(lazy('config', 'set')),
    'dataver config set remote.origin.endpoint http://127.0.0.1:9199',
  );
  withExample(
    config.command('unset').description('remove a value').argument('<key>').action(lazy('config', 'unset')),
    'dataver config unset remote.origin.endpoint',
  );
  withExample(
    config
      .command('list')
      .description('print the whole configuration')
      .addOption(json())
      .action(lazy('config', 'list')),
    'dataver config list',
  );

  for (const [name, description, ex] of [
    ['push', 'upload the cached objects of tracked outputs to a remote', 'dataver push -r origin'],
    [
      'fetch',
      'download the objects of tracked outputs from a remote into the cache',
      'dataver fetch data/raw',
    ],
    ['pull', 'fetch, then check out: the workspace gets exactly the data of this commit', 'dataver pull'],
  ] as const) {
    const cmd = program
      .command(name)
      .description(description)
      .argument('[paths...]', 'limit to these outputs')
      .option('-r, --remote <name>', 'remote to use (default: core.remote)')
      .option('-j, --jobs <n>', 'parallel transfers', (v) => Number.parseInt(v, 10))
      .addOption(json());
    if (name === 'pull') {
      cmd.option('-f, --force', 'overwrite unsaved changes in the workspace');
      cmd.option('--rev <revision>', 'pull the data of another git revision (without switching branches)');
    }
    withExample(cmd.action(lazy('transfer', name)), ex);
  }

  withExample(
    program
      .command('gc')
      .description('remove cache objects that no tracked output references (dry run without --force)')
      .option('-f, --force', 'really delete')
      .option('-w, --workspace', 'keep what the workspace lock references (the default)')
      .option('-a, --all-branches', 'also keep what the tips of all branches and tags reference')
      .option('-A, --all-commits', 'also keep what any commit references')
      .option(
        '--no-run-cache',
        'do not keep the outputs of past stage runs (and, with --force, forget those runs)',
      )
      .addOption(json())
      .action(lazy('gc')),
    'dataver gc --force',
  );
  withExample(
    program
      .command('verify')
      .description('re-hash cache (or remote) objects and report corrupt ones (exit 3)')
      .option('-r, --remote <name>', 'verify the objects of a remote instead of the cache')
      .option('--fix', 'delete corrupt cache objects so that `dataver pull` fetches them again')
      .addOption(json())
      .action(lazy('verify')),
    'dataver verify --fix && dataver pull',
  );

  // Pipelines: dataver.yaml stages, repro, params, metrics, diff across commits.
  withExample(
    program
      .command('repro')
      .description('run the stale stages of dataver.yaml in order, caching their outputs')
      .argument('[stages...]', 'stages to reproduce (default: all)')
      .option('-f, --force', 'run the stages even when they are up to date')
      .option('-n, --dry-run', 'only say what would run')
      .option('--downstream', 'also run the stages that depend on the given ones')
      .addOption(json())
      .action(lazy('repro')),
    'dataver repro process',
  );
  const stage = program.command('stage').description('edit the stages of dataver.yaml');
  withExample(
    stage
      .command('add')
      .description('add (or replace with --force) a stage in dataver.yaml')
      .argument('<name>', 'stage name')
      .requiredOption('-c, --cmd <command>', 'the command that the stage runs')
      .option('-d, --dep <path>', 'a dependency (repeatable)', collect, [])
      .option('-o, --out <path>', 'an output, tracked and cached (repeatable)', collect, [])
      .option('-p, --param <key>', 'a parameter key from params.yaml, or file:key (repeatable)', collect, [])
      .option('-m, --metric <path>', 'a metrics JSON file, committed to git (repeatable)', collect, [])
      .option('--always-changed', 'run the stage on every repro')
      .option('-f, --force', 'replace an existing stage')
      .action(lazy('stage', 'add')),
    'dataver stage add process --cmd "corrupt-mnist process" --dep data/raw --out data/processed',
  );
  withExample(
    program
      .command('diff')
      .description(
        'added / modified / deleted outputs and files between two commits, or a commit and the workspace',
      )
      .argument('[revA]', 'the older revision (default: HEAD)')
      .argument('[revB]', 'the newer revision (default: the workspace)')
      .option('--md', 'print a Markdown table')
      .addOption(json())
      .action(lazy('diff')),
    'dataver diff HEAD~1 HEAD',
  );
  const params = program.command('params').description('show parameters of the pipeline');
  withExample(
    params
      .command('diff')
      .description('parameters that differ between two revisions (default: HEAD and the workspace)')
      .argument('[revA]')
      .argument('[revB]')
      .option('--md', 'print a Markdown table')
      .option('--all', 'also show unchanged parameters')
      .addOption(json())
      .action(lazy('params', 'diff')),
    'dataver params diff main',
  );
  const metrics = program.command('metrics').description('show and compare metrics files of the pipeline');
  withExample(
    metrics
      .command('show')
      .description('print the metrics of a revision (default: the workspace)')
      .argument('[rev]')
      .option('--md', 'print a Markdown table')
      .addOption(json())
      .action(lazy('metrics', 'show')),
    'dataver metrics show --md >> "$GITHUB_STEP_SUMMARY"',
  );
  withExample(
    metrics
      .command('diff')
      .description('compare metrics between two revisions (default: HEAD and the workspace)')
      .argument('[revA]')
      .argument('[revB]')
      .option('--md', 'print a Markdown table')
      .addOption(json())
      .action(lazy('metrics', 'diff')),
    'dataver metrics diff main',
  );
  program
    .command('merge-driver', { hidden: true })
    .description('git merge driver for data.lock.json (set up by `dataver init --git-hooks`)')
    .argument('<base>')
    .argument('<ours>')
    .argument('<theirs>')
    .argument('[path]')
    .action(lazy('merge-driver'));
  return program;
}

/** Entry point of bin/dataver.js. */
export function main(argv: string[]): Promise<void> {
  return runProgram(buildProgram(), argv);
}
