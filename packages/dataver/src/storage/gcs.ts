// Google Cloud Storage as a Storage: `gs://bucket/prefix` through @google-cloud/storage.
// Credentials are resolved in a documented order, and no secret (key, token, assertion) can
// reach a message: errors are rebuilt from scrubbed summaries, never passed on raw. Each call is
// tried once; what is GCS-specific about failing stays here (which statuses are transient, auth
// and permission hints, a stalled resumable upload failed so it can be restarted) and reaches the
// one retry layer (storage/retry.ts, put around every remote) through `data.transient`.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DataverError, errnoCode, isDataverError } from '@dataver/foundation';
import { firstLine } from '../util/text.js';
import { httpStatusOf, isTransientError, timeoutError } from './retry.js';
import type {
  GetOptions,
  PutOptions,
  PutSource,
  Storage,
  StorageDescription,
  StorageEntry,
} from './types.js';

export interface GcsStorageOptions {
  /** `gs://bucket` or `gs://bucket/prefix`. */
  url: string;
  /** Custom endpoint (an emulator), e.g. `http://127.0.0.1:9199`; `STORAGE_EMULATOR_HOST` also selects one. */
  endpoint?: string;
  projectId?: string;
  /** Path of a service-account key file (relative paths resolve against `baseDir`). */
  credentials?: string;
  /** Environment to read `DATAVER_GCS_CREDENTIALS`, `GOOGLE_APPLICATION_CREDENTIALS`, `STORAGE_EMULATOR_HOST` from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Folder that a relative `credentials` path is relative to (default the working directory). */
  baseDir?: string;
  /** Name of the remote, for messages. */
  remoteName?: string;
  /** Objects at least this big are uploaded resumably (default 8 MiB). */
  resumableThreshold?: number;
  /**
   * A resumable upload whose bytes stop flowing for this long is failed as transient, so the
   * retry layer starts it again (default 30 000 ms).
   */
  uploadStallTimeoutMs?: number;
}

/** Where the credentials of a GCS remote come from (safe to print). */
export type CredentialSource =
  | 'remote config (credentials key file)'
  | 'DATAVER_GCS_CREDENTIALS'
  | 'GOOGLE_APPLICATION_CREDENTIALS'
  | 'application default credentials'
  | 'none (emulator)';

/** The service-account key fields dataver uses; the rest of the JSON is ignored. */
interface ServiceAccountKey {
  type?: string;
  client_email?: string;
  private_key?: string;
  private_key_id?: string;
  project_id?: string;
  token_uri?: string;
}

interface ResolvedCredentials {
  source: CredentialSource;
  /** A parsed key (its secret parts are also registered for scrubbing). */
  key?: ServiceAccountKey;
  /** Non-service-account credential JSON (e.g. external account), handed to GoogleAuth. */
  json?: Record<string, unknown>;
  /** Path shown in messages. */
  keyPath?: string;
}

const DEFAULT_RESUMABLE_THRESHOLD = 8 * 1024 * 1024;
const SCOPES = ['https://www.googleapis.com/auth/devstorage.read_write'];
/** The token URL google-auth-library uses whatever the key says; a key naming another one is honoured. */
const LIBRARY_TOKEN_URL = 'https://www.googleapis.com/oauth2/v4/token';
const BUCKET_RE = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/**
 * Splits `gs://bucket/prefix/` into bucket and prefix (no slashes at either end).
 *
 * @example
 * parseGsUrl('gs://my-bucket/data/v1'); // { bucket: 'my-bucket', prefix: 'data/v1' }
 */
export function parseGsUrl(url: string): { bucket: string; prefix: string } {
  const [, bucket, rest = ''] = /^gs:\/\/([^/]+)\/?(.*)$/.exec(url) ?? [];
  if (bucket === undefined || !BUCKET_RE.test(bucket)) {
    throw new DataverError('CONFIG_INVALID', `not a valid GCS URL: ${url}`, {
      hint: 'use gs://<bucket>/<optional/prefix> (bucket names are lowercase letters, digits, -, _ and .)',
    });
  }
  return { bucket, prefix: rest.replace(/^\/+|\/+$/g, '') };
}

