// `dataver status` alone runs without building the parser (cli/main.ts): it must get exactly the
// arguments and options the parser would give it, and behave as the parsed command does.
import type { Command } from 'commander';
import { buildProgram, plainStatus } from '../../src/cli/main';
import { dv, tempDir } from '../helpers/cli';

test('a plain `dataver status` gets the arguments and options that the parser gives it', async () => {
  const program = buildProgram();
  const status = program.commands.find((c) => c.name() === 'status') as Command;
  let seen: unknown;
  status.action((...actionArgs: unknown[]) => {
    const command = actionArgs[actionArgs.length - 1] as Command;
    seen = { args: actionArgs.slice(0, -2), options: command.optsWithGlobals() };
  });
  await program.parseAsync(['node', 'dataver', 'status']);
  expect(seen).toEqual(plainStatus());
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
