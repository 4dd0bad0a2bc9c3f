// The one retry layer of dataver's storage: remote construction (core/remotes.ts) wraps every
// remote's Storage in RetryingStorage, and no Storage retries on its own. Transient failures are
// retried with exponential backoff and full jitter, a bounded number of attempts; stalled streams
// are detected by an idle timeout and resumed where they stopped; calls that hang are abandoned
// after a timeout. What is transient, each Storage says through its errors (`data.transient`, see
// storage/types.ts); permanent failures (auth, permission, a missing bucket) fail at once with
// their hint.
import { Readable } from 'node:stream';
import { DataverError, errnoCode, isDataverError } from '@dataver/foundation';
import type {
  GetOptions,
  PutOptions,
  PutSource,
  Storage,
  StorageDescription,
  StorageEntry,
} from './types.js';

export interface RetryOptions {
  /** Retries after the first attempt (default 5). */
  retries?: number;
  /** First backoff ceiling in ms (default 100); doubles each retry. */
  baseDelayMs?: number;
  /** Largest backoff ceiling in ms (default 8000). */
  maxDelayMs?: number;
  /** A stream that delivers no byte for this long is treated as a dropped connection (default 30 000). */
  stallTimeoutMs?: number;
  /** A non-streaming call (stat, small get/put, delete) that takes longer is abandoned and retried (default 120 000). */
  callTimeoutMs?: number;
  /** Told about each retry, e.g. for `--verbose` logs. */
  onRetry?: (info: { error: unknown; attempt: number; delayMs: number; operation: string }) => void;
  /** Random source in [0, 1) for the jitter (tests pass a seeded one). */
  random?: () => number;
}

const TRANSIENT_ERRNO = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'ECONNABORTED',
  'ESOCKETTIMEDOUT',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * The HTTP status an error carries (google's ApiError uses `code`, gaxios `status` / `response.status`).
 *
 * @example
 * httpStatusOf({ code: 503 }); // 503
 */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { code?: unknown; status?: unknown; response?: { status?: unknown } };
  for (const v of [e.code, e.status, e.response?.status]) {
    if (typeof v === 'number' && v >= 100 && v < 600) return v;
    if (typeof v === 'string' && /^[1-5]\d\d$/.test(v)) return Number(v);
  }
  return undefined;
}

/**
 * True when trying again may succeed: 408/429/5xx, connection resets and
 * timeouts, `socket hang up`, and DataverErrors marked `data.transient`.
 *
 * @example
 * isTransientError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })); // true
 */
export function isTransientError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (isDataverError(e)) {
      if (e.data?.transient === true) return true;
      if (e.data?.transient === false) return false;
    }
    const status = httpStatusOf(e);
    if (status !== undefined) return status === 408 || status === 429 || status >= 500;
    const code = errnoCode(e);
    if (code !== undefined && TRANSIENT_ERRNO.has(code)) return true;
    const message = e instanceof Error ? e.message : '';
    if (/socket hang up|ECONNRESET|ETIMEDOUT|premature close|network timeout|stalled/i.test(message))
      return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Full jitter: a uniform delay in [0, min(max, base·2^attempt)).
 *
 * @example
 * await sleep(backoffDelay(attempt, { baseDelayMs: 100, maxDelayMs: 8000 }));
 */