/** Replaces secrets and anything that looks like one with `[redacted]`. */
function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 8) out = out.split(s).join('[redacted]');
  return out
    .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, '[redacted]')
    .replace(/(Bearer|bearer)\s+[\w.~+/=-]+/g, '$1 [redacted]')
    .replace(/ya29\.[\w.~+/=-]+/g, '[redacted]')
    .replace(/eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]+/g, '[redacted]')
    .replace(
      /("?(private_key|access_token|assertion|refresh_token|client_secret|id_token)"?\s*[:=]\s*)("[^"]*"|[^\s&,}]+)/gi,
      '$1[redacted]',
    );
}

/** A short, single-line, scrubbed description of a client error. */
function summarize(error: unknown, secrets: readonly string[]): string {
  const raw = error instanceof Error ? error.message : String(error);
  return scrub(firstLine(raw).slice(0, 300), secrets);
}

/** Loads a module that @google-cloud/storage depends on, from where that package resolves it. */
function fromGcsPackage<T>(id: string): T {
  if (id === '@google-cloud/storage') return require('@google-cloud/storage') as T;
  const base = path.dirname(require.resolve('@google-cloud/storage'));
  return require(require.resolve(id, { paths: [base] })) as T;
}

// Minimal structural types of the client objects used here (the library's own
// types are large and drag the whole client into every declaration file).
interface GcsFile {
  save(data: Buffer, options: Record<string, unknown>): Promise<unknown>;
  createWriteStream(options: Record<string, unknown>): NodeJS.WritableStream;
  createReadStream(options: Record<string, unknown>): Readable;
  download(): Promise<[Buffer]>;
  getMetadata(): Promise<[{ size?: string | number }]>;
  delete(options: Record<string, unknown>): Promise<unknown>;
}
interface GcsBucket {
  file(name: string): GcsFile;
  getFiles(
    query: Record<string, unknown>,
  ): Promise<
    [{ name: string; metadata: { size?: string | number } }[], { pageToken?: string } | null, unknown]
  >;
}
interface GcsClient {
  bucket(name: string): GcsBucket;
}

/**
 * A bucket (and prefix) as a Storage.
 *
 * @example
 * const storage = new GcsStorage({ url: 'gs://my-bucket/data', env: process.env });
 * await storage.put('objects/ab/cdef', Buffer.from('x'));
 */
export class GcsStorage implements Storage {
  readonly url: string;
  readonly bucketName: string;
  readonly prefix: string;
  /** The emulator or custom endpoint in use, if any. */
  readonly endpoint?: string;
  private readonly options: GcsStorageOptions;
  private readonly env: NodeJS.ProcessEnv;
  private readonly resumableThreshold: number;
  private readonly uploadStallMs: number;
  /** Strings that must never appear in output (key material, the env secret, tokens seen). */
  private readonly secrets: string[] = [];
  private client?: GcsClient;
  private bucketHandle?: GcsBucket;
  private credentials?: ResolvedCredentials;
  /** The service-account client, when a key is used (see authenticate). */
  private jwt?: { getAccessToken: () => Promise<unknown> };
  private authenticated?: Promise<void>;

