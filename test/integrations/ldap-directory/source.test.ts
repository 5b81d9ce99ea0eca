import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdObject } from '../../../src/integrations/active-directory/agent.js';
import { openLdapDirectorySource, type LdapDirectoryOptions, type LdapDirectorySource } from '../../../src/integrations/ldap-directory/source.js';
import {
  groupLdif,
  ouLdif,
  serviceAccountLdif,
  startSilentPeer,
  userLdif,
} from '../../support/ldap-directory-fixture.js';
import { ldapTool, slapdPoliciesUnavailable, slapdUnavailable, startSlapd, type Slapd } from '../../support/slapd.js';

/**
 * The generic LDAP directory source against a real OpenLDAP slapd: TLS and binds, the scope through
 * groupOfNames, groupOfUniqueNames and posixGroup memberUid (nested, with a cycle), entryUUID
 * anchors, lock conventions, change marks (a scan of entryCSN on test/support/slapd.ts's slapd, which
 * has no syncprov; contextCSN on the fixture's slapd, which has), delegated authentication, timeouts,
 * and a 2,000-user scope.
 */

const reason = slapdUnavailable();
const policyReason = reason ?? slapdPoliciesUnavailable();
const required = process.env.ROSTER_REQUIRE_PEERS === '1';
if (reason && !required) console.warn(`SKIPPING the LDAP directory source tests: ${reason}`);
else if (policyReason && !required) console.warn(`SKIPPING the LDAP directory source tests on syncprov/ppolicy: ${policyReason}`);

const SUFFIX = 'dc=roster';
const USERS = `ou=Users,${SUFFIX}`;
const GROUPS = `ou=Groups,${SUFFIX}`;
const AGENT_DN = `cn=roster-agent,${SUFFIX}`;
const AGENT_PASSWORD = 'agent-Pw-1';
const USER_ATTRIBUTES = ['uid', 'mail', 'givenname', 'sn', 'displayname', 'cn', 'title', 'employeenumber', 'description'];

const dn = (uid: string) => `uid=${uid},${USERS}`;
const group = (cn: string) => `cn=${cn},${GROUPS}`;
const SCOPE = group('roster-scope');

/**
 * The scope: ada directly; bob through eng (spelled oddly in eng's member); carol through ops, a
 * groupOfUniqueNames in eng, her value carrying a uid suffix; dave and frank through posix, an
 * rfc2307bis groupOfNames+posixGroup in ops, by memberUid only ("Frank" in another case); gina
 * through cycle-b, in a cycle with cycle-a that also leads back to the scope group. erin is only in
 * outside. Dangling members and a device are ignored.
 */
const LDIF = [
  ouLdif(USERS),
  ouLdif(GROUPS),
  serviceAccountLdif(AGENT_DN, AGENT_PASSWORD),
  `dn: cn=printer,${SUFFIX}\nobjectClass: device\ncn: printer\n`,
  userLdif(USERS, { uid: 'ada', cn: 'Ada Lovelace', sn: 'Lovelace', mail: 'ada@roster.test', title: 'Analyst', password: 'pw-Ada-1', posix: true }, 10_001),
  userLdif(USERS, { uid: 'bob', cn: 'Bob Babbage' }),
  userLdif(USERS, { uid: 'carol', cn: 'Carol Shaw' }),
  userLdif(USERS, { uid: 'dave', cn: 'Dave Cutler', posix: true }, 10_004),
  userLdif(USERS, { uid: 'frank', cn: 'Frank Allen', posix: true }, 10_006),
  userLdif(USERS, { uid: 'gina', cn: 'Gina Smith' }),
  userLdif(USERS, { uid: 'erin', cn: 'Erin Outside' }),
  groupLdif({ dn: SCOPE, classes: ['groupOfNames'], description: 'Imported into Roster', member: [dn('ada'), group('eng'), group('cycle-a'), `cn=printer,${SUFFIX}`, dn('ghost')] }),
  groupLdif({ dn: group('eng'), classes: ['groupOfNames'], description: 'Engineering', member: [`UID=Bob, ou=users,DC=Roster`, group('ops')] }),
  groupLdif({ dn: group('ops'), classes: ['groupOfUniqueNames'], uniqueMember: [`${dn('carol')}#'0101'B`, group('posix')] }),
  groupLdif({ dn: group('posix'), classes: ['groupOfNames', 'posixGroup'], gidNumber: 30_001, member: [`cn=placeholder,${SUFFIX}`], memberUid: ['dave', 'Frank'] }),
  groupLdif({ dn: group('cycle-a'), classes: ['groupOfNames'], member: [group('cycle-b')] }),
  groupLdif({ dn: group('cycle-b'), classes: ['groupOfNames'], member: [group('cycle-a'), dn('gina'), SCOPE] }),
  groupLdif({ dn: group('outside'), classes: ['groupOfNames'], member: [dn('erin'), dn('ada')] }),
].join('\n');

