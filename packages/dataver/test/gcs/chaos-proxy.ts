// An HTTP proxy in front of the GCS emulator that breaks a share of requests
// the way networks do: a 503 before forwarding, a 429, or a response cut off
// mid-body (the connection is destroyed), so GcsStorage's own retries and
// resumed downloads are exercised through the real client library.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChaosProxy {
  endpoint: string;
  /** Faults injected so far, by kind. */
  injected: { status503: number; status429: number; cut: number };
  requests: number;
  close(): Promise<void>;
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Starts the proxy; `rate` is the share of requests that fail.
 *
 * @example
 * const chaos = await startChaosProxy(emulator.endpoint, 0.05);
 */
export async function startChaosProxy(target: string, rate: number, seed = 9): Promise<ChaosProxy> {
  const upstream = new URL(target);
  const random = seeded(seed);
  const injected = { status503: 0, status429: 0, cut: 0 };
  let requests = 0;
  let port = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const roll = random();
    const fault = roll < rate ? ['503', '429', 'cut'][Math.floor(random() * 3)] : undefined;
    if (fault === '503' || fault === '429') {
      injected[fault === '503' ? 'status503' : 'status429']++;
      req.resume();
      req.on('end', () => {
        res.writeHead(Number(fault), { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify({ error: { code: Number(fault), message: 'Injected failure, try again' } }));
      });
      return;
    }
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (up) => {
        const headers = { ...up.headers };
        if (typeof headers.location === 'string') {
          headers.location = headers.location.replace(upstream.host, `127.0.0.1:${port}`);
        }
        res.writeHead(up.statusCode ?? 502, headers);
        if (fault === 'cut') {
          injected.cut++;
          // Pass a little of the body, then drop the connection.
          let passed = 0;
          up.on('data', (chunk: Buffer) => {
            if (passed >= 0 && passed + chunk.length > 2048) {
              res.write(chunk.subarray(0, Math.max(0, 2048 - passed)));
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
          return;
        }
        up.pipe(res);
      },
    );
    forward.on('error', () => res.socket?.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    injected,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
