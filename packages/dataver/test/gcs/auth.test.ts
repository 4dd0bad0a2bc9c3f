// Service-account key flow end to end: a generated RSA key, a token server that
// verifies the signed jwt-bearer assertion, and a proxy that only lets requests
// with the issued token through to the emulator. Also: credential order, auth
// and permission failures with one-line hints, and no secret in any output.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type DataverError, isDataverError } from '@dataver/foundation';
import { testRemote } from '../../src/core/remote-diagnostics';
import { openRemote } from '../../src/core/remotes';
import { GcsStorage } from '../../src/storage/gcs';
import { useGcsEmulator } from '../helpers/gcs-emulator';
import {
  type AuthProxy,
  makeServiceAccount,
  type ServiceAccount,
  startAuthProxy,
  startTokenServer,
  type TokenServer,
} from './auth-servers';

const emulator = useGcsEmulator();
let tokens: TokenServer;
let proxy: AuthProxy;
let account: ServiceAccount;
let tmp: string;

beforeAll(async () => {
  tokens = await startTokenServer();
  proxy = await startAuthProxy(emulator().endpoint, (t) => tokens.issued.includes(t));
  account = makeServiceAccount(tokens.url);
  tokens.trust(account);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'dataver-gcs-auth-'));
});
afterAll(async () => {
  await proxy?.close();
  await tokens?.close();
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Every piece of text an error exposes: message, hint, data, cause, stack. */
function everything(error: unknown): string {
  const e = error as DataverError;
  const cause = e.cause as Error | undefined;
  return [e.message, e.hint, JSON.stringify(e.data), cause?.message, cause?.stack, e.stack, String(e)].join(
    '\n',
  );
}

function secretsOf(a: ServiceAccount): string[] {
  const key = JSON.parse(a.json) as { private_key: string; private_key_id: string };
  const pemBody = key.private_key.split('\n').filter((l) => l && !l.startsWith('-----'));
  return [a.json, key.private_key_id, ...pemBody.slice(0, 3), ...tokens.issued];
}

function expectNoSecret(text: string, a: ServiceAccount = account): void {
  for (const s of secretsOf(a)) expect(text).not.toContain(s);
}

describe('GCS service-account key flow (token server + authenticating proxy)', () => {
  test('DATAVER_GCS_CREDENTIALS: a signed assertion is exchanged and the token is used', async () => {
    const storage = new GcsStorage({
      url: 'gs://auth-bucket/env',
      endpoint: proxy.endpoint,
      env: { DATAVER_GCS_CREDENTIALS: account.json },
    });
    await storage.put('hello', Buffer.from('world'));
    expect((await storage.getBuffer('hello')).toString()).toBe('world');
    expect((await storage.describe()).credentialSource).toBe('DATAVER_GCS_CREDENTIALS');
    const assertion = tokens.assertions.at(-1)!;
    expect(assertion).toMatchObject({ iss: account.email, alg: 'RS256', verified: true });
    expect(assertion.scope).toContain('devstorage');
    expect(tokens.issued.length).toBeGreaterThan(0);
    expect(proxy.bearers.at(-1)).toBe(`Bearer ${tokens.issued.at(-1)}`);
  });

  test('credentials key file, then GOOGLE_APPLICATION_CREDENTIALS, in that order', async () => {
    const keyFile = path.join(tmp, 'key.json');
    await fs.writeFile(keyFile, account.json, { mode: 0o600 });
    const other = makeServiceAccount(tokens.url, 'other@demo-test.iam.gserviceaccount.com'); // untrusted
    const otherFile = path.join(tmp, 'other.json');
    await fs.writeFile(otherFile, other.json);

    const viaConfig = new GcsStorage({
      url: 'gs://auth-bucket/cfg',
      endpoint: proxy.endpoint,
      credentials: 'key.json',
      baseDir: tmp,
      env: { DATAVER_GCS_CREDENTIALS: other.json, GOOGLE_APPLICATION_CREDENTIALS: otherFile },
    });
    await viaConfig.put('x', Buffer.from('1'));
    expect((await viaConfig.describe()).credentialSource).toBe('remote config (credentials key file)');

    const viaGac = new GcsStorage({
      url: 'gs://auth-bucket/gac',
      endpoint: proxy.endpoint,
      env: { GOOGLE_APPLICATION_CREDENTIALS: keyFile },
    });
    await viaGac.put('x', Buffer.from('1'));
    expect((await viaGac.describe()).credentialSource).toBe('GOOGLE_APPLICATION_CREDENTIALS');
  });

  test('a key the token server does not trust → REMOTE_AUTH with a one-line hint, no secret', async () => {
    const stranger = makeServiceAccount(tokens.url, 'stranger@demo-test.iam.gserviceaccount.com');
    const storage = new GcsStorage({
      url: 'gs://auth-bucket/wrong',
      endpoint: proxy.endpoint,
      env: { DATAVER_GCS_CREDENTIALS: stranger.json },
    });
    const error = await storage.put('x', Buffer.from('1')).catch((e: unknown) => e);
    expect(isDataverError(error, 'REMOTE_AUTH')).toBe(true);
    const e = error as DataverError;
    expect(e.exitCode).toBe(4);
    expect(e.hint).toMatch(/DATAVER_GCS_CREDENTIALS/);
    expect(e.hint).not.toContain('\n');
    expect(e.message).not.toContain('\n');
    expectNoSecret(everything(error), stranger);
  });

  test('no credentials against an endpoint that wants them → REMOTE_AUTH', async () => {
    const storage = new GcsStorage({
      url: 'gs://auth-bucket/none',
      endpoint: proxy.endpoint,
      env: {},
    });
    const error = await storage.stat('x').catch((e: unknown) => e);
    expect(isDataverError(error, 'REMOTE_AUTH')).toBe(true);
    expect((error as DataverError).hint).toMatch(/credentials/);
  });

  test('a missing key file and a malformed secret are REMOTE_AUTH without echoing the value', async () => {
    const missing = new GcsStorage({
      url: 'gs://auth-bucket/x',
      endpoint: proxy.endpoint,
      credentials: path.join(tmp, 'nope.json'),
      env: {},
    });
    expect(isDataverError(await missing.stat('x').catch((e: unknown) => e), 'REMOTE_AUTH')).toBe(true);
    const garbage = `{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIsecretsecretsecret`;
    const malformed = new GcsStorage({
      url: 'gs://auth-bucket/x',
      endpoint: proxy.endpoint,
      env: { DATAVER_GCS_CREDENTIALS: garbage },
    });
    const error = await malformed.stat('x').catch((e: unknown) => e);
    expect(isDataverError(error, 'REMOTE_AUTH')).toBe(true);
    expect(everything(error)).not.toContain('MIIsecret');
  });

  test('a read-only service account → REMOTE_PERMISSION naming roles/storage.objectAdmin', async () => {
    const storage = new GcsStorage({
      url: 'gs://auth-bucket/ro',
      endpoint: proxy.endpoint,
      env: { DATAVER_GCS_CREDENTIALS: account.json },
    });
    await storage.stat('x'); // obtains a token
    const token = tokens.issued.at(-1)!;
    proxy.readOnly.add(token);
    try {
      const error = await storage.put('x', Buffer.from('1')).catch((e: unknown) => e);
      expect(isDataverError(error, 'REMOTE_PERMISSION')).toBe(true);
      expect((error as DataverError).hint).toContain('roles/storage.objectAdmin');
      expectNoSecret(everything(error));
    } finally {
      proxy.readOnly.delete(token);
    }
  });

  test('testRemote checks write access and names the credential source, never the secret', async () => {
    const ctx = { repoRoot: tmp, env: { DATAVER_GCS_CREDENTIALS: account.json } };
    const report = await testRemote(
      'origin',
      { url: 'gs://auth-bucket/probe', endpoint: proxy.endpoint },
      ctx,
    );
    expect(report).toMatchObject({
      kind: 'gcs',
      credentialSource: 'DATAVER_GCS_CREDENTIALS',
      reachable: true,
      authenticated: true,
      writable: true,
    });
    expectNoSecret(JSON.stringify(report));
    const bad = await testRemote(
      'origin',
      { url: 'gs://auth-bucket/probe', endpoint: proxy.endpoint },
      {
        repoRoot: tmp,
        env: {
          DATAVER_GCS_CREDENTIALS: makeServiceAccount(tokens.url, 'nobody@x.iam.gserviceaccount.com').json,
        },
      },
    ).catch((e: unknown) => e);
    expect(isDataverError(bad, 'REMOTE_AUTH')).toBe(true);
  });

  test('an unreachable endpoint is REMOTE_UNREACHABLE with a hint', async () => {
    const store = openRemote(
      'origin',
      { url: 'gs://b-1/x', endpoint: 'http://127.0.0.1:9' },
      { repoRoot: tmp, env: {} },
    );
    const error = await store.has(['0'.repeat(64)]).catch((e: unknown) => e);
    expect(isDataverError(error, 'REMOTE_UNREACHABLE')).toBe(true);
    expect((error as DataverError).hint).toMatch(/running/);
    await store.close();
  });
});
