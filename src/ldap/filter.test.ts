import { describe, expect, it } from 'vitest';
import { BerError, BerReader } from './ber.js';
import { normalizeDn } from './dn.js';
import { Entry, EntryBuilder, type ChainResolver } from './entry.js';
import { evaluate, filterToString, readFilter, type FilterTarget, type LdapFilter, type Truth } from './filter.js';
import { normalizeValue } from './matching.js';
import { BIT_AND_RULE, BIT_OR_RULE, IN_CHAIN_RULE, type AttributeTypeDef } from './schema.js';

// Filter shorthands.
const eq = (attribute: string, value: string): LdapFilter => ({ type: 'equal', attribute, value });
const ge = (attribute: string, value: string): LdapFilter => ({ type: 'ge', attribute, value });
const le = (attribute: string, value: string): LdapFilter => ({ type: 'le', attribute, value });
const approx = (attribute: string, value: string): LdapFilter => ({ type: 'approx', attribute, value });
const present = (attribute: string): LdapFilter => ({ type: 'present', attribute });
const and = (...filters: LdapFilter[]): LdapFilter => ({ type: 'and', filters });
const or = (...filters: LdapFilter[]): LdapFilter => ({ type: 'or', filters });
const not = (filter: LdapFilter): LdapFilter => ({ type: 'not', filter });
const subs = (attribute: string, initial: string | undefined, any: string[], final?: string): LdapFilter => ({
  type: 'substrings',
  attribute,
  ...(initial === undefined ? {} : { initial }),
  any,
  ...(final === undefined ? {} : { final }),
});
const ext = (x: { rule?: string; attribute?: string; value: string; dnAttributes?: boolean }): LdapFilter => ({ type: 'extensible', dnAttributes: false, ...x });

const GROUP_DN = 'cn=Admins,ou=Groups,o=acme,dc=roster';
const USER_DN = 'uid=jdoe,ou=Users,o=acme,dc=roster';

/** Resolves in-chain membership from a fixed list of (entry DN → groups it is in, transitively). */
const resolver: ChainResolver = {
  chain(entry, attribute, dn) {
    if (attribute === 'memberOf') return entry.ndn === normalizeDn(USER_DN) && dn === normalizeDn(GROUP_DN);
    return entry.ndn === normalizeDn(GROUP_DN) && dn === normalizeDn(USER_DN);
  },
};

function user(): Entry {
  const attrs = new EntryBuilder()
    .add('objectClass', 'top', 'person', 'organizationalPerson', 'inetOrgPerson', 'posixAccount')
    .add('uid', 'jdoe')
    .add('cn', 'John  Doe', 'Johnny')
    .add('sn', 'Doe')
    .add('givenName', 'John')
    .add('mail', 'John.Doe@Example.COM')
    .add('uidNumber', 1005)
    .add('gidNumber', 100)
    .add('telephoneNumber', '+1 555-0100')
    .add('description', 'Café owner')
    .add('memberOf', GROUP_DN)
    .add('createTimestamp', '20240301123015Z')
    .add('entryUUID', '6f1c2b8e-8a0e-5b7d-9c3f-0123456789ab')
    .add('userPassword', 'secret')
    .add('homeDirectory', '/home/jdoe')
    .build();
  return new Entry('user', USER_DN, normalizeDn(USER_DN)!, 'u1', attrs, resolver);
}

function group(): Entry {
  const attrs = new EntryBuilder().add('objectClass', 'top', 'groupOfNames').add('cn', 'Admins').add('member', USER_DN).build();
  return new Entry('group', GROUP_DN, normalizeDn(GROUP_DN)!, 'g1', attrs, resolver);
}

const e = user();
const check = (filter: LdapFilter, target: FilterTarget = e): Truth => evaluate(filter, target);

/** A filter item of each truth value, for composing. */
const TRUE = eq('uid', 'jdoe');
const FALSE = eq('uid', 'someone-else');
const UNDEFINED = eq('noSuchAttribute', 'x');

