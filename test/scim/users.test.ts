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
    for (const filter of ['userName eq', 'userName xx "a"', '((userName eq "a")', 'externalId eq "x"', 'nickName pr']) {
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
