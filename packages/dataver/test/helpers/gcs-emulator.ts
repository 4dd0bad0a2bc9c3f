// Jest helper: one GCS emulator (tools/gcs-emulator/start.js) per test file, on
// a free port, stopped after the file. Fails loudly when it is not installed.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const EMULATOR_DIR = path.join(REPO_ROOT, 'tools', 'gcs-emulator');

export interface GcsEmulator {
  /** e.g. `http://127.0.0.1:41234` */
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * A TCP port nobody listens on right now.
 *
 * @example
 * const port = await freePort();
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts an emulator and resolves once it prints its endpoint.
 *
 * @example
 * const emulator = await startGcsEmulator();
 * // … new GcsStorage({ url: 'gs://test-bucket/x', endpoint: emulator.endpoint })
 * await emulator.stop();
 */
export async function startGcsEmulator(): Promise<GcsEmulator> {
  if (!existsSync(path.join(EMULATOR_DIR, 'node_modules', 'firebase-tools', 'package.json'))) {
    throw new Error(
      'the GCS emulator is not installed: run `node tools/gcs-emulator/ensure.js` (the test command does)',
    );
  }
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(EMULATOR_DIR, 'start.js')], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        GCS_EMULATOR_PARENT_PID: String(process.pid),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const endpoint = await waitForReady(child);
      return {
        endpoint,
        port,
        stop: () => stopChild(child),
      };
    } catch (error) {
      await stopChild(child);
      if (attempt >= 2) throw error;
    }
  }
}

function waitForReady(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`GCS emulator did not start in 30 s:\n${output}`)),
      30_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`GCS emulator exited with ${code}:\n${output}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Registers beforeAll/afterAll hooks and returns a getter for the running emulator.
 *
 * @example
 * const emulator = useGcsEmulator();
 * test('…', () => new GcsStorage({ url: 'gs://b/p', endpoint: emulator().endpoint }));
 */
export function useGcsEmulator(): () => GcsEmulator {
  let emulator: GcsEmulator | undefined;
  beforeAll(async () => {
    emulator = await startGcsEmulator();
  }, 60_000);
  afterAll(async () => {
    await emulator?.stop();
  });
  return () => {
    if (!emulator) throw new Error('GCS emulator not started');
    return emulator;
  };
}
