import { ConfidentialityRequiredError, InsufficientAccessError, InvalidCredentialsError, UnwillingToPerformError, type Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSampleDirectory, skipLdapUtils, sorted, startLdapRoster, type LdapRoster, type SampleDirectory, type Transport } from '../support/ldap.js';

/**
 * Real clients — OpenLDAP's ldap-utils and the ldapts library — against the real `roster serve`:
 * transports, what a binding user reads, the root DSE and schema, and refused binds and searches.
 * The sample directory is seeded once and only read here (operations.test.ts covers compare,
 * writes, paging and the journal; access.test.ts the flows that change state).
 */

const WHO_AM_I = '1.3.6.1.4.1.4203.1.11.3';
const PASSWORD_MODIFY = '1.3.6.1.4.1.4203.1.11.1';
const START_TLS = '1.3.6.1.4.1.1466.20037';
const PAGED_RESULTS = '1.2.840.113556.1.4.319';
const IN_CHAIN = '1.2.840.113556.1.4.1941';

const skipTools = skipLdapUtils();
const withTools = it.skipIf(skipTools);

describe('LDAP service with real clients', () => {
  let r: LdapRoster;
  let pw: SampleDirectory['pw'];
  let binder: SampleDirectory['binder'];
  let everyDn: SampleDirectory['everyDn'];
  let dn: (username: string) => string;
  let gdn: (name: string) => string;
  const clients: Client[] = [];

  /** An ldapts client, unbound at the end of the file. */
  const open = async (transport: Transport): Promise<Client> => {
    const client = r.client(transport === 'ldaps' ? 'ldaps' : 'ldap');
    clients.push(client);
    if (transport === 'starttls') await r.startTls(client);
    return client;
  };

  beforeAll(async () => {
    r = await startLdapRoster();
    dn = r.userDn;
    gdn = r.groupDn;
    ({ pw, binder, everyDn } = await seedSampleDirectory(r));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.unbind().catch(() => undefined)));
    await r?.stop();
  });

  describe('transports', () => {
    withTools('ldapwhoami prints the bound DN over plain LDAP, StartTLS and LDAPS', async () => {
      await r.setLdap({ allowPlainBind: true });
      try {
        for (const transport of ['ldap', 'starttls', 'ldaps'] as const) {
          const result = await r.ldapwhoami(transport, dn('ada'), pw.ada);
          expect({ transport, code: result.code, stderr: result.stderr }).toEqual({ transport, code: 0, stderr: '' });
          expect(result.stdout.trim()).toBe(`dn:${dn('ada')}`);
        }
      } finally {
        await r.setLdap({ allowPlainBind: false });
      }
    });

    withTools('refuses a simple bind without TLS (13) until plain binds are allowed, and takes the change at the next bind', async () => {
      const plain = await r.ldapwhoami('ldap', dn('ada'), pw.ada);
      expect(plain.code).toBe(13);
      expect(plain.stderr).toMatch(/Confidentiality required \(13\)/);
      expect((await r.ldapwhoami('starttls', dn('ada'), pw.ada)).code).toBe(0);
      expect((await r.ldapwhoami('ldaps', dn('ada'), pw.ada)).code).toBe(0);
      await r.setLdap({ allowPlainBind: true });
      try {
        expect((await r.ldapwhoami('ldap', dn('ada'), pw.ada)).code).toBe(0);
      } finally {
        await r.setLdap({ allowPlainBind: false });
      }
      expect((await r.ldapwhoami('ldap', dn('ada'), pw.ada)).code).toBe(13);
    });

    it('ldapts: WhoAmI answers "" before a bind and dn:<bound DN> after it, on every transport', async () => {
      await r.setLdap({ allowPlainBind: true });
      try {
        for (const transport of ['ldap', 'starttls', 'ldaps'] as const) {
          const client = await open(transport);
          expect((await client.exop(WHO_AM_I)).value ?? '').toBe('');
          await client.bind(dn('bob'), pw.bob);
          expect((await client.exop(WHO_AM_I)).value).toBe(`dn:${dn('bob')}`);
          await client.unbind();
        }
      } finally {
        await r.setLdap({ allowPlainBind: false });
      }
    });

    it('ldapts: a plain-LDAP bind is refused with confidentialityRequired, the same bind after StartTLS succeeds', async () => {
      const plain = await open('ldap');
      const error = await plain.bind(dn('bob'), pw.bob).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfidentialityRequiredError);
      expect((error as ConfidentialityRequiredError).code).toBe(13);
      await r.startTls(plain);
      await plain.bind(dn('bob'), pw.bob);
      expect((await plain.exop(WHO_AM_I)).value).toBe(`dn:${dn('bob')}`);
      await plain.unbind();
    });

    withTools('binds with a username that needs DN escaping', async () => {
      const escaped = dn("o'neil\\+ops");
      const result = await r.ldapwhoami('ldaps', escaped, pw.oneil);
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toBe(`dn:${escaped}`);
      // The same DN with the "+" hex-escaped is the same entry.
      expect((await r.ldapwhoami('ldaps', dn("o'neil\\2Bops"), pw.oneil)).stdout.trim()).toBe(`dn:${escaped}`);
    });
  });

  describe('reading users and groups as an LDAP binding user', () => {
    withTools('serves a user entry with the inetOrgPerson, posixAccount and ldapPublicKey attributes', async () => {
      const result = await r.ldapsearch({ as: binder, base: r.baseDn, filter: '(uid=ada)' });
      expect(result.code).toBe(0);
      expect(result.dns).toEqual([dn('ada')]);
      const ada = result.entries[0]!;
      expect(sorted(ada.get('objectClass'))).toEqual(sorted(['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'posixAccount', 'ldapPublicKey']));
      expect(Object.fromEntries([...ada.attributes].filter(([k]) => k !== 'objectClass'))).toEqual({
        uid: ['ada'],
        cn: ['李小龍'],
        sn: ['Ångström'],
        givenName: ['Ada'],
        displayName: ['李小龍'],
        mail: ['ada@lab.test'],
        uidNumber: ['20001'],
        gidNumber: ['30001'],
        homeDirectory: ['/home/ada'],
        loginShell: ['/bin/bash'],
      });
    });

    withTools('returns memberOf, with nested groups resolved, only when asked for by name or with "+"', async () => {
      const groups = sorted([gdn('inner'), gdn('R&D\\, Europe'), gdn('outer')]);
      const byName = await r.ldapsearch({ as: binder, base: r.baseDn, filter: '(uid=ada)', attributes: ['memberOf'] });
      expect(sorted(byName.entries[0]!.get('memberOf'))).toEqual(groups);
      const plus = await r.ldapsearch({ as: binder, base: r.baseDn, filter: '(uid=ada)', attributes: ['+'] });
      expect(sorted(plus.entries[0]!.get('memberOf'))).toEqual(groups);
      const star = await r.ldapsearch({ as: binder, base: r.baseDn, filter: '(uid=ada)', attributes: ['*'] });
      expect(star.entries[0]!.get('memberOf')).toBeUndefined();
      const bob = await r.ldapsearch({ as: binder, base: r.baseDn, filter: '(uid=bob)', attributes: ['memberOf'] });
      expect(bob.entries[0]!.get('memberOf')).toEqual([gdn('outer')]);
    });

    withTools('serves groups as groupOfNames (+ posixGroup with a gid) listing direct members only', async () => {
      const result = await r.ldapsearch({ as: binder, base: r.groupsDn, scope: 'one', attributes: ['*', 'memberOf'] });
      expect(result.code).toBe(0);
      const byDn = new Map(result.entries.map((e) => [e.dn, e]));
      expect(sorted(byDn.keys())).toEqual(sorted(['outer', 'inner', 'R&D\\, Europe', 'crowd'].map(gdn)));

      const outer = byDn.get(gdn('outer'))!;
      expect(sorted(outer.get('objectClass'))).toEqual(['groupOfNames', 'posixGroup', 'top']);
      expect(outer.get('cn')).toEqual(['outer']);
      expect(outer.get('gidNumber')).toEqual(['7001']);
      expect(sorted(outer.get('member'))).toEqual(sorted([dn('bob'), gdn('inner'), gdn('R&D\\, Europe')]));
      expect(outer.get('memberUid')).toEqual(['bob']);
      expect(outer.get('memberOf')).toBeUndefined();

      const inner = byDn.get(gdn('inner'))!;
      expect(inner.get('member')).toEqual([dn('ada')]);
      expect(inner.get('memberUid')).toEqual(['ada']);
      expect(inner.get('memberOf')).toEqual([gdn('outer')]);

      const rnd = byDn.get(gdn('R&D\\, Europe'))!;
      expect(sorted(rnd.get('objectClass'))).toEqual(['groupOfNames', 'top']);
      expect(rnd.get('cn')).toEqual(['R&D, Europe']);
      expect(rnd.get('gidNumber')).toBeUndefined();
      expect(rnd.get('memberUid')).toBeUndefined();
      expect(rnd.get('member')).toEqual([dn('ada')]);

      const crowd = byDn.get(gdn('crowd'))!;
      expect(sorted(crowd.get('memberUid'))).toEqual(sorted(["o'neil+ops", 'user01', 'user02', 'user03', 'user04', 'user05', 'user06']));

      const posix = await r.ldapsearch({ as: binder, base: r.baseDn, filter: '(objectClass=posixGroup)', attributes: ['1.1'] });
      expect(sorted(posix.dns)).toEqual(sorted(['outer', 'inner', 'crowd'].map(gdn)));
    });

    withTools('evaluates the in-chain rule on memberOf and member; plain member equality sees direct members only', async () => {
      const chainOuter = await r.ldapsearch({ as: binder, base: r.baseDn, filter: `(memberOf:${IN_CHAIN}:=${gdn('outer')})`, attributes: ['1.1'] });
      expect(chainOuter.code).toBe(0);
      expect(sorted(chainOuter.dns)).toEqual(sorted([dn('ada'), dn('bob'), gdn('inner'), gdn('R&D\\, Europe')]));

      const usersInOuter = await r.ldapsearch({
        as: binder,
        base: r.baseDn,
        filter: `(&(objectClass=posixAccount)(memberOf:${IN_CHAIN}:=${gdn('outer')}))`,
        attributes: ['uid'],
      });
      expect(sorted(usersInOuter.entries.map((e) => e.get('uid')![0]!))).toEqual(['ada', 'bob']);

      const groupsOfAda = await r.ldapsearch({ as: binder, base: r.baseDn, filter: `(member:${IN_CHAIN}:=${dn('ada')})`, attributes: ['1.1'] });
      expect(sorted(groupsOfAda.dns)).toEqual(sorted([gdn('inner'), gdn('R&D\\, Europe'), gdn('outer')]));

      const direct = await r.ldapsearch({ as: binder, base: r.baseDn, filter: `(member=${dn('ada')})`, attributes: ['1.1'] });
      expect(sorted(direct.dns)).toEqual(sorted([gdn('inner'), gdn('R&D\\, Europe')]));

      // A group DN with an escaped comma, written in filter syntax (\5c is the DN's backslash).
      const escaped = await r.ldapsearch({ as: binder, base: r.baseDn, filter: `(memberOf:${IN_CHAIN}:=cn=R&D\\5c, Europe,${r.groupsDn})`, attributes: ['1.1'] });
      expect(escaped.dns).toEqual([dn('ada')]);
    });

    withTools('round-trips Unicode values and matches them case-insensitively', async () => {
      for (const filter of ['(sn=Ångström)', '(sn=åNGSTRÖM)', '(displayName=李小龍)', '(cn=李小龍)', '(sn=Ång*)']) {
        const result = await r.ldapsearch({ as: binder, base: r.usersDn, filter, attributes: ['sn', 'displayName'] });
        expect({ filter, code: result.code, dns: result.dns }).toEqual({ filter, code: 0, dns: [dn('ada')] });
        expect(result.entries[0]!.get('sn')).toEqual(['Ångström']);
        expect(result.entries[0]!.get('displayName')).toEqual(['李小龍']);
      }
      expect((await r.ldapsearch({ as: binder, base: r.usersDn, filter: '(sn=Angstrom)' })).dns).toEqual([]);

      const client = await open('ldaps');
      await client.bind(binder.dn, binder.password);
      const { searchEntries } = await client.search(r.usersDn, { filter: '(displayName=李小龍)', attributes: ['sn', 'displayName', 'cn'] });
      expect(searchEntries).toEqual([{ dn: dn('ada'), sn: 'Ångström', displayName: '李小龍', cn: '李小龍' }]);
      await client.unbind();
    });

    withTools('treats usernames case-insensitively in bind DNs, search bases and filters', async () => {
      const shouted = `UID=ADA,OU=USERS,${r.baseDn.toUpperCase()}`;
      const who = await r.ldapwhoami('ldaps', shouted, pw.ada);
      expect(who.code).toBe(0);
      expect(who.stdout.trim()).toBe(`dn:${dn('ada')}`);
      for (const filter of ['(uid=ADA)', '(mail=ADA@LAB.TEST)', '(uid=Ad*)']) {
        expect((await r.ldapsearch({ as: binder, base: r.baseDn, filter, attributes: ['1.1'] })).dns).toEqual([dn('ada')]);
      }
      const base = await r.ldapsearch({ as: { dn: `uid=BINDER,ou=users,${r.baseDn}`, password: pw.binder }, base: `UID=Ada,${r.usersDn}`, scope: 'base', attributes: ['uid'] });
      expect(base.code).toBe(0);
      expect(base.dns).toEqual([dn('ada')]);
    });

    withTools('does not show a user who is not connected to the LDAP directory, and refuses his bind (49)', async () => {
      expect((await r.ldapsearch({ as: binder, base: r.baseDn, filter: '(uid=outsider)' })).dns).toEqual([]);
      const all = await r.ldapsearch({ as: binder, base: r.baseDn, attributes: ['1.1'] });
      expect(all.code).toBe(0);
      expect(sorted(all.dns)).toEqual(everyDn());
      const bind = await r.ldapwhoami('ldaps', dn('outsider'), pw.outsider);
      expect(bind.code).toBe(49);
      expect(bind.stderr).toMatch(/Invalid credentials \(49\)/);
      const base = await r.ldapsearch({ as: binder, base: dn('outsider'), scope: 'base' });
      expect(base.code).toBe(32);
    });
  });

  describe('root DSE, schema and refusals', () => {
    withTools('serves the root DSE to anonymous clients', async () => {
      const result = await r.ldapsearch({ base: '', scope: 'base', attributes: ['*', '+'] });
      expect(result.code).toBe(0);
      expect(result.dns).toEqual(['']);
      const dse = result.entries[0]!;
      expect(dse.get('namingContexts')).toEqual(['dc=roster']);
      expect(dse.get('supportedLDAPVersion')).toEqual(['3']);
      expect(dse.get('subschemaSubentry')).toEqual(['cn=Subschema']);
      expect(dse.get('supportedControl')).toContain(PAGED_RESULTS);
      expect(sorted(dse.get('supportedExtension'))).toEqual(sorted([START_TLS, WHO_AM_I, PASSWORD_MODIFY]));

      const client = await open('ldaps');
      const { searchEntries } = await client.search('', { scope: 'base', attributes: ['namingContexts', 'supportedExtension'] });
      expect(searchEntries).toHaveLength(1);
      expect(searchEntries[0]!.namingContexts).toBe('dc=roster');
      expect(sorted(searchEntries[0]!.supportedExtension as string[])).toEqual(sorted([START_TLS, WHO_AM_I, PASSWORD_MODIFY]));
    });

    withTools('publishes a subschema entry with the attribute types and object classes it serves', async () => {
      const result = await r.ldapsearch({ base: 'cn=Subschema', scope: 'base', filter: '(objectClass=subschema)', attributes: ['attributeTypes', 'objectClasses'] });
      expect(result.code).toBe(0);
      expect(result.dns).toEqual(['cn=Subschema']);
      const names = (descriptions: string[] | undefined) =>
        new Set(
          (descriptions ?? []).flatMap((d) => {
            const m = /NAME (?:'([^']+)'|\(([^)]*)\))/.exec(d);
            return m ? (m[1] ? [m[1]] : [...m[2]!.matchAll(/'([^']+)'/g)].map((x) => x[1]!)) : [];
          }),
        );
      const types = names(result.entries[0]!.get('attributeTypes'));
      for (const t of ['uid', 'cn', 'sn', 'mail', 'uidNumber', 'gidNumber', 'homeDirectory', 'loginShell', 'memberOf', 'member', 'memberUid', 'sshPublicKey']) {
        expect(types, t).toContain(t);
      }
      const classes = names(result.entries[0]!.get('objectClasses'));
      for (const c of ['inetOrgPerson', 'posixAccount', 'ldapPublicKey', 'groupOfNames', 'posixGroup']) expect(classes, c).toContain(c);
    });

    withTools('refuses anonymous searches below the suffix (50)', async () => {
      const result = await r.ldapsearch({ base: r.baseDn, filter: '(uid=ada)' });
      expect(result.code).toBe(50);
      expect(result.dns).toEqual([]);
      const client = await open('ldaps');
      await expect(client.search(r.baseDn, { filter: '(uid=ada)' })).rejects.toBeInstanceOf(InsufficientAccessError);
    });

    withTools('refuses an unauthenticated bind (a DN with an empty password) with unwillingToPerform (53)', async () => {
      const result = await r.ldapwhoami('ldaps', dn('ada'), '');
      expect(result.code).toBe(53);
      const client = await open('ldaps');
      await expect(client.bind(dn('ada'), '')).rejects.toBeInstanceOf(UnwillingToPerformError);
    });

    withTools('refuses wrong passwords and unknown users alike (49)', async () => {
      for (const [bindDn, password] of [
        [dn('ada'), pw.bob],
        [dn('nobody'), pw.ada],
        [`uid=ada,ou=Users,o=000000000000000000000000,dc=roster`, pw.ada],
        [gdn('outer'), pw.ada],
      ] as const) {
        const result = await r.ldapwhoami('ldaps', bindDn, password);
        expect({ bindDn, code: result.code }).toEqual({ bindDn, code: 49 });
      }
      const client = await open('ldaps');
      await expect(client.bind(dn('ada'), 'Wrong-Password-1')).rejects.toBeInstanceOf(InvalidCredentialsError);
    });
  });
});
