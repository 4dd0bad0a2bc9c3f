// A Storage wrapper that makes a configurable share of calls fail the way a
// network does (an error status, a connection reset mid-stream, a stall, an
// upload whose response is lost), so tests can prove retries and resumption.
import { Readable } from 'node:stream';
import { DataverError, Rng } from '@dataver/foundation';
import type {
  GetOptions,
  PutOptions,
  PutSource,
  Storage,
  StorageDescription,
  StorageEntry,
} from './types.js';

/** The kinds of fault: see {@link FaultyStorageOptions.kinds}. */
export type FaultKind = 'transient' | 'reset' | 'stall' | 'lost-response';

export interface FaultyStorageOptions {
  /** Share of calls that fail, 0..1 (default 0.05). */
  rate?: number;
  /**
   * Which faults to draw from (default all):
   * `transient` — the call fails with a 503 before doing anything;
   * `reset` — a download delivers part of its bytes then fails with ECONNRESET;
   * `stall` — a download stops delivering bytes (a call waits `stallMs` then times out);
   * `lost-response` — an upload or delete succeeds but the caller sees a 503.
   */
  kinds?: FaultKind[];
  /** Seed for the fault sequence, so a failing test can be replayed (default 1). */
  seed?: number;
  /** How long a stalled call waits before failing with ETIMEDOUT (default 50 ms). */
  stallMs?: number;
}

function injected(kind: string, operation: string, key: string): DataverError {
  return new DataverError('REMOTE_ERROR', `injected ${kind} during ${operation} of ${key}`, {
    data: { transient: true, injected: true, status: 503 },
  });
}

function resetError(key: string): Error {
  return Object.assign(new Error(`socket hang up (injected) while reading ${key}`), { code: 'ECONNRESET' });
}

/**
 * Storage that injects faults into a share of the calls it forwards.
 *
 * @example
 * const flaky = new FaultyStorage(new LocalStorage(dir), { rate: 0.05, seed: 7 });
 * const robust = new RetryingStorage(flaky, { baseDelayMs: 1 });
 */
export class FaultyStorage implements Storage {
  readonly url: string;
  /** Faults injected so far, by kind (tests assert that faults really happened). */
  readonly injectedCounts: Record<FaultKind, number> = {
    transient: 0,
    reset: 0,
    stall: 0,
    'lost-response': 0,
  };
  private readonly rate: number;
  private readonly kinds: FaultKind[];
  private readonly random: Rng;
  private readonly stallMs: number;

  constructor(
    readonly inner: Storage,
    options: FaultyStorageOptions = {},
  ) {
    this.url = inner.url;
    this.rate = options.rate ?? 0.05;
    this.kinds = options.kinds ?? ['transient', 'reset', 'stall', 'lost-response'];
    this.random = new Rng(options.seed ?? 1);
    this.stallMs = options.stallMs ?? 50;
  }

  /** Total faults injected so far. */
  get injectedTotal(): number {
    return Object.values(this.injectedCounts).reduce((a, b) => a + b, 0);
  }

  /** Draws a fault (or none) among the kinds that make sense for this call. */
  private draw(applicable: FaultKind[]): FaultKind | undefined {
    if (!this.random.chance(this.rate)) return undefined;
    const kinds = this.kinds.filter((k) => applicable.includes(k));
    const kind = kinds[this.random.int(kinds.length)];
    if (kind !== undefined) this.injectedCounts[kind]++;
    return kind;
  }

  private async failBefore(kind: FaultKind, operation: string, key: string): Promise<never> {
    if (kind === 'stall') {
      await new Promise((r) => setTimeout(r, this.stallMs));
      throw Object.assign(new Error(`${operation} of ${key} timed out (injected stall)`), {
        code: 'ETIMEDOUT',
      });
    }
    throw injected(kind, operation, key);
  }

  async put(key: string, source: PutSource, options?: PutOptions): Promise<void> {
    const fault = this.draw(['transient', 'stall', 'lost-response']);
    if (fault === 'transient' || fault === 'stall') return this.failBefore(fault, 'upload', key);
    await this.inner.put(key, source, options);
    if (fault === 'lost-response') throw injected(fault, 'upload', key);
  }

  async get(key: string, options?: GetOptions): Promise<Readable> {
    const fault = this.draw(['transient', 'reset', 'stall']);
    if (fault === 'transient') return this.failBefore(fault, 'download', key);
    const source = await this.inner.get(key, options);
    if (fault === undefined) return source;
    return this.breakStream(source, fault);
  }

  /** Passes some bytes through, then resets or goes silent (until destroyed by the reader's timeout). */
  private breakStream(source: Readable, fault: FaultKind): Readable {
    let passed = 0;
    let broken = false;
    const limit = this.random.int(64 * 1024);
    const out = new Readable({
      read() {
        source.resume();
      },
      destroy(error, callback) {
        source.destroy();
        callback(error);
      },
    });
    const key = 'stream';
    source.on('data', (chunk: Buffer) => {
      if (broken) return;
      if (passed + chunk.length > limit) {
        broken = true;
        const head = chunk.subarray(0, limit - passed);
        if (head.length > 0) out.push(head);
        source.pause();
        if (fault === 'reset') setImmediate(() => out.destroy(resetError(key)));
        // A stall just never pushes again; the reader's stall timeout must notice.
        return;
      }
      passed += chunk.length;
      if (!out.push(chunk)) source.pause();
    });
    source.once('end', () => {
      if (!broken) {
        // The object was shorter than the break point: reset at the end instead of ending cleanly.
        broken = true;
        if (fault === 'reset') out.destroy(resetError(key));
      }
    });
    source.once('error', (e) => out.destroy(e));
    return out;
  }

  async getBuffer(key: string): Promise<Buffer> {
    const fault = this.draw(['transient', 'stall', 'reset']);
    if (fault === 'reset') {
      await this.inner.getBuffer(key);
      throw resetError(key);
    }
    if (fault) return this.failBefore(fault, 'download', key);
    return this.inner.getBuffer(key);
  }

  async stat(key: string): Promise<StorageEntry | undefined> {
    const fault = this.draw(['transient', 'stall']);
    if (fault) return this.failBefore(fault, 'stat', key);
    return this.inner.stat(key);
  }

  async *list(prefix: string): AsyncIterable<StorageEntry> {
    const fault = this.draw(['transient', 'reset']);
    if (fault === 'transient') throw injected(fault, 'list', prefix);
    let n = 0;
    const breakAt = fault === 'reset' ? this.random.int(50) : -1;
    for await (const entry of this.inner.list(prefix)) {
      if (n++ === breakAt) throw resetError(`list ${prefix}`);
      yield entry;
    }
  }

  async delete(key: string): Promise<void> {
    const fault = this.draw(['transient', 'lost-response']);
    if (fault === 'transient') return this.failBefore(fault, 'delete', key);
    await this.inner.delete(key);
    if (fault === 'lost-response') throw injected(fault, 'delete', key);
  }

  /** What the wrapped Storage is (faults change how it answers, not what it is). */
  describe(): Promise<StorageDescription> {
    return this.inner.describe();
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