describe('evaluate: attribute value assertions', () => {
  it('equality uses the attribute’s equality rule', () => {
    expect(check(eq('uid', 'JDOE'))).toBe(true);
    expect(check(eq('UID', 'jdoe'))).toBe(true);
    expect(check(eq('0.9.2342.19200300.100.1.1', 'jdoe'))).toBe(true);
    expect(check(eq('cn', 'john doe'))).toBe(true);
    expect(check(eq('cn', '  JOHN   DOE '))).toBe(true);
    expect(check(eq('cn', 'johnny'))).toBe(true);
    expect(check(eq('cn', 'john'))).toBe(false);
    expect(check(eq('mail', 'john.doe@example.com'))).toBe(true);
    expect(check(eq('description', 'CAFE\u0301 OWNER'))).toBe(true);
    expect(check(eq('uidNumber', '1005'))).toBe(true);
    expect(check(eq('uidNumber', '1006'))).toBe(false);
    expect(check(eq('telephoneNumber', '+15550100'))).toBe(true);
    expect(check(eq('memberOf', 'CN=admins, OU=groups, O=ACME, DC=roster'))).toBe(true);
    expect(check(eq('objectClass', 'INETORGPERSON'))).toBe(true);
    expect(check(eq('objectClass', '2.16.840.1.113730.3.2.2'))).toBe(true);
    expect(check(eq('objectClass', 'groupOfNames'))).toBe(false);
    expect(check(eq('createTimestamp', '20240301143015+0200'))).toBe(true);
    expect(check(eq('entryUUID', '6F1C2B8E-8A0E-5B7D-9C3F-0123456789AB'))).toBe(true);
  });

  it('caseExactIA5 attributes compare with case', () => {
    expect(check(eq('homeDirectory', '/home/jdoe'))).toBe(true);
    expect(check(eq('homeDirectory', '/HOME/JDOE'))).toBe(false);
  });

  it('an attribute the entry does not have is FALSE, not Undefined', () => {
    expect(check(eq('title', 'x'))).toBe(false);
    expect(check(ge('gidNumber', '1'), group())).toBe(false);
  });

  it('an unknown attribute type is Undefined (RFC 4511 §4.5.1.7)', () => {
    for (const f of [eq('noSuchAttribute', 'x'), ge('noSuch', '1'), le('noSuch', '1'), approx('noSuch', 'x'), subs('noSuch', 'a', [])]) {
      expect(check(f)).toBeUndefined();
    }
  });

  it('an assertion value that is not valid for the syntax is Undefined', () => {
    expect(check(eq('uidNumber', 'abc'))).toBeUndefined();
    expect(check(eq('uidNumber', '1.5'))).toBeUndefined();
    // RFC 4517 §3.3.16: no leading zeros, spaces or "-0".
    expect(check(eq('uidNumber', '01005'))).toBeUndefined();
    expect(check(eq('uidNumber', ' 1005'))).toBeUndefined();
    expect(check(ge('createTimestamp', 'yesterday'))).toBeUndefined();
    expect(check(eq('memberOf', 'not a dn'))).toBeUndefined();
    expect(check(eq('entryUUID', 'xyz'))).toBeUndefined();
  });

  it('userPassword never matches (Undefined)', () => {
    expect(check(eq('userPassword', 'secret'))).toBeUndefined();
    expect(check(subs('userPassword', 's', []))).toBeUndefined();
    expect(check(approx('userPassword', 'secret'))).toBeUndefined();
    expect(check(ext({ attribute: 'userPassword', value: 'secret' }))).toBeUndefined();
  });

  it('attribute options: the entry has no subtypes, so FALSE', () => {
    expect(check(eq('cn;lang-en', 'johnny'))).toBe(false);
    expect(check(present('cn;lang-en'))).toBe(false);
    expect(check(subs('cn;x', 'j', []))).toBe(false);
  });

  it('ordering: integers numerically, times by instant', () => {
    expect(check(ge('uidNumber', '1005'))).toBe(true);
    expect(check(ge('uidNumber', '999'))).toBe(true);
    expect(check(ge('uidNumber', '1006'))).toBe(false);
    expect(check(le('uidNumber', '1005'))).toBe(true);
    expect(check(le('uidNumber', '10000'))).toBe(true);
    expect(check(le('uidNumber', '-5'))).toBe(false);
    expect(check(ge('uidNumber', '99999999999999999999999'))).toBe(false);
    expect(check(ge('createTimestamp', '20240301123015Z'))).toBe(true);
    expect(check(ge('createTimestamp', '20240301133015+0100'))).toBe(true);
    expect(check(ge('createTimestamp', '20240301123015.001Z'))).toBe(false);
    expect(check(le('createTimestamp', '2024030113Z'))).toBe(true);
  });

  it('ordering on an attribute without an ordering rule is Undefined', () => {
    expect(check(ge('mail', 'a'))).toBeUndefined();
    expect(check(le('telephoneNumber', '1'))).toBeUndefined();
    expect(check(ge('objectClass', 'a'))).toBeUndefined();
    // directoryString attributes publish no ORDERING rule
    expect(check(ge('sn', 'a'))).toBeUndefined();
    expect(check(le('cn', 'z'))).toBeUndefined();
  });

  it('present', () => {
    expect(check(present('mail'))).toBe(true);
    expect(check(present('MAIL'))).toBe(true);
    expect(check(present('rfc822Mailbox'))).toBe(true);
    expect(check(present('title'))).toBe(false);
    expect(check(present('objectClass'))).toBe(true);
    // present is never Undefined: an unknown type is simply not present.
    expect(check(present('noSuchAttribute'))).toBe(false);
  });

  it('approx ignores case, accents, punctuation and spacing on text; is equality elsewhere', () => {
    expect(check(approx('description', 'cafe-owner'))).toBe(true);
    expect(check(approx('cn', 'JOHNDOE'))).toBe(true);
    expect(check(approx('cn', 'jane'))).toBe(false);
    expect(check(approx('uidNumber', '1005'))).toBe(true);
    expect(check(approx('uidNumber', '1006'))).toBe(false);
    expect(check(approx('uidNumber', 'x'))).toBeUndefined();
    expect(check(approx('title', 'x'))).toBe(false);
  });
});

