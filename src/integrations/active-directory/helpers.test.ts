import { BerWriter, EqualityFilter, ExtensibleFilter, OrFilter, SubstringFilter } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { escapeDnValue, escapeFilterValue, isWithin, plainDn, targetOf } from './connection.js';
import { DirSyncControl } from './controls.js';
import { parseDiagnostic, toAdError } from './errors.js';
import { parseFilter } from './filter.js';
import { guidFilterValue, guidToBytes, guidToString, sidToBytes, sidToString } from './guid.js';
import { GLOBAL_SECURITY_GROUP, UAC, withFlag } from './uac.js';

describe('objectGUID and objectSid', () => {
  // The bytes Samba returned for a user, and the GUID it printed in that user's tombstone name.
  const bytes = Buffer.from('2c70f326f46fe849a145cf43f0b7a122', 'hex');
  const uuid = '26f3702c-6ff4-49e8-a145-cf43f0b7a122';

  it('reads the first three fields little-endian', () => {
    expect(guidToString(bytes)).toBe(uuid);
    expect(guidToBytes(uuid)).toEqual(bytes);
    expect(guidToBytes(uuid.toUpperCase())).toEqual(bytes);
    expect(guidFilterValue(uuid)).toBe('\\2c\\70\\f3\\26\\f4\\6f\\e8\\49\\a1\\45\\cf\\43\\f0\\b7\\a1\\22');
    expect(() => guidToString(bytes.subarray(1))).toThrow();
    expect(() => guidToBytes('not-a-guid')).toThrow();
  });

  it('reads and writes SIDs', () => {
    const sid = 'S-1-5-21-4145262287-3157948259-693749564-1105';
    expect(sidToString(sidToBytes(sid))).toBe(sid);
    expect(sidToBytes('S-1-5-32-544').toString('hex')).toBe('01020000000000052000000020020000');
  });
});

describe('filters', () => {
  const wire = (text: string) => {
    const w = new BerWriter();
    parseFilter(text).write(w);
    return w.buffer;
  };

  it('sends escaped bytes as bytes (ldapts would re-encode them as UTF-8)', () => {
    const f = parseFilter(`(objectGUID=${guidFilterValue('26f3702c-6ff4-49e8-a145-cf43f0b7a122')})`) as EqualityFilter;
    expect(f).toBeInstanceOf(EqualityFilter);
    expect(f.value).toEqual(Buffer.from('2c70f326f46fe849a145cf43f0b7a122', 'hex'));
    expect(wire('(cn=Jos\\c3\\a9)')).toEqual(wire('(cn=José)'));
    expect((parseFilter('cn=a\\2ab') as EqualityFilter).value).toBe('a*b');
  });

  it('reads and/or/not, presence, substrings and extensible matches', () => {
    const f = parseFilter('(&(objectClass=user)(!(cn=x*y*z))(|(mail=*)(memberOf:1.2.840.113556.1.4.1941:=CN=G\\28x\\29,DC=a)))');
    expect(f.toString()).toContain('(objectClass=user)');
    const or = (f as unknown as { filters: unknown[] }).filters[2] as OrFilter;
    const inChain = or.filters[1] as ExtensibleFilter;
    expect(inChain).toBeInstanceOf(ExtensibleFilter);
    expect(inChain).toMatchObject({ matchType: 'memberOf', rule: '1.2.840.113556.1.4.1941', value: 'CN=G(x),DC=a' });
    const sub = ((f as unknown as { filters: unknown[] }).filters[1] as { filter: SubstringFilter }).filter;
    expect(sub).toMatchObject({ initial: 'x', any: ['y'], final: 'z' });
    expect(() => parseFilter('(cn=a')).toThrow(/invalid LDAP filter/);
    expect(() => parseFilter('(cn=\\zz)')).toThrow(/bad escape/);
  });

  it('escapes values for filters and DNs', () => {
    expect(escapeFilterValue('CN=Doe\\, J (ops)*')).toBe('CN=Doe\\5c, J \\28ops\\29\\2a');
    expect(escapeDnValue('Doe, John+1')).toBe('Doe\\, John\\+1');
    expect(escapeDnValue(' #lead ')).toBe('\\ #lead\\ ');
    expect(isWithin('CN=a,OU=X, DC=Corp', 'ou=x,dc=corp')).toBe(true);
    expect(isWithin('CN=a,OU=XY,DC=corp', 'OU=Y,DC=corp')).toBe(false);
    expect(plainDn('<GUID=4e2e>;<SID=S-1-5>;OU=probe,DC=roster')).toBe('OU=probe,DC=roster');
  });
});

