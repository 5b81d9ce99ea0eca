import { describe, expect, it } from 'vitest';
import {
  approximateForm,
  compareNormalized,
  normalizeForRule,
  normalizeForSubstrings,
  normalizeValue,
  parseGeneralizedTime,
  substringsMatch,
  toGeneralizedTime,
  type SubstringAssertion,
} from './matching.js';
import { attributeType, equalityRule } from './schema.js';

const ci = (v: string) => normalizeForRule('caseIgnoreMatch', v);

describe('caseIgnoreMatch', () => {
  it.each([
    ['John Doe', 'JOHN DOE'],
    ['John Doe', '  john    doe  '],
    ['John Doe', 'john\tdoe'],
    ['John Doe', 'john\u00a0doe'],
    ['Café', 'CAFÉ'],
    ['Café', 'Cafe\u0301'], // composed and decomposed forms
    ['ﬁne', 'FINE'], // NFKC: the ligature is "fi"
    ['ＡＢＣ', 'abc'], // NFKC: full-width letters
    ['Ⅻ', 'xii'], // NFKC: roman numeral
    ['ÆØÅ', 'æøå'],
    ['Дмитрий', 'ДМИТРИЙ'],
  ])('%j ≡ %j', (a, b) => {
    expect(ci(a)).toBe(ci(b));
  });

  it.each([
    ['John Doe', 'JohnDoe'],
    ['a', 'á'],
    ['i', 'ı'],
  ])('%j ≢ %j', (a, b) => {
    expect(ci(a)).not.toBe(ci(b));
  });

  it('a value of spaces only prepares to the empty string', () => {
    expect(ci('   ')).toBe('');
  });

  // BUG (matching.ts prepare): RFC 4518 §2.2 maps characters with case folding (RFC 3454 table B.2),
  // which folds "ß" to "ss" and final sigma to sigma; `toLowerCase()` does neither. The core's own
  // foldCase (src/core/query.ts) does `toUpperCase().toLowerCase()` for exactly this reason, so the
  // core treats usernames "straße" and "STRASSE" as the same while LDAP matching does not.
  it('folds case as RFC 4518 does: ß ≡ SS, ς ≡ σ', () => {
    expect(ci('Straße')).toBe(ci('STRASSE'));
    expect(ci('ΣΊΣΥΦΟΣ')).toBe(ci('σίσυφος'));
  });
});

describe('other equality rules', () => {
  it('caseExactMatch keeps case but prepares spaces and Unicode', () => {
    expect(normalizeForRule('caseExactMatch', '  John   Doe ')).toBe('John Doe');
    expect(normalizeForRule('caseExactMatch', 'John')).not.toBe(normalizeForRule('caseExactMatch', 'john'));
    expect(normalizeForRule('caseExactIA5Match', '/home/x')).toBe('/home/x');
  });

  it.each([
    ['0', '0'],
    ['42', '42'],
    ['-15', '-15'],
    ['123456789012345678901234567890', '123456789012345678901234567890'],
  ])('integerMatch %j → %j', (value, normalized) => {
    expect(normalizeForRule('integerMatch', value)).toBe(normalized);
  });

  // RFC 4517 §3.3.16: Integer = ( HYPHEN LDIGIT *DIGIT ) / number — no leading zeros, no spaces, no "-0".
  it.each(['', ' ', 'abc', '1.5', '1e3', '+5', '--5', '5-', '0x10', '١٢', '007', '-0', ' 42 ', '42 ', '00'])('integerMatch refuses %j', (value) => {
    expect(normalizeForRule('integerMatch', value)).toBeUndefined();
  });

  it('telephoneNumberMatch ignores spaces and hyphens', () => {
    const t = (v: string) => normalizeForRule('telephoneNumberMatch', v);
    expect(t('+1 555-0100')).toBe(t('+15550100'));
    expect(t('+1 (555) 0100')).toBe(t('+1(555)0100'));
    expect(t('+1 555 0100')).not.toBe(t('+1 555 0101'));
  });

  it('distinguishedNameMatch normalizes, and refuses invalid DNs', () => {
    expect(normalizeForRule('distinguishedNameMatch', 'UID=JDoe, DC=Roster')).toBe('uid=jdoe,dc=roster');
    expect(normalizeForRule('distinguishedNameMatch', 'nonsense')).toBeUndefined();
  });

  it('objectIdentifierMatch: names and OIDs of object classes agree', () => {
    const o = (v: string) => normalizeForRule('objectIdentifierMatch', v);
    expect(o('inetOrgPerson')).toBe(o('INETORGPERSON'));
    expect(o('inetOrgPerson')).toBe(o('2.16.840.1.113730.3.2.2'));
    expect(o(' top ')).toBe('top');
    expect(o('1.2.840.113556.1.4.319')).toBe('1.2.840.113556.1.4.319');
  });

  it('uuidMatch and booleanMatch', () => {
    expect(normalizeForRule('uuidMatch', '6F1C2B8E-8A0E-5B7D-9C3F-0123456789AB')).toBe('6f1c2b8e-8a0e-5b7d-9c3f-0123456789ab');
    expect(normalizeForRule('uuidMatch', '6f1c2b8e8a0e5b7d9c3f0123456789ab')).toBeUndefined();
    expect(normalizeForRule('booleanMatch', 'TRUE')).toBe('TRUE');
    expect(normalizeForRule('booleanMatch', 'true')).toBeUndefined();
    expect(normalizeForRule('octetStringMatch', ' A ')).toBe(' A ');
  });

  it('normalizeValue falls back to the raw value when the rule refuses it', () => {
    expect(normalizeValue(attributeType('uidNumber')!, '007')).toBe('007');
    expect(normalizeValue(attributeType('cn')!, ' X ')).toBe('x');
  });

  it('rules are found by name (any case) and OID', () => {
    expect(equalityRule('caseIgnoreMatch')).toBe('caseIgnoreMatch');
    expect(equalityRule('CASEIGNOREMATCH')).toBe('caseIgnoreMatch');
    expect(equalityRule('2.5.13.2')).toBe('caseIgnoreMatch');
    expect(equalityRule('2.5.13.14')).toBe('integerMatch');
    expect(equalityRule('1.2.3')).toBeUndefined();
  });
});

