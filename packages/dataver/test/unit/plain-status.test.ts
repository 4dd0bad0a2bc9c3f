// `dataver status` alone runs without building the parser (cli/main.ts): it must get exactly the
// arguments and options the parser would give it, and behave as the parsed command does.
import type { Command } from 'commander';
import { buildProgram, plainStatus } from '../../src/cli/main';
import { dv, tempDir } from '../helpers/cli';

/** What the parser gives the status command for `args`. */
async function parsed(args: string[]): Promise<unknown> {
  const program = buildProgram();
  const status = program.commands.find((c) => c.name() === 'status') as Command;
  let seen: unknown;
  status.action((...actionArgs: unknown[]) => {
    const command = actionArgs[actionArgs.length - 1] as Command;
    seen = { args: actionArgs.slice(0, -2), options: command.optsWithGlobals() };
  });
  await program.parseAsync(['node', 'dataver', ...args]);
  return seen;
}

test.each([
  [['status']],
  [['status', '--porcelain']],
  [['status', '--json']],
  [['status', '--exit-code']],
  [['status', '-q']],
  [['status', '--quiet', '--porcelain']],
  [['status', '-v', '--exit-code', '--json']],
  [['status', '--verbose']],
])('a plain `dataver %j` gets the arguments and options that the parser gives it', async (args) => {
  expect(plainStatus(args)).toEqual(await parsed(args));
});

test.each([
  [['status', 'data']],
  [['status', '-r']],
  [['status', '--remote', 'origin']],
  [['status', '--porcelian']],
  [['status', '--', '--json']],
  [['status', '--toString']],
  [['add', '--json']],
])('`dataver %j` goes through the parser', (args) => {
  expect(plainStatus(args)).toBeUndefined();
});

test('outside a repository the plain status fails as the parsed one does', () => {
  const dir = tempDir();
  const plain = dv(dir, ['status']);
  const parsed = dv(dir, ['status', '--exit-code']);
  expect(plain.code).toBe(2);
  expect({ code: plain.code, stderr: plain.stderr, stdout: plain.stdout }).toEqual({
    code: parsed.code,
    stderr: parsed.stderr,
    stdout: parsed.stdout,
  });
});
