import { describe, expect, it } from 'vitest';
import { ntHash } from './nt-hash.js';

describe('ntHash', () => {
  it('matches the RFC 2759 section 9.2 example', () => {
    expect(ntHash('clientPass').toString('hex')).toBe('44ebba8d5312b8d611474411f56989ae');
  });

  it('hashes the UTF-16 encoding, so non-ASCII passwords differ from their transliterations', () => {
    expect(ntHash('pässword')).toHaveLength(16);
    expect(ntHash('pässword').equals(ntHash('password'))).toBe(false);
  });
});
