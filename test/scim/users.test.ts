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
