import { afterAll, beforeAll, expect, it } from 'vitest';
import { openTestScim, type TestScim } from '../support/scim.js';
import { describeEachStore } from '../support/stores.js';

describeEachStore('SCIM Users: reading', (kind) => {
  let t: TestScim;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    t = await openTestScim(kind);
    const make = async (username: string, extra: Record<string, unknown>) =>
      (ids[username] = (await t.core.users.create(t.ctx, { username, ...extra })).id);
    await make('ada', { email: 'ada@example.com', firstname: 'Ada', lastname: 'Lovelace', jobTitle: 'Engineer', department: 'R&D', employeeIdentifier: 'E-1' });
    await make('grace', { email: 'grace@navy.example', alternateEmail: 'gh@example.com', firstname: 'Grace', lastname: 'Hopper' });
    await make('alan', { email: 'alan@example.org', firstname: 'Alan', lastname: 'Turing' });
    await t.core.users.update(t.ctx, ids.alan!, { state: 'SUSPENDED' });
  });
  afterAll(() => t?.dispose());

  const list = async (filter?: string, extra = '') => {
    const res = await t.get(`/scim/v2/Users?${filter === undefined ? '' : `filter=${encodeURIComponent(filter)}&`}${extra}`);
    return { status: res.statusCode, body: res.json() };
  };
  const names = async (filter: string) => {
    const { status, body } = await list(filter);
    expect(status, JSON.stringify(body)).toBe(200);
    return body.Resources.map((u: { userName: string }) => u.userName).sort();
  };

  it('reads a user in SCIM shape with the enterprise extension, meta and an ETag', async () => {
    const res = await t.get(`/scim/v2/Users/${ids.ada}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers.etag).toMatch(/^W\/"/);
    expect(res.json()).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
      id: ids.ada,
      userName: 'ada',
      name: { givenName: 'Ada', familyName: 'Lovelace', formatted: 'Ada Lovelace' },
      title: 'Engineer',
      active: true,
      emails: [{ value: 'ada@example.com', type: 'work', primary: true }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: 'E-1', department: 'R&D' },
      meta: { resourceType: 'User', created: expect.any(String), lastModified: expect.any(String), location: `http://localhost:80/scim/v2/Users/${ids.ada}`, version: res.headers.etag },
    });
    expect((await t.get('/scim/v2/Users/ffffffffffffffffffffffff')).statusCode).toBe(404);
  });

  it('filters in the store: case-insensitive strings, emails (both addresses), active, and/or/not, value filters', async () => {
    expect(await names('userName eq "ADA"')).toEqual(['ada']);
    expect(await names('emails.value co "@example.com"')).toEqual(['ada', 'grace']);
    expect(await names('emails[value ew "navy.example"]')).toEqual(['grace']);
    expect(await names('name.familyName sw "t"')).toEqual(['alan']);
    expect(await names('active eq false')).toEqual(['alan']);
    expect(await names('active eq true and not (userName eq "grace")')).toEqual(['ada']);
    expect(await names('userName eq "ada" or urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "nobody"')).toEqual(['ada']);
    expect(await names(`id eq "${ids.grace}"`)).toEqual(['grace']);
    expect(await names('title pr')).toEqual(['ada']);
    expect(await names('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager pr')).toEqual([]);
    expect(await names('meta.created gt "2000-01-01T00:00:00Z"')).toEqual(['ada', 'alan', 'grace']);
  });

  // Microsoft's conformance collection sends these as Entra ID does, without quotes.
  it('takes filter values without quotes where they can only be strings or dates', async () => {
    expect(await names('userName sw A')).toEqual(['ada', 'alan']);
    expect(await names('name.FamilyName eq Hopper and (emails.Value co navy.example or emails.Value co example.org)')).toEqual(['grace']);
    expect(await names('meta.Created gt 2015-10-10T14:38:21.8617979-07:00')).toEqual(['ada', 'alan', 'grace']);
    expect(await names('active eq False')).toEqual(['alan']);
  });

  it('answers /users as /Users, as Entra ID sends it', async () => {
    const res = await t.get(`/scim/v2/users/${ids.ada}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().userName).toBe('ada');
    expect((await t.get('/scim/v2/users?count=1')).json()).toMatchObject({ totalResults: 3 });
    expect((await t.get('/scim/v2/usersx')).statusCode).toBe(404);
  });

  it('pages with startIndex and count, reporting the total', async () => {
    const { body } = await list(undefined, 'startIndex=2&count=1');
    expect(body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 3, startIndex: 2, itemsPerPage: 1 });
    expect((await list(undefined, 'count=0')).body).toMatchObject({ totalResults: 3, itemsPerPage: 0, Resources: [] });
  });

  it('answers a malformed or unsupported filter with 400 invalidFilter', async () => {
    for (const filter of ['userName eq', 'userName xx "a"', '((userName eq "a")', 'externalId co "x"', 'externalId pr', 'nickName pr', 'userName eq @x', 'meta.created gt 2015-1-1']) {
      const { status, body } = await list(filter);
      expect(status, filter).toBe(400);
      expect(body, filter).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', scimType: 'invalidFilter' });
    }
  });

  it('sees only its own organization', async () => {
    const other = await t.core.organizations.create('Other');
    const stranger = await t.core.users.create({ ...t.ctx, orgId: other.id, orgIds: [other.id] }, { username: 'stranger', email: 's@other.example' });
    expect((await t.get(`/scim/v2/Users/${stranger.id}`)).statusCode).toBe(404);
    expect(await names('userName eq "stranger"')).toEqual([]);
  });
});

describeEachStore('SCIM Users: writing', (kind) => {
  let t: TestScim;
  beforeAll(async () => {
    t = await openTestScim(kind);
  });
  afterAll(() => t?.dispose());

  const send = (method: 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) =>
    t.app.inject({ method, url, headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/scim+json' }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
  const user = (userName: string, extra: Record<string, unknown> = {}) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName,
    name: { givenName: 'Test', familyName: 'User' },
    emails: [{ value: `${userName}@example.com`, type: 'work', primary: true }],
    active: true,
    ...extra,
  });

  it('creates a user (201, Location), journaled with the source as origin; a password set over SCIM logs in', async () => {
    const res = await send('POST', '/scim/v2/Users', user('new.hire', { title: 'Analyst', password: 'Scim-Set-Pw-42x', nickName: 'ignored', roles: [] }));
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json();
    expect(res.headers.location).toBe(`http://localhost:80/scim/v2/Users/${created.id}`);
    expect(created).toMatchObject({ userName: 'new.hire', title: 'Analyst', active: true, emails: [{ value: 'new.hire@example.com', primary: true }] });
    const entry = (await t.core.journal.list(t.ctx, 0, 1000)).find((e) => e.objectId === created.id && e.operation === 'create');
    expect(entry).toMatchObject({ origin: `scim:${t.sourceId}`, actorType: 'system', actorId: t.sourceId });
    expect((await t.core.authentication.verify(t.ctx.orgId, 'new.hire', 'Scim-Set-Pw-42x', 'api')).ok).toBe(true);
  });

  it('answers a taken userName with 409 uniqueness and a missing one with 400, changing nothing', async () => {
    expect((await send('POST', '/scim/v2/Users', user('dup'))).statusCode).toBe(201);
    const again = await send('POST', '/scim/v2/Users', user('DUP', { emails: [{ value: 'other@example.com' }] }));
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ status: '409', scimType: 'uniqueness' });
    const missing = await send('POST', '/scim/v2/Users', { ...user('x'), userName: undefined });
    expect(missing.statusCode).toBe(400);
    expect((await send('POST', '/scim/v2/Users', '[1,2]')).statusCode).toBe(400);
  });

  it('replaces a user with PUT (left-out attributes cleared; "False" as Entra sends it suspends) and deletes it', async () => {
    const created = (await send('POST', '/scim/v2/Users', user('mover', { title: 'Clerk', displayName: 'M. Over' }))).json();
    const replaced = await send('PUT', `/scim/v2/Users/${created.id}`, user('mover', { active: 'False' }));
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(replaced.json()).toMatchObject({ userName: 'mover', active: false });
    expect(replaced.json().title).toBeUndefined();
    expect(replaced.json().displayName).toBeUndefined();
    expect((await t.core.users.get(t.ctx, created.id)).state).toBe('SUSPENDED');
    expect((await send('DELETE', `/scim/v2/Users/${created.id}`)).statusCode).toBe(204);
    expect((await t.get(`/scim/v2/Users/${created.id}`)).statusCode).toBe(404);
    expect((await send('DELETE', `/scim/v2/Users/${created.id}`)).statusCode).toBe(404);
  });
});

