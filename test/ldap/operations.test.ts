import { Attribute, Change, UndefinedTypeError, UnwillingToPerformError, type Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSampleDirectory, skipLdapUtils, sorted, startLdapRoster, type LdapRoster, type SampleDirectory } from '../support/ldap.js';

/**
 * Real clients against the real `roster serve`, on the sample directory: compare, refused writes,
 * paged results, size limits, attribute selection and the journaling of binds.
 */

const skipTools = skipLdapUtils();
const withTools = it.skipIf(skipTools);

describe('LDAP operations with real clients', () => {
  let r: LdapRoster;
  let pw: SampleDirectory['pw'];
  let ids: SampleDirectory['ids'];
  let binder: SampleDirectory['binder'];
  let everyDn: SampleDirectory['everyDn'];
  let dn: (username: string) => string;
  let gdn: (name: string) => string;
  const clients: Client[] = [];

  /** An LDAPS ldapts client, unbound at the end of the file. */
  const open = async (): Promise<Client> => {
    const client = r.client('ldaps');
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    r = await startLdapRoster();
    dn = r.userDn;
    gdn = r.groupDn;
    ({ pw, ids, binder, everyDn } = await seedSampleDirectory(r));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.unbind().catch(() => undefined)));
    await r?.stop();
  });

  describe('compare and writes', () => {
    withTools('ldapcompare answers TRUE (6) and FALSE (5) with the attribute\'s matching rule; an unknown attribute is undefinedAttributeType (17)', async () => {
      const compare = (target: string, assertion: string) =>
        r.tool('ldapcompare', ['-x', '-H', r.ldapsUrl, '-D', binder.dn, '-w', binder.password, target, assertion]);
      const cases: [string, string, number, string][] = [
        [dn('ada'), 'sn:ångström', 6, 'TRUE'],
        [dn('ada'), 'sn:Angstrom', 5, 'FALSE'],
        [dn('ada'), 'uidNumber:20001', 6, 'TRUE'],
        [dn('ada'), 'uidNumber:20002', 5, 'FALSE'],
        [gdn('outer'), `member:${dn('bob').toUpperCase()}`, 6, 'TRUE'],
        [gdn('outer'), `member:${dn('ada')}`, 5, 'FALSE'],
        [gdn('outer'), 'objectClass:posixGroup', 6, 'TRUE'],
      ];
      for (const [target, assertion, code, word] of cases) {
        const result = await compare(target, assertion);
        expect({ assertion, code: result.code, out: result.stdout.trim() }).toEqual({ assertion, code, out: word });
      }
      const unknown = await compare(dn('ada'), 'favouriteColour:blue');
      expect(unknown.code).toBe(17);
      expect(unknown.stdout + unknown.stderr).toMatch(/Undefined attribute type \(17\)/);

      const client = await open();
      await client.bind(binder.dn, binder.password);
      expect(await client.compare(dn('ada'), 'uid', 'ADA')).toBe(true);
      expect(await client.compare(dn('ada'), 'uid', 'bob')).toBe(false);
      await expect(client.compare(dn('ada'), 'favouriteColour', 'blue')).rejects.toBeInstanceOf(UndefinedTypeError);
    });

    withTools('refuses ldapmodify, ldapadd, ldapdelete and modrdn with unwillingToPerform (53), and nothing changes', async () => {
      const auth = ['-x', '-H', r.ldapsUrl, '-D', binder.dn, '-w', binder.password];
      const modify = await r.tool('ldapmodify', auth, `dn: ${dn('ada')}\nchangetype: modify\nreplace: sn\nsn: Changed\n`);
      const add = await r.tool('ldapadd', auth, `dn: ${dn('zed')}\nobjectClass: inetOrgPerson\nuid: zed\ncn: Zed\nsn: Zed\n`);
      const remove = await r.tool('ldapdelete', [...auth, dn('bob')]);
      const rename = await r.tool('ldapmodify', auth, `dn: ${dn('bob')}\nchangetype: modrdn\nnewrdn: uid=robert\ndeleteoldrdn: 1\n`);
      for (const [name, result] of Object.entries({ modify, add, remove, rename })) {
        expect({ name, code: result.code }).toEqual({ name, code: 53 });
        expect(result.stderr).toMatch(/Server is unwilling to perform \(53\)/);
      }

      const client = await open();
      await client.bind(binder.dn, binder.password);
      const refusals = [
        client.modify(dn('ada'), new Change({ operation: 'replace', modification: new Attribute({ type: 'sn', values: ['Changed'] }) })),
        client.add(dn('zed'), { objectClass: 'inetOrgPerson', uid: 'zed', cn: 'Zed', sn: 'Zed' }),
        client.del(dn('bob')),
        client.modifyDN(dn('bob'), 'uid=robert'),
      ];
      for (const refusal of refusals) await expect(refusal).rejects.toBeInstanceOf(UnwillingToPerformError);

      const after = await r.ldapsearch({ as: binder, base: r.usersDn, filter: '(|(uid=ada)(uid=bob)(uid=zed)(uid=robert))', attributes: ['sn'] });
      expect(after.entries.map((e) => [e.dn, e.get('sn')])).toEqual([
        [dn('ada'), ['Ångström']],
        [dn('bob'), ['Builder']],
      ]);
    });
  });

  describe('paging, limits and attribute selection', () => {
    withTools('ldapsearch -E pr=5/noprompt returns every entry exactly once, five per page', async () => {
      const result = await r.ldapsearch({ as: binder, base: r.baseDn, attributes: ['1.1'], options: ['-E', 'pr=5/noprompt'] });
      expect(result.code).toBe(0);
      expect(sorted(result.dns)).toEqual(everyDn());
      expect(new Set(result.dns).size).toBe(result.dns.length);
      // Each page ends with a "# pagedresults: estimate=… cookie=…" comment; the last cookie is empty.
      const pages = result.stdout.split(/^# pagedresults: .*$/m).slice(0, -1).map((page) => (page.match(/^dn:/gm) ?? []).length);
      expect(pages).toEqual([5, 5, 5, 2]);
      expect(result.stdout.trimEnd()).toMatch(/# pagedresults: estimate=\d+ cookie=$/);
    });

    it('ldapts paged: { pageSize: 5 } returns every entry exactly once', async () => {
      const client = await open();
      await client.bind(binder.dn, binder.password);
      const { searchEntries } = await client.search(r.baseDn, { attributes: ['1.1'], paged: { pageSize: 5 } });
      const dns = searchEntries.map((e) => e.dn);
      expect(new Set(dns).size).toBe(dns.length);
      expect(sorted(dns)).toEqual(everyDn());

      const pages: number[] = [];
      for await (const page of client.searchPaginated(r.usersDn, { scope: 'one', attributes: ['uid'], paged: { pageSize: 4 } })) {
        pages.push(page.searchEntries.length);
      }
      expect(pages).toEqual([4, 4, 2]);
    });

    withTools('a size limit returns that many entries and sizeLimitExceeded (4)', async () => {
      const result = await r.ldapsearch({ as: binder, base: r.baseDn, attributes: ['1.1'], options: ['-z', '3'] });
      expect(result.code).toBe(4);
      expect(result.dns).toHaveLength(3);
      expect(result.stderr).toMatch(/Size limit exceeded \(4\)/);
      const exact = await r.ldapsearch({ as: binder, base: r.groupsDn, scope: 'one', attributes: ['1.1'], options: ['-z', '4'] });
      expect(exact.code).toBe(0);
      expect(exact.dns).toHaveLength(4);

      const client = await open();
      await client.bind(binder.dn, binder.password);
      const { searchEntries } = await client.search(r.baseDn, { attributes: ['1.1'], sizeLimit: 3 });
      expect(searchEntries).toHaveLength(3);
    });

    withTools('typesOnly (-A) lists attribute names without values', async () => {
      const result = await r.ldapsearch({ as: binder, base: r.usersDn, filter: '(uid=bob)', options: ['-A'] });
      expect(result.code).toBe(0);
      const bob = result.entries[0]!;
      expect(sorted(bob.attributes.keys())).toEqual(
        sorted(['objectClass', 'uid', 'cn', 'sn', 'givenName', 'mail', 'uidNumber', 'gidNumber', 'homeDirectory', 'loginShell']),
      );
      expect([...bob.attributes.values()].flat().every((v) => v === '')).toBe(true);

      const client = await open();
      await client.bind(binder.dn, binder.password);
      const { searchEntries } = await client.search(r.usersDn, { filter: '(uid=bob)', attributes: ['uid', 'mail'], returnAttributeValues: false });
      expect(searchEntries).toHaveLength(1);
      expect(Object.keys(searchEntries[0]!).sort()).toEqual(['dn', 'mail', 'uid']);
      expect([searchEntries[0]!.uid, searchEntries[0]!.mail].flat().filter((v) => String(v) !== '')).toEqual([]);
    });

    withTools('selects attributes with "1.1", "*", "+" and names', async () => {
      const select = async (...attributes: string[]) =>
        (await r.ldapsearch({ as: binder, base: dn('bob'), scope: 'base', attributes })).entries[0]!;
      const operational = ['memberOf', 'structuralObjectClass', 'entryUUID', 'createTimestamp', 'modifyTimestamp', 'entryDN', 'subschemaSubentry', 'hasSubordinates'];
      const user = ['objectClass', 'uid', 'cn', 'sn', 'givenName', 'mail', 'uidNumber', 'gidNumber', 'homeDirectory', 'loginShell'];

      expect([...(await select('1.1')).attributes.keys()]).toEqual([]);
      expect(sorted((await select('*')).attributes.keys())).toEqual(sorted(user));
      expect(sorted((await select()).attributes.keys())).toEqual(sorted(user));
      const plus = await select('+');
      expect(sorted(plus.attributes.keys())).toEqual(sorted(operational));
      expect(plus.get('entryDN')).toEqual([dn('bob')]);
      expect(plus.get('structuralObjectClass')).toEqual(['inetOrgPerson']);
      expect(plus.get('hasSubordinates')).toEqual(['FALSE']);
      expect(plus.get('entryUUID')![0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(sorted((await select('*', '+')).attributes.keys())).toEqual(sorted([...user, ...operational]));
      expect(sorted((await select('UID', 'entryUUID', 'nonexistentAttr')).attributes.keys())).toEqual(['entryUUID', 'uid']);
    });
  });

  describe('journal', () => {
    withTools('journals successful and failed binds as ldap_bind events within about two seconds', async () => {
      const since = await r.journalHead();
      expect((await r.ldapwhoami('ldaps', dn('bob'), pw.bob)).code).toBe(0);
      expect((await r.ldapwhoami('starttls', dn('bob'), 'Not-The-Password-1')).code).toBe(49);
      expect((await r.ldapwhoami('ldaps', dn('outsider'), pw.outsider)).code).toBe(49);
      const started = Date.now();
      const filters = ['operation:eq:ldap_bind'];
      const success = await r.waitForJournal(filters, (e) => e.details?.bindDn === dn('bob') && e.details.result === 'success', { since });
      const failure = await r.waitForJournal(filters, (e) => e.details?.bindDn === dn('bob') && e.details.result === 'failure', { since });
      const outsider = await r.waitForJournal(filters, (e) => e.details?.bindDn === dn('outsider'), { since });
      expect(Date.now() - started).toBeLessThan(3_000);

      expect(success).toMatchObject({
        objectType: 'directory',
        objectId: r.ldapServerId,
        origin: 'ldap',
        actor: { type: 'user', id: ids.bob },
        details: { bindDn: dn('bob'), tls: true, client: '127.0.0.1', result: 'success' },
      });
      expect(failure).toMatchObject({ actor: { type: 'user', id: ids.bob }, details: { tls: true, result: 'failure', reason: 'INVALID_CREDENTIALS' } });
      expect(outsider).toMatchObject({ actor: { type: 'user', id: ids.outsider }, details: { result: 'failure', reason: 'NOT_ASSOCIATED' } });
    });
  });
});
