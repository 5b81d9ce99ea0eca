import { describe, expect, it } from 'vitest';
import { SyncError } from './errors.js';
import { mapPool } from './pool.js';
import { parseRetryAfter, retryDelay, withRetry, type RetryPolicy } from './retry.js';

const policy = (waits: number[]): RetryPolicy => ({
  attempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  maxRetryAfterMs: 5000,
  sleep: async (ms) => {
    waits.push(ms);
  },
});

describe('retries', () => {
  it('parses Retry-After as seconds or an HTTP date, and ignores anything else', () => {
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Sun, 22 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 22 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('waits as long as the peer asks, within the cap, else backs off exponentially with jitter', () => {
    const p = policy([]);
    expect(retryDelay(p, 0, new SyncError('transient', 'x', 429, 3000))).toBe(3000);
    expect(retryDelay(p, 0, new SyncError('transient', 'x', 429, 60_000))).toBe(5000);
    for (let attempt = 0; attempt < 8; attempt++) {
      const ceiling = Math.min(1000, 100 * 2 ** attempt);
      const d = retryDelay(p, attempt, new SyncError('transient', 'x', 503));
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
    }
  });

  it('retries transient failures only, up to the attempts allowed', async () => {
    const waits: number[] = [];
    let calls = 0;
    await expect(
      withRetry(policy(waits), async () => {
        calls++;
        throw new SyncError('transient', 'busy', 503, 10);
      }),
    ).rejects.toThrow('busy');
    expect(calls).toBe(4);
    expect(waits).toEqual([10, 10, 10]);

    calls = 0;
    await expect(
      withRetry(policy([]), async () => {
        calls++;
        throw new SyncError('bad_request', 'no');
      }),
    ).rejects.toThrow('no');
    expect(calls).toBe(1);

    calls = 0;
    const value = await withRetry(policy([]), async (attempt) => {
      calls++;
      if (attempt < 2) throw new SyncError('transient', 'later');
      return 'done';
    });
    expect([value, calls]).toEqual(['done', 3]);
  });

  it('lets a check before each retry settle the call (a create whose answer was lost)', async () => {
    let posts = 0;
    const result = await withRetry(
      policy([]),
      async () => {
        posts++;
        throw new SyncError('transient', 'lost');
      },
      { beforeRetry: async () => 'found' },
    );
    expect([result, posts]).toEqual(['found', 1]);
  });

  it('runs a pool with bounded concurrency, every item attempted, results in order', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapPool([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (n === 4) throw new Error('four');
      return n * 10;
    });
    expect(peak).toBe(3);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([10, 20, 30, 'four', 50, 60, 70]);
    expect(await mapPool([], 4, async () => 1)).toEqual([]);
  });
});