describe('evaluate: substrings', () => {
  it('initial, any and final in order, case-insensitively', () => {
    expect(check(subs('cn', 'jo', []))).toBe(true);
    expect(check(subs('cn', undefined, [], 'DOE'))).toBe(true);
    expect(check(subs('cn', 'john', [], 'doe'))).toBe(true);
    expect(check(subs('cn', 'j', ['h', 'n', ' d'], 'e'))).toBe(true);
    expect(check(subs('cn', undefined, ['n d'], undefined))).toBe(true);
    expect(check(subs('cn', 'doe', []))).toBe(false);
    expect(check(subs('cn', undefined, ['d', 'j']))).toBe(false);
    expect(check(subs('mail', undefined, ['@example.'], 'com'))).toBe(true);
  });

  it('initial and final do not overlap', () => {
    expect(check(subs('sn', 'do', [], 'oe'))).toBe(false);
    expect(check(subs('sn', 'd', [], 'oe'))).toBe(true);
  });

  it('telephone numbers ignore spaces and hyphens', () => {
    expect(check(subs('telephoneNumber', '+1555', []))).toBe(true);
    expect(check(subs('telephoneNumber', undefined, ['5-5-5'], '0100'))).toBe(true);
  });

  it('Undefined for attributes without a substrings rule', () => {
    expect(check(subs('uidNumber', '1', []))).toBeUndefined();
    expect(check(subs('memberOf', 'cn', []))).toBeUndefined();
    expect(check(subs('objectClass', 'top', []))).toBeUndefined();
  });

  it('FALSE when the entry lacks the attribute', () => {
    expect(check(subs('title', 'x', []))).toBe(false);
  });
});

