import { afterEach, beforeEach, expect, it } from 'vitest';
import { operatorContext, type Context } from '../../src/core/context.js';
import type { RoleName } from '../../src/core/roles.js';
import type { RadiusServerInput } from '../../src/core/services/radius-servers.js';
import { asRole as withRole, failure, openTestCore, type TestCore } from '../support/core.js';
import { tempDir } from '../support/roster-process.js';
import { describeEachStore } from '../support/stores.js';
import { makeTestCertificates, makeUserCertificates } from '../support/tls.js';

const SECRET = 'correct-horse-battery-staple';

describeEachStore('RadiusServerService', (kind) => {
  let t: TestCore;
  beforeEach(async () => {
    t = await openTestCore(kind);
    t.clock.now = new Date('2025-03-01T12:00:00.000Z');
  });
  afterEach(() => t.dispose());

  const input = (overrides: RadiusServerInput = {}): RadiusServerInput => ({ name: 'Office', networkSourceIp: '10.0.0.0/8', sharedSecret: SECRET, ...overrides });
  const create = (overrides: RadiusServerInput = {}, ctx: Context = t.ctx) => t.core.radiusServers.create(ctx, input(overrides));
  const otherOrg = async () => operatorContext((await t.core.organizations.create('Other')).id);
  const asRole = (role: RoleName, readOnly = false): Context => withRole(t.ctx, role, readOnly);
  const journal = () => t.core.journal.list(t.ctx, 0, 1000);

  it('takes CA certificates for EAP-TLS: only CA certificates, and none while certificates are allowed', async () => {
    const dir = tempDir('roster-radius-ca-');
    try {
      const server = await makeTestCertificates(dir.path);
      const users = await makeUserCertificates(dir.path, []);
      expect(await failure(create({ userCertEnabled: true }))).toMatchObject({ kind: 'invalid', details: [{ field: 'caCert', reason: 'REQUIRED' }] });
      const leaf = await failure(create({ caCert: server.cert.toString() }));
      expect(leaf).toMatchObject({ kind: 'invalid', details: [{ field: 'caCert', reason: 'INVALID_CA_CERT' }] });
      expect(leaf.message).toContain('is not a CA certificate');
      const withCa = await create({ userCertEnabled: true, caCert: `comment before\n${users.ca}\ntrailing text` });
      expect(withCa).toMatchObject({ userCertEnabled: true, caCert: users.ca });
      expect(await failure(t.core.radiusServers.update(t.ctx, withCa.id, { caCert: '' }))).toMatchObject({ kind: 'invalid' });
      expect(await t.core.radiusServers.update(t.ctx, withCa.id, { userCertEnabled: false, caCert: null })).toMatchObject({ userCertEnabled: false, caCert: null });
    } finally {
      dir.remove();
    }
  });

  it('creates with defaults and normalized ranges, and reads it back', async () => {
    const server = await create({ name: '  Office Wi-Fi ', networkSourceIp: '10.0.0.0/8, 2001:DB8::/32,192.168.7.7/32', tagNames: ['wifi', 'wifi', ' hq '] });
    expect(server).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      orgId: t.ctx.orgId,
      name: 'Office Wi-Fi',
      networkSourceIps: ['10.0.0.0/8', '2001:db8::/32', '192.168.7.7'],
      mfa: 'DISABLED',
      userPasswordExpirationAction: 'REMOVE',
      tagNames: ['wifi', 'hq'],
      userCertEnabled: false,
      caCert: null,
      created: '2025-03-01T12:00:00.000Z',
      updated: '2025-03-01T12:00:00.000Z',
    });
    expect(await t.core.radiusServers.get(t.ctx, server.id)).toEqual(server);
    expect(await t.core.radiusServers.list(t.ctx, { sort: [], page: { limit: 10, skip: 0 } })).toEqual({ total: 1, items: [server] });
    const tuned = await create({ name: 'VPN', networkSourceIp: '172.16.0.1', mfa: 'required', userPasswordExpirationAction: 'maintain', userLockoutAction: 'REMOVE' });
    expect([tuned.mfa, tuned.userPasswordExpirationAction]).toEqual(['REQUIRED', 'MAINTAIN']);
  });

  it.each<[string, RadiusServerInput, string, RegExp]>([
    ['no name', { name: '  ' }, 'name', /name is required/],
    ['no networkSourceIp', { networkSourceIp: undefined }, 'networkSourceIp', /at least one/],
    ['a bad address', { networkSourceIp: '10.0.0.300' }, 'networkSourceIp', /not an IPv4 or IPv6 address/],
    ['host bits in a range', { networkSourceIp: '10.1.2.3/8' }, 'networkSourceIp', /host bits set; the range is 10\.0\.0\.0\/8/],
    ['ranges that overlap each other', { networkSourceIp: '10.0.0.0/8,10.1.0.0/16' }, 'networkSourceIp', /overlaps/],
    ['no shared secret', { sharedSecret: undefined }, 'sharedSecret', /16 to 128 characters/],
    ['a short shared secret', { sharedSecret: 'x'.repeat(15) }, 'sharedSecret', /16 to 128 characters/],
    ['a long shared secret', { sharedSecret: 'x'.repeat(129) }, 'sharedSecret', /16 to 128 characters/],
    ['an unknown mfa', { mfa: 'SOMETIMES' }, 'mfa', /DISABLED, ENABLED, REQUIRED, ALWAYS/],
    ['an unknown expiration action', { userPasswordExpirationAction: 'DISABLE' }, 'userPasswordExpirationAction', /REMOVE .* or MAINTAIN/],
    ['a lockout action other than REMOVE', { userLockoutAction: 'MAINTAIN' }, 'userLockoutAction', /always rejects locked users/],
    ['tag names that are not names', { tagNames: [''] }, 'tagNames', /non-empty names/],
  ])('refuses %s with a 400 naming the field', async (_, overrides, field, message) => {
    const e = await failure(create(overrides));
    expect(e.kind).toBe('invalid');
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.message).toMatch(message);
    expect(e.details.map((d) => d.field)).toEqual([field]);
    expect(e.message).not.toContain(SECRET);
  });

  it('keeps shared secrets of 16 and 128 characters', async () => {
    await create({ name: 'a', networkSourceIp: '10.0.0.1', sharedSecret: 'x'.repeat(16) });
    await create({ name: 'b', networkSourceIp: '10.0.0.2', sharedSecret: 'ü'.repeat(128) });
  });

  it('names are unique in an org, ignoring case; another org may reuse one', async () => {
    await create({ name: 'Office', networkSourceIp: '10.0.0.1' });
    const e = await failure(create({ name: 'OFFICE', networkSourceIp: '10.0.0.2' }));
    expect([e.kind, e.code]).toEqual(['conflict', 'RADIUS_SERVER_NAME_TAKEN']);
    await create({ name: 'Office', networkSourceIp: '10.0.0.2' }, await otherOrg());
  });

  it('refuses ranges that overlap another server’s, in this org or any other, without naming the other org’s server', async () => {
    const mine = await create({ name: 'HQ', networkSourceIp: '10.0.0.0/8' });
    const sameOrg = await failure(create({ name: 'Lab', networkSourceIp: '10.20.0.0/16' }));
    expect([sameOrg.kind, sameOrg.code]).toEqual(['conflict', 'NETWORK_SOURCE_IN_USE']);
    expect(sameOrg.message).toContain('"HQ"');

    const b = await otherOrg();
    await t.core.radiusServers.create(b, input({ name: 'Theirs', networkSourceIp: '192.168.0.0/16' }));
    const crossOrg = await failure(create({ name: 'Guest', networkSourceIp: '192.168.1.1' }));
    expect([crossOrg.kind, crossOrg.code]).toEqual(['conflict', 'NETWORK_SOURCE_IN_USE']);
    expect(crossOrg.message).toContain('another organization');
    expect(crossOrg.message).not.toContain('Theirs');
    const fromB = await failure(t.core.radiusServers.create(b, input({ name: 'Mine now', networkSourceIp: '0.0.0.0/0' })));
    expect(fromB.code).toBe('NETWORK_SOURCE_IN_USE');

    const moved = await failure(t.core.radiusServers.update(t.ctx, mine.id, { networkSourceIp: '192.168.9.0/24' }));
    expect(moved.code).toBe('NETWORK_SOURCE_IN_USE');
    // A server's own ranges never clash with themselves.
    expect((await t.core.radiusServers.update(t.ctx, mine.id, { networkSourceIp: '10.0.0.0/8,172.16.0.0/12' })).networkSourceIps).toEqual(['10.0.0.0/8', '172.16.0.0/12']);
    // IPv6 and IPv4 never overlap.
    await create({ name: 'v6', networkSourceIp: '::/0' });
  });

  it('updates only the fields given, journals the change, and replaces the secret when one is given', async () => {
    const server = await create();
    t.clock.now = new Date('2025-03-02T00:00:00.000Z');
    const renamed = await t.core.radiusServers.update(t.ctx, server.id, { name: 'HQ', mfa: 'ENABLED' });
    expect(renamed).toEqual({ ...server, name: 'HQ', mfa: 'ENABLED', updated: '2025-03-02T00:00:00.000Z' });
    const served = async () => (await t.core.radiusServers.serving()).servers.find((s) => s.server.id === server.id)!;
    expect((await served()).sharedSecret).toEqual(Buffer.from(SECRET));
    await t.core.radiusServers.update(t.ctx, server.id, { sharedSecret: 'another-shared-secret-2' });
    expect((await served()).sharedSecret).toEqual(Buffer.from('another-shared-secret-2'));
    expect((await served()).server).toEqual({ ...renamed, updated: expect.any(String) });

    const rows = (await journal()).filter((e) => e.objectType === 'radius_server');
    expect(rows.map((e) => e.operation)).toEqual(['create', 'update', 'update']);
    expect(rows[0]!.changes.sharedSecret).toEqual({ before: null, after: '[REDACTED]' });
    expect(rows[1]!.changes).toEqual({ name: { before: 'Office', after: 'HQ' }, mfa: { before: 'DISABLED', after: 'ENABLED' } });
    expect(rows[2]!.changes).toEqual({ sharedSecret: { before: '[REDACTED]', after: '[REDACTED]' } });
  });

  it('never returns, journals or stores the shared secret in the clear', async () => {
    const server = await create();
    await t.core.radiusServers.update(t.ctx, server.id, { sharedSecret: 'second-secret-in-clear' });
    const reads = [
      server,
      await t.core.radiusServers.get(t.ctx, server.id),
      await t.core.radiusServers.list(t.ctx, { sort: [], page: { limit: 10, skip: 0 } }),
      await journal(),
    ];
    for (const r of reads) {
      const text = JSON.stringify(r);
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('second-secret-in-clear');
      expect(text).not.toContain('enc:v1');
    }
    const stored = (await t.testStore.store.read.radiusServers.all()).find((s) => s.server.id === server.id)!.sealedSecret;
    expect(stored).toMatch(/^enc:v1:/);
    expect(stored).not.toContain('second-secret-in-clear');
  });

  it('deletes a server with its associations, journaled', async () => {
    const server = await create();
    const user = await t.core.users.create(t.ctx, { username: 'ann', email: 'ann@example.com' });
    const group = await t.core.groups.create(t.ctx, { name: 'staff' });
    await t.core.associations.change(t.ctx, { type: 'user', id: user.id }, { type: 'radius_server', id: server.id }, 'add');
    await t.core.associations.change(t.ctx, { type: 'user_group', id: group.id }, { type: 'radius_server', id: server.id }, 'add');
    expect((await t.core.associations.ofSubject(t.ctx, 'user', user.id, ['radius_server'], { limit: 10, skip: 0 })).total).toBe(1);
    expect(await t.core.radiusServers.delete(t.ctx, server.id)).toEqual(server);
    await expect(t.core.radiusServers.get(t.ctx, server.id)).rejects.toMatchObject({ code: 'RADIUS_SERVER_NOT_FOUND' });
    expect((await t.core.associations.ofSubject(t.ctx, 'user', user.id, ['radius_server'], { limit: 10, skip: 0 })).total).toBe(0);
    const tail = (await journal()).slice(-3);
    expect(tail.map((e) => [e.objectType, e.operation])).toEqual([
      ['association', 'dissociate'],
      ['association', 'dissociate'],
      ['radius_server', 'delete'],
    ]);
    await expect(t.core.radiusServers.delete(t.ctx, server.id)).rejects.toMatchObject({ code: 'RADIUS_SERVER_NOT_FOUND' });
  });

  it('serving() hands the front-end every org’s servers with secrets, and a version that moves on every change', async () => {
    const v0 = await t.core.radiusServers.version();
    const a = await create();
    const b = await t.core.radiusServers.create(await otherOrg(), input({ name: 'B', networkSourceIp: '192.168.0.0/16', sharedSecret: 'b-secret-0123456789' }));
    const served = await t.core.radiusServers.serving();
    expect(served.version).toBe(await t.core.radiusServers.version());
    expect(served.version).not.toBe(v0);
    expect(served.servers.map((s) => [s.server.id, s.sharedSecret.toString()]).sort()).toEqual(
      [
        [a.id, SECRET],
        [b.id, 'b-secret-0123456789'],
      ].sort(),
    );
    const versions = new Set([v0, served.version]);
    for (const change of [
      () => t.core.radiusServers.update(t.ctx, a.id, { tagNames: ['x'] }),
      () => t.core.radiusServers.update(t.ctx, a.id, { sharedSecret: 'rotated-secret-0123' }),
      () => t.core.radiusServers.delete(t.ctx, a.id),
    ]) {
      await change();
      const v = await t.core.radiusServers.version();
      expect(versions.has(v)).toBe(false);
      versions.add(v);
    }
    // A refused change leaves the version alone.
    const before = await t.core.radiusServers.version();
    await failure(t.core.radiusServers.update(t.ctx, b.id, { name: '' }));
    await failure(create({ name: 'Clash', networkSourceIp: '192.168.3.3' }));
    expect(await t.core.radiusServers.version()).toBe(before);
  });

  it('another org cannot read, change, delete or associate the server', async () => {
    const server = await create();
    const b = await otherOrg();
    const bUser = await t.core.users.create(b, { username: 'bob', email: 'bob@example.com' });
    for (const attempt of [
      () => t.core.radiusServers.get(b, server.id),
      () => t.core.radiusServers.update(b, server.id, { name: 'Hijack' }),
      () => t.core.radiusServers.delete(b, server.id),
      () => t.core.associations.change(b, { type: 'user', id: bUser.id }, { type: 'radius_server', id: server.id }, 'add'),
      () => t.core.associations.usersOfResource(b, 'radius_server', server.id, { sort: [], page: { limit: 10, skip: 0 } }),
    ]) {
      const e = await failure(attempt());
      expect(e.kind).toBe('not_found');
    }
    expect((await t.core.radiusServers.list(b, { sort: [], page: { limit: 10, skip: 0 } })).total).toBe(0);
    expect((await t.core.radiusServers.get(t.ctx, server.id)).name).toBe('Office');
  });

  it('needs radius:read to read and radius:write to change', async () => {
    const server = await create();
    for (const role of ['Read Only', 'Help Desk'] as const) {
      expect((await t.core.radiusServers.get(asRole(role), server.id)).id).toBe(server.id);
      expect((await failure(t.core.radiusServers.update(asRole(role), server.id, { name: 'x' }))).kind).toBe('forbidden');
      expect((await failure(create({ name: 'y', networkSourceIp: '10.9.9.9' }, asRole(role)))).kind).toBe('forbidden');
    }
    expect((await failure(t.core.radiusServers.get(asRole('Command Runner'), server.id))).kind).toBe('forbidden');
    expect((await failure(t.core.radiusServers.delete(asRole('Administrator', true), server.id))).code).toBe('API_KEY_READ_ONLY');
    expect((await t.core.radiusServers.update(asRole('Manager'), server.id, { name: 'Managed' })).name).toBe('Managed');
  });

  it('lists with filters and sorts on its own fields, refusing others', async () => {
    await create({ name: 'b', networkSourceIp: '10.0.0.1', mfa: 'ENABLED' });
    await create({ name: 'A', networkSourceIp: '10.0.0.2' });
    const names = async (query: Parameters<typeof t.core.radiusServers.list>[1]) => (await t.core.radiusServers.list(t.ctx, query)).items.map((s) => s.name);
    expect(await names({ sort: [{ field: 'name', descending: false }], page: { limit: 10, skip: 0 } })).toEqual(['A', 'b']);
    expect(await names({ sort: [{ field: 'name', descending: true }], page: { limit: 10, skip: 0 } })).toEqual(['b', 'A']);
    expect(await names({ filter: { kind: 'compare', field: 'mfa', op: 'eq', value: 'ENABLED' }, sort: [], page: { limit: 10, skip: 0 } })).toEqual(['b']);
    expect((await failure(names({ filter: { kind: 'compare', field: 'sharedSecret', op: 'eq', value: 'x' }, sort: [], page: { limit: 10, skip: 0 } }))).code).toBe('INVALID_FILTER');
  });
});