  constructor(options: GcsStorageOptions) {
    const { bucket, prefix } = parseGsUrl(options.url);
    this.options = options;
    this.bucketName = bucket;
    this.prefix = prefix;
    this.url = `gs://${bucket}${prefix ? `/${prefix}` : ''}`;
    this.env = options.env ?? process.env;
    const endpoint = options.endpoint ?? this.env.STORAGE_EMULATOR_HOST;
    this.endpoint = endpoint
      ? (/^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`).replace(/\/+$/, '')
      : undefined;
    this.resumableThreshold = options.resumableThreshold ?? DEFAULT_RESUMABLE_THRESHOLD;
    this.uploadStallMs = options.uploadStallTimeoutMs ?? 30_000;
    const envSecret = this.env.DATAVER_GCS_CREDENTIALS;
    if (envSecret) this.secrets.push(envSecret.trim());
  }

  /** The bucket and prefix, the endpoint, and which credential source is used (resolves it; never the secret). */
  async describe(): Promise<StorageDescription> {
    const { source } = await this.resolveCredentials();
    return {
      kind: 'gcs',
      location: this.url,
      ...(this.endpoint ? { endpoint: this.endpoint } : {}),
      credentialSource: source,
    };
  }

  private objectName(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  /** Finds the credentials, in order: remote `credentials` file, DATAVER_GCS_CREDENTIALS, GOOGLE_APPLICATION_CREDENTIALS, ADC. */
  private async resolveCredentials(): Promise<ResolvedCredentials> {
    if (this.credentials) return this.credentials;
    const fromFile = async (file: string, source: CredentialSource): Promise<ResolvedCredentials> => {
      const resolved = path.resolve(this.options.baseDir ?? process.cwd(), file);
      let text: string;
      try {
        text = await fs.readFile(resolved, 'utf8');
      } catch (error) {
        throw new DataverError(
          'REMOTE_AUTH',
          `cannot read the GCS credentials file ${resolved} (from ${source})`,
          {
            hint: 'point it at a service-account key JSON file that exists and is readable',
            data: { errno: errnoCode(error) },
          },
        );
      }
      return { source, keyPath: resolved, ...this.parseKeyJson(text, `${source} (${resolved})`) };
    };
    if (this.options.credentials) {
      this.credentials = await fromFile(this.options.credentials, 'remote config (credentials key file)');
    } else if (this.env.DATAVER_GCS_CREDENTIALS?.trim()) {
      let text = this.env.DATAVER_GCS_CREDENTIALS.trim();
      // CI secrets are sometimes stored base64-encoded.
      if (!text.startsWith('{')) {
        const decoded = Buffer.from(text, 'base64').toString('utf8').trim();
        if (decoded.startsWith('{')) {
          text = decoded;
          this.secrets.push(decoded);
        }
      }
      this.credentials = {
        source: 'DATAVER_GCS_CREDENTIALS',
        ...this.parseKeyJson(text, 'DATAVER_GCS_CREDENTIALS'),
      };
    } else if (this.env.GOOGLE_APPLICATION_CREDENTIALS) {
      this.credentials = await fromFile(
        this.env.GOOGLE_APPLICATION_CREDENTIALS,
        'GOOGLE_APPLICATION_CREDENTIALS',
      );
    } else if (this.endpoint) {
      this.credentials = { source: 'none (emulator)' };
    } else {
      this.credentials = { source: 'application default credentials' };
    }
    return this.credentials;
  }

  /** Parses key JSON without ever echoing it; registers its secret parts for scrubbing. */
  private parseKeyJson(
    text: string,
    where: string,
  ): { key?: ServiceAccountKey; json?: Record<string, unknown> } {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new DataverError('REMOTE_AUTH', `the GCS credentials in ${where} are not valid JSON`, {
        hint: 'use the service-account key JSON exactly as downloaded (for CI: the whole file as the secret value)',
      });
    }
    if (typeof value !== 'object' || value === null) {
      throw new DataverError('REMOTE_AUTH', `the GCS credentials in ${where} are not a key object`, {
        hint: 'use the service-account key JSON exactly as downloaded',
      });
    }
    const json = value as Record<string, unknown>;
    for (const field of ['private_key', 'client_secret', 'refresh_token', 'private_key_id']) {
      const v = json[field];
      if (typeof v === 'string') {
        this.secrets.push(v);
        // The PEM body also travels with escaped newlines inside JSON bodies.
        this.secrets.push(JSON.stringify(v).slice(1, -1));
      }
    }
    if (json.type === 'service_account' || (json.client_email && json.private_key)) {
      const key = json as ServiceAccountKey;
      if (typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
        throw new DataverError(
          'REMOTE_AUTH',
          `the service-account key in ${where} lacks client_email or private_key`,
          {
            hint: 'create a new JSON key for the service account and use that file',
          },
        );
      }
      return { key };
    }
    return { json };
  }

  /** Creates the client on first use: importing @google-cloud/storage is slow, and `--help` must not pay for it. */
  private async bucket(): Promise<GcsBucket> {
    if (this.bucketHandle) return this.bucketHandle;
    const creds = await this.resolveCredentials();
    const { Storage: Client } = fromGcsPackage<{ Storage: new (o: Record<string, unknown>) => GcsClient }>(
      '@google-cloud/storage',
    );
    const clientOptions: Record<string, unknown> = {
      projectId: this.options.projectId ?? creds.key?.project_id ?? (this.endpoint ? 'demo-test' : undefined),
      // The retry layer (storage/retry.ts) retries, with backoff and resumed downloads: not the client too.
      retryOptions: { autoRetry: false, maxRetries: 0 },
    };
    if (this.endpoint) {
      clientOptions.apiEndpoint = this.endpoint;
      // With a custom endpoint the client sends no credentials unless told to;
      // send them whenever the user configured some.
      clientOptions.useAuthWithCustomEndpoint = creds.source !== 'none (emulator)';
    }
    if (creds.key) {
      const jwt = this.makeJwtClient(creds.key);
      this.jwt = jwt as { getAccessToken: () => Promise<unknown> };
      clientOptions.authClient = jwt;
    } else if (creds.json) {
      clientOptions.credentials = creds.json;
    }
    this.client = new Client(clientOptions);
    this.bucketHandle = this.client.bucket(this.bucketName);
    return this.bucketHandle;
  }

  /** A JWT client for a service-account key, honouring the key's `token_uri`. */
  private makeJwtClient(key: ServiceAccountKey): unknown {
    const { JWT } = fromGcsPackage<{ JWT: new (o: Record<string, unknown>) => Record<string, unknown> }>(
      'google-auth-library',
    );
    const jwt = new JWT({
      email: key.client_email,
      key: key.private_key,
      keyId: key.private_key_id,
      scopes: SCOPES,
    });
    const tokenUri = key.token_uri;
    if (tokenUri && !/^https:\/\/([a-z0-9-]+\.)*googleapis\.com\//.test(tokenUri)) {
      // google-auth-library posts to its own token URL whatever the key says;
      // a key that names another token endpoint (a private deployment, a test
      // server) gets its requests sent there.
      const base = jwt.transporter as { request: (o: { url?: string }) => Promise<unknown> };
      const redirected = Object.create(base) as typeof base;
      redirected.request = (opts) =>
        base.request.call(base, opts.url === LIBRARY_TOKEN_URL ? { ...opts, url: tokenUri } : opts);
      jwt.transporter = redirected;
    }
    // Remember tokens as they are issued so they can be scrubbed from messages.
    const original = (jwt.getAccessToken as () => Promise<{ token?: string | null }>).bind(jwt);
    jwt.getAccessToken = async () => {
      const result = await original();
      if (result.token) this.secrets.push(result.token);
      return result;
    };
    return jwt;
  }

  /** Turns a client error into a DataverError with a one-line hint; nothing raw (it may hold secrets) is kept. */
  private mapError(error: unknown, operation: string, key?: string): DataverError {
    if (isDataverError(error)) return error;
    const status = httpStatusOf(error);
    const summary = summarize(error, this.secrets);
    const where = key === undefined ? this.url : `${this.url}/${key}`;
    const source = this.credentials?.source ?? 'unknown';
    const transient = isTransientError(error);
    const safeCause = Object.assign(new Error(summary), { code: errnoCode(error) ?? status });
    const data = { status, transient, operation, credentialSource: source };
    const code = errnoCode(error);
    const authProblem =
      /invalid_grant|invalid_client|unauthorized_client|Could not load the default credentials|Could not refresh access token|DECODER routines|PEM|private key|No key or keyFile/i.test(
        summary,
      );
    if (status === 401 || authProblem) {
      return new DataverError(
        'REMOTE_AUTH',
        `GCS rejected the credentials (${source}) during ${operation} of ${where}: ${summary}`,
        {
          hint: authHint(source),
          cause: safeCause,
          data,
        },
      );
    }
    if (status === 403) {
      return new DataverError(
        'REMOTE_PERMISSION',
        `permission denied by GCS during ${operation} of ${where} (credentials: ${source})`,
        {
          hint: `the service account needs roles/storage.objectAdmin on the bucket gs://${this.bucketName}`,
          cause: safeCause,
          data,
        },
      );
    }
    if (status === 404) {
      if (/bucket does not exist|bucket.*not found/i.test(summary)) {
        return new DataverError('REMOTE_NOT_FOUND', `GCS bucket gs://${this.bucketName} does not exist`, {
          hint: `create it (gcloud storage buckets create gs://${this.bucketName}) or fix the remote URL`,
          cause: safeCause,
          data,
        });
      }
      return new DataverError('NOT_FOUND', `no object ${key ?? ''} in ${this.url}`, {
        cause: safeCause,
        data: { ...data, key },
      });
    }
    if (
      code === 'ECONNREFUSED' ||
      code === 'ENOTFOUND' ||
      code === 'EAI_AGAIN' ||
      (transient && status === undefined)
    ) {
      return new DataverError(
        'REMOTE_UNREACHABLE',
        `cannot reach ${this.endpoint ?? 'storage.googleapis.com'} (${operation} of ${where}): ${summary}`,
        {
          hint: this.endpoint
            ? `is the emulator or endpoint at ${this.endpoint} running? (STORAGE_EMULATOR_HOST / remote endpoint)`
            : 'check the network connection and proxy settings, then run the command again',
          cause: safeCause,
          data,
        },
      );
    }
    return new DataverError(
      'REMOTE_ERROR',
      `GCS ${operation} of ${where} failed${status ? ` (HTTP ${status})` : ''}: ${summary}`,
      {
        hint: transient
          ? 'GCS is having trouble; run the command again in a moment'
          : 'run with --verbose for details',
        cause: safeCause,
        data,
      },
    );
  }

  /**
   * Gets a token for a service-account key before the first upload: an upload streams its body,
   * and a key that cannot sign (a malformed private key) would otherwise surface as the stream's
   * "write after destroyed" instead of the real cause.
   */
  private authenticate(): Promise<void> {
    if (!this.jwt) return Promise.resolve();
    const jwt = this.jwt;
    this.authenticated ??= jwt.getAccessToken().then(
      () => undefined,
      (error: unknown) => {
        this.authenticated = undefined;
        throw this.mapError(error, 'authentication');
      },
    );
    return this.authenticated;
  }

  /** Runs one client call; errors come out mapped. */
  private async call<T>(
    operation: string,
    key: string | undefined,
    fn: (bucket: GcsBucket) => Promise<T>,
  ): Promise<T> {
    const bucket = await this.bucket();
    try {
      return await fn(bucket);
    } catch (error) {
      throw this.mapError(error, operation, key);
    }
  }

  async put(key: string, source: PutSource, options: PutOptions = {}): Promise<void> {
    const name = this.objectName(key);
    const metadata = { contentType: 'application/octet-stream', cacheControl: 'no-cache' };
    await this.bucket();
    await this.authenticate();
    const size = Buffer.isBuffer(source)
      ? source.length
      : (options.size ?? (await fs.stat(source.filePath)).size);
    if (Buffer.isBuffer(source) || size < this.resumableThreshold) {
      const data = Buffer.isBuffer(source) ? source : await fs.readFile(source.filePath);
      // The server checks the MD5 we send, so a body damaged on the way is refused, not stored.
      const md5Hash = createHash('md5').update(data).digest('base64');
      const resumable = data.length >= this.resumableThreshold;
      await this.call('upload', key, (bucket) =>
        bucket.file(name).save(data, { resumable, validation: false, metadata: { ...metadata, md5Hash } }),
      );
      options.onProgress?.(data.length);
      return;
    }
    // Large file: one resumable upload, streamed (a single PUT, which the emulator also takes).
    // A failed attempt is started again from the first byte by the retry layer.
    const bucket = await this.bucket();
    let sent = 0;
    // An upload whose bytes stop flowing (the server stopped reading) is a dead connection: fail
    // it, transient, so it is retried. Once every byte is sent, the wait for the server to finish
    // is not a stall.
    const stallMs = this.uploadStallMs;
    let stallTimer: NodeJS.Timeout | undefined;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, callback) {
        sent += chunk.length;
        options.onProgress?.(sent);
        clearTimeout(stallTimer);
        if (sent < size) {
          stallTimer = setTimeout(
            () => counter.destroy(timeoutError(`upload of ${name} stalled`, stallMs)),
            stallMs,
          );
        }
        callback(null, chunk);
      },
    });
    try {
      await pipeline(
        createReadStream(source.filePath, { highWaterMark: 1024 * 1024 }),
        counter,
        bucket.file(name).createWriteStream({ resumable: true, validation: false, metadata }),
      );
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' && !httpStatusOf(error)) throw error;
      throw this.mapError(error, 'upload', key);
    } finally {
      clearTimeout(stallTimer);
    }
  }

  /** Opens one download; resolves once the response status is known (so a missing object rejects here). */
  async get(key: string, range: GetOptions = {}): Promise<Readable> {
    const bucket = await this.bucket();
    const start = range.start ?? 0;
    const source = bucket.file(this.objectName(key)).createReadStream({
      start: range.start,
      end: range.end,
      validation: false,
      decompress: false,
    });
    // The range fix-up decides per response: the server may ignore a range
    // (the emulator does when it starts at or past the end) and send it all.
    let ignoredRange = false;
    let pos = 0;
    const last = range.end ?? Number.POSITIVE_INFINITY;
    const cut = new Transform({
      transform(chunk: Buffer, _enc, callback) {
        if (!ignoredRange) return callback(null, chunk);
        const from = Math.max(0, start - pos);
        const to = Math.min(chunk.length, last - pos + 1);
        pos += chunk.length;
        callback(null, to > from ? chunk.subarray(from, to) : undefined);
      },
    });
    const out = new PassThrough({ highWaterMark: 1024 * 1024 });
    const ready = new Promise<void>((resolve, reject) => {
      source.once('response', (res: { statusCode?: number }) => {
        const status = res.statusCode ?? 200;
        if (status >= 300) return; // the error event follows, with the message
        ignoredRange = status === 200 && (start > 0 || range.end !== undefined);
        resolve();
      });
      source.once('error', (error) => reject(this.mapError(error, 'download', key)));
    });
    // Piping starts the request (the client's stream is lazy).
    source.pipe(cut).pipe(out);
    try {
      await ready;
    } catch (error) {
      source.destroy();
      out.destroy();
      // A range that starts at the end of the object (a download resumed after
      // its last byte arrived) is simply empty.
      if (isDataverError(error) && error.data?.status === 416) return Readable.from([]);
      throw error;
    }
    source.on('error', (error) => out.destroy(this.mapError(error, 'download', key)));
    out.on('close', () => source.destroy());
    return out;
  }

  async getBuffer(key: string): Promise<Buffer> {
    const [data] = await this.call('download', key, (bucket) => bucket.file(this.objectName(key)).download());
    return data;
  }

  async stat(key: string): Promise<StorageEntry | undefined> {
    try {
      const [meta] = await this.call('stat', key, (bucket) =>
        bucket.file(this.objectName(key)).getMetadata(),
      );
      return { key, size: Number(meta.size ?? 0) };
    } catch (error) {
      if (isDataverError(error, 'NOT_FOUND')) return undefined;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<StorageEntry> {
    const full = this.objectName(prefix);
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    let pageToken: string | undefined;
    do {
      const [files, next] = await this.call('list', prefix, (bucket) =>
        bucket.getFiles({ prefix: full, autoPaginate: false, maxResults: 1000, pageToken }),
      );
      for (const f of files) {
        if (this.prefix && !f.name.startsWith(`${this.prefix}/`)) continue;
        yield { key: f.name.slice(strip), size: Number(f.metadata.size ?? 0) };
      }
      pageToken = next?.pageToken;
    } while (pageToken);
  }

  async delete(key: string): Promise<void> {
    await this.call('delete', key, (bucket) =>
      bucket.file(this.objectName(key)).delete({ ignoreNotFound: true }),
    );
  }

  async close(): Promise<void> {
    this.client = undefined;
    this.bucketHandle = undefined;
    this.jwt = undefined;
    this.authenticated = undefined;
  }
}

function authHint(source: string): string {
  switch (source) {
    case 'DATAVER_GCS_CREDENTIALS':
      return 'DATAVER_GCS_CREDENTIALS must hold a current service-account key JSON (keys can be disabled or deleted in IAM)';
    case 'GOOGLE_APPLICATION_CREDENTIALS':
      return 'GOOGLE_APPLICATION_CREDENTIALS must name a current service-account key file';
    case 'remote config (credentials key file)':
      return "the remote's credentials key file is not accepted: create a new key (`dataver config set remote.<name>.credentials <file>`)";
    case 'none (emulator)':
      return "this endpoint wants credentials: set DATAVER_GCS_CREDENTIALS or the remote's credentials key file";
    default:
      return 'set DATAVER_GCS_CREDENTIALS (key JSON), GOOGLE_APPLICATION_CREDENTIALS (key file) or run `gcloud auth application-default login`';
  }
}