export function backoffDelay(attempt: number, options: RetryOptions = {}): number {
  const base = options.baseDelayMs ?? 100;
  const max = options.maxDelayMs ?? 8000;
  const ceiling = Math.min(max, base * 2 ** attempt);
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

// Not unref'd: a backoff that is all the process waits for must keep it alive, or a command would
// exit (with status 0) in the middle of its retries.
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` until it succeeds, a permanent error occurs, or the retries run out.
 *
 * @example
 * const meta = await withRetry(() => file.getMetadata(), { retries: 3 }, 'stat');
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
  operation = 'request',
  isTransient: (error: unknown) => boolean = isTransientError,
): Promise<T> {
  const retries = options.retries ?? 5;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= retries || !isTransient(error)) throw error;
      const delayMs = backoffDelay(attempt, options);
      options.onRetry?.({ error, attempt: attempt + 1, delayMs, operation });
      await sleep(delayMs);
    }
  }
}

/**
 * The error of a call or stream that stopped answering: REMOTE_UNREACHABLE, transient (so it is
 * retried), with an ETIMEDOUT cause; what the user sees once the retries are spent.
 *
 * @example
 * stream.destroy(timeoutError('download of gs://b/k stalled', 30_000));
 */
export function timeoutError(what: string, ms: number): DataverError {
  return new DataverError('REMOTE_UNREACHABLE', `${what}: no answer for ${ms} ms`, {
    hint: 'the remote stopped answering; check the network (or the endpoint) and run the command again',
    cause: Object.assign(new Error(`${what} timed out after ${ms} ms`), { code: 'ETIMEDOUT' }),
    data: { transient: true, timeoutMs: ms },
  });
}

/**
 * Rejects with a transient timeout error (see timeoutError) when `promise` takes longer than `ms`.
 *
 * @example
 * const meta = await withTimeout(storage.stat(key), 30_000, `stat of ${key}`);
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  if (!Number.isFinite(ms) || ms <= 0) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError(what, ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A download stream that survives dropped connections and stalls: when the
 * source fails transiently (or sends nothing for `stallTimeoutMs`), it reopens
 * the object at the first byte not yet delivered and carries on.
 *
 * @example
 * const stream = resumableRead((range) => storage.get(key, range), { start: 0 }, { retries: 5 });
 */
export function resumableRead(
  open: (range: GetOptions) => Promise<Readable>,
  range: GetOptions,
  options: RetryOptions = {},
  isTransient: (error: unknown) => boolean = isTransientError,
  what = 'download',
): Promise<Readable> {
  const retries = options.retries ?? 5;
  const stallMs = options.stallTimeoutMs ?? 30_000;
  const start = range.start ?? 0;
  let delivered = 0;
  let failures = 0;
  let current: Readable | undefined;
  let finished = false;
  /** Paused because `out` is full: idle time does not count as a stall. */
  let waiting = false;
  // A plain Readable that is pushed to (cheaper per chunk than piping through a PassThrough); when
  // its buffer is full the source pauses, and `read` resumes it.
  const out = new Readable({
    highWaterMark: 1024 * 1024,
    read() {
      if (!waiting) return;
      waiting = false;
      sawData();
      current?.resume();
    },
  });

  // The stall watch: one timer, re-armed only when it fires, so a chunk costs a clock read rather
  // than a clearTimeout + setTimeout pair. Idle time counts only while the consumer asks for data.
  let stallTimer: NodeJS.Timeout | undefined;
  let lastData = 0;
  const checkStall = () => {
    stallTimer = undefined;
    if (waiting || finished || current === undefined) return;
    const idle = Date.now() - lastData;
    if (idle >= stallMs) current.destroy(timeoutError(`${what} stalled`, stallMs));
    else stallTimer = setTimeout(checkStall, stallMs - idle);
  };
  const sawData = () => {
    lastData = Date.now();
    stallTimer ??= setTimeout(checkStall, stallMs);
  };
  const stopStallWatch = () => {
    clearTimeout(stallTimer);
    stallTimer = undefined;
  };

  const attach = (source: Readable) => {
    current = source;
    waiting = false;
    sawData();
    source.on('data', (chunk: Buffer) => {
      delivered += chunk.length;
      sawData();
      if (!out.push(chunk)) {
        source.pause();
        waiting = true;
      }
    });
    source.once('end', () => {
      stopStallWatch();
      finished = true;
      out.push(null);
    });
    source.once('error', (error) => {
      stopStallWatch();
      if (finished || out.destroyed) return;
      if (range.end !== undefined && start + delivered > range.end) {
        // Every byte asked for arrived before the connection dropped.
        finished = true;
        out.push(null);
        return;
      }
      if (failures >= retries || !isTransient(error)) {
        out.destroy(error);
        return;
      }
      const delayMs = backoffDelay(failures, options);
      failures++;
      options.onRetry?.({ error, attempt: failures, delayMs, operation: 'download' });
      sleep(delayMs)
        .then(() => open({ start: start + delivered, end: range.end }))
        .then(attach, (e: unknown) => out.destroy(e as Error));
    });
  };
  out.on('close', () => {
    stopStallWatch();
    if (!finished) current?.destroy();
  });

  return withRetry(() => open(range), options, 'download', isTransient).then((first) => {
    attach(first);
    return out;
  });
}

/**
 * Wraps any Storage so its transient failures are retried (calls, listings and
 * downloads; downloads resume at the byte where they stopped).
 *
 * @example
 * const storage = new RetryingStorage(new GcsStorage({ url: 'gs://bucket/data' }), { retries: 5 });
 */
export class RetryingStorage implements Storage {
  readonly url: string;

  constructor(
    readonly inner: Storage,
    private readonly options: RetryOptions = {},
  ) {
    this.url = inner.url;
  }

  private call<T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> {
    const timeout = this.options.callTimeoutMs ?? 120_000;
    return withRetry(
      () => withTimeout(fn(), timeout, `${operation} of ${this.url}/${key}`),
      this.options,
      operation,
    );
  }

  put(key: string, source: PutSource, options?: PutOptions): Promise<void> {
    // Large uploads may legitimately take long: only small ones get the call timeout (a large
    // one that stops moving is the Storage's to notice, e.g. GcsStorage's upload stall timeout).
    const small = Buffer.isBuffer(source) || (options?.size ?? Number.POSITIVE_INFINITY) < 8 * 1024 * 1024;
    if (small) return this.call('upload', key, () => this.inner.put(key, source, options));
    return withRetry(() => this.inner.put(key, source, options), this.options, 'upload');
  }

  get(key: string, options: GetOptions = {}): Promise<Readable> {
    return resumableRead(
      (range) => this.inner.get(key, range),
      options,
      this.options,
      isTransientError,
      `download of ${this.url}/${key}`,
    );
  }

  getBuffer(key: string): Promise<Buffer> {
    return this.call('download', key, () => this.inner.getBuffer(key));
  }

  stat(key: string): Promise<StorageEntry | undefined> {
    return this.call('stat', key, () => this.inner.stat(key));
  }

  async *list(prefix: string): AsyncIterable<StorageEntry> {
    // A listing that breaks (or whose next page does not come within the call timeout) is
    // restarted; keys already yielded are not repeated.
    const seen = new Set<string>();
    const retries = this.options.retries ?? 5;
    const timeout = this.options.callTimeoutMs ?? 120_000;
    for (let attempt = 0; ; attempt++) {
      const entries = this.inner.list(prefix)[Symbol.asyncIterator]();
      let done = false;
      try {
        for (;;) {
          const step = await withTimeout(entries.next(), timeout, `list of ${this.url}/${prefix}`);
          if (step.done) {
            done = true;
            return;
          }
          if (seen.has(step.value.key)) continue;
          seen.add(step.value.key);
          yield step.value;
        }
      } catch (error) {
        if (attempt >= retries || !isTransientError(error)) throw error;
        const delayMs = backoffDelay(attempt, this.options);
        this.options.onRetry?.({ error, attempt: attempt + 1, delayMs, operation: 'list' });
        await sleep(delayMs);
      } finally {
        // Broken, timed out or left early by the caller: let the listing clean up, without waiting.
        if (!done) entries.return?.().catch(() => undefined);
      }
    }
  }

  delete(key: string): Promise<void> {
    return this.call('delete', key, () => this.inner.delete(key));
  }

  /** What the wrapped Storage is: retries change how it is reached, not what it is. */
  describe(): Promise<StorageDescription> {
    return this.inner.describe();
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
