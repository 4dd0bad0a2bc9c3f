// `trainer serve`: start the HTTP server until interrupted.
import type { GlobalOptions, Output } from '@dataver/foundation';
import type { BackendPreference } from '../../backend/select.js';
import { createServer } from '../../serve/server.js';

/**
 * Runs the command with parsed flags; resolves to its exit code.
 *
 * @example
 * ```ts
 * await run(new Output({}), [], { model: 'models/latest', port: 8080, host: '127.0.0.1', threshold: 0.7 });
 * ```
 */
export async function run(
  _output: Output,
  _args: unknown[],
  opts: {
    model: string;
    port: number;
    host: string;
    threshold: number;
    backend?: BackendPreference;
  } & GlobalOptions,
): Promise<number> {
  const { app } = await createServer({
    modelDir: opts.model,
    threshold: opts.threshold,
    backend: opts.backend,
    logger: !!opts.verbose,
  });
  const address = await app.listen({ port: opts.port, host: opts.host });
  // Machine-readable first line: tests and scripts read the address from it.
  process.stdout.write(`listening on ${address}\n`);
  const stop = () => {
    void app.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return new Promise<number>(() => {});
}