describe('generalizedTime', () => {
  const utc = (iso: string) => Date.parse(iso);

  it.each([
    ['20240301123015Z', '2024-03-01T12:30:15.000Z'],
    ['202403011230Z', '2024-03-01T12:30:00.000Z'],
    ['2024030112Z', '2024-03-01T12:00:00.000Z'],
    ['20240301123015.5Z', '2024-03-01T12:30:15.500Z'],
    ['20240301123015,25Z', '2024-03-01T12:30:15.250Z'],
    ['20240301123015.123456Z', '2024-03-01T12:30:15.123Z'],
    ['202403011230.5Z', '2024-03-01T12:30:30.000Z'], // a fraction of a minute
    ['2024030112.25Z', '2024-03-01T12:15:00.000Z'], // a fraction of an hour
    ['20240301123015+0200', '2024-03-01T10:30:15.000Z'],
    ['20240301123015-0530', '2024-03-01T18:00:15.000Z'],
    ['2024030112+02', '2024-03-01T10:00:00.000Z'],
    ['20240301003015+0100', '2024-02-29T23:30:15.000Z'],
    ['20240301123015.5-0100', '2024-03-01T13:30:15.500Z'],
    [' 20240301123015Z ', '2024-03-01T12:30:15.000Z'],
  ])('%s is %s', (value, iso) => {
    expect(parseGeneralizedTime(value)).toBe(utc(iso));
  });

  it.each(['', '2024', '20240301', '20240301123015', '2024-03-01T12:30:15Z', '20240301123015.Z', '20240301123015+2', '20240301123015 Z', 'x20240301123015Z', '2024030112301Z'])(
    'refuses %j',
    (value) => {
      expect(parseGeneralizedTime(value)).toBeUndefined();
      expect(normalizeForRule('generalizedTimeMatch', value)).toBeUndefined();
    },
  );

  it('equality and ordering compare instants, whatever the zone', () => {
    const t = (v: string) => normalizeForRule('generalizedTimeMatch', v)!;
    expect(t('20240301123015Z')).toBe(t('20240301143015+0200'));
    expect(compareNormalized('generalizedTimeMatch', t('20240301123015Z'), t('20240301123016Z'))).toBeLessThan(0);
    expect(compareNormalized('generalizedTimeMatch', t('20240301123015Z'), t('20240301133014+0100'))).toBeGreaterThan(0);
  });

  // BUG (matching.ts parseGeneralizedTime): the fields are handed to Date.UTC without range checks, so
  // out-of-range values roll over into other dates instead of being invalid (RFC 4517 §3.3.13: month
  // 01-12, day 01-31 and valid for the month, hour 00-23, minute 00-59; offsets within 00-23/00-59),
  // and years 0000-0099 become 1900-1999 (Date.UTC's two-digit-year rule). An invalid assertion should
  // make the filter Undefined; instead (createTimestamp>=20241301000000Z) means 2025-01-01.
  // src/core/query.ts parseTimestamp has the same guard as a regression test.
  it('refuses out-of-range fields instead of rolling them over, and keeps years before 100', () => {
    const outOfRange = ['20241301000000Z', '20240001000000Z', '20240230000000Z', '20230229000000Z', '20240301240000Z', '20240301126000Z', '20240301123015+2500', '20240301123015+0160'];
    const accepted = outOfRange.filter((v) => parseGeneralizedTime(v) !== undefined).map((v) => `${v} → ${new Date(parseGeneralizedTime(v)!).toISOString()}`);
    expect(accepted).toEqual([]);
    const ms = parseGeneralizedTime('00500101000000Z');
    expect(ms === undefined ? 'refused' : new Date(ms).getUTCFullYear()).not.toBe(1950);
  });

  it('toGeneralizedTime', () => {
    expect(toGeneralizedTime('2024-03-01T12:30:15.123Z')).toBe('20240301123015Z');
    expect(parseGeneralizedTime(toGeneralizedTime('1999-12-31T23:59:59.000Z'))).toBe(utc('1999-12-31T23:59:59Z'));
  });
});

