// A local OAuth token server and an authenticating proxy in front of the GCS
// emulator (which itself checks no credentials), so tests can prove that the
// client presents a real signed jwt-bearer assertion and then uses the token.
import { createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import * as http from 'node:http';
import { closeServer, forwardRequest, listen } from '../helpers/http-proxy';

export interface ServiceAccount {
  /** The key JSON text, as a CI secret would hold it. */
  json: string;
  email: string;
  privateKeyPem: string;
}

/** Generates an RSA key and a service-account key JSON whose token_uri points at `tokenUri`. */
export function makeServiceAccount(
  tokenUri: string,
  email = 'dataver-ci@demo-test.iam.gserviceaccount.com',
): ServiceAccount {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const json = JSON.stringify({
    type: 'service_account',
    project_id: 'demo-test',
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKeyPem,
    client_email: email,
    client_id: '1234567890',
    token_uri: tokenUri,
  });
  return { json, email, privateKeyPem };
}

export interface AssertionSeen {
  iss: string;
  scope: string;
  aud: string;
  alg: string;
  verified: boolean;
}

export interface TokenServer {
  url: string;
  /** Tokens issued so far. */
  issued: string[];
  assertions: AssertionSeen[];
  /** Registers the public key that signs a service account's assertions. */
  trust(account: ServiceAccount): void;
  close(): Promise<void>;
}

/**
 * A token endpoint that verifies RS256 jwt-bearer assertions against trusted keys.
 *
 * @example
 * const tokens = await startTokenServer();
 */
export async function startTokenServer(): Promise<TokenServer> {
  const trusted = new Map<string, ReturnType<typeof createPublicKey>>();
  const issued: string[] = [];
  const assertions: AssertionSeen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const assertion = form.get('assertion') ?? '';
      const [h, p, s] = assertion.split('.');
      let ok = false;
      let seen: AssertionSeen | undefined;
      try {
        const header = JSON.parse(Buffer.from(h, 'base64url').toString());
        const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
        const key = trusted.get(payload.iss);
        const verified =
          key !== undefined &&
          header.alg === 'RS256' &&
          verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
        seen = { iss: payload.iss, scope: payload.scope, aud: payload.aud, alg: header.alg, verified };
        ok = verified && form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer';
      } catch {
        ok = false;
      }
      if (seen) assertions.push(seen);
      if (!ok) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }));
        return;
      }
      const token = `ya29.test-${randomBytes(16).toString('hex')}`;
      issued.push(token);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: token, expires_in: 3600, token_type: 'Bearer' }));
    });
  });
  const url = `${await listen(server)}/token`;
  return {
    url,
    issued,
    assertions,
    trust: (account) => trusted.set(account.email, createPublicKey(account.privateKeyPem)),
    close: () => closeServer(server),
  };
}

export interface AuthProxy {
  endpoint: string;
  /** Authorization headers seen on JSON-API requests. */
  bearers: string[];
  /** Tokens that authenticate but may not write (403 on uploads and deletes). */
  readOnly: Set<string>;
  close(): Promise<void>;
}

/**
 * Forwards to the emulator, requiring `Authorization: Bearer <accepted token>`
 * on JSON-API calls (resumable upload continuations carry no token, as with the client).
 *
 * @example
 * const proxy = await startAuthProxy(emulator.endpoint, (t) => tokens.issued.includes(t));
 */
export async function startAuthProxy(
  target: string,
  isValid: (token: string) => boolean,
): Promise<AuthProxy> {
  const upstream = new URL(target);
  const bearers: string[] = [];
  const readOnly = new Set<string>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const continuation = url.searchParams.has('upload_id');
    if (!continuation) {
      const auth = req.headers.authorization ?? '';
      bearers.push(auth);
      const token = auth.replace(/^Bearer /, '');
      if (!isValid(token)) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 401, message: 'Invalid Credentials' } }));
        req.resume();
        return;
      }
      if (readOnly.has(token) && req.method !== 'GET') {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: {
              code: 403,
              message:
                'dataver-ci@demo-test.iam.gserviceaccount.com does not have storage.objects.create access',
            },
          }),
        );
        req.resume();
        return;
      }
    }
    forwardRequest(req, res, upstream, port);
  });
  const endpoint = await listen(server);
  const port = Number(new URL(endpoint).port);
  return {
    endpoint,
    bearers,
    readOnly,
    close: () => closeServer(server),
  };
}
