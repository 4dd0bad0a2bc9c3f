// The fault-injecting wrapper behind the retry layer must still honour the
// whole Storage contract; the retry policy itself is checked call by call.
import { createHash, randomBytes } from 'node:crypto';
import { DataverError } from '@dataver/foundation';
import { FaultyStorage } from '../../src/storage/faulty';
import { LocalStorage } from '../../src/storage/local';
import { backoffDelay, isTransientError, RetryingStorage, withRetry } from '../../src/storage/retry';
import { describeStorageContract, makeTempDir, readAll } from './contract';

const fastRetry = { baseDelayMs: 1, maxDelayMs: 5, retries: 10, stallTimeoutMs: 150 };

describeStorageContract(
  'RetryingStorage(FaultyStorage(LocalStorage)) at 20 % faults',
  async () => {
    const { dir, dispose } = await makeTempDir();
    const faulty = new FaultyStorage(new LocalStorage(dir, { fsync: false }), {
      rate: 0.2,
      seed: 42,
      stallMs: 5,
    });
    return {
      storage: new RetryingStorage(faulty, fastRetry),
      dispose,
      description: { kind: 'local', location: dir, credentialSource: 'file system' },
    };
  },
  { largeSize: 3 * 1024 * 1024 },
);

describe('isTransientError', () => {
  test.each([
    [{ code: 503 }, true],
    [{ code: 429 }, true],
    [{ code: 500 }, true],
    [{ code: 408 }, true],
    [{ response: { status: 502 } }, true],
    [Object.assign(new Error('x'), { code: 'ECONNRESET' }), true],
    [Object.assign(new Error('x'), { code: 'ETIMEDOUT' }), true],
    [new Error('socket hang up'), true],
    [{ code: 401 }, false],
    [{ code: 403 }, false],
    [{ code: 404 }, false],
    [new DataverError('REMOTE_AUTH', 'no'), false],
    [new DataverError('REMOTE_ERROR', 'flaky', { data: { transient: true } }), true],
    [new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }), true],
    [new TypeError('bug'), false],
  ])('%p → %p', (error, expected) => {
    expect(isTransientError(error)).toBe(expected);
  });
});

describe('withRetry', () => {
  test('retries transient errors a bounded number of times, then throws the last one', async () => {
    let calls = 0;
    const retries: number[] = [];
    const error = await withRetry(
      async () => {
        calls++;
        throw Object.assign(new Error('busy'), { code: 503 });
      },
      { retries: 3, baseDelayMs: 1, onRetry: (i) => retries.push(i.attempt) },
    ).catch((e: unknown) => e);
    expect(calls).toBe(4);
    expect(retries).toEqual([1, 2, 3]);
    expect((error as Error).message).toBe('busy');
  });

  test('a permanent error fails at once', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw Object.assign(new Error('forbidden'), { code: 403 });
        },
        { retries: 5, baseDelayMs: 1 },
      ),
    ).rejects.toThrow('forbidden');
    expect(calls).toBe(1);
  });

  test('backoff is full jitter under an exponential, capped ceiling', () => {
    expect(backoffDelay(0, { baseDelayMs: 100, random: () => 0.999 })).toBe(99);
    expect(backoffDelay(3, { baseDelayMs: 100, random: () => 0.5 })).toBe(400);
    expect(backoffDelay(20, { baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.999 })).toBe(999);
    expect(backoffDelay(5, { random: () => 0 })).toBe(0);
  });
});

describe('RetryingStorage downloads', () => {
  test.each(['reset', 'stall'] as const)('a %s mid-stream resumes at the right byte', async (kind) => {
    const { dir, dispose } = await makeTempDir();
    try {
      const local = new LocalStorage(dir, { fsync: false });
      const data = randomBytes(5 * 1024 * 1024 + 17);
      await local.put('big', data);
      const faulty = new FaultyStorage(local, { rate: 0.6, kinds: [kind], seed: 3 });
      const storage = new RetryingStorage(faulty, { ...fastRetry, retries: 30 });
      for (const range of [{}, { start: 1000, end: 4_000_000 }]) {
        const got = await readAll(await storage.get('big', range));
        const want = data.subarray(
          (range as { start?: number }).start ?? 0,
          ((range as { end?: number }).end ?? data.length - 1) + 1,
        );
        expect(createHash('sha256').update(got).digest('hex')).toBe(
          createHash('sha256').update(want).digest('hex'),
        );
      }
      expect(faulty.injectedCounts[kind]).toBeGreaterThan(0);
    } finally {
      await dispose();
    }
  });

  test('a missing object is NOT_FOUND at once, not retried', async () => {
    const { dir, dispose } = await makeTempDir();
    try {
      let opens = 0;
      const local = new LocalStorage(dir);
      const counting = Object.assign(Object.create(local) as LocalStorage, {
        get: (key: string) => {
          opens++;
          return local.get(key);
        },
      });
      const storage = new RetryingStorage(counting, fastRetry);
      await expect(storage.get('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(opens).toBe(1);
    } finally {
      await dispose();
    }
  });
});
