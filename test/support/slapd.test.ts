import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ldapTool, slapdUnavailable, startSlapd, type Slapd } from './slapd.js';

const reason = slapdUnavailable();
const required = process.env.ROSTER_REQUIRE_PEERS === '1';
if (reason && !required) console.warn(`SKIPPING slapd tests: ${reason}`);

const USER_DN = 'uid=ada,ou=Users,dc=roster';
const GROUP_DN = 'cn=engineers,ou=Groups,dc=roster';
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm5ZcJg0xXbJHqzSSRmHtNg4Xg6pdC2gnNaXrVnQo8V ada@roster';

const LDIF = `dn: ou=Users,dc=roster
objectClass: organizationalUnit
ou: Users

dn: ou=Groups,dc=roster
objectClass: organizationalUnit
ou: Groups

dn: ${USER_DN}
objectClass: inetOrgPerson
objectClass: posixAccount
objectClass: ldapPublicKey
uid: ada
cn: Ada Lovelace
sn: Lovelace
mail: ada@roster.test
uidNumber: 10001
gidNumber: 10001
homeDirectory: /home/ada
sshPublicKey: ${SSH_KEY}
userPassword: pw-Test-1
memberOf: ${GROUP_DN}

dn: ${GROUP_DN}
objectClass: groupOfNames
objectClass: posixGroup
cn: engineers
gidNumber: 20001
member: ${USER_DN}
memberUid: ada
`;

describe.skipIf(reason !== null && !required)('test slapd', () => {
  let slapd: Slapd;

  beforeAll(async () => {
    if (reason) throw new Error(`${reason}; ROSTER_REQUIRE_PEERS=1 forbids skipping`);
    slapd = await startSlapd({ suffix: 'dc=roster', ldif: LDIF });
  });

  afterAll(async () => {
    await slapd?.stop();
  });

  const search = (filter: string, ...attributes: string[]) =>
    ldapTool('ldapsearch', ['-x', '-LLL', '-o', 'ldif_wrap=no', '-H', slapd.url, '-b', 'dc=roster', filter, ...attributes]);

  it('finds a user by uid, with the memberOf loaded by slapadd', async () => {
    const result = await search('(uid=ada)', 'uid', 'sshPublicKey', 'memberOf');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`dn: ${USER_DN}\n`);
    expect(result.stdout).toContain(`memberOf: ${GROUP_DN}\n`);
    expect(result.stdout).toContain(`sshPublicKey: ${SSH_KEY}\n`);
  });

  it('holds a group that is both a groupOfNames and a posixGroup', async () => {
    const result = await search('(&(objectClass=groupOfNames)(objectClass=posixGroup)(gidNumber=20001))', 'member', 'memberUid');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`dn: ${GROUP_DN}\n`);
    expect(result.stdout).toContain(`member: ${USER_DN}\n`);
    expect(result.stdout).toContain('memberUid: ada\n');
  });

  it('hides userPassword from anonymous readers', async () => {
    const result = await search('(uid=ada)', 'userPassword');
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('userPassword');
  });

  it('binds as the user over LDAPS, trusting only the test CA', async () => {
    const whoami = (password: string) =>
      ldapTool('ldapwhoami', ['-x', '-H', slapd.ldapsUrl, '-D', USER_DN, '-w', password], {
        env: { LDAPTLS_CACERT: slapd.caFile, LDAPTLS_REQCERT: 'demand' },
      });
    const ok = await whoami('pw-Test-1');
    expect(ok.stderr).toBe('');
    expect(ok.stdout.trim()).toBe(`dn:${USER_DN}`);
    expect((await whoami('wrong')).code).toBe(49);
  });

  it('binds as the root DN', async () => {
    const result = await ldapTool('ldapwhoami', ['-x', '-H', slapd.url, '-D', slapd.rootDn, '-w', slapd.rootPassword]);
    expect(result.stdout.trim()).toBe('dn:cn=admin,dc=roster');
  });
});
