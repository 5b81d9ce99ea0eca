import { describe, expect, it } from 'vitest';
import { addressMatcher, parseNetworkRange, parseNetworkSources, rangeOf, rangesOverlap } from './network-ranges.js';

const text = (input: string) => {
  const r = parseNetworkRange(input);
  return r.ok ? r.value.text : `error: ${r.error}`;
};

describe('parseNetworkRange', () => {
  it.each([
    ['10.1.2.3', '10.1.2.3'],
    [' 10.1.2.3 ', '10.1.2.3'],
    ['10.1.2.3/32', '10.1.2.3'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['0.0.0.0', '0.0.0.0'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8::/32', '2001:db8::/32'],
    ['2001:db8:0:0:1::/80', '2001:db8:0:0:1::/80'],
    ['2001:0db8:0000:0000:0001:0000:0000:0000/80', '2001:db8:0:0:1::/80'],
    ['::1/128', '::1'],
    ['::/0', '::/0'],
    ['::ffff:192.168.1.1', '192.168.1.1'],
    ['::ffff:192.168.0.0/112', '192.168.0.0/16'],
    ['fe80::1:2:3:4/64', 'error: "fe80::1:2:3:4/64" has host bits set; the range is fe80::/64'],
  ])('%s → %s', (input, expected) => {
    expect(text(input)).toBe(expected);
  });

  it.each(['10.1.2.3/8', '192.168.1.1/24', '2001:db8::1/32'])('refuses %s, whose host bits are set, and names the range', (input) => {
    const r = parseNetworkRange(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/host bits set; the range is \S+\/\d+/);
  });

  it.each(['', 'localhost', '10.1.2', '010.1.2.3', '10.1.2.3/33', '10.1.2.3/', '10.1.2.3/x', '10.0.0.0/08x', '::1/129', 'fe80::1%eth0', '1.2.3.4/-1', '10.0.0.0/8/8'])(
    'refuses %j',
    (input) => {
      expect(parseNetworkRange(input).ok).toBe(false);
    },
  );
});

describe('parseNetworkSources', () => {
  it('takes one or several, separated by commas, normalizing each', () => {
    const r = parseNetworkSources(' 10.0.0.0/8 , 192.168.1.7,2001:DB8::/48,');
    expect(r.ok && r.value.map((x) => x.text)).toEqual(['10.0.0.0/8', '192.168.1.7', '2001:db8::/48']);
    const list = parseNetworkSources(['10.0.0.1', '10.0.0.2']);
    expect(list.ok && list.value.map((x) => x.text)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('refuses an empty list, a bad entry, and entries that overlap each other', () => {
    expect(parseNetworkSources(' , ').ok).toBe(false);
    expect(parseNetworkSources('10.0.0.0/8,nonsense')).toEqual({ ok: false, error: expect.stringContaining('"nonsense"') });
    expect(parseNetworkSources('10.0.0.0/8,10.20.0.0/16')).toEqual({ ok: false, error: '10.20.0.0/16 overlaps 10.0.0.0/8' });
    expect(parseNetworkSources('10.0.0.1,10.0.0.1').ok).toBe(false);
    expect(parseNetworkSources(Array.from({ length: 101 }, (_, i) => `10.0.${i}.1`)).ok).toBe(false);
  });
});

describe('rangesOverlap', () => {
  it.each([
    ['10.0.0.0/8', '10.20.30.40', true],
    ['10.20.30.40', '10.0.0.0/8', true],
    ['10.0.0.0/8', '11.0.0.0/8', false],
    ['10.0.0.0/9', '10.128.0.0/9', false],
    ['0.0.0.0/0', '192.168.1.1', true],
    ['192.168.1.1', '192.168.1.1', true],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['::/0', '10.0.0.1', false],
    ['0.0.0.0/0', '::1', false],
  ])('%s and %s: %s', (a, b, expected) => {
    expect(rangesOverlap(rangeOf(a), rangeOf(b))).toBe(expected);
  });
});

describe('addressMatcher', () => {
  it('matches client addresses of either family, IPv4-mapped ones as IPv4', () => {
    const matches = addressMatcher(['10.0.0.0/8', '2001:db8::/32', '192.168.1.5']);
    expect(matches('10.9.8.7')).toBe(true);
    expect(matches('::ffff:10.9.8.7')).toBe(true);
    expect(matches('2001:db8::5')).toBe(true);
    expect(matches('192.168.1.5')).toBe(true);
    expect(matches('192.168.1.6')).toBe(false);
    expect(matches('not an address')).toBe(false);
  });
});
