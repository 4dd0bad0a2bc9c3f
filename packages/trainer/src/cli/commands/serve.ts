// `trainer serve`: start the HTTP service, report its address, and on SIGTERM or SIGINT stop taking
// requests, answer those in flight and exit 0 (1 if that takes longer than --shutdown-timeout).
import type { GlobalOptions, Output } from '@dataver/foundation';
import type { BackendPreference } from '../../backend/select.js';
import type { LogLevel } from '../../serve/options.js';
import { createServer } from '../../serve/server.js';

interface ServeFlags {
  model: string;
  report?: string;
  port: number;
  host: string;
  threshold: number;
  backend?: BackendPreference;
  workers?: number;
  decodeWorkers?: number;
  maxBatch?: number;
  maxBodyBytes?: number;
  maxPixels?: number;
  maxDimension?: number;
  maxBatchItems?: number;
  decodeTimeout?: number;
  logLevel?: LogLevel;
  shutdownTimeout?: number;
}

/**
 * Runs the command with parsed flags; resolves to its exit code once the server has shut down.
 *
 * @example
 * ```ts
 * await run(new Output({}), [], { model: 'models/latest', port: 8000, host: '0.0.0.0', threshold: 0.7 });
 * ```
 */
export async function run(
  _output: Output,
  _args: unknown[],
  opts: ServeFlags & GlobalOptions,
): Promise<number> {
  const logLevel: LogLevel = opts.logLevel ?? (opts.quiet ? 'warn' : opts.verbose ? 'debug' : 'info');
  const shutdownTimeoutMs = opts.shutdownTimeout ?? 10_000;
  const server = await createServer({
    modelDir: opts.model,
    reportDir: opts.report,
    threshold: opts.threshold,
    backend: opts.backend ?? 'auto',
    logLevel,
    shutdownTimeoutMs,
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    ...(opts.decodeWorkers !== undefined ? { decodeWorkers: opts.decodeWorkers } : {}),
    ...(opts.maxBatch !== undefined ? { maxBatch: opts.maxBatch } : {}),
    limits: {
      ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
      ...(opts.maxPixels !== undefined ? { maxPixels: opts.maxPixels } : {}),
      ...(opts.maxDimension !== undefined ? { maxDimension: opts.maxDimension } : {}),
      ...(opts.maxBatchItems !== undefined ? { maxBatchItems: opts.maxBatchItems } : {}),
      ...(opts.decodeTimeout !== undefined ? { decodeTimeoutMs: opts.decodeTimeout } : {}),
    },
  });
  const address = await server.app.listen({ port: opts.port, host: opts.host });
  // Logs are JSON lines on stdout; this human line goes to stderr (tests and scripts read the address).
  if (!opts.quiet) process.stderr.write(`listening on ${address}\n`);
  return new Promise<number>((resolve, reject) => {
    server.ready.then(
      () => server.app.log.info({ address }, 'ready: model loaded and warmed up'),
      (error: unknown) => {
        void server.shutdown().finally(() => reject(error));
      },
    );
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.app.log.info({ signal }, 'shutting down: finishing requests in flight');
      const timer = setTimeout(() => {
        server.app.log.error(`requests still in flight after ${shutdownTimeoutMs} ms; exiting`);
        process.exit(1);
      }, shutdownTimeoutMs);
      timer.unref();
      server.shutdown().then(
        () => {
          server.app.log.info('stopped');
          resolve(0);
        },
        (error: unknown) => reject(error),
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