const byCn = (objects: AdObject[]) => new Map(objects.map((o) => [o.attributes.cn?.[0], o]));
const uids = (users: AdObject[]) => users.map((u) => u.attributes.uid?.[0]).sort();
const cns = (groups: AdObject[]) => groups.map((g) => g.attributes.cn?.[0]).sort();

async function rejection(promise: Promise<unknown>): Promise<{ kind?: string; message: string; ms: number }> {
  const started = Date.now();
  try {
    await promise;
  } catch (e) {
    return { kind: (e as { kind?: string }).kind, message: (e as Error).message, ms: Date.now() - started };
  }
  throw new Error('expected a rejection');
}

describe.skipIf(reason !== null && !required)('LDAP directory source against slapd', () => {
  let slapd: Slapd;
  let ca: Buffer;
  let source: LdapDirectorySource;
  const options = (extra: Partial<LdapDirectoryOptions> = {}): LdapDirectoryOptions => ({ url: slapd.ldapsUrl, bindDn: AGENT_DN, password: AGENT_PASSWORD, ca, ...extra });
  const modify = async (ldif: string) => {
    const result = await ldapTool('ldapmodify', ['-x', '-H', slapd.url, '-D', slapd.rootDn, '-w', slapd.rootPassword], { input: ldif });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  };

  beforeAll(async () => {
    if (reason) throw new Error(`${reason}; ROSTER_REQUIRE_PEERS=1 forbids skipping`);
    slapd = await startSlapd({ suffix: SUFFIX, ldif: LDIF });
    ca = await readFile(slapd.caFile);
    source = await openLdapDirectorySource(options());
  });

  afterAll(async () => {
    await source?.close();
    await slapd?.stop();
  });

  describe('connecting', () => {
    it('binds over LDAPS trusting the given CA, and finds the naming context in the root DSE', async () => {
      expect(await source.namingContext()).toBe(SUFFIX);
      const other = await openLdapDirectorySource(options({ baseDn: USERS }));
      expect(await other.namingContext()).toBe(USERS);
      await other.close();
    });

    it('refuses plain ldap:// unless allowPlain, before sending anything', async () => {
      const refused = await rejection(openLdapDirectorySource(options({ url: slapd.url })));
      expect(refused.kind).toBe('stop');
      expect(refused.message).toMatch(/plain LDAP would send the password in clear/);
      const plain = await openLdapDirectorySource(options({ url: slapd.url, allowPlain: true }));
      expect(await plain.namingContext()).toBe(SUFFIX);
      await plain.close();
    });

    it('upgrades ldap:// with StartTLS', async () => {
      const tls = await openLdapDirectorySource(options({ url: slapd.url, startTls: true }));
      expect((await tls.scope(SCOPE, ['uid'])).users).toHaveLength(6);
      await tls.close();
    });

    it('stops on a certificate it cannot trust, over LDAPS and StartTLS', async () => {
      for (const extra of [{}, { url: slapd.url, startTls: true }]) {
        const refused = await rejection(openLdapDirectorySource({ ...options(extra), ca: undefined }));
        expect(refused.kind, JSON.stringify(extra)).toBe('stop');
        expect(refused.message).toMatch(/TLS failed|certificate/i);
      }
    });

    it('stops on bad credentials, and on an empty password (an anonymous bind)', async () => {
      const wrong = await rejection(openLdapDirectorySource(options({ password: 'wrong' })));
      expect(wrong).toMatchObject({ kind: 'stop' });
      expect(wrong.message).toMatch(/refused the credentials.*\[LDAP 49\]/);
      expect(wrong.message).not.toContain('wrong');
      expect(await rejection(openLdapDirectorySource(options({ bindDn: `cn=nobody,${SUFFIX}` })))).toMatchObject({ kind: 'stop' });
      expect(await rejection(openLdapDirectorySource(options({ password: '' })))).toMatchObject({ kind: 'stop' });
    });

    it('is transient when nothing listens', async () => {
      const peer = await startSilentPeer();
      const port = Number(new URL(peer.url).port);
      await peer.close();
      const refused = await rejection(openLdapDirectorySource(options({ url: `ldaps://127.0.0.1:${port}`, timeoutMs: 2_000 })));
      expect(refused.kind).toBe('transient');
      expect(refused.message).toMatch(/ECONNREFUSED/);
    });

    it('is transient within the timeout when the server never answers (TLS handshake, StartTLS, bind)', async () => {
      const peer = await startSilentPeer();
      try {
        for (const extra of [{ url: peer.ldapsUrl }, { url: peer.url, startTls: true }, { url: peer.url, allowPlain: true }]) {
          const hung = await rejection(openLdapDirectorySource(options({ ...extra, timeoutMs: 400 })));
          expect(hung.kind, JSON.stringify(extra)).toBe('transient');
          expect(hung.ms, JSON.stringify(extra)).toBeLessThan(1_500);
        }
      } finally {
        await peer.close();
      }
    });
  });

  describe('scope', () => {
    it('holds the members nested at any depth through groupOfNames, groupOfUniqueNames and posixGroup memberUid, cycles included', async () => {
      const scope = await source.scope(SCOPE, USER_ATTRIBUTES);
      expect(uids(scope.users)).toEqual(['ada', 'bob', 'carol', 'dave', 'frank', 'gina']);
      expect(cns(scope.groups)).toEqual(['cycle-a', 'cycle-b', 'eng', 'ops', 'posix']);

      const groups = byCn(scope.groups);
      const members = (cn: string) => [...(groups.get(cn)?.attributes.member ?? [])].sort();
      // Member DNs are the members' own dn, whatever the spelling in the group.
      expect(members('eng')).toEqual([dn('bob'), group('ops')].sort());
      expect(members('ops')).toEqual([dn('carol'), group('posix')].sort());
      expect(members('posix')).toEqual([dn('dave'), dn('frank')].sort());
      expect(members('cycle-a')).toEqual([group('cycle-b')]);
      // The scope group is not in the scope, so not a member either.
      expect(members('cycle-b')).toEqual([dn('gina'), group('cycle-a')].sort());
      expect(groups.get('eng')?.attributes).toEqual({ cn: ['eng'], description: ['Engineering'], member: expect.any(Array) });
      expect(groups.get('posix')?.objectClass).toEqual(expect.arrayContaining(['groupOfNames', 'posixGroup']));

      const ada = scope.users.find((u) => u.attributes.uid?.[0] === 'ada')!;
      expect(ada.dn).toBe(dn('ada'));
      expect(ada.attributes).toEqual({ uid: ['ada'], cn: ['Ada Lovelace'], sn: ['Lovelace'], mail: ['ada@roster.test'], title: ['Analyst'] });
      expect(ada.objectClass).toEqual(expect.arrayContaining(['inetOrgPerson', 'posixAccount']));
      expect(scope.users.every((u) => u.deleted === false && u.disabled === false)).toBe(true);
    });

    it('always reads uid and cn, and any extra attribute asked for', async () => {
      const scope = await source.scope(SCOPE, ['homeDirectory']);
      const ada = scope.users.find((u) => u.attributes.uid?.[0] === 'ada')!;
      expect(ada.attributes).toEqual({ uid: ['ada'], cn: ['Ada Lovelace'], homedirectory: ['/home/ada'] });
    });

    it('anchors users and groups on entryUUID, lowercase', async () => {
      const result = await ldapTool('ldapsearch', ['-x', '-LLL', '-o', 'ldif_wrap=no', '-H', slapd.url, '-b', SUFFIX, '(|(uid=ada)(cn=eng))', 'entryUUID']);
      const expected = new Map([...result.stdout.matchAll(/^dn: (.+)\nentryUUID: (.+)$/gm)].map((m) => [m[1]!, m[2]!]));
      expect(expected.size).toBe(2);
      const scope = await source.scope(SCOPE, ['uid']);
      for (const object of [...scope.users, ...scope.groups]) expect(object.objectGuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(scope.users.find((u) => u.dn === dn('ada'))?.objectGuid).toBe(expected.get(dn('ada'))!.toLowerCase());
      expect(scope.groups.find((g) => g.dn === group('eng'))?.objectGuid).toBe(expected.get(group('eng'))!.toLowerCase());
      expect(new Set([...scope.users, ...scope.groups].map((o) => o.objectGuid)).size).toBe(11);
    });

    it('reads the same scope entry by entry as through entryDN filters', async () => {
      const each = await openLdapDirectorySource(options({ scopeRead: { byDn: 'base', concurrency: 4 } }));
      const [a, b] = await Promise.all([source.scope(SCOPE, USER_ATTRIBUTES), each.scope(SCOPE, USER_ATTRIBUTES)]);
      await each.close();
      const sorted = (objects: AdObject[]) =>
        objects.map((o) => ({ ...o, attributes: { ...o.attributes, ...(o.attributes.member ? { member: [...o.attributes.member].sort() } : {}) } })).sort((x, y) => x.dn.localeCompare(y.dn));
      expect(sorted(b.users)).toEqual(sorted(a.users));
      expect(sorted(b.groups)).toEqual(sorted(a.groups));
    });

    it('takes a nested group as the scope: only what lies below it', async () => {
      const scope = await source.scope(group('ops'), ['uid']);
      expect(uids(scope.users)).toEqual(['carol', 'dave', 'frank']);
      expect(cns(scope.groups)).toEqual(['posix']);
    });

    it('fails with a bad request naming the DN for a scope group that is not there, not a group, or not under the base', async () => {
      const missing = await rejection(source.scope(group('nothing'), ['uid']));
      expect(missing).toMatchObject({ kind: 'bad_request' });
      expect(missing.message).toContain(group('nothing'));
      expect(missing.message).toMatch(/does not exist/);
      const user = await rejection(source.scope(dn('ada'), ['uid']));
      expect(user).toMatchObject({ kind: 'bad_request' });
      expect(user.message).toContain(`${dn('ada')} is not a group`);
      expect(await rejection(source.scope('not a dn', ['uid']))).toMatchObject({ kind: 'bad_request' });
      const narrow = await openLdapDirectorySource(options({ baseDn: USERS }));
      const outside = await rejection(narrow.scope(SCOPE, ['uid']));
      await narrow.close();
      expect(outside).toMatchObject({ kind: 'bad_request' });
      expect(outside.message).toContain(`not under the directory base ${USERS}`);
    });
  });

  describe('authenticate', () => {
    it('binds as the user: right, wrong and empty passwords, unknown users', async () => {
      expect(await source.authenticate(dn('ada'), 'pw-Ada-1')).toEqual({ ok: true });
      const wrong = await source.authenticate(dn('ada'), 'pw-wrong');
      expect(wrong).toEqual({ ok: false, reason: expect.stringMatching(/invalid credentials/i) });
      expect(JSON.stringify(wrong)).not.toContain('pw-wrong');
      expect(await source.authenticate(dn('ada'), '')).toEqual({ ok: false, reason: expect.any(String) });
      expect(await source.authenticate('', 'pw-Ada-1')).toEqual({ ok: false, reason: expect.any(String) });
      expect((await source.authenticate(dn('ghost'), 'pw-Ada-1')).ok).toBe(false);
      // The source's own connection is untouched.
      expect((await source.scope(SCOPE, ['uid'])).users).toHaveLength(6);
    });
  });

  describe('changeMark without syncprov (a digest of entryCSN under the base)', () => {
    it('is stable while nothing changes, and moves on an add, a modify and a delete', async () => {
      const first = await source.changeMark();
      expect(first).toMatch(/^scan:/);
      expect(await source.changeMark()).toBe(first);

      await modify(`dn: uid=newcomer,${USERS}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: newcomer\ncn: Newcomer\nsn: Newcomer\n`);
      const added = await source.changeMark();
      expect(added).not.toBe(first);
      expect(await source.changeMark()).toBe(added);

      await modify(`dn: ${dn('erin')}\nchangetype: modify\nreplace: title\ntitle: Auditor\n`);
      const modified = await source.changeMark();
      expect(modified).not.toBe(added);

      // erin's CSN is now the greatest: deleting another entry leaves the greatest CSN as it was.
      await modify(`dn: uid=newcomer,${USERS}\nchangetype: delete\n`);
      const deleted = await source.changeMark();
      expect(deleted).not.toBe(modified);
      expect(deleted.split(':')[2]).toBe(modified.split(':')[2]);
      expect(await source.changeMark()).toBe(deleted);
    });
  });
});

describe.skipIf(policyReason !== null && !required)('LDAP directory source against slapd with syncprov and ppolicy', () => {
  const today = Math.floor(Date.now() / 86_400_000);
  const lockable = { extraClasses: ['rosterTestLockable', 'shadowAccount'] };
  const LOCKS_LDIF = [
    ouLdif(USERS),
    ouLdif(GROUPS),
    serviceAccountLdif(AGENT_DN, AGENT_PASSWORD),
    userLdif(USERS, { uid: 'ns-locked', ...lockable, extra: ['nsAccountLock: TRUE'] }),
    userLdif(USERS, { uid: 'ns-unlocked', ...lockable, extra: ['nsAccountLock: false'] }),
    userLdif(USERS, { uid: 'pp-locked', password: 'pw-Locked-1', extra: ['pwdAccountLockedTime: 000001010000Z'] }),
    userLdif(USERS, { uid: 'expired', ...lockable, extra: [`shadowExpire: ${today - 1}`] }),
    userLdif(USERS, { uid: 'expires-later', ...lockable, extra: [`shadowExpire: ${today + 30}`] }),
    userLdif(USERS, { uid: 'no-expiry', ...lockable, extra: ['shadowExpire: -1'] }),
    userLdif(USERS, { uid: 'plain', password: 'pw-Plain-1' }),
    groupLdif({ dn: SCOPE, classes: ['groupOfNames'], member: ['ns-locked', 'ns-unlocked', 'pp-locked', 'expired', 'expires-later', 'no-expiry', 'plain'].map(dn) }),
  ].join('\n');

  let slapd: Slapd;
  let source: LdapDirectorySource;
  const modify = async (ldif: string) => {
    const result = await ldapTool('ldapmodify', ['-x', '-H', slapd.url, '-D', slapd.rootDn, '-w', slapd.rootPassword], { input: ldif });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  };

  beforeAll(async () => {
    if (policyReason) throw new Error(`${policyReason}; ROSTER_REQUIRE_PEERS=1 forbids skipping`);
    // Without TLS: the StartTLS refusal below needs a server that has none.
    slapd = await startSlapd({ suffix: SUFFIX, ldif: LOCKS_LDIF, policies: true, tls: false });
    source = await openLdapDirectorySource({ url: slapd.url, allowPlain: true, bindDn: AGENT_DN, password: AGENT_PASSWORD, timeoutMs: 2_000 });
  });

  afterAll(async () => {
    await source?.close();
    await slapd?.stop();
  });

  it('marks users disabled by nsAccountLock, pwdAccountLockedTime and a past shadowExpire', async () => {
    const scope = await source.scope(SCOPE, ['uid']);
    const disabled = Object.fromEntries(scope.users.map((u) => [u.attributes.uid![0], u.disabled]));
    expect(disabled).toEqual({ 'ns-locked': true, 'ns-unlocked': false, 'pp-locked': true, expired: true, 'expires-later': false, 'no-expiry': false, plain: false });
    // The lock attributes decide `disabled`; they are not handed on as attributes nobody asked for.
    expect(scope.users.find((u) => u.attributes.uid![0] === 'ns-locked')?.attributes).toEqual({ uid: ['ns-locked'], cn: ['ns-locked'] });
  });

  it('uses contextCSN: stable while nothing changes, moving on an add, a modify and a delete', async () => {
    const first = await source.changeMark();
    expect(first).toMatch(/^contextCSN:\d{14}\.\d{6}Z#/);
    expect(await source.changeMark()).toBe(first);

    await modify(`dn: uid=newcomer,${USERS}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: newcomer\ncn: Newcomer\nsn: Newcomer\n`);
    const added = await source.changeMark();
    expect(added).not.toBe(first);

    await modify(`dn: ${dn('ns-locked')}\nchangetype: modify\nreplace: nsAccountLock\nnsAccountLock: FALSE\n`);
    const modified = await source.changeMark();
    expect(modified).not.toBe(added);
    expect((await source.scope(SCOPE, ['uid'])).users.find((u) => u.attributes.uid![0] === 'ns-locked')?.disabled).toBe(false);

    await modify(`dn: uid=newcomer,${USERS}\nchangetype: delete\n`);
    const deleted = await source.changeMark();
    expect(deleted).not.toBe(modified);
    expect(await source.changeMark()).toBe(deleted);
  });

  it('stops when the server refuses StartTLS (this one has no certificate)', async () => {
    const refused = await rejection(openLdapDirectorySource({ url: slapd.url, startTls: true, bindDn: AGENT_DN, password: AGENT_PASSWORD, timeoutMs: 2_000 }));
    expect(refused.kind).toBe('stop');
    expect(refused.message).toMatch(/StartTLS .*refused/);
  });

  it('authenticates a user; a locked account is refused', async () => {
    expect(await source.authenticate(dn('plain'), 'pw-Plain-1')).toEqual({ ok: true });
    expect(await source.authenticate(dn('pp-locked'), 'pw-Locked-1')).toEqual({ ok: false, reason: expect.any(String) });
  });

  it('throws a transient error once the server is gone (runs last: stops slapd)', async () => {
    await slapd.stop();
    for (const call of [() => source.authenticate(dn('plain'), 'pw-Plain-1'), () => source.changeMark(), () => source.scope(SCOPE, ['uid'])]) {
      const failed = await rejection(call());
      expect(failed.kind).toBe('transient');
      expect(failed.ms).toBeLessThan(3_000);
    }
  });
});

describe.skipIf(reason !== null && !required)('LDAP directory source: a scope of 2,000 users', () => {
  const BULK = 'dc=bulk';
  const PEOPLE = `ou=People,${BULK}`;
  const TEAMS = `ou=Teams,${BULK}`;
  const IN_SCOPE = 2_000;
  const OUTSIDE = 500;
  const person = (i: number) => `uid=user${String(i).padStart(5, '0')},${PEOPLE}`;
  const team = (i: number) => `cn=team${String(i).padStart(2, '0')},${TEAMS}`;
  let slapd: Slapd;

  beforeAll(async () => {
    if (reason) throw new Error(`${reason}; ROSTER_REQUIRE_PEERS=1 forbids skipping`);
    const entries = [ouLdif(PEOPLE), ouLdif(TEAMS), serviceAccountLdif(`cn=roster-agent,${BULK}`, AGENT_PASSWORD)];
    for (let i = 0; i < IN_SCOPE + OUTSIDE; i++) {
      entries.push(userLdif(PEOPLE, { uid: `user${String(i).padStart(5, '0')}`, cn: `User ${i}`, mail: `user${i}@bulk.test`, title: 'Member', posix: true }, 20_000 + i));
    }
    // 20 teams of 100: 10 groupOfNames directly in the scope group, 5 groupOfUniqueNames in the
    // first of them, 5 posixGroups (memberUid only) in the second; the last 500 users in no team.
    const teams: string[] = [];
    for (let t = 0; t < 20; t++) {
      const members = Array.from({ length: 100 }, (_, k) => t * 100 + k);
      if (t < 10) teams.push(groupLdif({ dn: team(t), classes: ['groupOfNames'], member: [...members.map(person), ...(t === 0 ? [10, 11, 12, 13, 14].map(team) : []), ...(t === 1 ? [15, 16, 17, 18, 19].map(team) : [])] }));
      else if (t < 15) teams.push(groupLdif({ dn: team(t), classes: ['groupOfUniqueNames'], uniqueMember: members.map(person) }));
      else teams.push(groupLdif({ dn: team(t), classes: ['groupOfNames', 'posixGroup'], gidNumber: 40_000 + t, member: [`cn=nobody,${BULK}`], memberUid: members.map((i) => `user${String(i).padStart(5, '0')}`) }));
    }
    teams.push(groupLdif({ dn: `cn=everyone,${TEAMS}`, classes: ['groupOfNames'], member: Array.from({ length: 10 }, (_, t) => team(t)) }));
    slapd = await startSlapd({ suffix: BULK, ldif: [...entries, ...teams].join('\n') });
    console.log(`slapadd loaded ${IN_SCOPE + OUTSIDE} users in ${slapd.loadSeconds.toFixed(2)} s`);
  }, 120_000);

  afterAll(async () => {
    await slapd?.stop();
  });

  for (const byDn of ['entrydn', 'base'] as const) {
    it(`loads in reasonable time, reading by DN with ${byDn === 'entrydn' ? '(|(entryDN=…)…) filters' : 'base searches in parallel'}`, async () => {
      const source = await openLdapDirectorySource({ url: slapd.ldapsUrl, ca: await readFile(slapd.caFile), bindDn: `cn=roster-agent,${BULK}`, password: AGENT_PASSWORD, scopeRead: { byDn } });
      try {
        await source.scope(`cn=everyone,${TEAMS}`, USER_ATTRIBUTES); // warm up slapd's caches
        const started = performance.now();
        const scope = await source.scope(`cn=everyone,${TEAMS}`, USER_ATTRIBUTES);
        const ms = performance.now() - started;
        console.log(`scope of ${scope.users.length} users and ${scope.groups.length} groups (${byDn}): ${ms.toFixed(0)} ms`);
        expect(scope.users).toHaveLength(IN_SCOPE);
        expect(scope.groups).toHaveLength(20);
        expect(new Set(scope.users.map((u) => u.objectGuid)).size).toBe(IN_SCOPE);
        expect(scope.groups.find((g) => g.dn === team(17))?.attributes.member).toHaveLength(100);
        expect(scope.groups.find((g) => g.dn === team(0))?.attributes.member).toHaveLength(105);
        expect(ms).toBeLessThan(10_000);

        const markStarted = performance.now();
        const mark = await source.changeMark();
        console.log(`changeMark over ${IN_SCOPE + OUTSIDE + 25} entries (scan): ${(performance.now() - markStarted).toFixed(0)} ms`);
        expect(mark).toMatch(new RegExp(`^scan:${IN_SCOPE + OUTSIDE + 25}:`));
      } finally {
        await source.close();
      }
    });
  }
});
