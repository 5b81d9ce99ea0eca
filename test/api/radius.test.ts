import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrgId, UserId } from '../../src/core/ids.js';
import { ntHash } from '../../src/core/nt-hash.js';
import { openTestApi, type Call, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { addMember, adminWithKey, createGroup, createUser, expectError, expectOk, journalHead, MISSING_ID, uniq, type Res } from './helpers.js';

const SECRET = 'the-shared-secret-4-tests';

/** A /24 no other test in this file uses: servers of every org share one address space. */
let subnet = 0;
const freshRange = () => `10.${Math.floor(++subnet / 250)}.${subnet % 250}.0/24`;

describeEachStore('API RADIUS servers, TOTP and NT hashes', (kind) => {
  let t: TestApi;
  /** Every body any call in this file received, checked at the end for shared secrets. */
  const bodies: string[] = [];
  const call = async (method: string, url: string, options: Call = {}): Promise<Res> => {
    const res = await t.call(method, url, options);
    bodies.push(res.body);
    return res;
  };
  const newServer = async (body: Record<string, unknown> = {}) =>
    expectOk(await call('POST', '/api/radiusservers', { body: { name: uniq('radius'), networkSourceIp: freshRange(), sharedSecret: SECRET, ...body } }));

  beforeAll(async () => {
    t = await openTestApi(kind);
  });
  afterAll(async () => {
    for (const body of bodies) {
      expect(body).not.toContain(SECRET);
      expect(body).not.toContain('"sharedSecret":');
      expect(body).not.toContain('enc:v1');
    }
    await t.dispose();
  });

  describe('v1 /radiusservers', () => {
    it('creates one in JumpCloud shape, without the shared secret', async () => {
      const res = await call('POST', '/api/radiusservers', {
        body: { name: 'Office Wi-Fi', networkSourceIp: '172.20.0.0/16, 2001:DB8:1::/48', sharedSecret: SECRET, tagNames: ['wifi'], userLockoutAction: 'REMOVE', authIdp: 'JUMPCLOUD' },
      });
      const server = expectOk(res);
      expect(server).toEqual({
        _id: expect.stringMatching(/^[0-9a-f]{24}$/),
        name: 'Office Wi-Fi',
        networkSourceIp: '172.20.0.0/16,2001:db8:1::/48',
        organization: t.orgId,
        mfa: 'DISABLED',
        userLockoutAction: 'REMOVE',
        userPasswordExpirationAction: 'REMOVE',
        tagNames: ['wifi'],
        tags: [],
        authIdp: 'JUMPCLOUD',
        userPasswordEnabled: true,
        userCertEnabled: false,
        caCert: '',
        deviceCertEnabled: false,
        created: expect.any(String),
        updated: expect.any(String),
      });
      expect(expectOk(await call('GET', `/api/radiusservers/${server._id}`))).toEqual(server);
      const served = (await t.core.radiusServers.serving()).servers.find((s) => s.server.id === server._id);
      expect(served?.sharedSecret.toString()).toBe(SECRET);
    });

    it('lists with totalCount, filter, sort, fields, limit and skip', async () => {
      const tag = uniq('t');
      const a = await newServer({ name: `${tag}-a`, mfa: 'ENABLED' });
      const b = await newServer({ name: `${tag}-B` });
      const c = await newServer({ name: `${tag}-c`, mfa: 'ENABLED' });
      const all = expectOk(await call('GET', '/api/radiusservers?limit=100'));
      expect(all.totalCount).toBe(all.results.length);
      expect(all.results.map((s: any) => s._id)).toEqual(expect.arrayContaining([a._id, b._id, c._id]));
      const names = all.results.map((s: any) => s.name.toLowerCase());
      expect(names).toEqual([...names].sort());

      const enabled = expectOk(await call('GET', `/api/radiusservers?filter=mfa:$eq:ENABLED&sort=-name&limit=100`));
      expect(enabled.results.filter((s: any) => s.name.startsWith(tag)).map((s: any) => s._id)).toEqual([c._id, a._id]);
      const byName = expectOk(await call('GET', `/api/radiusservers?filter=${encodeURIComponent(`name:$eq:${tag}-b`)}&fields=name`));
      expect(byName).toEqual({ totalCount: 1, results: [{ _id: b._id, name: `${tag}-B` }] });
      const page = expectOk(await call('GET', `/api/radiusservers?limit=1&skip=1&sort=name`));
      expect(page.results).toHaveLength(1);
      expect(page.results[0]._id).toBe(all.results[1]._id);
      expectError(await call('GET', '/api/radiusservers?filter=sharedSecret:$eq:x'), 400, 'INVALID_FILTER');
      expectError(await call('GET', '/api/radiusservers?sort=networkSourceIp'), 400, 'INVALID_SORT');
    });

    it('answers 400 naming the field for bad input', async () => {
      const base = { name: uniq('bad'), networkSourceIp: freshRange(), sharedSecret: SECRET };
      const cases: [Record<string, unknown>, string, string?][] = [
        [{ ...base, sharedSecret: undefined }, 'sharedSecret', 'INVALID_INPUT'],
        [{ ...base, sharedSecret: 'too-short' }, 'sharedSecret', 'INVALID_INPUT'],
        [{ ...base, networkSourceIp: 'my-router' }, 'networkSourceIp', 'INVALID_INPUT'],
        [{ ...base, networkSourceIp: '10.99.1.7/16' }, 'networkSourceIp', 'INVALID_INPUT'],
        [{ ...base, name: '' }, 'name', 'INVALID_INPUT'],
        [{ ...base, mfa: 'SOMETIMES' }, 'mfa', 'INVALID_INPUT'],
        [{ ...base, userLockoutAction: 'MAINTAIN' }, 'userLockoutAction', 'INVALID_INPUT'],
        [{ ...base, userPasswordExpirationAction: 'EXPLODE' }, 'userPasswordExpirationAction', 'INVALID_INPUT'],
        [{ ...base, authIdp: 'AZURE' }, 'authIdp', 'INVALID_INPUT'],
        [{ ...base, userCertEnabled: true }, 'caCert', 'INVALID_INPUT'],
        [{ ...base, userCertEnabled: 'yes' }, 'userCertEnabled', 'INVALID_INPUT'],
        [{ ...base, caCert: 'not a certificate' }, 'caCert', 'INVALID_INPUT'],
        [{ ...base, caCert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }, 'caCert', 'INVALID_INPUT'],
        [{ ...base, tagNames: 'wifi' }, 'tagNames', 'INVALID_INPUT'],
      ];
      for (const [body, field, reason] of cases) {
        const err = expectError(await call('POST', '/api/radiusservers', { body }), 400, reason);
        expect(err.details?.map((d) => d.field), JSON.stringify(body)).toContain(field);
      }
      const hostBits = expectError(await call('POST', '/api/radiusservers', { body: { ...base, networkSourceIp: '10.99.1.7/16' } }), 400);
      expect(hostBits.message).toContain('10.99.0.0/16');
      const lockout = expectError(await call('POST', '/api/radiusservers', { body: { ...base, userLockoutAction: 'MAINTAIN' } }), 400);
      expect(lockout.message).toContain('locked users');
    });

    it('answers 409 for a taken name and for addresses another server uses, in any org', async () => {
      const first = await newServer();
      expectError(await call('POST', '/api/radiusservers', { body: { name: first.name.toUpperCase(), networkSourceIp: freshRange(), sharedSecret: SECRET } }), 409, 'RADIUS_SERVER_NAME_TAKEN');
      const inside = first.networkSourceIp.replace('.0/24', '.9');
      expectError(await call('POST', '/api/radiusservers', { body: { name: uniq('r'), networkSourceIp: inside, sharedSecret: SECRET } }), 409, 'NETWORK_SOURCE_IN_USE');
      const second = await newServer();
      expectError(await call('PUT', `/api/radiusservers/${second._id}`, { body: { networkSourceIp: first.networkSourceIp } }), 409, 'NETWORK_SOURCE_IN_USE');

      const org2 = (await t.core.organizations.create('Elsewhere')).id;
      const { key } = await adminWithKey(t, 'Administrator', { orgId: org2 });
      const err = expectError(await call('POST', '/api/radiusservers', { key, body: { name: uniq('r'), networkSourceIp: '10.0.0.0/8', sharedSecret: SECRET } }), 409, 'NETWORK_SOURCE_IN_USE');
      expect(err.message).not.toContain(first.name);
    });

    it('updates only what is given; a new sharedSecret replaces the secret and is never echoed', async () => {
      const server = await newServer({ mfa: 'ENABLED' });
      const updated = expectOk(await call('PUT', `/api/radiusservers/${server._id}`, { body: { name: `${server.name}-x`, userPasswordExpirationAction: 'MAINTAIN', sharedSecret: `${SECRET}-2` } }));
      expect(updated).toEqual({ ...server, name: `${server.name}-x`, userPasswordExpirationAction: 'MAINTAIN', updated: expect.any(String) });
      const served = (await t.core.radiusServers.serving()).servers.find((s) => s.server.id === server._id);
      expect(served?.sharedSecret.toString()).toBe(`${SECRET}-2`);
      expectError(await call('PUT', `/api/radiusservers/${server._id}`, { body: { sharedSecret: 'short' } }), 400, 'INVALID_INPUT');
      expectError(await call('PUT', `/api/radiusservers/${MISSING_ID}`, { body: { name: 'x' } }), 404, 'RADIUS_SERVER_NOT_FOUND');
      expectError(await call('GET', `/api/radiusservers/${MISSING_ID}`), 404, 'RADIUS_SERVER_NOT_FOUND');
    });

    it('deletes one with its associations; then 404', async () => {
      const server = await newServer();
      const user = await createUser(t);
      expectOk(await call('POST', `/api/v2/radiusservers/${server._id}/associations`, { body: { op: 'add', type: 'user', id: user._id } }), 204);
      expect(expectOk(await call('DELETE', `/api/radiusservers/${server._id}`))).toEqual(server);
      expectError(await call('DELETE', `/api/radiusservers/${server._id}`), 404, 'RADIUS_SERVER_NOT_FOUND');
      expect(expectOk(await call('GET', `/api/v2/users/${user._id}/associations?targets=radius_server`))).toEqual([]);
    });

    it('needs a key, and a role that allows it', async () => {
      const server = await newServer();
      expectError(await call('GET', '/api/radiusservers', { key: null }), 401);
      const readOnly = await adminWithKey(t, 'Administrator', { readOnly: true });
      expect(expectOk(await call('GET', `/api/radiusservers/${server._id}`, { key: readOnly.key }))._id).toBe(server._id);
      expectError(await call('PUT', `/api/radiusservers/${server._id}`, { key: readOnly.key, body: { name: 'x' } }), 403, 'API_KEY_READ_ONLY');
      const helpDesk = await adminWithKey(t, 'Help Desk');
      expectError(await call('DELETE', `/api/radiusservers/${server._id}`, { key: helpDesk.key }), 403, 'PERMISSION_DENIED');
      const runner = await adminWithKey(t, 'Command Runner');
      expectError(await call('GET', '/api/radiusservers', { key: runner.key }), 403, 'PERMISSION_DENIED');
    });
  });

  describe('v2 graph', () => {
    it('associations, users and groups of a server, and servers of users and groups, with paths', async () => {
      const server = await newServer();
      const [direct, viaGroup] = [await createUser(t), await createUser(t)];
      const group = await createGroup(t);
      await addMember(t, group.id, 'user', viaGroup._id);
      expectOk(await call('POST', `/api/v2/radiusservers/${server._id}/associations`, { body: { op: 'add', type: 'user', id: direct._id } }), 204);
      expectOk(await call('POST', `/api/v2/usergroups/${group.id}/associations`, { body: { op: 'add', type: 'radius_server', id: server._id } }), 204);
      expectError(await call('POST', `/api/v2/radiusservers/${server._id}/associations`, { body: { op: 'add', type: 'user', id: direct._id } }), 409, 'ASSOCIATION_EXISTS');

      const edges = expectOk(await call('GET', `/api/v2/radiusservers/${server._id}/associations?targets=user&targets=user_group`));
      expect(edges.map((e: any) => [e.to.type, e.to.id]).sort()).toEqual([['user', direct._id], ['user_group', group.id]].sort());
      const users = await call('GET', `/api/v2/radiusservers/${server._id}/users`);
      expect(users.headers['x-total-count']).toBe('2');
      expect(Object.fromEntries(expectOk(users).map((r: any) => [r.id, r.paths.map((p: any[]) => p.length)]))).toEqual({ [direct._id]: [1], [viaGroup._id]: [2] });
      expect(expectOk(await call('GET', `/api/v2/radiusservers/${server._id}/usergroups`)).map((r: any) => r.id)).toEqual([group.id]);
      expect(expectOk(await call('GET', `/api/v2/users/${viaGroup._id}/radiusservers`)).map((r: any) => [r.id, r.type])).toEqual([[server._id, 'radius_server']]);
      expect(expectOk(await call('GET', `/api/v2/usergroups/${group.id}/radiusservers`)).map((r: any) => r.id)).toEqual([server._id]);
      expect(expectOk(await call('GET', `/api/v2/users/${direct._id}/associations?targets=radius_server`)).map((e: any) => e.to.id)).toEqual([server._id]);

      expectOk(await call('POST', `/api/v2/radiusservers/${server._id}/associations`, { body: { op: 'remove', type: 'user', id: direct._id } }), 204);
      expect(expectOk(await call('GET', `/api/v2/radiusservers/${server._id}/associations?targets=user`))).toEqual([]);
      expectError(await call('GET', `/api/v2/radiusservers/${MISSING_ID}/users`), 404, 'RADIUS_SERVER_NOT_FOUND');
      expectError(await call('POST', `/api/v2/users/${direct._id}/associations`, { body: { op: 'add', type: 'radius_server', id: MISSING_ID } }), 404, 'RADIUS_SERVER_NOT_FOUND');
      expectError(await call('GET', `/api/v2/radiusservers/${server._id}/associations`), 400);
    });

    it("another org's administrator can neither see nor associate the server", async () => {
      const server = await newServer();
      const org2 = (await t.core.organizations.create('Nosy')).id;
      const { key } = await adminWithKey(t, 'Administrator with Billing', { orgId: org2 });
      const theirUser = expectOk(await call('POST', '/api/systemusers', { key, body: { username: uniq('n'), email: `${uniq('n')}@nosy.test` } }));
      const head = await journalHead(t);
      for (const [method, url, body] of [
        ['GET', `/api/radiusservers/${server._id}`],
        ['PUT', `/api/radiusservers/${server._id}`, { name: 'Hijack' }],
        ['DELETE', `/api/radiusservers/${server._id}`],
        ['GET', `/api/v2/radiusservers/${server._id}/users`],
        ['GET', `/api/v2/radiusservers/${server._id}/usergroups`],
        ['GET', `/api/v2/radiusservers/${server._id}/associations?targets=user`],
        ['POST', `/api/v2/radiusservers/${server._id}/associations`, { op: 'add', type: 'user', id: theirUser._id }],
        ['POST', `/api/v2/users/${theirUser._id}/associations`, { op: 'add', type: 'radius_server', id: server._id }],
      ] as [string, string, unknown?][]) {
        const res = await call(method, url, { key, ...(body ? { body } : {}) });
        expectError(res, 404);
        expect(res.body).not.toContain(server.name);
      }
      expect(expectOk(await call('GET', '/api/radiusservers', { key })).totalCount).toBe(0);
      expect(await journalHead(t)).toBe(head);
    });
  });

  describe('TOTP and NT hash (Roster extensions)', () => {
    const codeNow = (secret: string) => generate({ secret });

    it('enrolls, shows the state but never the secret, confirms, and shows in the user object', async () => {
      const user = await createUser(t);
      const enrolled = await call('POST', `/api/v2/users/${user._id}/totp`);
      const { secret, otpauthUri } = expectOk(enrolled, 201);
      expect(secret).toMatch(/^[A-Z2-7]+$/);
      expect(otpauthUri).toContain(`Roster:${encodeURIComponent(user.username)}`);
      const status = await call('GET', `/api/v2/users/${user._id}/totp`);
      expect(expectOk(status)).toEqual({ enrolled: true, confirmed: false, enrolledAt: expect.any(String) });
      expect(status.body).not.toContain(secret);

      expectError(await call('POST', `/api/v2/users/${user._id}/totp/confirm`, { body: { code: 'nope' } }), 400, 'INVALID_TOTP');
      expectError(await call('POST', `/api/v2/users/${user._id}/totp/confirm`, { body: {} }), 400, 'INVALID_INPUT');
      expect(expectOk(await call('POST', `/api/v2/users/${user._id}/totp/confirm`, { body: { code: await codeNow(secret) } }))).toEqual({ enrolled: true, confirmed: true, enrolledAt: expect.any(String) });
      expectError(await call('POST', `/api/v2/users/${user._id}/totp/confirm`, { body: { code: await codeNow(secret) } }), 409, 'TOTP_ALREADY_CONFIRMED');

      const one = expectOk(await call('GET', `/api/systemusers/${user._id}`));
      expect([one.totp_enabled, one.mfa]).toEqual([true, { configured: true, exclusion: false }]);
      const listed = expectOk(await call('GET', `/api/systemusers?limit=100&filter=${encodeURIComponent(`username:$eq:${user.username}`)}`)).results[0];
      expect(listed.totp_enabled).toBe(true);
      const searched = expectOk(await call('POST', '/api/search/systemusers', { body: { filter: [{ username: user.username }] } })).results[0];
      expect(searched.mfa.configured).toBe(true);
      const other = expectOk(await call('GET', `/api/systemusers/${(await createUser(t))._id}`));
      expect([other.totp_enabled, other.mfa.configured]).toEqual([false, false]);

      expect(JSON.stringify(expectOk(await call('GET', `/api/v2/journal?filter=objectId:eq:${user._id}`)))).not.toContain(secret);
    });

    it('removes TOTP with DELETE (404 when none) or JumpCloud resetmfa (200 either way)', async () => {
      const user = await createUser(t);
      expectError(await call('DELETE', `/api/v2/users/${user._id}/totp`), 404, 'TOTP_NOT_ENROLLED');
      expectOk(await call('POST', `/api/v2/users/${user._id}/totp`), 201);
      expectOk(await call('DELETE', `/api/v2/users/${user._id}/totp`), 204);
      expect(expectOk(await call('GET', `/api/v2/users/${user._id}/totp`))).toEqual({ enrolled: false, confirmed: false, enrolledAt: null });

      expectOk(await call('POST', `/api/v2/users/${user._id}/totp`), 201);
      const reset = await call('POST', `/api/systemusers/${user._id}/resetmfa`, { body: { exclusion: true, exclusionDays: 7 } });
      expect(reset.statusCode, reset.body).toBe(200);
      expect(reset.json()).toBe('');
      expect(expectOk(await call('GET', `/api/v2/users/${user._id}/totp`)).enrolled).toBe(false);
      expect((await call('POST', `/api/systemusers/${user._id}/resetmfa`)).statusCode).toBe(200);
      const ops = expectOk(await call('GET', `/api/v2/journal?filter=objectId:eq:${user._id}&filter=operation:eq:mfa_reset`));
      expect(ops).toHaveLength(2);
    });

    it('answers 404 for unknown users and 403 for roles that may not', async () => {
      for (const [method, url, body] of [
        ['POST', `/api/v2/users/${MISSING_ID}/totp`],
        ['POST', `/api/v2/users/${MISSING_ID}/totp/confirm`, { code: '123456' }],
        ['GET', `/api/v2/users/${MISSING_ID}/totp`],
        ['DELETE', `/api/v2/users/${MISSING_ID}/totp`],
        ['DELETE', `/api/v2/users/${MISSING_ID}/nthash`],
        ['POST', `/api/systemusers/${MISSING_ID}/resetmfa`],
      ] as [string, string, unknown?][]) {
        expectError(await call(method, url, body ? { body } : {}), 404, 'USER_NOT_FOUND');
      }
      const user = await createUser(t);
      expectError(await call('POST', `/api/v2/users/${user._id}/totp/confirm`, { body: { code: '123456' } }), 404, 'TOTP_NOT_ENROLLED');
      const readOnly = await adminWithKey(t, 'Read Only');
      expectError(await call('POST', `/api/v2/users/${user._id}/totp`, { key: readOnly.key }), 403, 'PERMISSION_DENIED');
      expectError(await call('POST', `/api/systemusers/${user._id}/resetmfa`, { key: readOnly.key }), 403, 'PERMISSION_DENIED');
      expectError(await call('DELETE', `/api/v2/users/${user._id}/nthash`, { key: readOnly.key }), 403, 'PERMISSION_DENIED');
      expect(expectOk(await call('GET', `/api/v2/users/${user._id}/totp`, { key: readOnly.key })).enrolled).toBe(false);
    });

    it('keeps NT hashes only while settings.radius.storeNtHashes is on; DELETE …/nthash removes one', async () => {
      const org = expectOk(await call('GET', `/api/organizations/${t.orgId}`));
      expect(org.settings.radius).toEqual({ storeNtHashes: false });
      const password = 'Correct-Horse-Battery-42';
      const before = await createUser(t, { password });
      const ntOf = (id: string) => t.core.credentials.ntHashOf(t.orgId as OrgId, id as UserId);
      expect(await ntOf(before._id)).toBeUndefined();
      expectError(await call('DELETE', `/api/v2/users/${before._id}/nthash`), 404, 'NT_HASH_NOT_FOUND');

      const on = expectOk(await call('PUT', `/api/organizations/${t.orgId}`, { body: { settings: { radius: { storeNtHashes: true } } } }));
      expect(on.settings.radius).toEqual({ storeNtHashes: true });
      expect(on.settings.passwordPolicy).toEqual(org.settings.passwordPolicy);
      const user = await createUser(t, { password });
      expect(await ntOf(user._id)).toEqual(ntHash(password));
      expectOk(await call('PUT', `/api/systemusers/${user._id}`, { body: { password: `${password}-2` } }));
      expect(await ntOf(user._id)).toEqual(ntHash(`${password}-2`));
      expectOk(await call('DELETE', `/api/v2/users/${user._id}/nthash`), 204);
      expect(await ntOf(user._id)).toBeUndefined();

      const again = await createUser(t, { password });
      expect(await ntOf(again._id)).toBeDefined();
      expectOk(await call('PUT', `/api/organizations/${t.orgId}`, { body: { settings: { radius: { storeNtHashes: false } } } }));
      expect(await ntOf(again._id)).toBeUndefined();
      const entry = expectOk(await call('GET', `/api/v2/journal?filter=objectType:eq:organization&filter=operation:eq:update`)).at(-1);
      expect(entry.changes.ntHashes).toEqual({ before: 1, after: 0 });
      expectError(await call('PUT', `/api/organizations/${t.orgId}`, { body: { settings: { radius: { storeNtHashes: 'yes' } } } }), 400);
    });
  });
});
