// The real CLI with service-account keys against an authenticating proxy in
// front of the emulator: `remote test` names the credential source, a bad key
// fails with exit 4 and a one-line hint, and no secret appears in any output
// (not even with --verbose) or in any file dataver writes.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CLI, dv, type RunResult, tempRepo, writeFiles } from '../helpers/cli';
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

beforeAll(async () => {
  tokens = await startTokenServer();
  proxy = await startAuthProxy(emulator().endpoint, (t) => tokens.issued.includes(t));
  account = makeServiceAccount(tokens.url);
  tokens.trust(account);
});
afterAll(async () => {
  await proxy?.close();
  await tokens?.close();
});

function secrets(a: ServiceAccount): string[] {
  const key = JSON.parse(a.json) as { private_key: string; private_key_id: string };
  const pemLines = key.private_key.split('\n').filter((l) => l && !l.startsWith('-----'));
  return [key.private_key_id, ...pemLines, ...tokens.issued];
}

function repo(): string {
  const dir = tempRepo();
  writeFiles(dir, { 'data/a.bin': randomBytes(3000), 'data/b.bin': randomBytes(5000) });
  for (const args of [
    ['add', 'data'],
    ['remote', 'add', 'origin', `gs://cli-auth/${randomBytes(4).toString('hex')}`, '--default'],
    ['config', 'set', 'remote.origin.endpoint', proxy.endpoint],
  ]) {
    expect(dv(dir, args).code).toBe(0);
  }
  return dir;
}

/**
 * Runs the CLI without blocking this process: the token server and the proxy
 * live here, so a synchronous spawn would deadlock.
 */
function dvAsync(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, CI: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

const base = { STORAGE_EMULATOR_HOST: '', GOOGLE_APPLICATION_CREDENTIALS: '' };

test('DATAVER_GCS_CREDENTIALS: remote test names the source, push works, nothing secret is printed or written', async () => {
  const dir = repo();
  const env = { ...base, DATAVER_GCS_CREDENTIALS: account.json };
  const tested = await dvAsync(dir, ['remote', 'test', 'origin', '--json'], env);
  expect(tested.code).toBe(0);
  expect(JSON.parse(tested.stdout)).toMatchObject({
    credentialSource: 'DATAVER_GCS_CREDENTIALS',
    writable: true,
  });
  const pushed = await dvAsync(dir, ['push', '--verbose'], env);
  expect(pushed.code).toBe(0);
  expect(tokens.assertions.some((a) => a.verified && a.iss === account.email)).toBe(true);
  const printed = tested.stdout + tested.stderr + pushed.stdout + pushed.stderr;
  for (const s of secrets(account)) expect(printed).not.toContain(s);
  // Nothing under the repository holds key material or a token.
  for (const s of secrets(account).slice(0, 3)) {
    const found = (() => {
      try {
        return execFileSync('grep', ['-rlF', s, dir], { encoding: 'utf8' });
      } catch {
        return '';
      }
    })();
    expect(found).toBe('');
  }
});

test('a key the token server rejects: exit 4, one line and a hint, no secret even with --verbose', async () => {
  const dir = repo();
  const stranger = makeServiceAccount(tokens.url, 'stranger@demo-test.iam.gserviceaccount.com');
  const r = await dvAsync(dir, ['push', '--verbose'], { ...base, DATAVER_GCS_CREDENTIALS: stranger.json });
  expect(r.code).toBe(4);
  expect(r.stderr).toMatch(/GCS rejected the credentials \(DATAVER_GCS_CREDENTIALS\)/);
  expect(r.stderr).toMatch(/DATAVER_GCS_CREDENTIALS must hold/);
  for (const s of secrets(stranger)) expect(r.stdout + r.stderr).not.toContain(s);
  const quiet = await dvAsync(dir, ['push'], { ...base, DATAVER_GCS_CREDENTIALS: stranger.json });
  expect(quiet.code).toBe(4);
  expect(quiet.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
});

test('a malformed key: remote test and push give the same one-line auth error (exit 4), never a stream error', async () => {
  const dir = repo();
  const key = JSON.parse(account.json) as Record<string, string>;
  key.private_key = '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n';
  const env = { ...base, DATAVER_GCS_CREDENTIALS: JSON.stringify(key) };
  for (const args of [['remote', 'test', 'origin'], ['push']]) {
    const r = await dvAsync(dir, args, env);
    expect({ args, code: r.code }).toEqual({ args, code: 4 });
    expect(r.stderr).toMatch(/^error: GCS rejected the credentials \(DATAVER_GCS_CREDENTIALS\)/);
    expect(r.stderr).not.toMatch(/stream was destroyed|write after/);
    expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
    expect(r.stdout + r.stderr).not.toContain('bm90IGEga2V5');
  }
});

test('remote test prints only the fields a remote has (no "undefined")', async () => {
  const dir = repo();
  const r = await dvAsync(dir, ['remote', 'test', 'origin'], {
    ...base,
    DATAVER_GCS_CREDENTIALS: account.json,
  });
  expect(r.code).toBe(0);
  expect(r.stdout).not.toMatch(/undefined/);
  expect(r.stdout).toMatch(/endpoint +http:\/\/127\.0\.0\.1/);
});
