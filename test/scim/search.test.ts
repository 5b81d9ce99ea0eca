import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openTestScim, type TestScim } from '../support/scim.js';
import { ENTERPRISE, expectScimError, patchOp, scim, SEARCH_REQUEST } from '../support/scim-requests.js';
import { describeEachStore } from '../support/stores.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

describeEachStore('SCIM attributes, excludedAttributes, sorting and /.search', (kind) => {
  let t: TestScim;
  const ids: Record<string, string> = {};
  const groups: Record<string, string> = {};
  beforeAll(async () => {
    t = await openTestScim(kind);
    const make = async (username: string, extra: Record<string, unknown>) => (ids[username] = (await t.core.users.create(t.ctx, { username, ...extra })).id);
    await make('ada', { email: 'ada@example.com', firstname: 'Ada', lastname: 'lovelace', displayname: 'Ada L.', department: 'R&D', employeeIdentifier: 'E-1', jobTitle: 'Engineer' });
    await make('Grace', { email: 'grace@example.com', firstname: 'Grace', lastname: 'Hopper', displayname: 'Eng. Grace', department: 'Navy' });
    await make('alan', { email: 'alan@example.org', firstname: 'Alan', lastname: 'Turing', displayname: 'Alan T.' });
    await make('bob', { email: 'bob@example.org', firstname: 'Bob', displayname: 'Bob' });
    await t.core.users.update(t.ctx, ids.alan!, { state: 'SUSPENDED' });
    groups.eng = (await t.core.groups.create(t.ctx, { name: 'Engineering' }, [{ type: 'user', id: ids.ada! }, { type: 'user', id: ids.Grace! }])).id;
    groups.ops = (await t.core.groups.create(t.ctx, { name: 'ops' }, [{ type: 'user', id: ids.alan! }])).id;
  });
  afterAll(() => t?.dispose());
  afterEach(() => vi.restoreAllMocks());

  const get = async (url: string) => {
    const res = await t.get(url);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const q = encodeURIComponent;

  describe('attributes and excludedAttributes', () => {
    it('returns only the attributes asked for, plus schemas and id; meta only when named', async () => {
      const user = await get(`/scim/v2/Users/${ids.ada}?attributes=userName`);
      expect(user).toEqual({ schemas: [USER, ENTERPRISE], id: ids.ada, userName: 'ada' });
      const listed = await get(`/scim/v2/Users?filter=${q('userName eq "ada"')}&attributes=USERNAME,Name.GivenName`);
      expect(listed.Resources).toEqual([{ schemas: [USER, ENTERPRISE], id: ids.ada, userName: 'ada', name: { givenName: 'Ada' } }]);
    });

    it('takes sub-attributes of multi-valued and complex attributes, extension URNs, and meta sub-attributes', async () => {
      const res = await t.get(`/scim/v2/Users/${ids.ada}?attributes=${q(`emails.value,${ENTERPRISE}:department,meta.version,urn:ietf:params:scim:schemas:core:2.0:User:title`)}`);
      expect(res.json()).toEqual({
        schemas: [USER, ENTERPRISE],
        id: ids.ada,
        title: 'Engineer',
        emails: [{ value: 'ada@example.com' }],
        [ENTERPRISE]: { department: 'R&D' },
        meta: { version: res.headers.etag },
      });
      const whole = await get(`/scim/v2/Users/${ids.ada}?attributes=${q(ENTERPRISE)}`);
      expect(whole).toEqual({ schemas: [USER, ENTERPRISE], id: ids.ada, [ENTERPRISE]: { employeeNumber: 'E-1', department: 'R&D' } });
    });

    it('leaves out excluded attributes and sub-attributes, never id or schemas', async () => {
      const user = await get(`/scim/v2/Users/${ids.ada}?excludedAttributes=${q(`emails,name.familyName,meta,id,schemas,${ENTERPRISE}:employeeNumber`)}`);
      expect(user.emails).toBeUndefined();
      expect(user.meta).toBeUndefined();
      expect(user.name).toEqual({ givenName: 'Ada', formatted: 'Ada lovelace' });
      expect(user[ENTERPRISE]).toEqual({ department: 'R&D' });
      expect(user).toMatchObject({ id: ids.ada, schemas: [USER, ENTERPRISE], userName: 'ada', displayName: 'Ada L.' });
      const noExtension = await get(`/scim/v2/Users/${ids.ada}?excludedAttributes=${q(ENTERPRISE)}`);
      expect(noExtension[ENTERPRISE]).toBeUndefined();
      expect(noExtension.emails).toHaveLength(1);
    });

    it('ignores names the resource type does not have', async () => {
      expect(await get(`/scim/v2/Users/${ids.ada}?attributes=nickName,members`)).toEqual({ schemas: [USER, ENTERPRISE], id: ids.ada });
      expect((await get(`/scim/v2/Users/${ids.ada}?excludedAttributes=nickName`)).userName).toBe('ada');
    });

    it('does not load group members when they are excluded or not asked for', async () => {
      const members = vi.spyOn(t.core.groups, 'members');
      const excluded = await get('/scim/v2/Groups?excludedAttributes=members');
      expect(excluded.Resources.length).toBeGreaterThanOrEqual(2);
      for (const g of excluded.Resources) expect(g.members).toBeUndefined();
      const named = await get(`/scim/v2/Groups/${groups.eng}?attributes=displayName`);
      expect(named).toEqual({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: groups.eng, displayName: 'Engineering' });
      expect(members).not.toHaveBeenCalled();
      const values = await get(`/scim/v2/Groups/${groups.eng}?attributes=members.value`);
      expect(values.members.map((m: { value: string }) => m.value).sort()).toEqual([ids.ada, ids.Grace].sort());
      expect(Object.keys(values.members[0])).toEqual(['value']);
      expect(members).toHaveBeenCalledTimes(1);
    });

    it('shapes the answers of POST, PUT and PATCH, and a group PATCH asked for attributes answers 200', async () => {
      const created = await scim(t, 'POST', '/scim/v2/Users?attributes=userName', { schemas: [USER], userName: 'proj', emails: [{ value: 'proj@example.com' }] });
      expect(created.statusCode, created.body).toBe(201);
      expect(created.json()).toEqual({ schemas: [USER], id: created.json().id, userName: 'proj' });
      const id = created.json().id;
      const replaced = await scim(t, 'PUT', `/scim/v2/Users/${id}?excludedAttributes=emails,meta`, { userName: 'proj', title: 'Boss', emails: [{ value: 'proj@example.com' }] });
      expect(replaced.json()).toEqual({ schemas: [USER], id, userName: 'proj', title: 'Boss', active: true });
      const patched = await scim(t, 'PATCH', `/scim/v2/Users/${id}?attributes=title`, patchOp([{ op: 'replace', path: 'title', value: 'Chief' }]));
      expect(patched.json()).toEqual({ schemas: [USER], id, title: 'Chief' });
      const group = await scim(t, 'PATCH', `/scim/v2/Groups/${groups.ops}?attributes=displayName`, patchOp([{ op: 'replace', path: 'displayName', value: 'Operations' }]));
      expect(group.statusCode, group.body).toBe(200);
      expect(group.json()).toEqual({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: groups.ops, displayName: 'Operations' });
      expect((await scim(t, 'PATCH', `/scim/v2/Groups/${groups.ops}`, patchOp([{ op: 'replace', path: 'displayName', value: 'ops' }]))).statusCode).toBe(204);
      await t.core.users.delete(t.ctx, id);
    });
  });

  describe('sortBy and sortOrder', () => {
    const userNames = async (query: string) => (await get(`/scim/v2/Users?filter=${q('userName ne "proj"')}&${query}`)).Resources.map((u: { userName: string }) => u.userName);

    it('sorts ascending by default, without regard to case, and descending on request', async () => {
      expect(await userNames('sortBy=userName')).toEqual(['ada', 'alan', 'bob', 'Grace']);
      expect(await userNames('sortBy=userName&sortOrder=descending')).toEqual(['Grace', 'bob', 'alan', 'ada']);
      expect(await userNames('sortBy=NAME.FAMILYNAME&sortOrder=Ascending')).toEqual(['Grace', 'ada', 'alan', 'bob']);
      expect(await userNames('sortBy=emails.value&sortOrder=descending')).toEqual(['Grace', 'bob', 'alan', 'ada']);
      expect(await userNames(`sortBy=${q(`${ENTERPRISE}:department`)}`)).toEqual(['Grace', 'ada', 'alan', 'bob']);
    });

    it('puts resources without a value last ascending and first descending (RFC 7644 §3.4.2.3)', async () => {
      expect((await userNames('sortBy=name.familyName')).at(-1)).toBe('bob');
      expect((await userNames('sortBy=name.familyName&sortOrder=descending'))[0]).toBe('bob');
      expect((await userNames(`sortBy=${q(`${ENTERPRISE}:employeeNumber`)}&sortOrder=descending`)).at(-1)).toBe('ada');
    });

    it('sorts active false before true, and by meta dates', async () => {
      expect((await userNames('sortBy=active'))[0]).toBe('alan');
      expect((await userNames('sortBy=active&sortOrder=descending')).at(-1)).toBe('alan');
      expect(await userNames('sortBy=meta.created')).toEqual(['ada', 'Grace', 'alan', 'bob']);
    });

    it('sorts groups by displayName and pages after sorting', async () => {
      const names = (await get('/scim/v2/Groups?sortBy=displayName&sortOrder=descending&excludedAttributes=members')).Resources.map((g: { displayName: string }) => g.displayName);
      expect(names).toEqual(['ops', 'Engineering']);
      const page = await get('/scim/v2/Users?sortBy=userName&startIndex=2&count=2&attributes=userName');
      expect(page).toMatchObject({ startIndex: 2, itemsPerPage: 2 });
      expect(page.Resources.map((u: { userName: string }) => u.userName)).toEqual(['alan', 'bob']);
    });

    it('refuses a sortBy the schema does not have and a sortOrder other than ascending or descending; leaves the order of attributes Roster cannot sort by', async () => {
      expectScimError(await t.get('/scim/v2/Users?sortBy=shoeSize'), 400, 'invalidValue');
      expectScimError(await t.get('/scim/v2/Groups?sortBy=userName'), 400, 'invalidValue');
      expectScimError(await t.get('/scim/v2/Users?sortBy=userName&sortOrder=sideways'), 400, 'invalidValue');
      expectScimError(await t.get(`/scim/v2/Users?sortBy=${q('emails[type eq "work"]')}`), 400, 'invalidValue');
      const byId = (await get('/scim/v2/Users?attributes=id')).Resources.map((u: { id: string }) => u.id);
      expect((await get('/scim/v2/Users?sortBy=phoneNumbers.value&attributes=id')).Resources.map((u: { id: string }) => u.id)).toEqual(byId);
      expect((await get('/scim/v2/Users?sortOrder=descending&attributes=id')).Resources.map((u: { id: string }) => u.id)).toEqual(byId);
    });
  });

  describe('POST .search', () => {
    const search = (url: string, body: Record<string, unknown>) => scim(t, 'POST', url, { schemas: [SEARCH_REQUEST], ...body });

    it('searches Users and Groups with a SearchRequest: filter, attributes, sortBy, startIndex and count', async () => {
      const res = await search('/scim/v2/Users/.search', { filter: 'emails.value ew "example.com"', attributes: ['userName', 'name.givenName'], sortBy: 'userName', sortOrder: 'descending', startIndex: 1, count: 1 });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
        totalResults: 2,
        startIndex: 1,
        itemsPerPage: 1,
        Resources: [{ schemas: [USER, ENTERPRISE], id: ids.Grace, userName: 'Grace', name: { givenName: 'Grace' } }],
      });
      const found = await search('/scim/v2/groups/.search', { filter: 'displayName eq "ENGINEERING"', excludedAttributes: ['members', 'meta'] });
      expect(found.json().Resources).toEqual([{ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: groups.eng, displayName: 'Engineering' }]);
    });

    it('searches both resource types from the root; an attribute of one type only is unassigned in the other', async () => {
      const both = await search('/scim/v2/.search', { filter: 'displayName sw "Eng"', attributes: ['displayName', 'meta.resourceType'] });
      expect(both.statusCode, both.body).toBe(200);
      expect(both.json().Resources).toEqual([
        { schemas: [USER, ENTERPRISE], id: ids.Grace, displayName: 'Eng. Grace', meta: { resourceType: 'User' } },
        { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: groups.eng, displayName: 'Engineering', meta: { resourceType: 'Group' } },
      ]);
      const either = await search('/scim/v2/.search', { filter: 'userName eq "ada" or displayName eq "OPS"', attributes: ['id'] });
      expect(either.json().Resources.map((r: { id: string }) => r.id)).toEqual([ids.ada, groups.ops]);
      const none = await search('/scim/v2/.search', { filter: 'not (userName pr)', attributes: ['id'] });
      expect(none.json().Resources.map((r: { id: string }) => r.id).sort()).toEqual([groups.eng, groups.ops].sort());
    });

    it('pages across both types: Users first, then Groups', async () => {
      const all = await search('/scim/v2/.search', { attributes: ['id'], sortBy: 'displayName' });
      expect(all.json().totalResults).toBe(6);
      const page = await search('/scim/v2/.search', { attributes: ['id'], sortBy: 'displayName', startIndex: 4, count: 2 });
      expect(page.json()).toMatchObject({ totalResults: 6, startIndex: 4, itemsPerPage: 2 });
      expect(page.json().Resources.map((r: { id: string }) => r.id)).toEqual(all.json().Resources.slice(3, 5).map((r: { id: string }) => r.id));
      expect(page.json().Resources.map((r: { id: string }) => r.id)).toEqual([ids.Grace, groups.eng]);
    });

    it('refuses a body that is not a SearchRequest, and filters on attributes neither type has', async () => {
      expectScimError(await scim(t, 'POST', '/scim/v2/Users/.search', { filter: 'userName pr' }), 400, 'invalidSyntax');
      expectScimError(await search('/scim/v2/.search', { filter: 'shoeSize gt 40' }), 400, 'invalidFilter');
      expectScimError(await search('/scim/v2/.search', { sortBy: 'shoeSize' }), 400, 'invalidValue');
      expectScimError(await search('/scim/v2/Users/.search', { attributes: 'userName', excludedAttributes: ['title'] }), 400, 'invalidValue');
      expectScimError(await search('/scim/v2/Users/.search', { count: 'many' }), 400, 'invalidValue');
    });
  });
});
