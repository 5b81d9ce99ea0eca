import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdClient,
  AdError,
  GROUP_ATTRIBUTES,
  guidFilterValue,
  sidToBytes,
  UAC,
  uacOf,
  type AdEntry,
} from '../../../src/integrations/active-directory/ldap-client.js';
import { bytesFilterValue } from '../../../src/integrations/active-directory/guid.js';
import { useSamba, type TestOu } from '../../support/samba.js';

/**
 * The AD client against a real Samba AD DC: connecting, users, passwords, groups and privileged
 * accounts. Everything this file creates lives in an OU of its own.
 */

const dc = await useSamba();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The error a promise rejects with (fails when it resolves). */
async function failure(promise: Promise<unknown>): Promise<AdError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(AdError);
    return e as AdError;
  }
  throw new Error('expected a failure');
}

/** A port on 127.0.0.1 nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.skipIf(!dc)('AdClient against Samba AD', () => {
  const samba = dc!;
  let ou: TestOu;
  let client: AdClient;

  beforeAll(async () => {
    ou = await samba.createOu('ldap-client');
    client = ou.client;
  });
  afterAll(async () => {
    await ou?.remove();
  });

  describe('connecting', () => {
    it('binds over LDAPS with the CA and reads the naming context', async () => {
      const c = await AdClient.connect(samba.adminOptions());
      try {
        expect(await c.namingContext()).toBe(samba.baseDn);
        expect((await c.rootDse()).supportedcontrol).toEqual(expect.arrayContaining(['1.2.840.113556.1.4.841', '1.2.840.113556.1.4.528', '1.2.840.113556.1.4.319']));
      } finally {
        await c.close();
      }
    });

    it('binds with a UPN too', async () => {
      const c = await AdClient.connect(samba.adminOptions({ bindDn: samba.adminUpn }));
      await c.close();
    });

    it("refuses a wrong password as 'stop', with AD's reason", async () => {
      const e = await failure(AdClient.connect(samba.adminOptions({ password: 'not-the-password' })));
      expect(e.kind).toBe('stop');
      expect(e.ldapCode).toBe(49);
      expect(e.message).toMatch(/wrong password|invalid credentials/i);
      expect(e.message).not.toContain('not-the-password');
    });

    it("is 'transient', quickly, when nothing listens", async () => {
      const started = Date.now();
      const e = await failure(AdClient.connect(samba.adminOptions({ url: `ldaps://127.0.0.1:${await closedPort()}` })));
      expect(e.kind).toBe('transient');
      expect(e.message).toMatch(/ECONNREFUSED/);
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it("is 'transient' within the timeout when the peer accepts but never answers", async () => {
      const sockets: Socket[] = [];
      const silent: Server = createServer((s) => sockets.push(s));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as { port: number };
      try {
        const started = Date.now();
        const e = await failure(AdClient.connect(samba.adminOptions({ url: `ldaps://127.0.0.1:${port}`, timeoutMs: 500 })));
        expect(e.kind).toBe('transient');
        expect(Date.now() - started).toBeLessThan(2_000);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    });

    it("is 'stop' when the certificate is not trusted", async () => {
      const { ca: _ca, ...withoutCa } = samba.adminOptions();
      const e = await failure(AdClient.connect(withoutCa));
      expect(e.kind).toBe('stop');
      expect(e.message).toMatch(/TLS|certificate/i);
    });

    it('upgrades ldap:// with StartTLS, and refuses plain ldap:// unless allowed', async () => {
      const tls = await AdClient.connect(samba.adminOptions({ url: samba.startTlsUrl, startTls: true }));
      try {
        expect(await tls.namingContext()).toBe(samba.baseDn);
        // Passwords need encryption: StartTLS is enough.
        const user = await ou.createUser('starttls1', { password: 'Start-1-tls' });
        await tls.setPassword(user.dn, 'Start-2-tls');
        expect(await tls.verifyPassword(user.dn, 'Start-2-tls')).toBe(true);
      } finally {
        await tls.close();
      }
      const refused = await failure(AdClient.connect(samba.adminOptions({ url: samba.startTlsUrl })));
      expect(refused.kind).toBe('stop');
      expect(refused.message).toMatch(/clear/);
      const plain = await AdClient.connect(samba.adminOptions({ url: samba.startTlsUrl, allowPlain: true }));
      try {
        expect(await plain.namingContext()).toBe(samba.baseDn);
        expect((await failure(plain.setPassword(`CN=x,${ou.dn}`, 'whatever1'))).kind).toBe('stop');
      } finally {
        await plain.close();
      }
    });

    it('reconnects by itself after the connection was lost (a timeout drops it)', async () => {
      const c = await AdClient.connect(samba.adminOptions());
      try {
        // Simulate the DC's idle disconnect: end the socket under the client.
        await (c as unknown as { connection: { ldap: { unbind(): Promise<void> } } }).connection.ldap.unbind();
        expect(await c.entry(samba.adminDn, ['sAMAccountName'])).toMatchObject({ attributes: { samaccountname: ['Administrator'] } });
      } finally {
        await c.close();
      }
    });
  });

  describe('users and passwords', () => {
    it('creates a user with a password, enabled, and finds it by objectGUID', async () => {
      const user = await client.createUser(ou.dn, { cn: 'Ada Lovelace', sAMAccountName: 'ada', givenName: 'Ada', sn: 'Lovelace', mail: 'ada@roster.test' }, { password: 'Analytic-1' });
      expect(user.dn).toBe(`CN=Ada Lovelace,${ou.dn}`);
      expect(user.objectGuid).toMatch(UUID);
      expect(user.objectClass).toContain('user');
      expect(user.deleted).toBe(false);
      expect(uacOf(user.attributes.useraccountcontrol?.[0])).toBe(UAC.NORMAL_ACCOUNT);
      expect(user.attributes.mail).toEqual(['ada@roster.test']);
      expect(Buffer.from(user.attributes.objectguid![0]!, 'base64')).toHaveLength(16);

      const found = await client.findByGuid(user.objectGuid);
      expect(found?.dn).toBe(user.dn);
      expect((await client.pagedSearch(ou.dn, `(objectGUID=${guidFilterValue(user.objectGuid)})`, ['cn']).next()).value?.dn).toBe(user.dn);

      expect(await client.verifyPassword(user.dn, 'Analytic-1')).toBe(true);
      expect(await client.verifyPassword('ada@roster.test', 'Analytic-1')).toBe(true);
      expect(await client.verifyPassword(user.dn, 'Analytic-2')).toBe(false);
      expect(await client.verifyPassword(user.dn, '')).toBe(false);
    });

    it('creates a user without a password disabled', async () => {
      const user = await client.createUser(ou.dn, { cn: 'nopw', sAMAccountName: 'nopw' });
      expect(uacOf(user.attributes.useraccountcontrol?.[0]) & UAC.ACCOUNTDISABLE).toBe(UAC.ACCOUNTDISABLE);
      expect((await failure(client.createUser(ou.dn, { cn: 'nopw2', sAMAccountName: 'nopw2' }, { enabled: true }))).kind).toBe('bad_request');
    });

    it('resets a password: the new one works, the old one no longer', async () => {
      const user = await ou.createUser('reset1', { password: 'First-pass1' });
      await client.setPassword(user.dn, 'Second-pass2');
      expect(await client.verifyPassword(user.dn, 'Second-pass2')).toBe(true);
      expect(await client.verifyPassword(user.dn, 'First-pass1')).toBe(false);
    });

    it("surfaces AD's reason when the password is refused, as 'bad_request'", async () => {
      const user = await ou.createUser('short1', { password: 'Long-enough1' });
      const e = await failure(client.setPassword(user.dn, 'abc'));
      expect(e.kind).toBe('bad_request');
      expect(e.adCode).toBe('0000052D');
      expect(e.message).toMatch(/too short/);
      expect(e.message).toContain(String(samba.minPasswordLength));
      expect(e.message).not.toContain('"abc"');
      expect(await client.verifyPassword(user.dn, 'Long-enough1')).toBe(true);

      // In the add itself: nothing is created.
      const refused = await failure(ou.createUser('short2', { password: 'xy' }));
      expect(refused.kind).toBe('bad_request');
      expect(refused.message).toMatch(/too short/);
      expect(await client.entry(`CN=short2,${ou.dn}`)).toBeUndefined();
    });

    it('disables and enables an account, keeping the other userAccountControl bits', async () => {
      const user = await ou.createUser('toggle1', { password: 'Toggle-pass1' });
      await client.modify(user.dn, [{ attribute: 'userAccountControl', values: [String(UAC.NORMAL_ACCOUNT | UAC.DONT_EXPIRE_PASSWORD)] }]);
      await client.setEnabled(user.dn, false);
      const disabled = uacOf((await client.entry(user.dn))!.attributes.useraccountcontrol?.[0]);
      expect(disabled).toBe(UAC.NORMAL_ACCOUNT | UAC.DONT_EXPIRE_PASSWORD | UAC.ACCOUNTDISABLE);
      expect(await client.verifyPassword(user.dn, 'Toggle-pass1')).toBe(false);
      expect(await client.authenticate(user.dn, 'Toggle-pass1')).toMatchObject({ ok: false });
      await client.setEnabled(user.dn, false); // already: no write, no error
      await client.setEnabled(user.dn, true);
      expect(uacOf((await client.entry(user.dn))!.attributes.useraccountcontrol?.[0])).toBe(UAC.NORMAL_ACCOUNT | UAC.DONT_EXPIRE_PASSWORD);
      expect(await client.verifyPassword(user.dn, 'Toggle-pass1')).toBe(true);
      expect((await failure(client.setEnabled(`CN=nobody,${ou.dn}`, true))).kind).toBe('not_found');
    });

    it('modifies attributes: replace, add and delete values', async () => {
      const user = await ou.createUser('mod1');
      await client.modify(user.dn, [
        { attribute: 'description', values: ['first'] },
        { attribute: 'otherTelephone', op: 'add', values: ['+1 555 0100', '+1 555 0101'] },
      ]);
      await client.modify(user.dn, [{ attribute: 'otherTelephone', op: 'delete', values: ['+1 555 0100'] }]);
      const read = await client.entry(user.dn, ['description', 'otherTelephone']);
      expect(read?.attributes.description).toEqual(['first']);
      expect(read?.attributes.othertelephone).toEqual(['+1 555 0101']);
      await client.modify(user.dn, [{ attribute: 'description', op: 'delete', values: [] }]);
      expect((await client.entry(user.dn, ['description']))?.attributes.description).toBeUndefined();
      expect((await failure(client.modify(`CN=nobody,${ou.dn}`, [{ attribute: 'description', values: ['x'] }]))).kind).toBe('not_found');
      expect((await failure(ou.createUser('mod1'))).kind).toBe('conflict');
    });

    it('deletes', async () => {
      const user = await ou.createUser('gone1');
      await client.delete(user.dn);
      expect(await client.entry(user.dn)).toBeUndefined();
      const tombstone = await client.findByGuid(user.objectGuid, ['isDeleted', 'lastKnownParent'], { deleted: true });
      expect(tombstone).toMatchObject({ objectGuid: user.objectGuid, deleted: true, attributes: { lastknownparent: [ou.dn] } });
      expect((await failure(client.delete(user.dn))).kind).toBe('not_found');
    });
  });

  describe('groups', () => {
    it('creates groups and adds and removes members, idempotently', async () => {
      const [a, b] = await Promise.all([ou.createUser('member-a'), ou.createUser('member-b')]);
      const group = await client.createGroup(ou.dn, 'Engineering', { description: 'builders' });
      expect(group.objectGuid).toMatch(UUID);
      expect(group.attributes.grouptype).toEqual(['-2147483646']);
      expect(group.attributes.samaccountname).toEqual(['Engineering']);
      await client.addMembers(group.dn, [a!.dn, b!.dn]);
      await client.addMembers(group.dn, [a!.dn]); // already a member
      expect((await client.entry(group.dn, GROUP_ATTRIBUTES))?.attributes.member?.sort()).toEqual([a!.dn, b!.dn].sort());
      await client.removeMembers(group.dn, [a!.dn]);
      await client.removeMembers(group.dn, [a!.dn]); // no longer one
      expect((await client.entry(group.dn, GROUP_ATTRIBUTES))?.attributes.member).toEqual([b!.dn]);
      expect((await client.entry(b!.dn, ['memberOf']))?.attributes.memberof).toEqual([group.dn]);
      expect((await failure(client.addMembers(group.dn, [`CN=nobody,${ou.dn}`]))).kind).not.toBe('transient');
    });

    it("reads a ranged attribute to the end (AD sends member;range=0-1499 past 1,500 values)", async () => {
      const dns = await ou.createUsers('rng', 25);
      const group = await ou.createGroup('Ranged', dns);
      expect((await client.values(group.dn, 'member', 10)).sort()).toEqual([...dns].sort());
      expect(await client.values(group.dn, 'member')).toHaveLength(25);
      // An entry read with a range (as AD answers past 1,500 values) comes back whole.
      const entry = await client.entry(group.dn, ['member;range=0-9']);
      expect(Object.keys(entry!.attributes)).not.toContain('member;range=0-9');
      expect(entry!.attributes.member?.sort()).toEqual([...dns].sort());
    });
  });

  describe('privileged accounts', () => {
    let domainAdminsDn: string;
    const byRid = async (rid: number): Promise<AdEntry> => {
      const sid = `${await client.domainSid()}-${rid}`;
      const found = await client.pagedSearch(samba.baseDn, `(objectSid=${bytesFilterValue(sidToBytes(sid))})`, ['objectSid']).next();
      return found.value as AdEntry;
    };

    beforeAll(async () => {
      domainAdminsDn = (await byRid(512)).dn;
    });

    it('knows the Administrator, a Domain Admin and a nested one, by SID rather than by name', async () => {
      const admin = (await client.entry(samba.adminDn))!;
      expect(await client.isPrivileged(admin)).toBe(true);

      const direct = await ou.createUser('da-direct');
      const nested = await ou.createUser('da-nested');
      const plain = await ou.createUser('not-admin');
      const ops = await ou.createGroup('Ops Admins', [nested.dn]);
      await client.addMembers(domainAdminsDn, [direct.dn, ops.dn]);
      try {
        // Samba does not set adminCount on new members at once (AD's SDProp runs hourly): tokenGroups decides.
        expect(await client.isPrivileged((await client.entry(direct.dn))!)).toBe(true);
        expect(await client.isPrivileged((await client.entry(nested.dn))!)).toBe(true);
        expect(await client.isPrivileged((await client.entry(plain.dn))!)).toBe(false);
        expect(await client.isPrivileged((await client.entry(ops.dn, GROUP_ATTRIBUTES))!)).toBe(true);

        const all = await client.privilegedGuids();
        expect(all).toContain(admin.objectGuid);
        expect(all).toContain(direct.objectGuid);
        expect(all).toContain(nested.objectGuid);
        expect(all).not.toContain(plain.objectGuid);
      } finally {
        await client.removeMembers(domainAdminsDn, [direct.dn, ops.dn]);
      }
    });

    it('knows members of BUILTIN\\Administrators', async () => {
      const builtin = await client.pagedSearch(samba.baseDn, `(objectSid=${bytesFilterValue(sidToBytes('S-1-5-32-544'))})`, ['objectSid']).next();
      const user = await ou.createUser('builtin-adm');
      await client.addMembers(builtin.value!.dn, [user.dn]);
      try {
        expect(await client.isPrivileged(user)).toBe(true);
      } finally {
        await client.removeMembers(builtin.value!.dn, [user.dn]);
      }
      expect(await client.isPrivileged(user)).toBe(false);
    });
  });
});
