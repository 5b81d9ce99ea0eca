import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { addMember, countGroups, createGroup, createUser, expectError, expectOk, MISSING_ID, uniq } from './helpers.js';

interface Edge {
  from: { id: string; type: string };
  to: { id: string; type: string };
  attributes: unknown;
}

/** Paths as "a>b>c" over readable names, sorted, so tests compare them regardless of order. */
function pathsOf(item: { paths: Edge[][] }, names: Record<string, string>): string[] {
  const label = (id: string) => names[id] ?? id;
  return item.paths.map((p) => [label(p[0]!.from.id), ...p.map((e) => label(e.to.id))].join('>')).sort();
}

describeEachStore('API v2 usergroups', (kind) => {
  let t: TestApi;
  beforeAll(async () => {
    t = await openTestApi(kind);
  });
  afterAll(() => t.dispose());

  const v2 = async (url: string) => {
    const res = await t.call('GET', url);
    const body = expectOk(res);
    expect(Array.isArray(body)).toBe(true);
    return { body: body as any[], total: Number(res.headers['x-total-count']) };
  };
  const members = (id: string, op: 'add' | 'remove' | 'update', type: string, member: string) =>
    t.call('POST', `/api/v2/usergroups/${id}/members`, { body: { op, type, id: member } });

  describe('CRUD', () => {
    it('POST answers 201 with the v2 UserGroup; GET reads it back', async () => {
      const name = uniq('Eng');
      const res = await t.call('POST', '/api/v2/usergroups', { body: { name: `  ${name}  `, description: 'Engineers ⚙️', email: 'eng@example.test', attributes: { posixGroups: [{ id: 7001, name }] } } });
      const g = expectOk(res, 201);
      expect(g).toMatchObject({ name, type: 'user_group', description: 'Engineers ⚙️', email: 'eng@example.test', attributes: { posixGroups: [{ id: 7001, name }] } });
      expect(g.id).toMatch(/^[0-9a-f]{24}$/);
      expect(g).not.toHaveProperty('_id');
      expect(expectOk(await t.call('GET', `/api/v2/usergroups/${g.id}`))).toEqual(g);
    });

    it('PUT replaces, PATCH changes only what is given', async () => {
      const g = await createGroup(t, { description: 'old', email: 'old@example.test' });
      const renamed = uniq('Renamed');
      expect(expectOk(await t.call('PATCH', `/api/v2/usergroups/${g.id}`, { body: { description: 'new' } }))).toMatchObject({ name: g.name, description: 'new', email: 'old@example.test' });
      expect(expectOk(await t.call('PUT', `/api/v2/usergroups/${g.id}`, { body: { name: renamed } }))).toMatchObject({ name: renamed, description: 'new' });
      expect(expectOk(await t.call('GET', `/api/v2/usergroups/${g.id}`)).name).toBe(renamed);
      const noName = expectError(await t.call('PUT', `/api/v2/usergroups/${g.id}`, { body: { description: 'x' } }), 400, 'INVALID_INPUT');
      expect(noName.details).toEqual([expect.objectContaining({ field: 'name', reason: 'REQUIRED' })]);
    });

    it('group names are unique whatever the case: 409 GROUP_NAME_TAKEN on create and rename', async () => {
      const a = await createGroup(t);
      const b = await createGroup(t);
      const before = await countGroups(t);
      expectError(await t.call('POST', '/api/v2/usergroups', { body: { name: a.name.toUpperCase() } }), 409, 'GROUP_NAME_TAKEN');
      expectError(await t.call('PATCH', `/api/v2/usergroups/${b.id}`, { body: { name: a.name.toUpperCase() } }), 409, 'GROUP_NAME_TAKEN');
      expect(await countGroups(t)).toBe(before);
      expect(expectOk(await t.call('GET', `/api/v2/usergroups/${b.id}`)).name).toBe(b.name);
      expect(expectOk(await t.call('PATCH', `/api/v2/usergroups/${a.id}`, { body: { name: a.name.toUpperCase() } })).name).toBe(a.name.toUpperCase());
    });

    it('DELETE answers the group, takes it out of its parents, and later reads 404', async () => {
      const parent = await createGroup(t);
      const child = await createGroup(t);
      const u = await createUser(t);
      await addMember(t, parent.id, 'user_group', child.id);
      await addMember(t, child.id, 'user', u._id);
      expect((await v2(`/api/v2/usergroups/${parent.id}/membership`)).total).toBe(1);
      expect(expectOk(await t.call('DELETE', `/api/v2/usergroups/${child.id}`)).id).toBe(child.id);
      expectError(await t.call('GET', `/api/v2/usergroups/${child.id}`), 404, 'USER_GROUP_NOT_FOUND');
      expect(await v2(`/api/v2/usergroups/${parent.id}/members`)).toEqual({ body: [], total: 0 });
      expect((await v2(`/api/v2/usergroups/${parent.id}/membership`)).total).toBe(0);
      expect((await v2(`/api/v2/users/${u._id}/memberof`)).total).toBe(0);
      expectError(await t.call('DELETE', `/api/v2/usergroups/${child.id}`), 404, 'USER_GROUP_NOT_FOUND');
    });

    it('unknown ids answer 404 USER_GROUP_NOT_FOUND everywhere', async () => {
      for (const [method, url, body] of [
        ['GET', `/api/v2/usergroups/${MISSING_ID}`],
        ['PUT', `/api/v2/usergroups/${MISSING_ID}`, { name: 'x' }],
        ['PATCH', `/api/v2/usergroups/${MISSING_ID}`, { name: 'x' }],
        ['DELETE', `/api/v2/usergroups/${MISSING_ID}`],
        ['GET', `/api/v2/usergroups/${MISSING_ID}/members`],
        ['GET', `/api/v2/usergroups/${MISSING_ID}/membership`],
        ['GET', `/api/v2/usergroups/${MISSING_ID}/memberof`],
        ['POST', `/api/v2/usergroups/${MISSING_ID}/members`, { op: 'remove', type: 'user', id: MISSING_ID }],
      ] as [string, string, unknown?][]) {
        expectError(await t.call(method, url, body === undefined ? {} : { body }), 404, 'USER_GROUP_NOT_FOUND');
      }
      expectError(await t.call('GET', `/api/v2/users/${MISSING_ID}/memberof`), 404, 'USER_NOT_FOUND');
    });
  });

  describe('v2 list', () => {
    let prefix: string;
    let groups: any[];
    beforeAll(async () => {
      prefix = uniq('lst');
      groups = [];
      for (const [i, suffix] of ['a', 'b', 'c', 'd', 'e'].entries()) groups.push(await createGroup(t, { name: `${prefix}${suffix}`, description: `d${i}` }));
    });
    const search = (more = '') => v2(`/api/v2/usergroups?filter=${encodeURIComponent(`name:search:${prefix}`)}${more}`);

    it('answers a bare array with x-total-count; sort, fields, skip past the end', async () => {
      const all = await search('&sort=-name');
      expect(all.total).toBe(5);
      expect(all.body.map((g) => g.name)).toEqual(['e', 'd', 'c', 'b', 'a'].map((s) => prefix + s));
      const page = await search('&sort=name&limit=2&skip=1&fields=name');
      expect(page.body).toEqual([{ id: groups[1].id, name: `${prefix}b` }, { id: groups[2].id, name: `${prefix}c` }]);
      expect(await search('&skip=5')).toEqual({ body: [], total: 5 });
      expectError(await t.call('GET', '/api/v2/usergroups?limit=101'), 400, 'INVALID_INPUT');
    });

    it('filters with eq (case-insensitive names), ne, in a|b, search and between', async () => {
      const names = async (filter: string) => (await search(`&filter=${encodeURIComponent(filter)}&sort=name`)).body.map((g) => g.name.slice(prefix.length));
      expect(await names(`name:eq:${prefix.toUpperCase()}B`)).toEqual(['b']);
      expect(await names('description:ne:d0')).toEqual(['b', 'c', 'd', 'e']);
      expect(await names('description:in:d1|d3|nope')).toEqual(['b', 'd']);
      expect(await names(`name:in:${prefix}a|${prefix}e`)).toEqual(['a', 'e']);
      expect(await names('description:between:d1,d3')).toEqual(['b', 'c', 'd']);
      expect(await names(`created:between:${groups[0].created},2999-01-01`)).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(await names('created:lt:2000-01-01')).toEqual([]);
    });

    it('pages in id order with the after=<id> cursor', async () => {
      const ids = groups.map((g) => g.id).sort();
      const first = await search('&limit=2');
      expect(first.body.map((g) => g.id)).toEqual(ids.slice(0, 2));
      const next = await search(`&limit=2&after=${ids[1]}`);
      expect(next.body.map((g) => g.id)).toEqual(ids.slice(2, 4));
      expect((await search(`&after=${ids[4]}`)).body).toEqual([]);
      expectError(await t.call('GET', `/api/v2/usergroups?after=${ids[0]}&sort=name`), 400, 'INVALID_CURSOR');
    });

    it('bad v2 filters answer 400 INVALID_FILTER', async () => {
      for (const filter of ['name:$eq:x', 'name', 'shoeSize:eq:1', 'name:like:x', 'created:between:2024-01-01', 'created:gt:soon']) {
        expectError(await t.call('GET', `/api/v2/usergroups?filter=${encodeURIComponent(filter)}`), 400, 'INVALID_FILTER');
      }
    });
  });

  describe('members', () => {
    it('add answers 204; the member is listed; a duplicate add is 409 and a missing remove 404', async () => {
      const g = await createGroup(t);
      const u = await createUser(t);
      const add = await members(g.id, 'add', 'user', u._id);
      expect(add.statusCode).toBe(204);
      expect(add.body).toBe('');
      expect(await v2(`/api/v2/usergroups/${g.id}/members`)).toEqual({ body: [{ from: { id: g.id, type: 'user_group' }, to: { id: u._id, type: 'user' } }], total: 1 });
      expectError(await members(g.id, 'add', 'user', u._id), 409, 'MEMBER_EXISTS', 'ALREADY_EXISTS');
      expect((await v2(`/api/v2/usergroups/${g.id}/members`)).total).toBe(1);
      expect((await members(g.id, 'remove', 'user', u._id)).statusCode).toBe(204);
      expectError(await members(g.id, 'remove', 'user', u._id), 404, 'MEMBER_NOT_FOUND');
      expect((await v2(`/api/v2/usergroups/${g.id}/members`)).total).toBe(0);
    });

    it('refuses unknown members, self-nesting, op update and unknown types', async () => {
      const g = await createGroup(t);
      expectError(await members(g.id, 'add', 'user', MISSING_ID), 404, 'USER_NOT_FOUND');
      expectError(await members(g.id, 'add', 'user_group', MISSING_ID), 404, 'USER_GROUP_NOT_FOUND');
      expectError(await members(g.id, 'add', 'user_group', g.id), 400, 'GROUP_SELF_MEMBER');
      const u = await createUser(t);
      expectError(await members(g.id, 'update', 'user', u._id), 400, 'INVALID_OPERATION');
      expectError(await members(g.id, 'add', 'system', u._id), 400, 'INVALID_INPUT');
      expect((await v2(`/api/v2/usergroups/${g.id}/members`)).total).toBe(0);
    });

    it('pages direct members with limit and skip', async () => {
      const g = await createGroup(t);
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const u = await createUser(t);
        ids.push(u._id);
        await addMember(t, g.id, 'user', u._id);
      }
      const first = await v2(`/api/v2/usergroups/${g.id}/members`);
      expect(first.total).toBe(12);
      expect(first.body).toHaveLength(10);
      const rest = await v2(`/api/v2/usergroups/${g.id}/members?skip=10&limit=5`);
      expect([...first.body, ...rest.body].map((m) => m.to.id).sort()).toEqual(ids.sort());
      expect(await v2(`/api/v2/usergroups/${g.id}/members?skip=12`)).toEqual({ body: [], total: 12 });
    });
  });

  describe('nested groups', () => {
    it('membership and memberof report transitive results with their paths', async () => {
      const [g1, g2, g3] = [await createGroup(t), await createGroup(t), await createGroup(t)];
      const [u1, u2, u3] = [await createUser(t), await createUser(t), await createUser(t)];
      const names: Record<string, string> = { [g1.id]: 'G1', [g2.id]: 'G2', [g3.id]: 'G3', [u1._id]: 'u1', [u2._id]: 'u2', [u3._id]: 'u3' };
      await addMember(t, g1.id, 'user_group', g2.id);
      await addMember(t, g2.id, 'user_group', g3.id);
      await addMember(t, g1.id, 'user', u1._id);
      await addMember(t, g2.id, 'user', u2._id);
      await addMember(t, g3.id, 'user', u3._id);
      await addMember(t, g1.id, 'user', u3._id);

      const direct = await v2(`/api/v2/usergroups/${g1.id}/members`);
      expect(direct.body.map((m) => `${m.to.type}:${names[m.to.id]}`).sort()).toEqual(['user:u1', 'user:u3', 'user_group:G2']);

      const membership = await v2(`/api/v2/usergroups/${g1.id}/membership`);
      expect(membership.total).toBe(3);
      const byUser = Object.fromEntries(membership.body.map((m) => [names[m.id], { type: m.type, paths: pathsOf(m, names) }]));
      expect(byUser).toEqual({
        u1: { type: 'user', paths: ['G1>u1'] },
        u2: { type: 'user', paths: ['G1>G2>u2'] },
        u3: { type: 'user', paths: ['G1>G2>G3>u3', 'G1>u3'] },
      });
      expect(membership.body[0].paths[0][0]).toEqual({ from: { id: g1.id, type: 'user_group' }, to: expect.objectContaining({ type: expect.any(String) }) });

      const filtered = await v2(`/api/v2/usergroups/${g1.id}/membership?filter=${encodeURIComponent(`username:eq:${u2.username.toUpperCase()}`)}`);
      expect(filtered.body.map((m) => names[m.id])).toEqual(['u2']);
      expect(filtered.total).toBe(1);

      const of = await v2(`/api/v2/users/${u3._id}/memberof`);
      expect(Object.fromEntries(of.body.map((m) => [names[m.id], pathsOf(m, names)]))).toEqual({
        G1: ['u3>G1', 'u3>G3>G2>G1'],
        G2: ['u3>G3>G2'],
        G3: ['u3>G3'],
      });
      expect(of.body.every((m) => m.type === 'user_group')).toBe(true);

      const groupOf = await v2(`/api/v2/usergroups/${g3.id}/memberof`);
      expect(Object.fromEntries(groupOf.body.map((m) => [names[m.id], pathsOf(m, names)]))).toEqual({ G1: ['G3>G2>G1'], G2: ['G3>G2'] });

      expect((await members(g2.id, 'remove', 'user_group', g3.id)).statusCode).toBe(204);
      const after = await v2(`/api/v2/usergroups/${g1.id}/membership`);
      expect(Object.fromEntries(after.body.map((m) => [names[m.id], pathsOf(m, names)]))).toEqual({ u1: ['G1>u1'], u2: ['G1>G2>u2'], u3: ['G1>u3'] });
    });

    it('a cycle between two groups does not hang and still answers', async () => {
      const [a, b] = [await createGroup(t), await createGroup(t)];
      const [u, v] = [await createUser(t), await createUser(t)];
      const names: Record<string, string> = { [a.id]: 'A', [b.id]: 'B', [u._id]: 'u', [v._id]: 'v' };
      await addMember(t, a.id, 'user_group', b.id);
      await addMember(t, b.id, 'user_group', a.id);
      await addMember(t, a.id, 'user', u._id);
      await addMember(t, b.id, 'user', v._id);
      const started = Date.now();
      const ofA = await v2(`/api/v2/usergroups/${a.id}/membership`);
      expect(Object.fromEntries(ofA.body.map((m) => [names[m.id], pathsOf(m, names)]))).toEqual({ u: ['A>u'], v: ['A>B>v'] });
      const ofB = await v2(`/api/v2/usergroups/${b.id}/membership`);
      expect(Object.fromEntries(ofB.body.map((m) => [names[m.id], pathsOf(m, names)]))).toEqual({ u: ['B>A>u'], v: ['B>v'] });
      expect((await v2(`/api/v2/usergroups/${a.id}/memberof`)).body.map((m) => pathsOf(m, names))).toEqual([['A>B']]);
      const userOf = await v2(`/api/v2/users/${u._id}/memberof`);
      expect(Object.fromEntries(userOf.body.map((m) => [names[m.id], pathsOf(m, names)]))).toEqual({ A: ['u>A'], B: ['u>A>B'] });
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('a three-group cycle answers too', async () => {
      const [a, b, c] = [await createGroup(t), await createGroup(t), await createGroup(t)];
      const u = await createUser(t);
      await addMember(t, a.id, 'user_group', b.id);
      await addMember(t, b.id, 'user_group', c.id);
      await addMember(t, c.id, 'user_group', a.id);
      await addMember(t, c.id, 'user', u._id);
      for (const g of [a, b, c]) expect((await v2(`/api/v2/usergroups/${g.id}/membership`)).body.map((m) => m.id)).toEqual([u._id]);
      expect((await v2(`/api/v2/users/${u._id}/memberof`)).total).toBe(3);
    });
  });
});
