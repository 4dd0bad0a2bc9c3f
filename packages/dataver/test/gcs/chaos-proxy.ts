// An HTTP proxy in front of the GCS emulator that breaks a share of requests
// the way networks do: a 503 before forwarding, a 429, or a response cut off
// mid-body (the connection is destroyed), so the retry layer around GcsStorage
// (retries, resumed downloads) is exercised through the real client library.
import * as http from 'node:http';
import { Rng } from '@dataver/foundation';
import { closeServer, forwardRequest, listen } from '../helpers/http-proxy';

export interface ChaosProxy {
  endpoint: string;
  /** Faults injected so far, by kind. */
  injected: { status503: number; status429: number; cut: number };
  requests: number;
  close(): Promise<void>;
}

/**
 * Starts the proxy; `rate` is the share of requests that fail.
 *
 * @example
 * const chaos = await startChaosProxy(emulator.endpoint, 0.05);
 */
export async function startChaosProxy(target: string, rate: number, seed = 9): Promise<ChaosProxy> {
  const upstream = new URL(target);
  const rng = new Rng(seed);
  const injected = { status503: 0, status429: 0, cut: 0 };
  let requests = 0;
  let port = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const fault = rng.chance(rate) ? (['503', '429', 'cut'] as const)[rng.int(3)] : undefined;
    if (fault === '503' || fault === '429') {
      injected[fault === '503' ? 'status503' : 'status429']++;
      req.resume();
      req.on('end', () => {
        res.writeHead(Number(fault), { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify({ error: { code: Number(fault), message: 'Injected failure, try again' } }));
      });
      return;
    }
    forwardRequest(req, res, upstream, port, {
      // A cut passes a little of the body, then drops the connection.
      onResponse:
        fault === 'cut'
          ? (up) => {
              injected.cut++;
              cutAfter(up, res, 2048);
            }
          : undefined,
      onError: () => res.socket?.destroy(),
    });
  });
  port = Number(new URL(await listen(server)).port);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    injected,
    get requests() {
      return requests;
    },
    close: () => closeServer(server),
  };
}

/** Passes the first `limit` bytes of a response body, then destroys the connection. */
function cutAfter(up: http.IncomingMessage, res: http.ServerResponse, limit: number): void {
  let passed = 0;
  up.on('data', (chunk: Buffer) => {
    if (passed >= 0 && passed + chunk.length > limit) {
      res.write(chunk.subarray(0, Math.max(0, limit - passed)));
      passed = -1;
      res.socket?.destroy();
      up.destroy();
      return;
    }
    if (passed >= 0) {
      passed += chunk.length;
      res.write(chunk);
    }
  });
  up.on('end', () => res.socket?.destroy());
}
