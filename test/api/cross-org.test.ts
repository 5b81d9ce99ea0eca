import { afterAll, beforeAll, expect, it } from 'vitest';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { addMember, adminWithKey, createApp, createGroup, createUser, expectError, expectOk, journalHead, uniq } from './helpers.js';

type Call = [method: string, url: string, body?: unknown];

/** Another organization's administrator sees none of the first organization's objects, by any route. */
describeEachStore('API organization isolation', (kind) => {
  let t: TestApi;
  let key2: string;
  let org2: string;
  let a: { user: any; report: any; group: any; app: any; adminId: string; keyId: string; ldapId: string; radius: any };
  let b: { user: any; group: any; app: any; ldapId: string };

  beforeAll(async () => {
    t = await openTestApi(kind);
    const user = await createUser(t, { firstname: 'Secretfirst', email: `${uniq('leak')}@acme-private.test` });
    const report = await createUser(t, { manager: user._id });
    const group = await createGroup(t, { name: uniq('PrivateGroup') });
    await addMember(t, group.id, 'user', user._id);
    const app = await createApp(t, { name: uniq('PrivateApp') });
    const ldapId = expectOk(await t.call('GET', '/api/v2/ldapservers'))[0].id;
    expect((await t.call('POST', `/api/v2/users/${user._id}/associations`, { body: { op: 'add', type: 'application', id: app._id } })).statusCode).toBe(204);
    expect((await t.call('POST', `/api/v2/usergroups/${group.id}/associations`, { body: { op: 'add', type: 'ldap_server', id: ldapId } })).statusCode).toBe(204);
    const radius = expectOk(await t.call('POST', '/api/radiusservers', { body: { name: uniq('PrivateRadius'), networkSourceIp: '203.0.113.0/24', sharedSecret: 'private-shared-secret' } }));
    expect((await t.call('POST', `/api/v2/radiusservers/${radius._id}/associations`, { body: { op: 'add', type: 'user_group', id: group.id } })).statusCode).toBe(204);
    const keyId = expectOk(await t.call('GET', '/api/v2/apikeys'))[0].id;
    a = { user, report, group, app, adminId: t.adminId, keyId, ldapId, radius };

    org2 = (await t.core.organizations.create('Other')).id;
    key2 = (await adminWithKey(t, 'Administrator with Billing', { orgId: org2 })).key;
    const as2 = { key: key2 };
    const user2 = expectOk(await t.call('POST', '/api/systemusers', { ...as2, body: { username: uniq('b'), email: `${uniq('b')}@other.test` } }));
    const group2 = expectOk(await t.call('POST', '/api/v2/usergroups', { ...as2, body: { name: uniq('b') } }), 201);
    const app2 = expectOk(await t.call('POST', '/api/applications', { ...as2, body: { name: uniq('b') } }));
    const ldap2 = expectOk(await t.call('GET', '/api/v2/ldapservers', as2))[0].id;
    b = { user: user2, group: group2, app: app2, ldapId: ldap2 };
  });
  afterAll(() => t.dispose());

  /** Strings that name the first organization's objects; none may appear in an answer to the second. */
  const secrets = () => [
    a.user._id, a.user.username, a.user.email, 'Secretfirst', a.group.id, a.group.name, a.app._id, a.app.name, a.adminId, 'root@acme.test', a.keyId, a.ldapId, t.orgId,
    a.radius._id, a.radius.name, 'private-shared-secret',
  ];

  const foreignCalls = (): Call[] => {
    const u = a.user._id;
    const g = a.group.id;
    const app = a.app._id;
    return [
      ['GET', `/api/systemusers/${u}`],
      ['PUT', `/api/systemusers/${u}`, { firstname: 'Hijack' }],
      ['DELETE', `/api/systemusers/${u}?cascade_manager=null`],
      ['POST', `/api/systemusers/${u}/unlock`],
      ['POST', `/api/systemusers/${u}/expire`],
      ['POST', `/api/systemusers/${u}/state/activate`],
      ['GET', `/api/v2/users/${u}/memberof`],
      ['GET', `/api/v2/users/${u}/associations?targets=application`],
      ['POST', `/api/v2/users/${u}/associations`, { op: 'add', type: 'application', id: b.app._id }],
      ['GET', `/api/v2/users/${u}/applications`],
      ['GET', `/api/v2/users/${u}/directories`],
      ['GET', `/api/v2/users/${u}/ldapservers`],
      ['GET', `/api/v2/usergroups/${g}`],
      ['PUT', `/api/v2/usergroups/${g}`, { name: 'Hijack' }],
      ['PATCH', `/api/v2/usergroups/${g}`, { description: 'Hijack' }],
      ['DELETE', `/api/v2/usergroups/${g}`],
      ['GET', `/api/v2/usergroups/${g}/members`],
      ['POST', `/api/v2/usergroups/${g}/members`, { op: 'add', type: 'user', id: b.user._id }],
      ['POST', `/api/v2/usergroups/${g}/members`, { op: 'remove', type: 'user', id: u }],
      ['GET', `/api/v2/usergroups/${g}/membership`],
      ['GET', `/api/v2/usergroups/${g}/memberof`],
      ['GET', `/api/v2/usergroups/${g}/associations?targets=ldap_server`],
      ['POST', `/api/v2/usergroups/${g}/associations`, { op: 'remove', type: 'ldap_server', id: a.ldapId }],
      ['GET', `/api/v2/usergroups/${g}/applications`],
      ['GET', `/api/applications/${app}`],
      ['PUT', `/api/applications/${app}`, { displayLabel: 'Hijack' }],
      ['DELETE', `/api/applications/${app}`],
      ['GET', `/api/v2/applications/${app}/associations?targets=user`],
      ['POST', `/api/v2/applications/${app}/associations`, { op: 'remove', type: 'user', id: u }],
      ['GET', `/api/v2/applications/${app}/users`],
      ['GET', `/api/v2/applications/${app}/usergroups`],
      ['GET', `/api/v2/ldapservers/${a.ldapId}`],
      ['PATCH', `/api/v2/ldapservers/${a.ldapId}`, { userLockoutAction: 'remove' }],
      ['GET', `/api/v2/ldapservers/${a.ldapId}/users`],
      ['GET', `/api/v2/ldapservers/${a.ldapId}/associations?targets=user_group`],
      ['GET', `/api/radiusservers/${a.radius._id}`],
      ['PUT', `/api/radiusservers/${a.radius._id}`, { name: 'Hijack' }],
      ['DELETE', `/api/radiusservers/${a.radius._id}`],
      ['GET', `/api/v2/radiusservers/${a.radius._id}/associations?targets=user_group`],
      ['POST', `/api/v2/radiusservers/${a.radius._id}/associations`, { op: 'remove', type: 'user_group', id: g }],
      ['GET', `/api/v2/radiusservers/${a.radius._id}/users`],
      ['GET', `/api/v2/radiusservers/${a.radius._id}/usergroups`],
      ['GET', `/api/v2/users/${u}/radiusservers`],
      ['GET', `/api/v2/usergroups/${g}/radiusservers`],
      ['POST', `/api/v2/users/${u}/totp`],
      ['POST', `/api/v2/users/${u}/totp/confirm`, { code: '123456' }],
      ['GET', `/api/v2/users/${u}/totp`],
      ['DELETE', `/api/v2/users/${u}/totp`],
      ['DELETE', `/api/v2/users/${u}/nthash`],
      ['POST', `/api/systemusers/${u}/resetmfa`],
      ['GET', `/api/users/${a.adminId}`],
      ['PUT', `/api/users/${a.adminId}`, { firstname: 'Hijack' }],
      ['DELETE', `/api/users/${a.adminId}`],
      ['GET', `/api/organizations/${t.orgId}`],
      ['PUT', `/api/organizations/${t.orgId}`, { displayName: 'Hijack' }],
      ['DELETE', `/api/v2/apikeys/${a.keyId}`],
      // The second organization's own objects, pointed at the first's.
      ['POST', `/api/v2/usergroups/${b.group.id}/members`, { op: 'add', type: 'user', id: u }],
      ['POST', `/api/v2/usergroups/${b.group.id}/members`, { op: 'add', type: 'user_group', id: g }],
      ['POST', `/api/v2/applications/${b.app._id}/associations`, { op: 'add', type: 'user', id: u }],
      ['POST', `/api/v2/applications/${b.app._id}/associations`, { op: 'add', type: 'user_group', id: g }],
      ['POST', `/api/v2/users/${b.user._id}/associations`, { op: 'add', type: 'application', id: app }],
      ['POST', `/api/v2/users/${b.user._id}/associations`, { op: 'add', type: 'ldap_server', id: a.ldapId }],
      ['POST', `/api/v2/ldapservers/${b.ldapId}/associations`, { op: 'add', type: 'user', id: u }],
      ['POST', `/api/v2/users/${b.user._id}/associations`, { op: 'add', type: 'radius_server', id: a.radius._id }],
      ['POST', `/api/v2/usergroups/${b.group.id}/associations`, { op: 'add', type: 'radius_server', id: a.radius._id }],
    ];
  };

  it('every read, update, delete and association with the first organization ids answers 404 and leaks nothing', async () => {
    const head = await journalHead(t);
    const before = expectOk(await t.call('GET', `/api/systemusers/${a.user._id}`));
    for (const [method, url, body] of foreignCalls()) {
      const res = await t.call(method, url, { key: key2, ...(body !== undefined ? { body } : {}) });
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(404);
      expectError(res, 404);
      for (const s of secrets()) expect(res.body, `${method} ${url}`).not.toContain(s);
    }
    expect(await journalHead(t)).toBe(head);
    expect(expectOk(await t.call('GET', `/api/systemusers/${a.user._id}`))).toEqual(before);
    expect(expectOk(await t.call('GET', `/api/v2/usergroups/${a.group.id}/members`)).map((m: any) => m.to.id)).toEqual([a.user._id]);
    expect(expectOk(await t.call('GET', `/api/v2/users/${a.user._id}/applications`)).map((r: any) => r.id)).toEqual([a.app._id]);
    expect(expectOk(await t.call('GET', `/api/v2/ldapservers/${a.ldapId}`)).userLockoutAction).toBe('disable');
  });

  it("another organization's user cannot become a manager; the org header cannot reach the first organization", async () => {
    const err = expectError(await t.call('PUT', `/api/systemusers/${b.user._id}`, { key: key2, body: { manager: a.user._id } }), 400, 'INVALID_MANAGER');
    expect(JSON.stringify(err)).not.toContain(a.user.username);
    expectError(await t.call('GET', '/api/systemusers', { key: key2, orgId: t.orgId }), 404, 'ORGANIZATION_NOT_FOUND');
  });

  it("lists, searches, filters and the journal show only the caller's organization", async () => {
    const as2 = { key: key2 };
    const bodies: string[] = [];
    const grab = async (method: string, url: string, body?: unknown) => {
      const res = await t.call(method, url, { ...as2, ...(body !== undefined ? { body } : {}) });
      expect(res.statusCode, url).toBe(200);
      bodies.push(res.body);
      return res.json();
    };
    expect((await grab('GET', `/api/systemusers?filter=${encodeURIComponent(`email:$eq:${a.user.email}`)}`)).totalCount).toBe(0);
    const users = (await grab('GET', '/api/systemusers?limit=100')).results.map((u: any) => u._id);
    expect(users).toContain(b.user._id);
    expect(users).not.toContain(a.user._id);
    expect(users).not.toContain(a.report._id);
    expect((await grab('GET', '/api/systemusers?search[searchTerm]=Secretfirst&search[fields]=firstname')).totalCount).toBe(0);
    expect((await grab('POST', '/api/search/systemusers', { filter: [{ username: a.user.username }] })).totalCount).toBe(0);
    const groups = (await grab('GET', '/api/v2/usergroups?limit=100')).map((g: any) => g.id);
    expect(groups).toContain(b.group.id);
    expect(groups).not.toContain(a.group.id);
    const apps = (await grab('GET', '/api/applications?limit=100')).results.map((x: any) => x._id);
    expect(apps).toContain(b.app._id);
    expect(apps).not.toContain(a.app._id);
    expect((await grab('GET', '/api/v2/directories')).map((d: any) => d.id)).toEqual([b.ldapId]);
    expect((await grab('GET', '/api/radiusservers?limit=100')).totalCount).toBe(0);
    expect((await grab('GET', '/api/organizations')).results.map((o: any) => o._id)).toEqual([org2]);
    expect((await grab('GET', '/api/users?limit=100')).results.every((x: any) => x.organizations.includes(org2))).toBe(true);
    expect((await grab('GET', '/api/v2/apikeys')).map((k: any) => k.id)).not.toContain(a.keyId);
    const journal = await grab('GET', '/api/v2/journal?limit=1000');
    expect(journal.length).toBeGreaterThan(0);
    for (const body of bodies) for (const s of secrets()) expect(body).not.toContain(s);
  });

  it('usernames, emails and group names are unique per organization only', async () => {
    const mine = await createUser(t);
    const myGroup = await createGroup(t);
    const twin = expectOk(await t.call('POST', '/api/systemusers', { key: key2, body: { username: mine.username.toUpperCase(), email: mine.email } }));
    expect(twin.organization).toBe(org2);
    expect(twin._id).not.toBe(mine._id);
    expectOk(await t.call('POST', '/api/v2/usergroups', { key: key2, body: { name: myGroup.name } }), 201);
    expect(expectOk(await t.call('GET', `/api/systemusers/${mine._id}`)).username).toBe(mine.username);
    expectError(await t.call('POST', '/api/systemusers', { key: key2, body: { username: mine.username, email: `${uniq('o')}@other.test` } }), 409, 'USERNAME_TAKEN');
  });
});
