import { describe, expect, it } from 'vitest';
import { VerificationCache } from './verification-cache.js';

describe('VerificationCache', () => {
  const T0 = 1_000_000;

  it('matches only the remembered password against the same stored hash, within the TTL', () => {
    const cache = new VerificationCache(60_000);
    cache.remember('u1', 'hash-a', 'right', T0);
    expect(cache.matches('u1', 'hash-a', 'right', T0 + 1000)).toBe(true);
    expect(cache.matches('u1', 'hash-a', 'wrong', T0 + 1000)).toBe(false);
    // A wrong guess does not evict the entry, and does not make later guesses cheaper either.
    expect(cache.matches('u1', 'hash-a', 'right', T0 + 2000)).toBe(true);
    expect(cache.matches('u2', 'hash-a', 'right', T0 + 1000)).toBe(false);
  });

  it('misses once the password hash changed or the entry expired', () => {
    const cache = new VerificationCache(60_000);
    cache.remember('u1', 'hash-a', 'right', T0);
    expect(cache.matches('u1', 'hash-b', 'right', T0 + 1000)).toBe(false);
    expect(cache.matches('u1', 'hash-a', 'right', T0 + 1000)).toBe(false);
    cache.remember('u1', 'hash-a', 'right', T0);
    expect(cache.matches('u1', 'hash-a', 'right', T0 + 60_000)).toBe(false);
  });

  it('remembers nothing when off, and evicts the oldest entry when full', () => {
    const off = new VerificationCache(0);
    off.remember('u1', 'h', 'p', T0);
    expect(off.matches('u1', 'h', 'p', T0)).toBe(false);
    const small = new VerificationCache(60_000, 2);
    small.remember('u1', 'h', 'p', T0);
    small.remember('u2', 'h', 'p', T0);
    small.remember('u3', 'h', 'p', T0);
    expect(small.matches('u1', 'h', 'p', T0)).toBe(false);
    expect(small.matches('u3', 'h', 'p', T0)).toBe(true);
  });
});