describe('evaluate: extensible match', () => {
  it('with a type, the type’s equality rule or the named one', () => {
    expect(check(ext({ attribute: 'cn', value: 'JOHNNY' }))).toBe(true);
    expect(check(ext({ attribute: 'cn', rule: 'caseIgnoreMatch', value: 'JOHNNY' }))).toBe(true);
    expect(check(ext({ attribute: 'cn', rule: '2.5.13.2', value: 'JOHNNY' }))).toBe(true);
    expect(check(ext({ attribute: 'cn', rule: 'caseExactMatch', value: 'JOHNNY' }))).toBe(false);
    expect(check(ext({ attribute: 'cn', rule: '2.5.13.5', value: 'Johnny' }))).toBe(true);
  });

  it('with a rule and no type, every attribute the rule applies to', () => {
    expect(check(ext({ rule: 'caseIgnoreMatch', value: 'DOE' }))).toBe(true);
    expect(check(ext({ rule: 'caseExactMatch', value: 'DOE' }))).toBe(false);
    expect(check(ext({ rule: 'caseExactMatch', value: 'Doe' }))).toBe(true);
    expect(check(ext({ rule: 'caseIgnoreMatch', value: 'nobody' }))).toBe(false);
    expect(check(ext({ rule: 'integerMatch', value: '1005' }))).toBe(true);
    expect(check(ext({ rule: 'caseIgnoreIA5Match', value: 'JOHN.DOE@EXAMPLE.COM' }))).toBe(true);
    // userPassword is never matched, whatever the rule
    expect(check(ext({ rule: 'octetStringMatch', value: 'secret' }))).toBe(false);
    // the IA5 rules do not apply to directory strings and vice versa
    expect(check(ext({ rule: 'caseIgnoreIA5Match', value: 'doe' }))).toBe(false);
  });

  it('dnAttributes also tests every attribute value of the DN (RFC 4511 §4.5.1.7.7)', () => {
    expect(check(ext({ attribute: 'uid', value: 'JDOE', dnAttributes: true }))).toBe(true);
    expect(check(ext({ rule: 'caseIgnoreMatch', value: 'jdoe', dnAttributes: true }))).toBe(true);
    expect(check(ext({ attribute: 'cn', value: 'jdoe', dnAttributes: true }))).toBe(false);
    expect(check(ext({ attribute: 'ou', value: 'USERS', dnAttributes: true }))).toBe(true);
    expect(check(ext({ attribute: 'o', value: 'acme', dnAttributes: true }))).toBe(true);
    expect(check(ext({ attribute: 'ou', value: 'users' }))).toBe(false);
    expect(check(ext({ rule: 'caseIgnoreMatch', value: 'Acme', dnAttributes: true }))).toBe(true);
    expect(check(ext({ attribute: 'ou', value: 'Groups', dnAttributes: true }))).toBe(false);
  });

  it('unknown rules and types are Undefined', () => {
    expect(check(ext({ rule: '1.2.3.4', value: 'x' }))).toBeUndefined();
    expect(check(ext({ rule: 'caseIgnoreOrderingMatch', attribute: 'cn', value: 'x' }))).toBeUndefined();
    expect(check(ext({ attribute: 'noSuch', value: 'x' }))).toBeUndefined();
    expect(check(ext({ attribute: 'uidNumber', rule: 'integerMatch', value: 'x' }))).toBeUndefined();
  });

  it('bitwise AND and OR on integers', () => {
    expect(check(ext({ attribute: 'uidNumber', rule: BIT_AND_RULE, value: '1' }))).toBe(true); // 1005 = 0b1111101101
    expect(check(ext({ attribute: 'uidNumber', rule: BIT_AND_RULE, value: '5' }))).toBe(true);
    expect(check(ext({ attribute: 'uidNumber', rule: BIT_AND_RULE, value: '2' }))).toBe(false);
    expect(check(ext({ attribute: 'uidNumber', rule: BIT_OR_RULE, value: '3' }))).toBe(true);
    expect(check(ext({ attribute: 'uidNumber', rule: BIT_OR_RULE, value: '18' }))).toBe(false);
    expect(check(ext({ attribute: 'cn', rule: BIT_AND_RULE, value: '1' }))).toBeUndefined();
    expect(check(ext({ attribute: 'uidNumber', rule: BIT_AND_RULE, value: 'x' }))).toBeUndefined();
  });

  it('in-chain membership through the resolver', () => {
    expect(check(ext({ attribute: 'memberOf', rule: IN_CHAIN_RULE, value: GROUP_DN.toUpperCase() }))).toBe(true);
    expect(check(ext({ attribute: 'memberOf', rule: IN_CHAIN_RULE, value: 'cn=other,dc=roster' }))).toBe(false);
    expect(check(ext({ attribute: 'member', rule: IN_CHAIN_RULE, value: USER_DN }), group())).toBe(true);
    expect(check(ext({ attribute: 'memberOf', rule: IN_CHAIN_RULE, value: 'not a dn' }))).toBeUndefined();
    expect(check(ext({ attribute: 'cn', rule: IN_CHAIN_RULE, value: GROUP_DN }))).toBeUndefined();
    expect(check(ext({ rule: IN_CHAIN_RULE, value: GROUP_DN }))).toBeUndefined();
  });
});

