// `trainer serve`: start the HTTP server until interrupted.
import type { BackendPreference } from '../../backend/select.js';
import { createServer } from '../../serve/server.js';
import type { GlobalFlags } from '../index.js';

/**
 * Runs the command with parsed flags; resolves to its exit code.
 *
 * @example
 * ```ts
 * await run({ model: 'models/latest', port: 8080, host: '127.0.0.1', threshold: 0.7 }, {});
 * ```
 */
export async function run(
  opts: { model: string; port: number; host: string; threshold: number; backend?: BackendPreference },
  g: GlobalFlags,
): Promise<number> {
  const { app } = await createServer({
    modelDir: opts.model,
    threshold: opts.threshold,
    backend: opts.backend,
    logger: !!g.verbose,
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
