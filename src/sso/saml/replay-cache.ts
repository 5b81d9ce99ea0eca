export interface ReplayCacheOptions {
  /** How long an ID is remembered. Must cover the whole window in which a message is accepted as fresh. */
  windowMs: number;
  /** Bound on remembered IDs; past it the oldest are forgotten first. */
  maxEntries?: number;
  now?: () => number;
}

/**
 * Message IDs seen recently, per issuer, in one process: the front-end's first check, before the
 * record in the store that every process shares (core.samlReplay). Freshness checks bound how old an accepted
 * message can be, so forgetting an ID after `windowMs` reopens nothing. When full, the oldest ID is
 * evicted: a flood of requests can push out an ID early, which is why `maxEntries` should be sized
 * for the peak request rate times the window.
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  private readonly windowMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: ReplayCacheOptions) {
    if (!(options.windowMs > 0)) throw new RangeError('windowMs must be positive');
    this.windowMs = options.windowMs;
    this.maxEntries = options.maxEntries ?? 100_000;
    if (!(this.maxEntries >= 1)) throw new RangeError('maxEntries must be at least 1');
    this.now = options.now ?? Date.now;
  }

  /** Records `id` for `issuer`; false when it was already seen within the window (a replay). */
  checkAndRecord(issuer: string, id: string): boolean {
    const now = this.now();
    this.evictExpired(now);
    const key = `${issuer.length}:${issuer}${id}`;
    const expires = this.seen.get(key);
    if (expires !== undefined && expires > now) return false;
    this.seen.delete(key);
    while (this.seen.size >= this.maxEntries) {
      const oldest = this.seen.keys().next().value;
      if (oldest === undefined) break;
      this.seen.delete(oldest);
    }
    this.seen.set(key, now + this.windowMs);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  /** Entries are in insertion order with one window length, so expired ones are all at the front. */
  private evictExpired(now: number): void {
    for (const [key, expires] of this.seen) {
      if (expires > now) break;
      this.seen.delete(key);
    }
  }
}