describe('evaluate: three-valued logic (RFC 4511 §4.5.1.7)', () => {
  it('the building blocks', () => {
    expect(check(TRUE)).toBe(true);
    expect(check(FALSE)).toBe(false);
    expect(check(UNDEFINED)).toBeUndefined();
  });

  it('NOT', () => {
    expect(check(not(TRUE))).toBe(false);
    expect(check(not(FALSE))).toBe(true);
    expect(check(not(UNDEFINED))).toBeUndefined();
    expect(check(not(not(UNDEFINED)))).toBeUndefined();
  });

  it('AND: FALSE wins, then Undefined, else TRUE; the empty AND is TRUE', () => {
    expect(check(and())).toBe(true);
    expect(check(and(TRUE, TRUE))).toBe(true);
    expect(check(and(TRUE, UNDEFINED))).toBeUndefined();
    expect(check(and(UNDEFINED, TRUE))).toBeUndefined();
    expect(check(and(UNDEFINED, FALSE))).toBe(false);
    expect(check(and(FALSE, UNDEFINED))).toBe(false);
    expect(check(and(UNDEFINED, UNDEFINED))).toBeUndefined();
  });

  it('OR: TRUE wins, then Undefined, else FALSE; the empty OR is FALSE', () => {
    expect(check(or())).toBe(false);
    expect(check(or(FALSE, FALSE))).toBe(false);
    expect(check(or(FALSE, UNDEFINED))).toBeUndefined();
    expect(check(or(UNDEFINED, TRUE))).toBe(true);
    expect(check(or(TRUE, UNDEFINED))).toBe(true);
    expect(check(or(UNDEFINED, UNDEFINED))).toBeUndefined();
  });

  it('nested: (!(&(uid=jdoe)(unknown=x))) stays Undefined, so a search would not return the entry', () => {
    expect(check(not(and(TRUE, UNDEFINED)))).toBeUndefined();
    expect(check(not(or(FALSE, UNDEFINED)))).toBeUndefined();
    expect(check(or(not(UNDEFINED), TRUE))).toBe(true);
    expect(check(and(not(FALSE), or(UNDEFINED, not(FALSE))))).toBe(true);
    expect(check(not(and(FALSE, UNDEFINED)))).toBe(true);
  });

  it('works against any FilterTarget', () => {
    const target: FilterTarget = {
      values: (name) => (name === 'cn' ? ['Alpha'] : undefined),
      normalized: (def: AttributeTypeDef) => (def.name === 'cn' ? [normalizeValue(def, 'Alpha')] : undefined),
      dnValues: () => [{ type: 'cn', value: 'Alpha' }],
      attributeNames: () => ['cn'],
      chain: () => false,
    };
    expect(check(and(eq('cn', 'ALPHA'), present('cn'), not(present('sn'))), target)).toBe(true);
    expect(check(or(eq('sn', 'x'), eq('unknown', 'x')), target)).toBeUndefined();
  });
});

