import { InvalidCredentialsError, NoSuchObjectError } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { dnKey, isWithin, parsedDnKey } from './dn.js';
import { isDisabled, kindOf, memberDnsOf, userObject } from './entry.js';
import { toLdapError } from './errors.js';

describe('dnKey', () => {
  it('compares DNs whatever their case, spacing and escaping', () => {
    expect(dnKey('UID=Bob, ou=users,DC=Roster')).toBe(dnKey('uid=bob,ou=Users,dc=roster'));
    // slapd writes an escaped comma as \2C; a member value may say "\,".
    expect(dnKey('cn=Ops\\2C EMEA,dc=roster')).toBe(dnKey('cn=Ops\\, EMEA,dc=roster'));
    expect(dnKey('cn=Ops\\2C EMEA,dc=roster')).not.toBe(dnKey('cn=Ops,cn=EMEA,dc=roster'));
    expect(dnKey('cn=Jos\\C3\\A9,dc=roster')).toBe(dnKey('cn=josé,dc=roster'));
    expect(dnKey('cn=a+uid=b,dc=roster')).toBe(dnKey('UID=b + CN=a,dc=roster'));
    expect(dnKey('cn=Ada  Lovelace,dc=roster')).toBe(dnKey('cn=ada lovelace,dc=roster'));
    expect(dnKey('')).toBe('');
  });

  it('takes its shortcut only where the long way gives the same key', () => {
    for (const dn of ['uid=bob,ou=Users,dc=roster', ' CN = Ada  Lovelace , DC=roster', 'cn=a=b,dc=x', 'o=Acme Inc.,c=US', 'cn=x@y.z,dc=roster']) {
      expect(dnKey(dn), dn).toBe(parsedDnKey(dn));
    }
  });

  it('tells whether a DN lies under a base', () => {
    expect(isWithin('uid=a,ou=Users,dc=roster', 'DC=Roster')).toBe(true);
    expect(isWithin('dc=roster', 'dc=roster')).toBe(true);
    expect(isWithin('uid=a,ou=Users,dc=rosterx', 'dc=roster')).toBe(false);
    expect(isWithin('uid=a,dc=other', 'ou=Users,dc=roster')).toBe(false);
  });
});

describe('entries', () => {
  const entry = (attributes: Record<string, string[]>) => ({ dn: 'uid=a,dc=roster', attributes: { entryuuid: ['0A2B3C4D-0000-1000-8000-000000000001'], ...attributes } });

  it('classifies users and groups; a posixGroup that is also a groupOfNames is a group', () => {
    expect(kindOf(entry({ objectclass: ['top', 'inetOrgPerson'] }))).toBe('user');
    expect(kindOf(entry({ objectclass: ['account', 'posixAccount'] }))).toBe('user');
    expect(kindOf(entry({ objectclass: ['groupOfNames', 'posixGroup'] }))).toBe('group');
    expect(kindOf(entry({ objectclass: ['GROUPOFUNIQUENAMES'] }))).toBe('group');
    expect(kindOf(entry({ objectclass: ['device'] }))).toBe('other');
  });

  it("reads uniqueMember without its optional #'…'B uid", () => {
    expect(memberDnsOf(entry({ member: ['uid=a,dc=r'], uniquemember: ["uid=b,dc=r#'0101'B", 'uid=c,dc=r'] }))).toEqual(['uid=a,dc=r', 'uid=b,dc=r', 'uid=c,dc=r']);
  });

  it('reads the lock conventions', () => {
    const day = 20_000;
    const now = day * 86_400_000 + 3_600_000;
    expect(isDisabled({}, now)).toBe(false);
    expect(isDisabled({ nsaccountlock: ['TRUE'] }, now)).toBe(true);
    expect(isDisabled({ nsaccountlock: ['true'] }, now)).toBe(true);
    expect(isDisabled({ nsaccountlock: ['FALSE'] }, now)).toBe(false);
    expect(isDisabled({ pwdaccountlockedtime: ['000001010000Z'] }, now)).toBe(true);
    expect(isDisabled({ shadowexpire: [String(day - 1)] }, now)).toBe(true);
    // shadow-utils: expired from the day itself on.
    expect(isDisabled({ shadowexpire: [String(day)] }, now)).toBe(true);
    expect(isDisabled({ shadowexpire: [String(day + 1)] }, now)).toBe(false);
    expect(isDisabled({ shadowexpire: ['-1'] }, now)).toBe(false);
    expect(isDisabled({ shadowexpire: ['0'] }, now)).toBe(false);
  });

  it('anchors on entryUUID, lowercase, and refuses an entry without one', () => {
    expect(userObject(entry({ uid: ['a'], cn: ['A'], mail: ['a@x'], userpassword: ['secret'] }), ['mail']).objectGuid).toBe('0a2b3c4d-0000-1000-8000-000000000001');
    expect(userObject(entry({ uid: ['a'], cn: ['A'], mail: ['a@x'], userpassword: ['secret'] }), ['mail']).attributes).toEqual({ uid: ['a'], cn: ['A'], mail: ['a@x'] });
    expect(() => userObject({ dn: 'uid=a,dc=r', attributes: { uid: ['a'] } }, [])).toThrow(/no entryUUID/);
  });
});

describe('toLdapError', () => {
  it('gives each failure its sync error kind', () => {
    expect(toLdapError(new InvalidCredentialsError(), 'bind')).toMatchObject({ kind: 'stop', status: 49 });
    expect(toLdapError(new NoSuchObjectError(), 'read')).toMatchObject({ kind: 'not_found', status: 32 });
    expect(toLdapError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'bind')).toMatchObject({ kind: 'transient' });
    expect(toLdapError(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), 'bind')).toMatchObject({ kind: 'stop' });
    expect(toLdapError(new Error('BindRequest: Operation timed out'), 'bind')).toMatchObject({ kind: 'transient' });
  });
});