describe('compareNormalized', () => {
  it('integers numerically, beyond 2^53 too', () => {
    expect(compareNormalized('integerMatch', '10', '9')).toBeGreaterThan(0);
    expect(compareNormalized('integerMatch', '-10', '9')).toBeLessThan(0);
    expect(compareNormalized('integerMatch', '9007199254740993', '9007199254740992')).toBeGreaterThan(0);
    expect(compareNormalized('integerMatch', '5', '5')).toBe(0);
  });

  it('strings by code unit', () => {
    expect(compareNormalized('caseIgnoreMatch', 'a', 'b')).toBeLessThan(0);
    expect(compareNormalized('caseIgnoreMatch', 'b', 'a')).toBeGreaterThan(0);
    expect(compareNormalized('caseIgnoreMatch', 'a', 'a')).toBe(0);
  });
});

describe('substrings', () => {
  const m = (value: string, a: SubstringAssertion) => substringsMatch(value, a);

  it('initial, any and final', () => {
    expect(m('abcdef', { initial: 'ab', any: [] })).toBe(true);
    expect(m('abcdef', { initial: 'bc', any: [] })).toBe(false);
    expect(m('abcdef', { any: [], final: 'ef' })).toBe(true);
    expect(m('abcdef', { any: [], final: 'de' })).toBe(false);
    expect(m('abcdef', { any: ['cd'] })).toBe(true);
    expect(m('abcdef', { any: ['x'] })).toBe(false);
    expect(m('abcdef', { initial: 'a', any: ['c', 'e'], final: 'f' })).toBe(true);
  });

  it('any parts match in order, each after the previous one', () => {
    expect(m('abcdef', { any: ['b', 'd'] })).toBe(true);
    expect(m('abcdef', { any: ['d', 'b'] })).toBe(false);
    expect(m('abab', { any: ['ab', 'ab'] })).toBe(true);
    expect(m('abab', { any: ['ab', 'ab', 'ab'] })).toBe(false);
    expect(m('aaa', { any: ['aa', 'aa'] })).toBe(false);
  });

  it('no part overlaps another, nor the initial or the final', () => {
    expect(m('abc', { initial: 'ab', any: [], final: 'bc' })).toBe(false);
    expect(m('abcbc', { initial: 'ab', any: [], final: 'bc' })).toBe(true);
    expect(m('abc', { initial: 'ab', any: ['b'] })).toBe(false);
    expect(m('abcd', { any: ['c'], final: 'cd' })).toBe(false);
    expect(m('abcdcd', { any: ['c'], final: 'cd' })).toBe(true);
    expect(m('aXa', { initial: 'a', any: [], final: 'a' })).toBe(true);
    expect(m('a', { initial: 'a', any: [], final: 'a' })).toBe(false);
  });

  it('prepared values: case, spaces, telephone punctuation', () => {
    expect(normalizeForSubstrings('caseIgnoreMatch', 'John   DOE')).toBe('john doe');
    expect(normalizeForSubstrings('caseIgnoreIA5Match', 'A@B')).toBe('a@b');
    expect(normalizeForSubstrings('caseExactIA5Match', 'A  B')).toBe('A B');
    expect(normalizeForSubstrings('telephoneNumberMatch', '+1 555-0100')).toBe('+15550100');
    expect(normalizeForSubstrings('octetStringMatch', 'A  B')).toBe('A  B');
  });
});

describe('approximateForm', () => {
  it('drops case, accents, punctuation and spaces', () => {
    expect(approximateForm('Zoë O’Brien-Smith')).toBe(approximateForm('zoe obriensmith'));
    expect(approximateForm('Ｊｏｈｎ')).toBe('john');
    expect(approximateForm('日本')).toBe('日本');
    expect(approximateForm('John')).not.toBe(approximateForm('Jon'));
  });
});
