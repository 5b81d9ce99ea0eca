import { describe, expect, it } from 'vitest';
import { escapeValue, formatDn, isWithin, normalizeDn, parentOf, parseDn, type Dn } from './dn.js';

function dn(text: string): Dn {
  const r = parseDn(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const values = (text: string) => dn(text).rdns.map((rdn) => rdn.map((ava) => [ava.type, ava.value]));

describe('parseDn', () => {
  it('the empty DN is the root', () => {
    expect(dn('')).toEqual({ rdns: [], normalized: '' });
  });

  it('RDNs most specific first, types and values as written', () => {
    expect(values('uid=jdoe,ou=Users,o=Acme,dc=roster')).toEqual([[['uid', 'jdoe']], [['ou', 'Users']], [['o', 'Acme']], [['dc', 'roster']]]);
  });

  it.each([
    ['cn=a\\,b', 'a,b'],
    ['cn=a\\2Cb', 'a,b'],
    ['cn=a\\2cb', 'a,b'],
    ['cn=a\\+b', 'a+b'],
    ['cn=a\\2Bb', 'a+b'],
    ['cn=a\\\\b', 'a\\b'],
    ['cn=a\\5Cb', 'a\\b'],
    ['cn=a\\"b', 'a"b'],
    ['cn=a\\;b', 'a;b'],
    ['cn=a\\<b\\>', 'a<b>'],
    ['cn=a\\=b', 'a=b'],
    ['cn=\\#a', '#a'],
    ['cn=\\ a', ' a'],
    ['cn=a\\ ', 'a '],
    ['cn=\\ \\ ', '  '],
    ['cn=Caf\\C3\\A9', 'Café'],
    ['cn=\\E6\\97\\A5\\E6\\9C\\AC', '日本'],
    ['cn=\\F0\\9F\\98\\80', '😀'],
    ['cn=a\\00b', 'a\u0000b'],
    ['cn=Zoë 日本 😀', 'Zoë 日本 😀'],
  ])('RFC 4514 escapes: %s has the value %j', (text, value) => {
    expect(values(text)).toEqual([[['cn', value]]]);
  });

  it('multi-valued RDNs with "+"', () => {
    expect(values('cn=John+uid=jdoe,dc=roster')).toEqual([[['cn', 'John'], ['uid', 'jdoe']], [['dc', 'roster']]]);
    expect(values('cn=a+sn=b+uid=c')).toEqual([[['cn', 'a'], ['sn', 'b'], ['uid', 'c']]]);
  });

  it('spaces around separators are not part of the values', () => {
    expect(values('uid=jdoe , ou=Users,  dc=roster')).toEqual([[['uid', 'jdoe']], [['ou', 'Users']], [['dc', 'roster']]]);
    expect(values(' cn=a + sn=b ')).toEqual([[['cn', 'a'], ['sn', 'b']]]);
    expect(dn('uid = jdoe , dc = roster').normalized).toBe('uid=jdoe,dc=roster');
    // An escaped trailing space is part of the value; an unescaped one after it is not.
    expect(values('cn=a\\  ,dc=x')).toEqual([[['cn', 'a ']], [['dc', 'x']]]);
  });

  it('";" separates RDNs like ","', () => {
    expect(dn('cn=a;dc=roster').normalized).toBe('cn=a,dc=roster');
  });

  it('"#" hex values: the contents of a BER-encoded string', () => {
    expect(values('cn=#04024869,dc=x')).toEqual([[['cn', 'Hi']], [['dc', 'x']]]);
    expect(values('uid=#0C0A6A6F686E2E736D697468')).toEqual([[['uid', 'john.smith']]]);
    expect(dn('CN=#04024869').normalized).toBe(dn('cn=hi').normalized);
  });

  it('numeric OIDs as attribute types', () => {
    expect(values('2.5.4.3=John')).toEqual([[['2.5.4.3', 'John']]]);
  });

  it('an empty value', () => {
    expect(values('cn=,dc=x')).toEqual([[['cn', '']], [['dc', 'x']]]);
  });

  it.each([
    ['no "="', 'cn'],
    ['no "=" in the second RDN', 'cn=a,dc'],
    ['an empty type', '=x'],
    ['a type starting with a digit that is not an OID', '1cn=x'],
    ['a type with a space inside', 'c n=x'],
    ['a type with an underscore', 'c_n=x'],
    ['a malformed OID', '2.5..4=x'],
    ['a trailing ","', 'cn=x,'],
    ['a trailing "+"', 'cn=x+'],
    ['a leading ","', ',cn=x'],
    ['an empty RDN', 'cn=x,,dc=y'],
    ['an unescaped quote', 'cn=a"b'],
    ['an unescaped "<"', 'cn=<x'],
    ['an unescaped ">"', 'cn=x>'],
    ['a dangling escape', 'cn=x\\'],
    ['an escaped byte that is not UTF-8', 'cn=\\FF'],
    ['a truncated UTF-8 sequence', 'cn=\\C3'],
    ['a UTF-8 surrogate', 'cn=\\ED\\A0\\80'],
    ['an empty hex value', 'cn=#'],
    ['an odd number of hex digits', 'cn=#041'],
  ])('refuses %s: %j', (_why, text) => {
    const r = parseDn(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain('not a valid DN');
  });

  // BUG (dn.ts parseDn, "#" branch): after the hex digits, whatever character comes next is consumed as
  // if it were a separator (`const sep = text[i]; i++; if (sep === '+') continue;` never checks that sep
  // is "," ";" or "+"). Fix: after a hexstring, require end of input, spaces then a separator, or a separator.
  it('refuses a hex value followed by something that is not a separator', () => {
    expect(parseDn('cn=#04024869Xdc=example').ok).toBe(false);
    expect(parseDn('cn=#04024869zzz').ok).toBe(false);
  });

  // BUG (dn.ts parseDn, "#" branch): the hex form decodes without the UTF-8 check the escape form has
  // (`bytes.subarray(...).toString('utf8')` turns invalid bytes into U+FFFD), and ignores the BER length
  // (a long-form length falls back to decoding the tag and length octets as text).
  it('refuses a hex value whose string is not UTF-8', () => {
    expect(parseDn('cn=#0402FFFE').ok).toBe(false);
    expect(parseDn('cn=#048180').ok).toBe(false);
  });

  // RFC 4514 §3: stringchar = SUTF1 includes %x3D, so "=" may appear unescaped in a value.
  it('accepts an unescaped "=" in a value (RFC 4514 §3)', () => {
    expect(parseDn('cn=a=b,dc=x').ok).toBe(true);
    expect(normalizeDn('cn=a=b,dc=x')).toBe(normalizeDn('cn=a\\=b,dc=x'));
  });

  // BUG (dn.ts parseDn): the UTF-8 check `decoded.includes('\uFFFD')` also refuses a DN that contains
  // U+FFFD REPLACEMENT CHARACTER itself, which is a valid character. The length comparison already
  // catches invalid escapes; check the escaped bytes with a fatal TextDecoder instead.
  it('accepts U+FFFD written as itself or escaped', () => {
    expect(parseDn('cn=\uFFFD,dc=x').ok).toBe(true);
    expect(parseDn('cn=\\EF\\BF\\BD,dc=x').ok).toBe(true);
  });
});

describe('DN normalization', () => {
  it.each([
    ['uid=JDoe,ou=Users,o=Acme,dc=Roster', 'UID=jdoe,OU=users,O=acme,DC=roster'],
    ['uid=jdoe,dc=roster', '0.9.2342.19200300.100.1.1=jdoe,dc=roster'],
    ['uid=jdoe,dc=roster', 'userid=JDOE,domainComponent=ROSTER'],
    ['cn=John Doe,dc=roster', 'CN=john   doe , DC=roster'],
    ['cn=John Doe,dc=roster', '2.5.4.3=JOHN DOE,0.9.2342.19200300.100.1.25=roster'],
    ['cn=John Doe,dc=roster', 'commonName=John Doe,dc=roster'],
    ['ou=Users,dc=roster', 'organizationalUnitName=users,dc=roster'],
    ['o=Acme,dc=roster', 'organizationName=ACME,dc=roster'],
    ['cn=a\\,b,dc=roster', 'cn=A\\2Cb,dc=roster'],
    ['cn=Café,dc=roster', 'cn=CAF\\C3\\89,dc=roster'],
    ['cn=Café,dc=roster', 'cn=Cafe\u0301,dc=roster'],
    ['cn=a+uid=b,dc=roster', 'UID=B+CN=A,dc=roster'],
    ['cn=Hi', 'cn=#04024869'],
    ['cn=x,dc=roster', ' cn=x ; dc=roster '],
  ])('%s ≡ %s', (a, b) => {
    expect(normalizeDn(a)).toBeDefined();
    expect(normalizeDn(a)).toBe(normalizeDn(b));
  });

  it('the normalized form uses canonical lower-case names', () => {
    expect(normalizeDn('0.9.2342.19200300.100.1.1=JDoe,OU=Users,DC=Roster')).toBe('uid=jdoe,ou=users,dc=roster');
    expect(normalizeDn('commonName=X')).toBe('cn=x');
  });

  it('values that differ are still different', () => {
    expect(normalizeDn('uid=jdoe,dc=roster')).not.toBe(normalizeDn('uid=jdoe2,dc=roster'));
    expect(normalizeDn('cn=a\\,b,dc=roster')).not.toBe(normalizeDn('cn=a,cn=b,dc=roster'));
    expect(normalizeDn('cn=a+sn=b')).not.toBe(normalizeDn('cn=a,sn=b'));
  });

  it('unknown attribute types keep the case of their values', () => {
    expect(normalizeDn('FOO=Bar,dc=roster')).toBe('foo=Bar,dc=roster');
    expect(normalizeDn('foo=bar')).not.toBe(normalizeDn('foo=Bar'));
  });

  it('special characters are escaped again in the normalized form', () => {
    expect(normalizeDn('cn=a\\,b\\+c\\=d\\;e')).toBe('cn=a\\,b\\+c\\=d\\;e');
    expect(normalizeDn('cn=\\#x')).toBe('cn=\\#x');
  });

  it('undefined for an invalid DN', () => {
    expect(normalizeDn('not a dn')).toBeUndefined();
  });
});

describe('escapeValue and formatDn', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', 'a\\,b'],
    ['a+b', 'a\\+b'],
    ['a"b', 'a\\"b'],
    ['a\\b', 'a\\\\b'],
    ['a;b<c>d=e', 'a\\;b\\<c\\>d\\=e'],
    ['#a#', '\\#a#'],
    [' a ', '\\ a\\ '],
    [' ', '\\ '],
    ['a\u0000b', 'a\\00b'],
    ['日本', '日本'],
  ])('%j → %j', (value, escaped) => {
    expect(escapeValue(value)).toBe(escaped);
  });

  it.each(['a,b', ' lead', 'trail ', '#x', 'a+b=c;d<e>f"g\\h', 'x\u0000y', '日本 😀', '  '])('escaped values parse back to themselves: %j', (value) => {
    expect(values(`cn=${escapeValue(value)}`)).toEqual([[['cn', value]]]);
  });

  it('escapeValue round-trips through parseDn for random values made of special characters', () => {
    const alphabet = [' ', '#', ',', '+', '"', '\\', '<', '>', ';', '=', '\u0000', '\t', 'a', 'Z', '0', 'é', 'e\u0301', '日', '😀', '\u00a0', '\u200b'];
    let state = 12345;
    const next = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return (state >>> 8) % n;
    };
    const failures: string[] = [];
    for (let i = 0; i < 3000; i++) {
      let value = '';
      for (let j = next(8) + 1; j > 0; j--) value += alphabet[next(alphabet.length)];
      const text = `cn=${escapeValue(value)},dc=roster`;
      const r = parseDn(text);
      if (!r.ok || r.value.rdns[0]?.[0]?.value !== value) failures.push(JSON.stringify(value));
    }
    expect(failures).toEqual([]);
  });

  it('formatDn', () => {
    expect(formatDn([['uid', 'a,b']], 'ou=Users,dc=roster')).toBe('uid=a\\,b,ou=Users,dc=roster');
    expect(formatDn([], 'dc=roster')).toBe('dc=roster');
    expect(formatDn([['cn', 'x'], ['ou', 'y']], '')).toBe('cn=x,ou=y');
  });
});

describe('isWithin and parentOf (normalized DNs)', () => {
  it('isWithin', () => {
    expect(isWithin('uid=a,ou=users,dc=roster', 'dc=roster')).toBe(true);
    expect(isWithin('dc=roster', 'dc=roster')).toBe(true);
    expect(isWithin('dc=roster', '')).toBe(true);
    expect(isWithin('dc=xroster', 'dc=roster')).toBe(false);
    expect(isWithin('dc=roster', 'uid=a,dc=roster')).toBe(false);
    // An escaped comma does not start a new RDN: "cn=x\,dc\=roster" is one RDN.
    expect(isWithin(normalizeDn('cn=x\\,dc\\=roster')!, 'dc=roster')).toBe(false);
  });

  it('parentOf skips escaped commas', () => {
    expect(parentOf('uid=a,ou=users,dc=roster')).toBe('ou=users,dc=roster');
    expect(parentOf('dc=roster')).toBe('');
    expect(parentOf('')).toBe('');
    expect(parentOf(normalizeDn('cn=a\\,b,dc=roster')!)).toBe('dc=roster');
    expect(parentOf(normalizeDn('cn=a\\\\,dc=roster')!)).toBe('dc=roster');
  });
});
