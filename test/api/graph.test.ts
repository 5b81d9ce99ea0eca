import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { addMember, createApp, createGroup, createUser, expectError, expectOk, MISSING_ID } from './helpers.js';

interface Edge {
  from: { id: string; type: string };
  to: { id: string; type: string };
}

describeEachStore('API v2 associations and traversals', (kind) => {
  let t: TestApi;
  let ldapId: string;
  beforeAll(async () => {
    t = await openTestApi(kind);
    const servers = expectOk(await t.call('GET', '/api/v2/ldapservers'));
    ldapId = servers[0].id;
  });
  afterAll(() => t.dispose());

  const v2 = async (url: string) => {
    const res = await t.call('GET', url);
    const body = expectOk(res) as any[];
    return { body, total: Number(res.headers['x-total-count']) };
  };
  const associate = (path: string, op: string, type: string, id: string, attributes?: unknown) =>
    t.call('POST', `/api/v2/${path}/associations`, { body: { op, type, id, ...(attributes !== undefined ? { attributes } : {}) } });
  /** Reached objects as {name: ["a>b>c", …]} with readable names. */
  const reached = (items: any[], names: Record<string, string>) =>
    Object.fromEntries(
      items.map((r) => [
        names[r.id] ?? r.id,
        (r.paths as Edge[][]).map((p) => [names[p[0]!.from.id] ?? p[0]!.from.id, ...p.map((e) => names[e.to.id] ?? e.to.id)].join('>')).sort(),
      ]),
    );

  describe('direct associations', () => {
    it('user ↔ application: add 204, listed, duplicate 409, remove 204, missing remove 404', async () => {
      const u = await createUser(t);
      const app = await createApp(t);
      const add = await associate(`users/${u._id}`, 'add', 'application', app._id);
      expect(add.statusCode).toBe(204);
      expect(add.body).toBe('');
      expect(await v2(`/api/v2/users/${u._id}/associations?targets=application`)).toEqual({
        body: [{ from: { id: u._id, type: 'user' }, to: { id: app._id, type: 'application' } }],
        total: 1,
      });
      expect(await v2(`/api/v2/applications/${app._id}/associations?targets=user`)).toEqual({
        body: [{ from: { id: app._id, type: 'application' }, to: { id: u._id, type: 'user' } }],
        total: 1,
      });
      expectError(await associate(`applications/${app._id}`, 'add', 'user', u._id), 409, 'ASSOCIATION_EXISTS');
      expect((await associate(`users/${u._id}`, 'remove', 'application', app._id)).statusCode).toBe(204);
      expectError(await associate(`users/${u._id}`, 'remove', 'application', app._id), 404, 'ASSOCIATION_NOT_FOUND');
      expect(await v2(`/api/v2/users/${u._id}/associations?targets=application`)).toEqual({ body: [], total: 0 });
    });

    it('targets filter by type and accept lists; missing or unknown targets answer 400', async () => {
      const app = await createApp(t);
      const u = await createUser(t);
      const g = await createGroup(t);
      expect((await associate(`applications/${app._id}`, 'add', 'user_group', g.id)).statusCode).toBe(204);
      expect((await associate(`applications/${app._id}`, 'add', 'user', u._id)).statusCode).toBe(204);
      const types = async (q: string) => (await v2(`/api/v2/applications/${app._id}/associations?${q}`)).body.map((c) => c.to.type).sort();
      expect(await types('targets=user_group')).toEqual(['user_group']);
      expect(await types('targets=user')).toEqual(['user']);
      expect(await types('targets=user,user_group')).toEqual(['user', 'user_group']);
      expect(await types('targets=user&targets=user_group')).toEqual(['user', 'user_group']);
      expectError(await t.call('GET', `/api/v2/applications/${app._id}/associations`), 400);
      expectError(await t.call('GET', `/api/v2/applications/${app._id}/associations?targets=application`), 400, 'INVALID_TARGETS');
      expectError(await t.call('GET', `/api/v2/users/${u._id}/associations?targets=printer`), 400, 'INVALID_TARGETS');
    });

    it('op update changes the attributes of an existing association only', async () => {
      const u = await createUser(t);
      expect((await associate(`ldapservers/${ldapId}`, 'add', 'user', u._id)).statusCode).toBe(204);
      expect((await associate(`ldapservers/${ldapId}`, 'update', 'user', u._id, { sudo: { enabled: true } })).statusCode).toBe(204);
      const list = await v2(`/api/v2/users/${u._id}/associations?targets=ldap_server`);
      expect(list.body).toEqual([{ from: { id: u._id, type: 'user' }, to: { id: ldapId, type: 'ldap_server' }, attributes: { sudo: { enabled: true } } }]);
      const other = await createUser(t);
      expectError(await associate(`ldapservers/${ldapId}`, 'update', 'user', other._id, {}), 404, 'ASSOCIATION_NOT_FOUND');
    });

    it('unknown subjects, resources and resource types answer 404; bad operations 400', async () => {
      const u = await createUser(t);
      const app = await createApp(t);
      expectError(await associate(`users/${u._id}`, 'add', 'application', MISSING_ID), 404, 'APPLICATION_NOT_FOUND');
      expectError(await associate(`users/${MISSING_ID}`, 'add', 'application', app._id), 404, 'USER_NOT_FOUND');
      expectError(await associate(`usergroups/${MISSING_ID}`, 'add', 'application', app._id), 404, 'USER_GROUP_NOT_FOUND');
      expectError(await associate(`applications/${app._id}`, 'add', 'user', MISSING_ID), 404, 'USER_NOT_FOUND');
      expectError(await associate(`applications/${MISSING_ID}`, 'add', 'user', u._id), 404, 'APPLICATION_NOT_FOUND');
      expectError(await associate(`users/${u._id}`, 'add', 'system', MISSING_ID), 404, 'SYSTEM_NOT_FOUND');
      expectError(await associate(`users/${u._id}`, 'add', 'active_directory', ldapId), 404, 'ACTIVE_DIRECTORY_NOT_FOUND');
      expectError(await associate(`users/${u._id}`, 'grant', 'application', app._id), 400, 'INVALID_INPUT');
      expectError(await associate(`users/${u._id}`, 'add', 'printer', app._id), 400, 'INVALID_INPUT');
      expect((await v2(`/api/v2/users/${u._id}/associations?targets=application,system,active_directory`)).total).toBe(0);
    });
  });

  describe('access through groups', () => {
    it('reports direct and group paths; removing the direct association leaves the access a group grants', async () => {
      const app = await createApp(t);
      const [outer, inner] = [await createGroup(t), await createGroup(t)];
      const [u, w, x] = [await createUser(t), await createUser(t), await createUser(t)];
      const names: Record<string, string> = { [app._id]: 'app', [outer.id]: 'P', [inner.id]: 'G', [u._id]: 'u', [w._id]: 'w', [x._id]: 'x' };
      await addMember(t, outer.id, 'user_group', inner.id);
      await addMember(t, inner.id, 'user', u._id);
      await addMember(t, inner.id, 'user', w._id);
      expect((await associate(`applications/${app._id}`, 'add', 'user_group', outer.id)).statusCode).toBe(204);
      expect((await associate(`users/${u._id}`, 'add', 'application', app._id)).statusCode).toBe(204);

      const users = await v2(`/api/v2/applications/${app._id}/users`);
      expect(users.total).toBe(2);
      expect(reached(users.body, names)).toEqual({ u: ['app>P>G>u', 'app>u'], w: ['app>P>G>w'] });
      expect(users.body.every((r) => r.type === 'user')).toBe(true);
      expect(reached((await v2(`/api/v2/applications/${app._id}/usergroups`)).body, names)).toEqual({ P: ['app>P'], G: ['app>P>G'] });
      expect(reached((await v2(`/api/v2/users/${u._id}/applications`)).body, names)).toEqual({ app: ['u>G>P>app', 'u>app'] });
      expect(reached((await v2(`/api/v2/usergroups/${inner.id}/applications`)).body, names)).toEqual({ app: ['G>P>app'] });
      expect((await v2(`/api/v2/users/${x._id}/applications`)).total).toBe(0);

      expect((await associate(`applications/${app._id}`, 'remove', 'user', u._id)).statusCode).toBe(204);
      expect(reached((await v2(`/api/v2/users/${u._id}/applications`)).body, names)).toEqual({ app: ['u>G>P>app'] });
      expect(reached((await v2(`/api/v2/applications/${app._id}/users`)).body, names)).toEqual({ u: ['app>P>G>u'], w: ['app>P>G>w'] });

      expect((await t.call('POST', `/api/v2/usergroups/${inner.id}/members`, { body: { op: 'remove', type: 'user', id: u._id } })).statusCode).toBe(204);
      expect((await v2(`/api/v2/users/${u._id}/applications`)).total).toBe(0);
      expect(reached((await v2(`/api/v2/applications/${app._id}/users`)).body, names)).toEqual({ w: ['app>P>G>w'] });
    });

    it('/applications/{id}/users pages and filters with an x-total-count', async () => {
      const app = await createApp(t);
      const g = await createGroup(t);
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const u = await createUser(t, { jobTitle: i < 3 ? 'pilot' : 'crew' });
        ids.push(u._id);
        await addMember(t, g.id, 'user', u._id);
      }
      expect((await associate(`applications/${app._id}`, 'add', 'user_group', g.id)).statusCode).toBe(204);
      const first = await v2(`/api/v2/applications/${app._id}/users`);
      expect(first.total).toBe(12);
      expect(first.body).toHaveLength(10);
      const second = await v2(`/api/v2/applications/${app._id}/users?skip=10`);
      expect([...first.body, ...second.body].map((r) => r.id).sort()).toEqual([...ids].sort());
      const pilots = await v2(`/api/v2/applications/${app._id}/users?filter=jobTitle:eq:pilot`);
      expect(pilots.total).toBe(3);
      expect(pilots.body.map((r) => r.id).sort()).toEqual(ids.slice(0, 3).sort());
    });

    it('the LDAP server: associations, /ldapservers/{id}/users and /users/{id}/ldapservers and directories', async () => {
      const g = await createGroup(t);
      const [u, v] = [await createUser(t), await createUser(t)];
      const names: Record<string, string> = { [ldapId]: 'ldap', [g.id]: 'G', [u._id]: 'u', [v._id]: 'v' };
      await addMember(t, g.id, 'user', v._id);
      expect((await associate(`users/${u._id}`, 'add', 'ldap_server', ldapId)).statusCode).toBe(204);
      expect((await associate(`usergroups/${g.id}`, 'add', 'ldap_server', ldapId)).statusCode).toBe(204);
      const users = await v2(`/api/v2/ldapservers/${ldapId}/users?filter=${encodeURIComponent(`id:in:${u._id}|${v._id}`)}`);
      expect(reached(users.body, names)).toEqual({ u: ['ldap>u'], v: ['ldap>G>v'] });
      expect(reached((await v2(`/api/v2/users/${v._id}/ldapservers`)).body, names)).toEqual({ ldap: ['v>G>ldap'] });
      const dirs = await v2(`/api/v2/users/${u._id}/directories`);
      expect(dirs.body.map((d) => [d.id, d.type])).toEqual([[ldapId, 'ldap_server']]);
      expect(reached((await v2(`/api/v2/usergroups/${g.id}/directories`)).body, names)).toEqual({ ldap: ['G>ldap'] });
      expect((await v2(`/api/v2/ldapservers/${ldapId}/associations?targets=user_group`)).body.map((c) => c.to.id)).toContain(g.id);
      expect(reached((await v2(`/api/v2/usergroups/${g.id}/ldapservers`)).body, names)).toEqual({ ldap: ['G>ldap'] });
      const groups = (await v2(`/api/v2/ldapservers/${ldapId}/usergroups?limit=100`)).body.filter((r) => r.id === g.id);
      expect(reached(groups, names)).toEqual({ G: ['ldap>G'] });
    });

    it('traversals of unknown objects answer 404', async () => {
      for (const [url, reason] of [
        [`/api/v2/users/${MISSING_ID}/applications`, 'USER_NOT_FOUND'],
        [`/api/v2/users/${MISSING_ID}/associations?targets=application`, 'USER_NOT_FOUND'],
        [`/api/v2/usergroups/${MISSING_ID}/ldapservers`, 'USER_GROUP_NOT_FOUND'],
        [`/api/v2/applications/${MISSING_ID}/users`, 'APPLICATION_NOT_FOUND'],
        [`/api/v2/applications/${MISSING_ID}/usergroups`, 'APPLICATION_NOT_FOUND'],
        [`/api/v2/applications/${MISSING_ID}/associations?targets=user`, 'APPLICATION_NOT_FOUND'],
        [`/api/v2/ldapservers/${MISSING_ID}/users`, 'LDAP_SERVER_NOT_FOUND'],
      ]) {
        expectError(await t.call('GET', url!), 404, reason);
      }
    });
  });

  describe('deletes take their edges with them', () => {
    it('deleting an application or a user removes their associations', async () => {
      const [app, other] = [await createApp(t), await createApp(t)];
      const [u, v] = [await createUser(t), await createUser(t)];
      for (const a of [app, other]) expect((await associate(`users/${u._id}`, 'add', 'application', a._id)).statusCode).toBe(204);
      expect((await associate(`users/${v._id}`, 'add', 'application', other._id)).statusCode).toBe(204);
      expectOk(await t.call('DELETE', `/api/applications/${app._id}`));
      expect((await v2(`/api/v2/users/${u._id}/applications`)).body.map((r) => r.id)).toEqual([other._id]);
      expectOk(await t.call('DELETE', `/api/systemusers/${u._id}`));
      expect((await v2(`/api/v2/applications/${other._id}/associations?targets=user`)).body.map((c) => c.to.id)).toEqual([v._id]);
    });

    it('deleting a group removes its associations', async () => {
      const app = await createApp(t);
      const g = await createGroup(t);
      expect((await associate(`usergroups/${g.id}`, 'add', 'application', app._id)).statusCode).toBe(204);
      expectOk(await t.call('DELETE', `/api/v2/usergroups/${g.id}`));
      expect(await v2(`/api/v2/applications/${app._id}/associations?targets=user_group`)).toEqual({ body: [], total: 0 });
    });
  });
});