describeEachStore('SCIM Users: PATCH', (kind) => {
  let t: TestScim;
  let id: string;
  beforeAll(async () => {
    t = await openTestScim(kind);
    id = (await t.core.users.create(t.ctx, { username: 'patchy', email: 'patchy@example.com', firstname: 'Pat', lastname: 'Chy', jobTitle: 'Clerk' })).id;
  });
  afterAll(() => t?.dispose());

  const patch = (operations: unknown[], schemas: unknown = ['urn:ietf:params:scim:api:messages:2.0:PatchOp']) =>
    t.app.inject({
      method: 'PATCH',
      url: `/scim/v2/Users/${id}`,
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/scim+json' },
      payload: JSON.stringify({ schemas, Operations: operations }),
    });

  it('applies the operations Entra ID and Okta send, all of them or none', async () => {
    const res = await patch([
      { op: 'Replace', path: 'active', value: 'False' },
      { op: 'replace', value: { displayName: 'Pat C.', 'name.givenName': undefined } },
      { op: 'add', path: 'emails[type eq "work"].value', value: 'pat.new@example.com' },
      { op: 'replace', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', value: 'Sales' },
      { op: 'remove', path: 'title' },
      { op: 'replace', path: 'name.familyName', value: 'Cheney' },
    ]);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      active: false,
      displayName: 'Pat C.',
      name: { givenName: 'Pat', familyName: 'Cheney' },
      emails: [{ value: 'pat.new@example.com', type: 'work', primary: true }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Sales' },
    });
    expect(res.json().title).toBeUndefined();
    const stored = await t.core.users.get(t.ctx, id);
    expect(stored).toMatchObject({ state: 'SUSPENDED', email: 'pat.new@example.com', lastname: 'Cheney', department: 'Sales', jobTitle: '' });
  });

  it('refuses read-only and unknown paths, unknown operations and a missing PatchOp schema with the RFC scimType, changing nothing', async () => {
    const before = await t.core.users.get(t.ctx, id);
    const cases: [unknown[], string, unknown?][] = [
      [[{ op: 'replace', path: 'displayName', value: 'changed' }, { op: 'replace', path: 'id', value: 'x' }], 'mutability'],
      [[{ op: 'replace', path: 'meta.created', value: 'x' }], 'mutability'],
      [[{ op: 'replace', path: 'nickName', value: 'x' }], 'invalidPath'],
      [[{ op: 'replace', path: 'emails[type eq', value: 'x' }], 'invalidPath'],
      [[{ op: 'frobnicate', path: 'title', value: 'x' }], 'invalidSyntax'],
      [[{ op: 'remove' }], 'noTarget'],
      [[{ op: 'replace', path: 'title', value: 'x' }], 'invalidSyntax', ['urn:wrong']],
    ];
    for (const [operations, scimType, schemas] of cases) {
      const res = await patch(operations, schemas);
      expect(res.statusCode, JSON.stringify(operations)).toBe(400);
      expect(res.json(), JSON.stringify(operations)).toMatchObject({ status: '400', scimType });
    }
    expect(await t.core.users.get(t.ctx, id)).toEqual(before);
  });
});

