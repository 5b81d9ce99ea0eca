import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { adminWithKey, expectError, expectOk, MISSING_ID, uniq } from './helpers.js';

describeEachStore('API v1 users (administrators)', (kind) => {
  let t: TestApi;
  /** A store with only its first administrator, for the last-administrator rules. */
  let lonely: TestApi;
  beforeAll(async () => {
    [t, lonely] = await Promise.all([openTestApi(kind), openTestApi(kind)]);
  });
  afterAll(async () => {
    await Promise.all([t.dispose(), lonely.dispose()]);
  });

  const create = async (body: Record<string, unknown>) => expectOk(await t.call('POST', '/api/users', { body: { email: `${uniq('adm')}@acme.test`, ...body } }), 201);
  const adminCount = async (api: TestApi) => expectOk(await api.call('GET', '/api/users?limit=0')).totalCount as number;

  describe('CRUD', () => {
    it('GET /api/users answers {totalCount, results} with the first administrator', async () => {
      const page = expectOk(await t.call('GET', `/api/users?filter=${encodeURIComponent('email:$eq:ROOT@ACME.TEST')}`));
      expect(page.totalCount).toBe(1);
      expect(page.results).toEqual([
        expect.objectContaining({ _id: t.adminId, email: 'root@acme.test', role: 'Administrator with Billing', roleName: 'Administrator with Billing', suspended: false, organization: t.orgId, organizations: [t.orgId] }),
      ]);
      expect(JSON.stringify(page)).not.toMatch(/password|argon2/i);
    });

    it('POST answers 201; GET reads the administrator back; the password is never returned', async () => {
      const res = await t.call('POST', '/api/users', { body: { email: `${uniq('Help')}@Acme.test`, firstname: 'Hélène', lastname: 'Ødegård', roleName: 'Help Desk', password: 'Admin-Password-1' } });
      const admin = expectOk(res, 201);
      expect(admin).toMatchObject({ firstname: 'Hélène', lastname: 'Ødegård', role: 'Help Desk', roleName: 'Help Desk', suspended: false, organization: t.orgId });
      expect(res.body).not.toContain('Admin-Password-1');
      expect(expectOk(await t.call('GET', `/api/users/${admin._id}`))).toEqual(admin);
    });

    it('refuses a duplicate email in any case (409), an unknown role, a missing email and a weak password (400)', async () => {
      const admin = await create({ roleName: 'Manager' });
      const before = await adminCount(t);
      expectError(await t.call('POST', '/api/users', { body: { email: admin.email.toUpperCase(), roleName: 'Manager' } }), 409, 'ADMIN_EMAIL_TAKEN');
      expectError(await t.call('POST', '/api/users', { body: { email: `${uniq('a')}@acme.test`, roleName: 'Superuser' } }), 400, 'INVALID_INPUT');
      expectError(await t.call('POST', '/api/users', { body: { roleName: 'Manager' } }), 400, 'INVALID_INPUT');
      expectError(await t.call('POST', '/api/users', { body: { email: 'not-an-email', roleName: 'Manager' } }), 400, 'INVALID_INPUT');
      const weak = expectError(await t.call('POST', '/api/users', { body: { email: `${uniq('a')}@acme.test`, roleName: 'Manager', password: 'weak' } }), 400, 'INVALID_INPUT');
      expect(weak.details!.map((d) => d.reason)).toContain('TOO_SHORT');
      expect(await adminCount(t)).toBe(before);
    });

    it('PUT changes the given fields; an email taken by another administrator answers 409', async () => {
      const a = await create({ roleName: 'Manager', firstname: 'Old' });
      const b = await create({ roleName: 'Read Only' });
      expect(expectOk(await t.call('PUT', `/api/users/${a._id}`, { body: { firstname: 'New', roleName: 'Help Desk' } }))).toMatchObject({ firstname: 'New', roleName: 'Help Desk', role: 'Help Desk', email: a.email });
      expectError(await t.call('PUT', `/api/users/${b._id}`, { body: { email: a.email.toUpperCase() } }), 409, 'ADMIN_EMAIL_TAKEN');
      expect(expectOk(await t.call('GET', `/api/users/${b._id}`)).email).toBe(b.email);
      expectError(await t.call('PUT', `/api/users/${a._id}`, { body: { roleName: 'Emperor' } }), 400, 'INVALID_INPUT');
    });

    it('DELETE answers the administrator, revokes their keys, and later reads 404', async () => {
      const { adminId, key } = await adminWithKey(t, 'Manager');
      expectOk(await t.call('GET', '/api/systemusers', { key }));
      expect(expectOk(await t.call('DELETE', `/api/users/${adminId}`))._id).toBe(adminId);
      expectError(await t.call('GET', `/api/users/${adminId}`), 404, 'ADMINISTRATOR_NOT_FOUND');
      expectError(await t.call('GET', '/api/systemusers', { key }), 401, 'API_KEY_INVALID');
      expectError(await t.call('DELETE', `/api/users/${adminId}`), 404, 'ADMINISTRATOR_NOT_FOUND');
    });

    it('unknown ids answer 404 ADMINISTRATOR_NOT_FOUND', async () => {
      expectError(await t.call('GET', `/api/users/${MISSING_ID}`), 404, 'ADMINISTRATOR_NOT_FOUND');
      expectError(await t.call('PUT', `/api/users/${MISSING_ID}`, { body: { firstname: 'x' } }), 404, 'ADMINISTRATOR_NOT_FOUND');
      expectError(await t.call('DELETE', `/api/users/${MISSING_ID}`), 404, 'ADMINISTRATOR_NOT_FOUND');
    });

    it('lists with filters on role, sort, fields and a skip past the end', async () => {
      const last = uniq('zz');
      const made = [await create({ roleName: 'Command Runner', lastname: `${last}b` }), await create({ roleName: 'Command Runner', lastname: `${last}a` })];
      const q = `filter=${encodeURIComponent('roleName:$eq:Command Runner')}&filter=${encodeURIComponent(`lastname:$gte:${last}`)}`;
      const page = expectOk(await t.call('GET', `/api/users?${q}&sort=lastname&fields=lastname`));
      expect(page).toEqual({ totalCount: 2, results: [{ _id: made[1]._id, lastname: `${last}a` }, { _id: made[0]._id, lastname: `${last}b` }] });
      expect(expectOk(await t.call('GET', `/api/users?${q}&skip=2`))).toEqual({ totalCount: 2, results: [] });
      expectError(await t.call('GET', `/api/users?filter=${encodeURIComponent('roleName:$eq:Pope')}`), 400, 'INVALID_FILTER');
      expectError(await t.call('GET', '/api/users?filter=password:$eq:x'), 400, 'INVALID_FILTER');
    });
  });

  describe('roles and self-service', () => {
    it('no one grants or manages a role beyond their own: 403 ROLE_ESCALATION', async () => {
      const { key } = await adminWithKey(t, 'Administrator');
      const before = await adminCount(t);
      expectError(await t.call('POST', '/api/users', { key, body: { email: `${uniq('b')}@acme.test`, roleName: 'Administrator with Billing' } }), 403, 'ROLE_ESCALATION');
      expectError(await t.call('PUT', `/api/users/${t.adminId}`, { key, body: { firstname: 'Hacked' } }), 403, 'ROLE_ESCALATION');
      expectError(await t.call('DELETE', `/api/users/${t.adminId}`, { key }), 403, 'ROLE_ESCALATION');
      expect(await adminCount(t)).toBe(before);
      expect(expectOk(await t.call('GET', `/api/users/${t.adminId}`)).firstname).toBe('');
      const peer = expectOk(await t.call('POST', '/api/users', { key, body: { email: `${uniq('p')}@acme.test`, roleName: 'Help Desk' } }), 201);
      expect(peer.roleName).toBe('Help Desk');
    });

    it('anyone edits their own name, but not their own role', async () => {
      const { adminId, key } = await adminWithKey(t, 'Command Runner');
      expectError(await t.call('GET', '/api/users', { key }), 403, 'PERMISSION_DENIED');
      expect(expectOk(await t.call('GET', `/api/users/${adminId}`, { key }))._id).toBe(adminId);
      expect(expectOk(await t.call('PUT', `/api/users/${adminId}`, { key, body: { firstname: 'Self' } })).firstname).toBe('Self');
      expectError(await t.call('PUT', `/api/users/${adminId}`, { key, body: { roleName: 'Administrator' } }), 403, 'PERMISSION_DENIED');
      expect(expectOk(await t.call('GET', `/api/users/${adminId}`)).roleName).toBe('Command Runner');
    });

    it("a suspended administrator's keys answer 401 ADMIN_SUSPENDED until unsuspended", async () => {
      const { adminId, key } = await adminWithKey(t, 'Manager');
      expect(expectOk(await t.call('PUT', `/api/users/${adminId}`, { body: { suspended: true } })).suspended).toBe(true);
      expectError(await t.call('GET', '/api/systemusers', { key }), 401, 'ADMIN_SUSPENDED');
      expectOk(await t.call('PUT', `/api/users/${adminId}`, { body: { suspended: false } }));
      expectOk(await t.call('GET', '/api/systemusers', { key }));
    });
  });

  describe('the last administrator', () => {
    it('cannot be deleted, suspended or demoted: 409 LAST_ADMINISTRATOR, nothing changes', async () => {
      const helpDesk = await adminWithKey(lonely, 'Help Desk');
      expect(await adminCount(lonely)).toBe(2);
      expectError(await lonely.call('DELETE', `/api/users/${lonely.adminId}`), 409, 'LAST_ADMINISTRATOR', 'FAILED_PRECONDITION');
      expectError(await lonely.call('PUT', `/api/users/${lonely.adminId}`, { body: { suspended: true } }), 409, 'LAST_ADMINISTRATOR', 'FAILED_PRECONDITION');
      expectError(await lonely.call('PUT', `/api/users/${lonely.adminId}`, { body: { roleName: 'Read Only' } }), 409, 'LAST_ADMINISTRATOR', 'FAILED_PRECONDITION');
      expect(expectOk(await lonely.call('GET', `/api/users/${lonely.adminId}`))).toMatchObject({ suspended: false, roleName: 'Administrator with Billing' });
      expect(await adminCount(lonely)).toBe(2);
      expectOk(await lonely.call('DELETE', `/api/users/${helpDesk.adminId}`));
    });
  });
});
