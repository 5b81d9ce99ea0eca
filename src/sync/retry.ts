import { isSyncError, SyncError } from './errors.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** The first backoff; each next one doubles, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is cut to it (a peer asking for an hour would stall the run). */
  maxRetryAfterMs: number;
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 200, maxDelayMs: 20_000, maxRetryAfterMs: 60_000 };

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The wait before attempt `attempt + 1`: the peer's Retry-After if it gave one, else exponential backoff with full jitter. */
export function retryDelay(policy: RetryPolicy, attempt: number, error: SyncError): number {
  if (error.retryAfterMs !== undefined) return Math.min(Math.max(error.retryAfterMs, 0), policy.maxRetryAfterMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/**
 * Runs `fn` until it succeeds, fails with a kind other than transient, or runs out of attempts.
 * `beforeRetry` runs before each further attempt and may settle the call itself (a create whose
 * answer was lost, found to have happened): returning a value ends the retries with it.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  fn: (attempt: number) => Promise<T>,
  hooks: { onRetry?: (error: SyncError, delayMs: number) => void; beforeRetry?: () => Promise<T | undefined> } = {},
): Promise<T> {
  const wait = policy.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    try {
      if (attempt > 0 && hooks.beforeRetry) {
        const settled = await hooks.beforeRetry();
        if (settled !== undefined) return settled;
      }
      return await fn(attempt);
    } catch (e) {
      if (!isSyncError(e, 'transient') || attempt + 1 >= policy.attempts) throw e;
      const delay = retryDelay(policy, attempt, e);
      hooks.onRetry?.(e, delay);
      await wait(delay);
    }
  }
}

/** Parses Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP date; undefined when absent or invalid. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