describe('filterToString (RFC 4515)', () => {
  it.each([
    [eq('uid', 'jdoe'), '(uid=jdoe)'],
    [ge('uidNumber', '10'), '(uidNumber>=10)'],
    [le('uidNumber', '10'), '(uidNumber<=10)'],
    [approx('cn', 'jon'), '(cn~=jon)'],
    [present('mail'), '(mail=*)'],
    [subs('cn', 'a', ['b', 'c'], 'd'), '(cn=a*b*c*d)'],
    [subs('cn', undefined, ['b'], undefined), '(cn=*b*)'],
    [subs('cn', 'a', []), '(cn=a*)'],
    [subs('cn', undefined, [], 'd'), '(cn=*d)'],
    [and(eq('a', '1'), or(eq('b', '2'), not(present('c')))), '(&(a=1)(|(b=2)(!(c=*))))'],
    [and(), '(&)'],
    [or(), '(|)'],
    [ext({ attribute: 'cn', rule: '2.5.13.5', value: 'x', dnAttributes: true }), '(cn:dn:2.5.13.5:=x)'],
    [ext({ attribute: 'cn', value: 'x' }), '(cn:=x)'],
    [ext({ rule: 'caseIgnoreMatch', value: 'x' }), '(:caseIgnoreMatch:=x)'],
    [ext({ rule: '2.5.13.2', value: 'x', dnAttributes: true }), '(:dn:2.5.13.2:=x)'],
  ])('%j → %s', (filter, text) => {
    expect(filterToString(filter)).toBe(text);
  });

  it('escapes "*", "(", ")", "\\" and NUL in values as \\XX', () => {
    expect(filterToString(eq('cn', 'a*b(c)d\\e\u0000f'))).toBe('(cn=a\\2ab\\28c\\29d\\5ce\\00f)');
    expect(filterToString(subs('cn', '(', ['*'], ')'))).toBe('(cn=\\28*\\2a*\\29)');
    expect(filterToString(ext({ attribute: 'cn', value: '*' }))).toBe('(cn:=\\2a)');
    expect(filterToString(ge('cn', '\\'))).toBe('(cn>=\\5c)');
  });

  it('leaves UTF-8 alone', () => {
    expect(filterToString(eq('cn', 'Zoë 日本'))).toBe('(cn=Zoë 日本)');
  });
});

describe('readFilter', () => {
  it('reads one filter and leaves the reader after it', () => {
    // (&(uid=a)(!(cn=*))) followed by a NULL
    const buf = Buffer.from('a010' + 'a30804037569640401' + '61' + 'a204' + '8702636e' + '0500', 'hex');
    const r = new BerReader(buf);
    expect(readFilter(r)).toEqual(and(eq('uid', 'a'), not(present('cn'))));
    r.null();
    r.finish();
  });

  it('throws BerError on an unknown choice or at the end of input', () => {
    expect(() => readFilter(new BerReader(Buffer.from('8a0161', 'hex')))).toThrow(BerError);
    expect(() => readFilter(new BerReader(Buffer.alloc(0)))).toThrow(BerError);
  });
});
