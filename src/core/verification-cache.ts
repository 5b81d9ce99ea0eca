import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

interface Remembered {
  /** The stored argon2id hash the password was verified against: a password change misses. */
  hash: string;
  /** HMAC-SHA-256 of the password under a key that exists only in this process's memory. */
  mac: Buffer;
  expires: number;
}

/**
 * Remembers, for a short while, that a password matched a user's stored hash, so a burst of
 * logins (WiFi clients re-authenticating, LDAP clients binding per request) does not pay a full
 * argon2id verification each time. Off unless configured.
 *
 * Why it is safe enough to offer: only successes are remembered, so a wrong password always
 * costs a full verification and guessing gets no faster; an entry is tied to the stored hash, so
 * a password change or reset misses at once; the state checks (suspended, locked, expired,
 * association) run on every login regardless; nothing is written to disk, and the key is random
 * per process. What it costs: while an entry lives, a copy of the process's memory would let an
 * attacker test guesses for that one user at HMAC speed instead of argon2id speed, and a process
 * memory dump is already a breach of everything else it holds.
 */
export class VerificationCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, Remembered>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** True when this password was verified against this hash within the TTL. */
  matches(userId: string, hash: string, password: string, now = Date.now()): boolean {
    const entry = this.entries.get(userId);
    if (!entry) return false;
    if (entry.expires <= now || entry.hash !== hash) {
      this.entries.delete(userId);
      return false;
    }
    return timingSafeEqual(entry.mac, this.mac(userId, password));
  }

  remember(userId: string, hash: string, password: string, now = Date.now()): void {
    if (!this.enabled) return;
    this.entries.delete(userId);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(userId, { hash, mac: this.mac(userId, password), expires: now + this.ttlMs });
  }

  forget(userId: string): void {
    this.entries.delete(userId);
  }

  private mac(userId: string, password: string): Buffer {
    return createHmac('sha256', this.key).update(userId).update('\u0000').update(password).digest();
  }
}
