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
    // Members carry their names as display (readOnly: what a client sends there is not kept).
    expect((await t.get(`/scim/v2/Groups/${group.id}`)).json().members).toEqual(
      expect.arrayContaining([{ value: users.ann, display: 'ann', type: 'User', $ref: `http://localhost:80/scim/v2/Users/${users.ann}` }]),
    );
  });

  // Entra ID checks a membership with a filter on the group's id and the member's value.
  it('filters on a member by its value, as Entra ID checks memberships', async () => {
    const group = (await send('POST', '/scim/v2/Groups', { displayName: 'Members Filter', members: [{ value: users.cat }] })).json();
    const ids = async (filter: string) => {
      const res = await t.get(`/scim/v2/Groups?excludedAttributes=members&filter=${encodeURIComponent(filter)}`);
      expect(res.statusCode, res.body).toBe(200);
      return res.json().Resources.map((g: { id: string }) => g.id);
    };
    expect(await ids(`id eq "${group.id}" and members[value eq "${users.cat}"]`)).toEqual([group.id]);
    expect(await ids(`id eq "${group.id}" and members[value eq "${users.ann}"]`)).toEqual([]);
    expect(await ids(`members.value eq "${users.cat}"`)).toEqual([group.id]);
    expect(await ids(`displayName eq "Members Filter" and not (members[value eq "${users.ann}"])`)).toEqual([group.id]);
    expect(await ids('members[value eq "not-an-id"]')).toEqual([]);
    for (const unsupported of ['members[display eq "x"]', `members[value ne "${users.cat}"]`, 'members pr']) {
      expect((await t.get(`/scim/v2/Groups?filter=${encodeURIComponent(unsupported)}`)).json(), unsupported).toMatchObject({ status: '400', scimType: 'invalidFilter' });
    }
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

  it('leaves out a member Roster does not know, so one stale reference does not hold back the rest', async () => {
    const group = (await send('POST', '/scim/v2/Groups', { displayName: 'Partial', members: [{ value: users.ann }] })).json();
    const res = await send('PATCH', `/scim/v2/Groups/${group.id}`, patchOp([{ op: 'add', path: 'members', value: [{ value: users.ben }, { value: 'ffffffffffffffffffffffff' }, { value: 'string id 1' }] }]));
    expect(res.statusCode, res.body).toBe(204);
    expect(await memberIds(group.id)).toEqual([users.ann, users.ben].sort());
    const half = await send('POST', '/scim/v2/Groups', { displayName: 'Half', members: [{ value: 'ffffffffffffffffffffffff' }, { value: users.cat }] });
    expect(half.statusCode, half.body).toBe(201);
    expect(await memberIds(half.json().id)).toEqual([users.cat]);
  });

  it('applies a membership change whole or not at all: a group made a member of itself leaves it as it was', async () => {
    const group = (await send('POST', '/scim/v2/Groups', { displayName: 'Atomic', members: [{ value: users.ann }] })).json();
    const res = await send('PATCH', `/scim/v2/Groups/${group.id}`, patchOp([{ op: 'add', path: 'members', value: [{ value: users.ben }, { value: group.id, type: 'Group' }] }]));
    expect(res.statusCode).toBe(400);
    expect(await memberIds(group.id)).toEqual([users.ann]);
  });

  it('keeps the source externalId of groups: returned, filterable, taken over by a newer group, freed on delete', async () => {
    const res = await send('POST', '/scim/v2/Groups', { displayName: 'Linked', externalId: 'g-ext-1', members: [] });
    expect(res.statusCode, res.body).toBe(201);
    const group = res.json();
    expect(group.externalId).toBe('g-ext-1');
    const byExternalId = async (externalId: string) =>
      (await t.get(`/scim/v2/Groups?filter=${encodeURIComponent(`externalId eq "${externalId}"`)}`)).json().Resources.map((g: { displayName: string }) => g.displayName);
    expect(await byExternalId('g-ext-1')).toEqual(['Linked']);
    // A PUT without externalId removes it (replace semantics); one with it sets it again.
    expect((await send('PUT', `/scim/v2/Groups/${group.id}`, { displayName: 'Linked' })).json().externalId).toBeUndefined();
    expect(await byExternalId('g-ext-1')).toEqual([]);
    await send('PUT', `/scim/v2/Groups/${group.id}`, { displayName: 'Linked', externalId: 'g-ext-1' });
    const newer = await send('POST', '/scim/v2/Groups', { displayName: 'Newer', externalId: 'g-ext-1' });
    expect(newer.statusCode, newer.body).toBe(201);
    expect(await byExternalId('g-ext-1')).toEqual(['Newer']);
    expect((await t.get(`/scim/v2/Groups/${group.id}`)).json().externalId).toBeUndefined();
    expect((await send('DELETE', `/scim/v2/Groups/${newer.json().id}`)).statusCode).toBe(204);
    expect(await byExternalId('g-ext-1')).toEqual([]);
  });

  it('takes members by the externalId the source gave them', async () => {
    const linked = await send('POST', '/scim/v2/Users', { userName: 'dee', externalId: 'dee-ext', emails: [{ value: 'dee@example.com' }] });
    expect(linked.statusCode, linked.body).toBe(201);
    const inner = (await send('POST', '/scim/v2/Groups', { displayName: 'Inner', externalId: 'inner-ext' })).json();
    const group = await send('POST', '/scim/v2/Groups', { displayName: 'By External', members: [{ value: 'dee-ext' }, { value: 'inner-ext', type: 'Group' }, { value: users.ann }] });
    expect(group.statusCode, group.body).toBe(201);
    const members = (await t.get(`/scim/v2/Groups/${group.json().id}`)).json().members;
    expect(members.map((m: { value: string; type: string; display: string }) => [m.type, m.value, m.display]).sort()).toEqual(
      [['Group', inner.id, 'Inner'], ['User', linked.json().id, 'dee'], ['User', users.ann, 'ann']].sort(),
    );
  });

  it('answers a taken displayName with 409 uniqueness, and deletes a group', async () => {
    const group = (await send('POST', '/scim/v2/Groups', { displayName: 'Unique' })).json();
    expect((await send('POST', '/scim/v2/Groups', { displayName: 'UNIQUE' })).json()).toMatchObject({ status: '409', scimType: 'uniqueness' });
    expect((await send('DELETE', `/scim/v2/Groups/${group.id}`)).statusCode).toBe(204);
    expect((await t.get(`/scim/v2/Groups/${group.id}`)).statusCode).toBe(404);
  });
});