describeEachStore('SCIM Users: externalId, manager and replace', (kind) => {
  let t: TestScim;
  let otherToken: string;
  beforeAll(async () => {
    t = await openTestScim(kind);
    const other = await t.core.scimSources.create(t.ctx, { name: 'Workday' });
    otherToken = (await t.core.scimSources.issueToken(t.ctx, other.id, {})).secret;
  });
  afterAll(() => t?.dispose());

  const send = (method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, token = t.token) =>
    t.app.inject({ method, url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
  const user = (userName: string, extra: Record<string, unknown> = {}) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName,
    emails: [{ value: `${userName}@example.com`, type: 'work', primary: true }],
    ...extra,
  });
  const byExternalId = async (externalId: string, token = t.token) =>
    (await t.get(`/scim/v2/Users?filter=${encodeURIComponent(`externalId eq "${externalId}"`)}`, token)).json().Resources.map((u: { userName: string }) => u.userName);
  const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

  it('keeps the source externalId: returned on create and read, filterable with eq and ne, exact, per source', async () => {
    const res = await send('POST', '/scim/v2/Users', user('linked', { externalId: 'Ext-0001' }));
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json();
    expect(created.externalId).toBe('Ext-0001');
    expect((await t.get(`/scim/v2/Users/${created.id}`)).json().externalId).toBe('Ext-0001');
    expect(await byExternalId('Ext-0001')).toEqual(['linked']);
    // caseExact (RFC 7643 §3.1).
    expect(await byExternalId('ext-0001')).toEqual([]);
    const others = (await t.get(`/scim/v2/Users?filter=${encodeURIComponent('externalId ne "Ext-0001"')}`)).json().Resources.map((u: { userName: string }) => u.userName);
    expect(others).not.toContain('linked');
    // Another source has its own links: it sees the user, not this source's externalId.
    expect(await byExternalId('Ext-0001', otherToken)).toEqual([]);
    expect((await t.get(`/scim/v2/Users/${created.id}`, otherToken)).json().externalId).toBeUndefined();
    // The link is journaled with the create, as the source did it.
    const entry = (await t.core.journal.list(t.ctx, 0, 1000)).find((e) => e.objectId === created.id && e.operation === 'create');
    expect(entry).toMatchObject({ origin: `scim:${t.sourceId}`, changes: { [`externalIds.${t.sourceId}`]: { before: null, after: 'Ext-0001' } } });
  });

  it('changes the externalId with PUT and PATCH, and a PUT without one removes it', async () => {
    const id = (await send('POST', '/scim/v2/Users', user('relinked', { externalId: 'r-1' }))).json().id;
    expect((await send('PUT', `/scim/v2/Users/${id}`, user('relinked', { externalId: 'r-2' }))).json().externalId).toBe('r-2');
    const patched = await send('PATCH', `/scim/v2/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'externalId', value: 'r-3' }] });
    expect(patched.statusCode, patched.body).toBeLessThan(300);
    expect((await t.get(`/scim/v2/Users/${id}`)).json().externalId).toBe('r-3');
    expect(await byExternalId('r-2')).toEqual([]);
    const removed = await send('PATCH', `/scim/v2/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'remove', path: 'externalId' }] });
    expect(removed.statusCode, removed.body).toBeLessThan(300);
    expect(await byExternalId('r-3')).toEqual([]);
    await send('PATCH', `/scim/v2/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', value: { externalId: 'r-3' } }] });
    expect(await byExternalId('r-3')).toEqual(['relinked']);
    const cleared = await send('PUT', `/scim/v2/Users/${id}`, user('relinked'));
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json().externalId).toBeUndefined();
    expect(await byExternalId('r-3')).toEqual([]);
    expect((await send('PUT', `/scim/v2/Users/${id}`, user('relinked', { externalId: 42 }))).json()).toMatchObject({ status: '400', scimType: 'invalidValue' });
  });

  // Microsoft's conformance collection gives every user the same externalId: the latest holds it.
  it('a second user created with a taken externalId takes it over; the first is unlinked, journaled', async () => {
    const first = (await send('POST', '/scim/v2/Users', user('first.holder', { externalId: 'dup-ext' }))).json();
    const second = await send('POST', '/scim/v2/Users', user('second.holder', { externalId: 'dup-ext' }));
    expect(second.statusCode, second.body).toBe(201);
    expect(await byExternalId('dup-ext')).toEqual(['second.holder']);
    expect((await t.get(`/scim/v2/Users/${first.id}`)).json().externalId).toBeUndefined();
    const unlinked = (await t.core.journal.list(t.ctx, 0, 1000)).filter((e) => e.objectId === first.id).at(-1);
    expect(unlinked).toMatchObject({ operation: 'update', origin: `scim:${t.sourceId}`, changes: { [`externalIds.${t.sourceId}`]: { before: 'dup-ext', after: null } } });
  });

  it('resolves the manager by Roster id or by the source externalId, and leaves out one it does not know', async () => {
    const boss = (await send('POST', '/scim/v2/Users', user('the.boss', { externalId: 'boss-ext' }))).json();
    const manager = (res: { json(): any }) => res.json()[ENTERPRISE]?.manager?.value;
    const byId = await send('POST', '/scim/v2/Users', user('report.one', { [ENTERPRISE]: { manager: { value: boss.id } } }));
    expect(manager(byId)).toBe(boss.id);
    const byExternal = await send('POST', '/scim/v2/Users', user('report.two', { [ENTERPRISE]: { Manager: { Value: 'boss-ext' }, department: 'Ops' } }));
    expect(byExternal.statusCode, byExternal.body).toBe(201);
    expect(manager(byExternal)).toBe(boss.id);
    const unknown = await send('POST', '/scim/v2/Users', user('report.three', { [ENTERPRISE]: { Department: 'bob', Manager: { Value: 'SuzzyQ' } } }));
    expect(unknown.statusCode, unknown.body).toBe(201);
    expect(unknown.json()[ENTERPRISE]).toEqual({ department: 'bob' });
    // A replace naming an unknown manager clears the one the user had.
    const replaced = await send('PUT', `/scim/v2/Users/${byId.json().id}`, user('report.one', { [ENTERPRISE]: { manager: 'nobody-known' } }));
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(manager(replaced)).toBeUndefined();
    expect((await t.core.users.get(t.ctx, byId.json().id)).manager).toBeNull();
  });

  it('refuses a PUT without userName (REQUIRED, RFC 7643 §4.1.1) and changes nothing', async () => {
    const id = (await send('POST', '/scim/v2/Users', user('needs.name', { title: 'Kept' }))).json().id;
    const res = await send('PUT', `/scim/v2/Users/${id}`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userame: 'needs.name', emails: [{ value: 'needs.name@example.com' }] });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ status: '400', scimType: 'invalidValue' });
    expect((await t.core.users.get(t.ctx, id)).jobTitle).toBe('Kept');
  });

  it('deleting a user frees its externalId', async () => {
    const id = (await send('POST', '/scim/v2/Users', user('short.lived', { externalId: 'gone-ext' }))).json().id;
    expect((await send('DELETE', `/scim/v2/Users/${id}`)).statusCode).toBe(204);
    expect(await byExternalId('gone-ext')).toEqual([]);
    expect((await send('POST', '/scim/v2/Users', user('next.one', { externalId: 'gone-ext' }))).statusCode).toBe(201);
    expect(await byExternalId('gone-ext')).toEqual(['next.one']);
  });
});
