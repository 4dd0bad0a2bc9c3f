// The dataver command line. Commands are declared here and implemented in
// ./commands/*, loaded only when run (the harness of @dataver/foundation), so
// `dataver --help` starts fast.
import {
  createProgram,
  lazyAction,
  parseInteger,
  runCommand,
  runProgram,
  withExample,
} from '@dataver/foundation';
import type { Command, Option } from 'commander';

/** A lazily loaded command of ./commands/<moduleName>.js. */
function lazy(moduleName: string, exportName = 'run') {
  return lazyAction(async () => require(`./commands/${moduleName}.js`), exportName);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A commander option; commander is loaded with the parser, which a plain `status` goes without. */
const option = (flags: string, description: string): Option =>
  new (require('commander') as typeof import('commander')).Option(flags, description);

const json = () => option('--json', 'print the result as JSON');
const gitAdd = () =>
  option(
    '--git-add',
    'stage .dataver/config.json in git (it must be committed for clones to know the remotes)',
  );

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
      .option(
        '--git-hooks',
        'set up the data.lock.json merge driver (done by default in a git repository; in a clone, run this)',
      )
      .option('--no-git-hooks', 'do not register the merge driver')
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
      .option(
        '--porcelain',
        'stable one-line-per-difference output for scripts: M modified, A new, D deleted, ! not in cache, C cache damaged, L lock wrong, R not on remote, S stale stage',
      )
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

  withExample(
    program
      .command('commit')
      .description(
        'record the outputs as they are now, without running anything: stages (their deps, params and outs) or tracked paths',
      )
      .argument('[targets...]', 'stage names or tracked outputs (default: every stage and output)')
      .addOption(json())
      .action(lazy('commit')),
    'dataver commit train',
  );
  withExample(
    program
      .command('move')
      .description('rename or move a tracked output: its files, its lock entry and its .gitignore line')
      .argument('<src>', 'a tracked output')
      .argument('<dst>', 'the new path (an existing folder: move into it)')
      .addOption(json())
      .action(lazy('move')),
    'dataver move data/raw data/source',
  );
  withExample(
    program
      .command('ls')
      .description('list tracked data: of this repository, or of another git repository (a data registry)')
      .argument('[url]', 'a git repository URL or folder (default: this repository)')
      .argument('[path]', 'only what lies at or below this path')
      .option(
        '--rev <revision>',
        'a commit, branch or tag (default: HEAD for another repository, the workspace here)',
      )
      .option('-R, --recursive', 'also list the files inside tracked directories')
      .addOption(json())
      .action(lazy('registry', 'list')),
    'dataver ls https://github.com/acme/datasets data --rev v2',
  );
  withExample(
    program
      .command('get')
      .description(
        'download data tracked in another git repository (a data registry) into a plain folder, untracked',
      )
      .argument('<url>', 'the git repository (URL or folder)')
      .argument('<path>', 'a tracked path there')
      .option('-o, --out <path>', 'where to write it (default: the last part of <path>)')
      .option('--rev <revision>', 'a commit, branch or tag of that repository (default: HEAD)')
      .option('-f, --force', 'replace what is at --out')
      .option('-j, --jobs <n>', 'parallel transfers', parseInteger)
      .addOption(json())
      .action(lazy('registry', 'get')),
    'dataver get https://github.com/acme/datasets mnist/raw -o data/raw',
  );
  withExample(
    program
      .command('import')
      .description(
        'get data from another git repository and track it here, recording where it came from (see `update`)',
      )
      .argument('<url>', 'the git repository (URL or folder)')
      .argument('<path>', 'a tracked path there')
      .option('-o, --out <path>', 'where to put it in this repository (default: the last part of <path>)')
      .option('--rev <revision>', 'a commit, branch or tag to follow (default: the default branch)')
      .option('-f, --force', 'replace what is at --out')
      .option('-j, --jobs <n>', 'parallel transfers', parseInteger)
      .addOption(json())
      .action(lazy('registry', 'importData')),
    'dataver import https://github.com/acme/datasets mnist/raw -o data/raw --rev v2',
  );
  withExample(
    program
      .command('import-dvc')
      .description(
        "convert the DVC project here: .dvc files, dvc.yaml, dvc.lock and .dvc/config remotes become dataver's files (md5 checked, data re-hashed by sha256)",
      )
      .option(
        '--from-cache [dir]',
        "take data missing from the workspace from DVC's cache (default .dvc/cache)",
      )
      .option('--from-remote <name>', 'take data missing from the workspace from a remote of .dvc/config')
      .option('-f, --force', 'replace an existing dataver.yaml')
      .addOption(json())
      .action(lazy('import-dvc')),
    'dataver import-dvc --from-cache .dvc/cache',
  );
  withExample(
    program
      .command('update')
      .description('bring imported outputs to the latest commit of the revision they follow')
      .argument('[paths...]', 'imported outputs (default: all)')
      .option('--rev <revision>', 'follow another revision from now on')
      .option('-j, --jobs <n>', 'parallel transfers', parseInteger)
      .addOption(json())
      .action(lazy('registry', 'update')),
    'dataver update data/raw',
  );

  const fsmonitor = program
    .command('fsmonitor')
    .description(
      'a file-system monitor that makes status read only what changed (like git core.fsmonitor); status walks the tree whenever it is not running or lost events',
    );
  withExample(
    fsmonitor
      .command('start')
      .description('start the monitor of this repository in the background')
      .addOption(json())
      .action(lazy('fsmonitor', 'start')),
    'dataver fsmonitor start && dataver status',
  );
  withExample(
    fsmonitor
      .command('stop')
      .description('stop the monitor')
      .addOption(json())
      .action(lazy('fsmonitor', 'stop')),
    'dataver fsmonitor stop',
  );
  withExample(
    fsmonitor
      .command('status')
      .description('whether the monitor runs, what it watches, and whether it can be trusted')
      .addOption(json())
      .action(lazy('fsmonitor', 'status')),
    'dataver fsmonitor status --json',
  );
  fsmonitor
    .command('run', { hidden: true })
    .description('run the monitor in the foreground')
    .action(lazy('fsmonitor', 'run'));

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
      .addOption(gitAdd())
      .action(lazy('remote', 'add')),
    'dataver remote add origin gs://my-bucket/datasets --default --git-add',
  );
  withExample(
    remote
      .command('modify')
      .description(
        'change an option of a remote (url, endpoint, projectId, credentials, jobs, packThreshold)',
      )
      .argument('<name>', 'remote name')
      .argument('<option>', 'url, endpoint, projectId, credentials, jobs or packThreshold')
      .argument('[value]', 'the new value')
      .option('-u, --unset', 'remove the option')
      .addOption(gitAdd())
      .action(lazy('remote', 'modify')),
    'dataver remote modify origin endpoint http://127.0.0.1:9199',
  );
  withExample(
    remote
      .command('rename')
      .description('rename a remote (the default follows)')
      .argument('<old>')
      .argument('<new>')
      .addOption(gitAdd())
      .action(lazy('remote', 'rename')),
    'dataver remote rename origin storage',
  );
  withExample(
    remote
      .command('default')
      .description('print the default remote, or make a remote the default')
      .argument('[name]', 'the remote that push, fetch and pull use without -r')
      .option('-u, --unset', 'have no default remote')
      .addOption(gitAdd())
      .addOption(json())
      .action(lazy('remote', 'setDefault')),
    'dataver remote default backup',
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
      .addOption(gitAdd())
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
    if (name === 'push') {
      cmd.option('--repair', 'first read and hash the remote copies, and send missing or corrupt ones again');
    }
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
      .description(
        're-hash the objects of the cache, or what a remote really stores, and report missing or corrupt ones (exit 3)',
      )
      .option(
        '-r, --remote [name]',
        'verify a remote (default: the default remote): list it, read and hash its objects, check that it has what the workspace needs',
      )
      .option(
        '--sample <n>',
        'with --remote: hash only n objects (those the workspace needs first)',
        parseInteger,
      )
      .option('-j, --jobs <n>', 'parallel reads from the remote', parseInteger)
      .option('--fix', 'delete corrupt cache objects so that `dataver pull` fetches them again')
      .addOption(json())
      .action(lazy('verify')),
    'dataver verify -r origin --sample 1000',
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
      .argument(
        '[revB]',
        'the newer revision (default: the workspace: the files on disk, hashed, whether added or not)',
      )
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
  withExample(
    program
      .command('dag')
      .description('show the stages of dataver.yaml and what depends on what (text or Mermaid)')
      .argument('[target]', 'only this stage and what it depends on')
      .option('--mermaid', 'print a Mermaid flowchart')
      .option('--md', 'print the Mermaid flowchart in a Markdown code block (GitHub renders it)')
      .option('--outs', 'show the outputs and dependencies as nodes, not the stages')
      .addOption(json())
      .action(lazy('dag')),
    'dataver dag --md >> "$GITHUB_STEP_SUMMARY"',
  );
  withExample(
    program
      .command('doctor')
      .description(
        'find what is misconfigured: uncommitted remotes, the merge driver, unreachable remotes, cache permissions, leftovers',
      )
      .option('--no-remote', 'do not contact the default remote')
      .addOption(json())
      .action(lazy('doctor')),
    'dataver doctor',
  );
  withExample(
    program
      .command('version')
      .description('print the versions of dataver, node and git, and what this machine and repository use')
      .addOption(json())
      .action(lazy('version')),
    'dataver version --json',
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
  // `dataver status` with at most a few flags, the command run most often, skips building the
  // parser (commander and every command's declaration: about 15 ms of a 150 ms status under the
  // monitor). Anything else (a path, another option, a typo) goes through the parser.
  const plain = plainStatus(argv.slice(2));
  if (plain) return runCommand(async () => require('./commands/status.js'), 'run', plain.args, plain.options);
  return runProgram(buildProgram(), argv);
}

/** The flags of `dataver status` that a plain status may have, with the option each one sets. */
const PLAIN_STATUS_FLAGS: Readonly<Record<string, string>> = {
  '--porcelain': 'porcelain',
  '--json': 'json',
  '--exit-code': 'exitCode',
  '-q': 'quiet',
  '--quiet': 'quiet',
  '-v': 'verbose',
  '--verbose': 'verbose',
};

/**
 * The arguments and options that the parser gives `dataver status` followed by `args`, when those
 * are only flags of PLAIN_STATUS_FLAGS (a test checks them against buildProgram's); else undefined.
 *
 * @example
 * plainStatus(['status', '--porcelain']); // { args: [[]], options: { porcelain: true } }
 */
export function plainStatus(
  args: readonly string[],
): { args: unknown[]; options: Record<string, unknown> } | undefined {
  const [command, ...flags] = args;
  if (command !== 'status') return undefined;
  const options: Record<string, unknown> = {};
  for (const flag of flags) {
    const name = Object.hasOwn(PLAIN_STATUS_FLAGS, flag) ? PLAIN_STATUS_FLAGS[flag] : undefined;
    if (name === undefined) return undefined;
    options[name] = true;
  }
  return { args: [[]], options };
}
