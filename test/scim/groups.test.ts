import { afterAll, beforeAll, expect, it } from 'vitest';
import { openTestScim, type TestScim } from '../support/scim.js';
import { describeEachStore } from '../support/stores.js';

describeEachStore('SCIM Groups', (kind) => {
  let t: TestScim;
  const users: Record<string, string> = {};
  beforeAll(async () => {
    t = await openTestScim(kind);
    for (const name of ['ann', 'ben', 'cat']) users[name] = (await t.core.users.create(t.ctx, { username: name, email: `${name}@example.com` })).id;
  });
  afterAll(() => t?.dispose());

  const send = (method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown) =>
    t.app.inject({ method, url, headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/scim+json' }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
  const memberIds = async (groupId: string) => ((await t.get(`/scim/v2/Groups/${groupId}`)).json().members ?? []).map((m: { value: string }) => m.value).sort();
  const patchOp = (Operations: unknown[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations });

  it('creates a group with members, reads, filters and lists it (members excluded on request)', async () => {
    const res = await send('POST', '/scim/v2/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Engineering', members: [{ value: users.ann }, { value: users.ben }] });
    expect(res.statusCode, res.body).toBe(201);
    const group = res.json();
    expect(group).toMatchObject({ displayName: 'Engineering', meta: { resourceType: 'Group' } });
    expect(await memberIds(group.id)).toEqual([users.ann, users.ben].sort());
    const found = (await t.get(`/scim/v2/Groups?filter=${encodeURIComponent('displayName eq "engineering"')}&excludedAttributes=members`)).json();
    expect(found).toMatchObject({ totalResults: 1, Resources: [{ id: group.id, displayName: 'Engineering' }] });
    expect(found.Resources[0].members).toBeUndefined();
    expect((await t.get(`/scim/v2/Groups?filter=${encodeURIComponent('members[value eq "x"]')}`)).json()).toMatchObject({ status: '400', scimType: 'invalidFilter' });
  });

  it('changes members with PATCH as Entra ID sends it (204), and replaces them with PUT', async () => {
    const group = (await send('POST', '/scim/v2/Groups', { displayName: 'Ops', members: [{ value: users.ann }] })).json();
    const added = await send('PATCH', `/scim/v2/Groups/${group.id}`, patchOp([{ op: 'Add', path: 'members', value: [{ value: users.ben }, { value: users.cat }] }]));
    expect(added.statusCode, added.body).toBe(204);
    expect(await memberIds(group.id)).toEqual([users.ann, users.ben, users.cat].sort());
    const removed = await send('PATCH', `/scim/v2/Groups/${group.id}`, patchOp([{ op: 'Remove', path: `members[value eq "${users.ann}"]` }, { op: 'Replace', path: 'displayName', value: 'Operations' }]));
    expect(removed.statusCode, removed.body).toBe(204);
    expect(await memberIds(group.id)).toEqual([users.ben, users.cat].sort());
    expect((await t.get(`/scim/v2/Groups/${group.id}`)).json().displayName).toBe('Operations');
    const replaced = await send('PUT', `/scim/v2/Groups/${group.id}`, { displayName: 'Operations', members: [{ value: users.ann }] });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(await memberIds(group.id)).toEqual([users.ann]);
  });

  it('applies a membership change whole or not at all: an unknown member leaves the group as it was', async () => {
    const group = (await send('POST', '/scim/v2/Groups', { displayName: 'Atomic', members: [{ value: users.ann }] })).json();
    const res = await send('PATCH', `/scim/v2/Groups/${group.id}`, patchOp([{ op: 'add', path: 'members', value: [{ value: users.ben }, { value: 'ffffffffffffffffffffffff' }] }]));
    expect(res.statusCode).toBe(404);
    expect(await memberIds(group.id)).toEqual([users.ann]);
    const before = (await t.get('/scim/v2/Groups')).json().totalResults;
    expect((await send('POST', '/scim/v2/Groups', { displayName: 'Half', members: [{ value: 'ffffffffffffffffffffffff' }] })).statusCode).toBe(404);
    expect((await t.get('/scim/v2/Groups')).json().totalResults).toBe(before);
  });

  it('answers a taken displayName with 409 uniqueness, and deletes a group', async () => {
    const group = (await send('POST', '/scim/v2/Groups', { displayName: 'Unique' })).json();
    expect((await send('POST', '/scim/v2/Groups', { displayName: 'UNIQUE' })).json()).toMatchObject({ status: '409', scimType: 'uniqueness' });
    expect((await send('DELETE', `/scim/v2/Groups/${group.id}`)).statusCode).toBe(204);
    expect((await t.get(`/scim/v2/Groups/${group.id}`)).statusCode).toBe(404);
  });
});
