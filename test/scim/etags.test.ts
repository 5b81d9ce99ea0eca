import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestScim } from '../support/scim.js';
import { openTestScim } from '../support/scim.js';
import { expectScimError, journalHead, patchOp, scim } from '../support/scim-requests.js';
import { describeEachStore } from '../support/stores.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

// The clock is frozen: every change lands in the same millisecond, so `updated` cannot tell them apart.
describeEachStore('SCIM ETags: versions, If-Match and If-None-Match', (kind) => {
  let t: TestScim;
  let id: string;
  let groupId: string;
  beforeAll(async () => {
    const now = new Date('2025-03-01T12:00:00.000Z');
    t = await openTestScim(kind, { clock: () => now });
    id = (await t.core.users.create(t.ctx, { username: 'etag', email: 'etag@example.com', jobTitle: 'Clerk' })).id;
    groupId = (await t.core.groups.create(t.ctx, { name: 'Tagged' })).id;
  });
  afterAll(() => t?.dispose());

  const tagOf = async (url: string) => {
    const res = await t.get(url);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers.etag).toMatch(/^W\/"\d+"$/);
    expect(res.json().meta.version).toBe(res.headers.etag);
    return res.headers.etag as string;
  };

  it('gives every change a new tag, even changes in the same millisecond, and says so in ServiceProviderConfig', async () => {
    const config = (await t.get('/scim/v2/ServiceProviderConfig')).json();
    expect(config).toMatchObject({ etag: { supported: true }, sort: { supported: true }, bulk: { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 } });
    const first = await tagOf(`/scim/v2/Users/${id}`);
    const lastModified = (await t.get(`/scim/v2/Users/${id}`)).json().meta.lastModified;
    const patched = await scim(t, 'PATCH', `/scim/v2/Users/${id}`, patchOp([{ op: 'replace', path: 'title', value: 'Clerk II' }]));
    expect(patched.headers.etag).not.toBe(first);
    expect(patched.json().meta).toMatchObject({ lastModified, version: patched.headers.etag });
    const again = await scim(t, 'PATCH', `/scim/v2/Users/${id}`, patchOp([{ op: 'replace', path: 'title', value: 'Clerk III' }]));
    expect(again.headers.etag).not.toBe(patched.headers.etag);
    expect(await tagOf(`/scim/v2/Users/${id}`)).toBe(again.headers.etag);
    // The listing carries the same version as the resource.
    const listed = (await t.get(`/scim/v2/Users?filter=${encodeURIComponent('userName eq "etag"')}`)).json().Resources[0];
    expect(listed.meta.version).toBe(again.headers.etag);
  });

  it("changes a group's tag when its members change, through SCIM or any other front-end", async () => {
    const before = await tagOf(`/scim/v2/Groups/${groupId}`);
    await t.core.groups.addMember(t.ctx, groupId, 'user', id);
    const added = await tagOf(`/scim/v2/Groups/${groupId}`);
    expect(added).not.toBe(before);
    const removed = await scim(t, 'PATCH', `/scim/v2/Groups/${groupId}`, patchOp([{ op: 'remove', path: `members[value eq "${id}"]` }]));
    expect(removed.statusCode).toBe(204);
    expect(removed.headers.etag).not.toBe(added);
    expect(await tagOf(`/scim/v2/Groups/${groupId}`)).toBe(removed.headers.etag);
  });

  it('answers GET with If-None-Match naming the current tag 304, without a body', async () => {
    const tag = await tagOf(`/scim/v2/Users/${id}`);
    for (const header of [tag, tag.slice(2), `W/"0", ${tag}`, '*']) {
      const res = await t.app.inject({ method: 'GET', url: `/scim/v2/Users/${id}`, headers: { authorization: `Bearer ${t.token}`, 'if-none-match': header } });
      expect(res.statusCode, header).toBe(304);
      expect(res.body).toBe('');
      expect(res.headers.etag).toBe(tag);
    }
    const stale = await t.app.inject({ method: 'GET', url: `/scim/v2/Users/${id}`, headers: { authorization: `Bearer ${t.token}`, 'if-none-match': 'W/"1"' } });
    expect(stale.statusCode).toBe(200);
    expect(stale.json().userName).toBe('etag');
  });

  it('refuses PUT, PATCH and DELETE whose If-Match names another version with 412, changing nothing', async () => {
    const tag = await tagOf(`/scim/v2/Users/${id}`);
    const stale = 'W/"1"';
    const head = await journalHead(t);
    const stored = await t.core.users.get(t.ctx, id);
    const requests: [string, 'PUT' | 'PATCH' | 'DELETE', unknown][] = [
      [`/scim/v2/Users/${id}`, 'PUT', { schemas: [USER], userName: 'etag', emails: [{ value: 'etag@example.com' }], title: 'Changed' }],
      [`/scim/v2/Users/${id}`, 'PATCH', patchOp([{ op: 'replace', path: 'title', value: 'Changed' }])],
      [`/scim/v2/Users/${id}`, 'DELETE', undefined],
      [`/scim/v2/Groups/${groupId}`, 'PATCH', patchOp([{ op: 'replace', path: 'displayName', value: 'Changed' }])],
      [`/scim/v2/Groups/${groupId}`, 'DELETE', undefined],
    ];
    for (const [url, method, body] of requests) {
      const res = await scim(t, method, url, body, { 'if-match': stale });
      expectScimError(res, 412, undefined, `${method} ${url}`);
    }
    expect(await journalHead(t)).toBe(head);
    expect(await t.core.users.get(t.ctx, id)).toEqual(stored);
    expect((await t.core.groups.get(t.ctx, groupId)).name).toBe('Tagged');
    expect(await tagOf(`/scim/v2/Users/${id}`)).toBe(tag);
  });

  it('applies PUT, PATCH and DELETE whose If-Match names the current version or *', async () => {
    const tag = await tagOf(`/scim/v2/Users/${id}`);
    const put = await scim(t, 'PUT', `/scim/v2/Users/${id}`, { userName: 'etag', emails: [{ value: 'etag@example.com' }], title: 'Put' }, { 'if-match': tag });
    expect(put.statusCode, put.body).toBe(200);
    const patched = await scim(t, 'PATCH', `/scim/v2/Users/${id}`, patchOp([{ op: 'replace', path: 'title', value: 'Patched' }]), { 'if-match': `"nope", ${put.headers.etag}` });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().title).toBe('Patched');
    expectScimError(await scim(t, 'PATCH', `/scim/v2/Users/${id}`, patchOp([{ op: 'replace', path: 'title', value: 'Late' }]), { 'if-match': put.headers.etag as string }), 412);
    const star = await scim(t, 'PATCH', `/scim/v2/Users/${id}`, patchOp([{ op: 'replace', path: 'title', value: 'Star' }]), { 'if-match': '*' });
    expect(star.statusCode).toBe(200);
    expect((await scim(t, 'DELETE', `/scim/v2/Groups/${groupId}`, undefined, { 'if-match': await tagOf(`/scim/v2/Groups/${groupId}`) })).statusCode).toBe(204);
    expect((await scim(t, 'DELETE', `/scim/v2/Users/${id}`, undefined, { 'if-match': star.headers.etag as string })).statusCode).toBe(204);
    // A resource that is gone is 404, If-Match or not.
    expectScimError(await scim(t, 'DELETE', `/scim/v2/Users/${id}`, undefined, { 'if-match': '*' }), 404);
  });

  it('creates a group with its members in one transaction: one create row and a row per member, or nothing', async () => {
    const head = await journalHead(t);
    const member = (await t.core.users.create(t.ctx, { username: 'member', email: 'member@example.com' })).id;
    const afterUser = await journalHead(t);
    expect(afterUser).toBeGreaterThan(head);
    const res = await scim(t, 'POST', '/scim/v2/Groups', { displayName: 'Atomic', members: [{ value: member }] });
    expect(res.statusCode, res.body).toBe(201);
    const rows = await t.core.store.read.journal.list(t.ctx.orgId, { since: afterUser, limit: 100 });
    expect(rows.map((r) => [r.objectId, r.operation])).toEqual([
      [res.json().id, 'create'],
      [res.json().id, 'member_add'],
    ]);
    expect(res.headers.etag).toBe(`W/"${rows[1]!.seq}"`);
    // The SCIM front-end leaves out members it cannot resolve; the core refuses them, leaving no group behind.
    await expect(t.core.groups.create(t.ctx, { name: 'Half' }, [{ type: 'user', id: member }, { type: 'user', id: 'ffffffffffffffffffffffff' }])).rejects.toMatchObject({ kind: 'not_found' });
    expect(await journalHead(t)).toBe(rows[1]!.seq);
    expect((await t.get(`/scim/v2/Groups?filter=${encodeURIComponent('displayName eq "Half"')}`)).json().totalResults).toBe(0);
  });
});
