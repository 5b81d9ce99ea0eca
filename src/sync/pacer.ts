import { sleep } from './retry.js';

/**
 * A client-side token bucket: at most `perMinute` calls a minute, `burst` at once. A connector
 * that paces itself at the peer's documented quota stays under it instead of finding the limit
 * by being refused (some peers, like Google's Directory API, give no Retry-After to go by).
 * Waiters are served in order.
 */
export class Pacer {
  private tokens: number;
  private at: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly perMinute: number,
    private readonly burst = Math.max(1, Math.ceil(perMinute / 60)),
    private readonly now: () => number = Date.now,
    private readonly wait: (ms: number) => Promise<void> = sleep,
  ) {
    this.tokens = this.burst;
    this.at = this.now();
  }

  /** Resolves when the caller may make its call. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.next());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async next(): Promise<void> {
    for (;;) {
      const t = this.now();
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) * this.perMinute) / 60_000);
      this.at = t;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.wait(Math.ceil(((1 - this.tokens) * 60_000) / this.perMinute));
    }
  }
}