describe("AD's errors", () => {
  it("reads Samba's and Windows' diagnostic messages", () => {
    expect(parseDiagnostic('0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 7 characters! Code: 0x13')).toEqual({
      adCode: '0000052D',
      reason: 'the password is too short. It should be equal or longer than 7 characters!',
    });
    expect(parseDiagnostic('0000052D: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0\n').reason).toMatch(/password policy/);
    expect(parseDiagnostic('80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v4563')).toMatchObject({ bindData: '775', reason: 'the account is locked out' });
    expect(parseDiagnostic('0000202C: Unable to unmarshall cookie at ../../source4/dsdb/samdb/ldb_modules/dirsync.c:1259').reason).toBe('Unable to unmarshall cookie');
  });

  it('maps network and TLS failures', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:636'), { code: 'ECONNREFUSED' });
    expect(toAdError(refused, 'x').kind).toBe('transient');
    const untrusted = Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    expect(toAdError(untrusted, 'x').kind).toBe('stop');
    expect(toAdError(new Error('SearchRequest: Operation timed out'), 'x').kind).toBe('transient');
  });
});

describe('connection options', () => {
  it('insists on TLS unless plain is allowed', () => {
    expect(targetOf({ url: 'ldaps://dc1.corp.example', bindDn: 'x', password: 'y' })).toMatchObject({ port: 636, ldaps: true, encrypted: true, tls: { servername: 'dc1.corp.example' } });
    expect(targetOf({ url: 'ldap://10.0.0.1', bindDn: 'x', password: 'y', startTls: true })).toMatchObject({ port: 389, startTls: true, encrypted: true });
    expect(targetOf({ url: 'ldap://10.0.0.1', bindDn: 'x', password: 'y', startTls: true }).tls.servername).toBeUndefined();
    expect(() => targetOf({ url: 'ldap://dc1', bindDn: 'x', password: 'y' })).toThrow(/clear/);
    expect(targetOf({ url: 'ldap://dc1', bindDn: 'x', password: 'y', allowPlain: true }).encrypted).toBe(false);
    expect(() => targetOf({ url: 'http://dc1', bindDn: 'x', password: 'y' })).toThrow(/ldaps/);
  });
});

describe('flags and controls', () => {
  it('flips one userAccountControl bit', () => {
    expect(withFlag(UAC.NORMAL_ACCOUNT | UAC.DONT_EXPIRE_PASSWORD, UAC.ACCOUNTDISABLE, true)).toBe(0x10202);
    expect(withFlag(0x10202, UAC.ACCOUNTDISABLE, false)).toBe(0x10200);
    expect(GLOBAL_SECURITY_GROUP).toBe(-2147483646);
  });

  it('encodes the DirSync request and reads its response', () => {
    const control = new DirSyncControl(1, Buffer.from('cookie'), 1000);
    const w = new BerWriter();
    control.write(w);
    // SEQUENCE { OID, critical TRUE, OCTET STRING { SEQUENCE { 1, 1000, "cookie" } } }
    expect(w.buffer.toString('hex')).toContain('0101ff');
    expect(w.buffer.toString('hex')).toContain(Buffer.from('cookie').toString('hex'));
  });
});
