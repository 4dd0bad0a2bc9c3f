// What the test proxies in front of the GCS emulator share: listening on a free local port,
// forwarding one request upstream, and closing with every connection.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Listens on a free port of 127.0.0.1; resolves with the server's base URL.
 *
 * @example
 * const endpoint = await listen(http.createServer(handler)); // 'http://127.0.0.1:41234'
 */
export function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

/**
 * Closes a server, its keep-alive connections included.
 *
 * @example
 * afterAll(() => closeServer(server));
 */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/**
 * Forwards one request to `upstream` and sends back its answer (or lets `onResponse` send the
 * body). The emulator writes its own address into resumable upload URLs: those are pointed back
 * at the proxy (`proxyPort`), so the upload continues through it.
 *
 * @example
 * forwardRequest(req, res, new URL(emulator.endpoint), port);
 */
export function forwardRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  upstream: URL,
  proxyPort: number,
  options: {
    /** Sends the body instead of piping it (the status and headers are written already). */
    onResponse?: (up: http.IncomingMessage) => void;
    /** What to do when upstream cannot be reached (default: answer 502). */
    onError?: () => void;
  } = {},
): void {
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
      if (typeof headers.location === 'string')
        headers.location = headers.location.replace(upstream.host, `127.0.0.1:${proxyPort}`);
      res.writeHead(up.statusCode ?? 502, headers);
      if (options.onResponse) options.onResponse(up);
      else up.pipe(res);
    },
  );
  forward.on(
    'error',
    options.onError ??
      (() => {
        res.writeHead(502);
        res.end();
      }),
  );
  req.pipe(forward);
}
