import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../../src/core/context.js';
import type { AdminId, OrgId } from '../../src/core/ids.js';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { createApp, createGroup, createUser, expectError, expectOk, journalHead, MISSING_ID, sleep, uniq } from './helpers.js';

type Write = [method: string, url: string, body?: unknown];

describeEachStore('API authentication and authorisation', (kind) => {
  let t: TestApi;
  let fx: { user: any; other: any; group: any; app: any; ldapId: string; adminId: string };
  beforeAll(async () => {
    t = await openTestApi(kind);
    const user = await createUser(t);
    const other = await createUser(t);
    const group = await createGroup(t);
    const app = await createApp(t);
    const ldapId = expectOk(await t.call('GET', '/api/v2/ldapservers'))[0].id;
    const adminId = expectOk(await t.call('POST', '/api/users', { body: { email: `${uniq('target')}@acme.test`, roleName: 'Command Runner' } }), 201)._id;
    fx = { user, other, group, app, ldapId, adminId };
  });
  afterAll(() => t.dispose());

  /** One of every kind of write, each valid for a principal allowed to make it. */
  const writes = (): Write[] => [
    ['POST', '/api/systemusers', { username: uniq('w'), email: `${uniq('w')}@example.test` }],
    ['PUT', `/api/systemusers/${fx.user._id}`, { firstname: 'Changed' }],
    ['DELETE', `/api/systemusers/${fx.other._id}`],
    ['POST', `/api/systemusers/${fx.user._id}/unlock`],
    ['POST', `/api/systemusers/${fx.user._id}/expire`],
    ['POST', `/api/systemusers/${fx.user._id}/state/activate`],
    ['POST', '/api/users', { email: `${uniq('w')}@acme.test`, roleName: 'Read Only' }],
    ['PUT', `/api/users/${fx.adminId}`, { firstname: 'Changed' }],
    ['DELETE', `/api/users/${fx.adminId}`],
    ['POST', '/api/applications', { name: uniq('w') }],
    ['PUT', `/api/applications/${fx.app._id}`, { displayLabel: 'Changed' }],
    ['DELETE', `/api/applications/${fx.app._id}`],
    ['PUT', `/api/organizations/${t.orgId}`, { displayName: 'Changed' }],
    ['POST', '/api/v2/usergroups', { name: uniq('w') }],
    ['PUT', `/api/v2/usergroups/${fx.group.id}`, { name: uniq('w') }],
    ['PATCH', `/api/v2/usergroups/${fx.group.id}`, { description: 'Changed' }],
    ['DELETE', `/api/v2/usergroups/${fx.group.id}`],
    ['POST', `/api/v2/usergroups/${fx.group.id}/members`, { op: 'add', type: 'user', id: fx.user._id }],
    ['POST', `/api/v2/users/${fx.user._id}/associations`, { op: 'add', type: 'application', id: fx.app._id }],
    ['POST', `/api/v2/usergroups/${fx.group.id}/associations`, { op: 'add', type: 'ldap_server', id: fx.ldapId }],
    ['POST', `/api/v2/applications/${fx.app._id}/associations`, { op: 'add', type: 'user', id: fx.user._id }],
    ['POST', `/api/v2/ldapservers/${fx.ldapId}/associations`, { op: 'add', type: 'user', id: fx.user._id }],
    ['PATCH', `/api/v2/ldapservers/${fx.ldapId}`, { userLockoutAction: 'remove' }],
  ];

  const reads: string[] = [
    '/api/systemusers',
    '/api/v2/usergroups',
    '/api/applications',
    '/api/organizations',
    '/api/v2/directories',
    '/api/v2/ldapservers',
    '/api/v2/roles',
    '/api/v2/apikeys',
  ];

  /** Asserts every write answers 403 with this reason and that nothing at all changed. */
  async function refusesEveryWrite(key: string, reason: string) {
    const head = await journalHead(t);
    const before = expectOk(await t.call('GET', `/api/systemusers/${fx.user._id}`));
    for (const [method, url, body] of writes()) {
      const res = await t.call(method, url, { key, ...(body !== undefined ? { body } : {}) });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expectError(res, 403, reason);
    }
    expect(await journalHead(t)).toBe(head);
    expect(expectOk(await t.call('GET', `/api/systemusers/${fx.user._id}`))).toEqual(before);
  }

  describe('API keys', () => {
    it('a missing, empty, unknown or absurdly long key answers 401', async () => {
      expectError(await t.call('GET', '/api/systemusers', { key: null }), 401, 'API_KEY_MISSING');
      expectError(await t.call('GET', '/api/systemusers', { key: '' }), 401, 'API_KEY_MISSING');
      expectError(await t.call('GET', '/api/systemusers', { key: 'rst_not-a-real-key' }), 401, 'API_KEY_INVALID');
      expectError(await t.call('GET', '/api/systemusers', { key: t.key.slice(0, -1) }), 401, 'API_KEY_INVALID');
      expectError(await t.call('GET', '/api/systemusers', { key: 'x'.repeat(5000) }), 401, 'API_KEY_INVALID');
      expectError(await t.call('POST', '/api/systemusers', { key: null, body: { username: 'nokey', email: 'nokey@example.test' } }), 401, 'API_KEY_MISSING');
      expectError(await t.call('GET', '/api/v2/usergroups', { key: 'wrong' }), 401, 'API_KEY_INVALID');
    });

    it('a key past its expiresAt answers 401 API_KEY_EXPIRED', async () => {
      const expiresAt = new Date(Date.now() + 1500).toISOString();
      const created = expectOk(await t.call('POST', '/api/v2/apikeys', { body: { name: 'short-lived', expiresAt } }), 201);
      expectOk(await t.call('GET', '/api/systemusers', { key: created.key }));
      await sleep(Math.max(0, Date.parse(expiresAt) - Date.now()) + 100);
      expectError(await t.call('GET', '/api/systemusers', { key: created.key }), 401, 'API_KEY_EXPIRED');
      expectError(await t.call('POST', '/api/v2/usergroups', { key: created.key, body: { name: uniq('late') } }), 401, 'API_KEY_EXPIRED');
    });

    it('a revoked key answers 401 API_KEY_REVOKED', async () => {
      const created = expectOk(await t.call('POST', '/api/v2/apikeys', { body: { name: 'revoked' } }), 201);
      expectOk(await t.call('DELETE', `/api/v2/apikeys/${created.id}`));
      expectError(await t.call('GET', '/api/systemusers', { key: created.key }), 401, 'API_KEY_REVOKED');
    });

    it('a read-only key reads everything and every write answers 403 API_KEY_READ_ONLY, changing nothing', async () => {
      const ro = expectOk(await t.call('POST', '/api/v2/apikeys', { body: { name: 'ro', readOnly: true } }), 201);
      for (const url of reads) expectOk(await t.call('GET', url, { key: ro.key }));
      expectOk(await t.call('GET', '/api/v2/journal', { key: ro.key }));
      expectOk(await t.call('GET', '/api/users', { key: ro.key }));
      expectOk(await t.call('POST', '/api/search/systemusers', { key: ro.key, body: { filter: [{ username: fx.user.username }] } }));
      await refusesEveryWrite(ro.key, 'API_KEY_READ_ONLY');
      expectError(await t.call('POST', '/api/v2/apikeys', { key: ro.key, body: { name: 'escalate' } }), 403, 'API_KEY_READ_ONLY');
      expectError(await t.call('DELETE', `/api/v2/apikeys/${ro.id}`, { key: ro.key }), 403, 'API_KEY_READ_ONLY');
      expectError(await t.call('PUT', `/api/users/${t.adminId}`, { key: ro.key, body: { firstname: 'Self' } }), 403, 'API_KEY_READ_ONLY');
    });
  });

  describe('roles', () => {
    /** An administrator made through POST /api/users, with a key the operator issues. */
    async function adminVia(roleName: string) {
      const admin = expectOk(await t.call('POST', '/api/users', { body: { email: `${uniq('role')}@acme.test`, roleName } }), 201);
      const issued = await t.core.apiKeys.issue(operatorContext(t.orgId as OrgId), admin._id as AdminId, { name: roleName });
      return issued.secret;
    }

    it('Read Only reads and every write answers 403 PERMISSION_DENIED, changing nothing', async () => {
      const key = await adminVia('Read Only');
      for (const url of reads) expectOk(await t.call('GET', url, { key }));
      await refusesEveryWrite(key, 'PERMISSION_DENIED');
    });

    it('Help Desk manages users and groups but cannot delete users, grant access, or touch admins, apps and settings', async () => {
      const key = await adminVia('Help Desk');
      const head = await journalHead(t);
      expectError(await t.call('DELETE', `/api/systemusers/${fx.other._id}`, { key }), 403, 'PERMISSION_DENIED');
      expectError(await t.call('POST', `/api/v2/users/${fx.user._id}/associations`, { key, body: { op: 'add', type: 'application', id: fx.app._id } }), 403, 'PERMISSION_DENIED');
      expectError(await t.call('GET', '/api/users', { key }), 403, 'PERMISSION_DENIED');
      expectError(await t.call('POST', '/api/applications', { key, body: { name: uniq('hd') } }), 403, 'PERMISSION_DENIED');
      expectError(await t.call('PUT', `/api/organizations/${t.orgId}`, { key, body: { displayName: 'HD' } }), 403, 'PERMISSION_DENIED');
      expectError(await t.call('PATCH', `/api/v2/ldapservers/${fx.ldapId}`, { key, body: { userLockoutAction: 'remove' } }), 403, 'PERMISSION_DENIED');
      expect(await journalHead(t)).toBe(head);
      const u = await createUser(t, { jobTitle: 'via help desk' }, key);
      expect(expectOk(await t.call('PUT', `/api/systemusers/${u._id}`, { key, body: { jobTitle: 'edited' } })).jobTitle).toBe('edited');
      const g = expectOk(await t.call('POST', '/api/v2/usergroups', { key, body: { name: uniq('hd') } }), 201);
      expect((await t.call('POST', `/api/v2/usergroups/${g.id}/members`, { key, body: { op: 'add', type: 'user', id: u._id } })).statusCode).toBe(204);
    });

    it('Command Runner cannot even read the directory', async () => {
      const key = await adminVia('Command Runner');
      for (const url of ['/api/systemusers', '/api/v2/usergroups', '/api/applications', '/api/v2/directories']) {
        expectError(await t.call('GET', url, { key }), 403, 'PERMISSION_DENIED');
      }
      expectOk(await t.call('GET', '/api/v2/apikeys', { key }));
    });
  });

  describe('x-org-id', () => {
    it('malformed answers 400, an unlinked organization 404, the own organization works', async () => {
      expectError(await t.call('GET', '/api/systemusers', { orgId: 'acme' }), 400, 'MALFORMED_ORG_ID');
      expectError(await t.call('GET', '/api/systemusers', { orgId: MISSING_ID }), 404, 'ORGANIZATION_NOT_FOUND');
      const other = await t.core.organizations.create(uniq('Elsewhere'));
      expectError(await t.call('GET', '/api/systemusers', { orgId: other.id }), 404, 'ORGANIZATION_NOT_FOUND');
      expectOk(await t.call('GET', '/api/systemusers', { orgId: t.orgId }));
    });

    it('an administrator of several organizations must choose one: 401 ORG_ID_REQUIRED without the header', async () => {
      const second = await t.core.organizations.create(uniq('Second'));
      const admin = await t.core.administrators.create(operatorContext(t.orgId as OrgId), { email: `${uniq('multi')}@acme.test`, roleName: 'Administrator' });
      await t.core.store.transaction((tx) => tx.admins.linkOrg(admin.id, second.id));
      const { secret: key } = await t.core.apiKeys.issue(operatorContext(t.orgId as OrgId), admin.id, { name: 'multi' });
      expectError(await t.call('GET', '/api/systemusers', { key }), 401, 'ORG_ID_REQUIRED');
      expectError(await t.call('POST', '/api/v2/usergroups', { key, body: { name: uniq('x') } }), 401, 'ORG_ID_REQUIRED');
      const inFirst = expectOk(await t.call('GET', `/api/systemusers?filter=${encodeURIComponent(`username:$eq:${fx.user.username}`)}`, { key, orgId: t.orgId }));
      expect(inFirst.totalCount).toBe(1);
      const made = expectOk(await t.call('POST', '/api/systemusers', { key, orgId: second.id, body: { username: fx.user.username, email: fx.user.email } }));
      expect(made.organization).toBe(second.id);
      expect(expectOk(await t.call('GET', '/api/systemusers', { key, orgId: second.id }))).toMatchObject({ totalCount: 1, results: [{ _id: made._id }] });
      const orgs = expectOk(await t.call('GET', '/api/organizations', { key, orgId: second.id }));
      expect(orgs.results.map((o: any) => o._id).sort()).toEqual([t.orgId, second.id].sort());
      expectError(await t.call('PUT', `/api/organizations/${t.orgId}`, { key, orgId: second.id, body: { displayName: 'Mismatch' } }), 400, 'ORG_MISMATCH');
    });
  });

  describe('endpoints without a key', () => {
    it('health, readiness and the OpenAPI document answer without a key', async () => {
      expect(expectOk(await t.call('GET', '/healthz', { key: null }))).toEqual({ status: 'ok' });
      expect(expectOk(await t.call('GET', '/readyz', { key: null }))).toEqual({ status: 'ready' });
      const doc = expectOk(await t.call('GET', '/api/openapi.json', { key: null }));
      expect(doc.openapi).toMatch(/^3\./);
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/systemusers', '/api/v2/usergroups/{group_id}/members', '/api/v2/journal']));
    });

    it('every answer carries x-request-id, no-store and nosniff; unknown routes answer 404 in the error shape', async () => {
      const res = await t.call('GET', '/api/systemusers', { headers: { 'x-request-id': 'trace-42' } });
      expect(res.headers['x-request-id']).toBe('trace-42');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expectError(await t.call('GET', '/api/v2/printers'), 404, 'ROUTE_NOT_FOUND');
      expectError(await t.call('PATCH', '/api/systemusers'), 404, 'ROUTE_NOT_FOUND');
    });
  });
});
