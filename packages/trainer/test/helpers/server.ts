// Starts the real `trainer serve` CLI on a random port and waits until it is ready; stops it with SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { TRAINER_BIN } from './fixtures';

/** The routes of the API contract that the documentation must list. */
export const API_ROUTES = [
  '/predict',
  '/predict-drawing',
  '/predict-batch',
  '/health',
  '/ready',
  '/model-info',
  '/metrics',
];

/** Upper bound of a server start (model workers load tfjs) on a loaded machine. */
export const START_MS = 180_000;

export interface RunningServer {
  base: string;
  process: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Sends SIGTERM and resolves to the exit code. */
  stop: () => Promise<number | null>;
}

export async function startServer(modelDir: string, args: string[] = []): Promise<RunningServer> {
  const child = spawn(process.execPath, [TRAINER_BIN, 'serve', '--model', modelDir, '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then((code) => reject(new Error(`server exited with ${code}: ${err}`)));
    setTimeout(() => reject(new Error(`server did not start in ${START_MS / 1000} s`)), START_MS).unref();
  });
  const deadline = Date.now() + START_MS;
  while (
    (await fetch(`${base}/ready`)
      .then((r) => r.status)
      .catch(() => 0)) !== 200
  ) {
    if (Date.now() > deadline) throw new Error('server did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    process: child,
    stdout: () => out,
    stderr: () => err,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
