// The dataver command line. Commands are declared here and implemented in
// ./commands/*, loaded only when run, so `dataver --help` starts fast.
import { Command, CommanderError, Option } from 'commander';
import { type GlobalOptions, Output, reportError } from './output.js';

type Action = (
  output: Output,
  args: unknown[],
  options: Record<string, unknown>,
) => Promise<number | undefined>;

/** Wraps a lazily loaded command module into a commander action that maps errors to exit codes. */
function lazy(moduleName: string, exportName = 'run') {
  return async (...actionArgs: unknown[]) => {
    const command = actionArgs[actionArgs.length - 1] as Command;
    const options = command.optsWithGlobals() as Record<string, unknown> & GlobalOptions;
    const output = new Output(options);
    let code: number | undefined;
    try {
      const mod = (await import(`./commands/${moduleName}.js`)) as Record<string, Action>;
      code = await mod[exportName](output, actionArgs.slice(0, -2), options);
    } catch (error) {
      code = reportError(error, options);
    }
    process.exitCode = code ?? 0;
  };
}

const json = () => new Option('--json', 'print the result as JSON');

/** Builds the program (exported for tests and for generating docs/cli.md). */
export function buildProgram(): Command {
  const program = new Command('dataver')
    .description('Version data the way git versions code: content-addressed, cached, pushed and pulled.')
    .version(require('../../package.json').version as string, '-V, --version')
    .option('-q, --quiet', 'print nothing but errors')
    .option('-v, --verbose', 'print details and stack traces of errors')
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 differences found (--exit-code), 2 usage or config error,
3 data missing or corrupt, 4 remote/network/auth error, 5 repository busy.

Example:
  dataver init && dataver add data/raw && git add data.lock.json .gitignore && git commit -m "track data"`,
    );

  const example = (cmd: Command, text: string) => cmd.addHelpText('after', `\nExample:\n  ${text}`);

  example(
    program
      .command('init')
      .description('create .dataver/ and data.lock.json in the current folder')
      .option('--git-hooks', 'also set up the data.lock.json merge driver in this git repository')
      .addOption(json())
      .action(lazy('init')),
    'dataver init',
  );
  example(
    program
      .command('add')
      .description('track files and directories: cache their content and record them in data.lock.json')
      .argument('<paths...>', 'files or directories inside the repository')
      .addOption(json())
      .action(lazy('add')),
    'dataver add data/raw models/model.bin',
  );
  example(
    program
      .command('remove')
      .description('stop tracking outputs (the files and cached objects stay)')
      .argument('<paths...>', 'tracked outputs')
      .addOption(json())
      .action(lazy('remove')),
    'dataver remove data/old',
  );
  example(
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
  example(
    program
      .command('checkout')
      .description('restore the workspace to what data.lock.json says, from the cache')
      .argument('[paths...]', 'limit to these outputs')
      .option('-f, --force', 'overwrite unsaved changes and delete untracked files in tracked directories')
      .addOption(json())
      .action(lazy('checkout')),
    'dataver checkout data/raw',
  );
  example(
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
  example(
    remote
      .command('add')
      .description('add a remote')
      .argument('<name>', 'remote name, e.g. origin')
      .argument('<url>', 'gs://bucket/prefix, or a folder path')
      .option('-d, --default', 'make it the default remote')
      .action(lazy('remote', 'add')),
    'dataver remote add origin gs://my-bucket/datasets --default',
  );
  example(
    remote.command('list').description('list remotes').addOption(json()).action(lazy('remote', 'list')),
    'dataver remote list',
  );
  example(
    remote
      .command('remove')
      .description('remove a remote')
      .argument('<name>')
      .action(lazy('remote', 'remove')),
    'dataver remote remove old',
  );
  example(
    remote
      .command('test')
      .description('check that a remote is reachable, authenticated and writable')
      .argument('[name]', 'remote name (default: the default remote)')
      .addOption(json())
      .action(lazy('remote', 'test')),
    'dataver remote test origin',
  );

  const config = program.command('config').description('read and change .dataver/config.json');
  example(
    config.command('get').description('print a value').argument('<key>').action(lazy('config', 'get')),
    'dataver config get cache.link',
  );
  example(
    config
      .command('set')
      .description('set a value')
      .argument('<key>', 'core.remote, cache.link, plugins, remote.<name>.<option>')
      .argument('<value>')
      .action(lazy('config', 'set')),
    'dataver config set remote.origin.endpoint http://127.0.0.1:9199',
  );
  example(
    config.command('unset').description('remove a value').argument('<key>').action(lazy('config', 'unset')),
    'dataver config unset remote.origin.endpoint',
  );
  example(
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
    if (name === 'pull') cmd.option('-f, --force', 'overwrite unsaved changes in the workspace');
    example(cmd.action(lazy('transfer', name)), ex);
  }

  example(
    program
      .command('gc')
      .description('remove cache objects that no tracked output references (dry run without --force)')
      .option('-f, --force', 'really delete')
      .addOption(json())
      .action(lazy('gc')),
    'dataver gc --force',
  );
  example(
    program
      .command('verify')
      .description('re-hash cache (or remote) objects and report corrupt ones (exit 3)')
      .option('-r, --remote <name>', 'verify the objects of a remote instead of the cache')
      .option('--fix', 'delete corrupt cache objects so that `dataver pull` fetches them again')
      .addOption(json())
      .action(lazy('verify')),
    'dataver verify --fix && dataver pull',
  );
  return program;
}

/** Entry point of bin/dataver.js. */
export function main(argv: string[]): void {
  const program = buildProgram();
  program.exitOverride();
  program.configureOutput({
    writeErr: (text) => process.stderr.write(text),
  });
  program.parseAsync(argv).catch((error: unknown) => {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; usage errors (unknown option, missing argument) exit 2.
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    process.exitCode = reportError(error, {});
  });
}
