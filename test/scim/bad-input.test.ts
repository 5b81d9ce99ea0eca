import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestScim, type TestScim } from '../support/scim.js';
import { BULK_REQUEST, ENTERPRISE, expectScimError, journalHead, type Method, patchOp, scim, SEARCH_REQUEST } from '../support/scim-requests.js';
import { describeEachStore } from '../support/stores.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

/**
 * Requests that must fail: each answer is a SCIM error with the RFC's status and scimType, and the
 * directory is exactly as it was (the journal did not move, the resources read the same).
 */
describeEachStore('SCIM bad input', (kind) => {
  let t: TestScim;
  let userId: string;
  let groupId: string;
  beforeAll(async () => {
    t = await openTestScim(kind);
    userId = (await t.core.users.create(t.ctx, { username: 'victim', email: 'victim@example.com', firstname: 'Vic', jobTitle: 'Target' })).id;
    groupId = (await t.core.groups.create(t.ctx, { name: 'Victims' }, [{ type: 'user', id: userId }])).id;
  });
  afterAll(() => t?.dispose());

  const snapshot = async () => ({
    head: await journalHead(t),
    user: (await t.get(`/scim/v2/Users/${userId}`)).body,
    group: (await t.get(`/scim/v2/Groups/${groupId}`)).body,
    users: (await t.get('/scim/v2/Users?attributes=id')).json().totalResults,
    groups: (await t.get('/scim/v2/Groups?attributes=id')).json().totalResults,
  });

  type Case = [name: string, method: Method, url: () => string, body: unknown, status: number, scimType: string | undefined, headers?: Record<string, string>];

  const check = async (cases: Case[]) => {
    const before = await snapshot();
    for (const [name, method, url, body, status, scimType, headers] of cases) {
      const res = await scim(t, method, url(), body, headers);
      expectScimError(res, status, scimType, name);
    }
    expect(await snapshot()).toEqual(before);
  };

  const users = () => '/scim/v2/Users';
  const user = () => `/scim/v2/Users/${userId}`;
  const group = () => `/scim/v2/Groups/${groupId}`;
  const valid = { schemas: [USER], userName: 'victim', emails: [{ value: 'victim@example.com' }] };
  const q = encodeURIComponent;

  describe('filters', () => {
    it('answers malformed filters with 400 invalidFilter, in the query and in a SearchRequest', async () => {
      const filters = ['userName eq', 'userName xx "a"', '((userName eq "a")', 'userName eq "unterminated', 'emails[type eq "work"', 'userName eq "a" and', 'not userName eq "a"', 'a.b.c eq "x"', 'userName eq "a"]'];
      const cases: Case[] = [];
      for (const filter of filters) {
        cases.push([`GET /Users ${filter}`, 'GET', () => `/scim/v2/Users?filter=${q(filter)}`, undefined, 400, 'invalidFilter']);
        cases.push([`GET /Groups ${filter}`, 'GET', () => `/scim/v2/Groups?filter=${q(filter)}`, undefined, 400, 'invalidFilter']);
        cases.push([`/.search ${filter}`, 'POST', () => '/scim/v2/.search', { schemas: [SEARCH_REQUEST], filter }, 400, 'invalidFilter']);
      }
      cases.push(['filter not a string', 'POST', () => '/scim/v2/Users/.search', { schemas: [SEARCH_REQUEST], filter: 5 }, 400, 'invalidValue']);
      await check(cases);
    });
  });

  describe('PATCH', () => {
    it('answers unknown and malformed paths with invalidPath, read-only ones with mutability', async () => {
      await check([
        ['unknown attribute', 'PATCH', user, patchOp([{ op: 'replace', path: 'shoeSize', value: 44 }]), 400, 'invalidPath'],
        ['unknown sub-attribute', 'PATCH', user, patchOp([{ op: 'replace', path: 'name.nickName', value: 'x' }]), 400, 'invalidPath'],
        ['unknown extension attribute', 'PATCH', user, patchOp([{ op: 'add', path: `${ENTERPRISE}:shoeSize`, value: 'x' }]), 400, 'invalidPath'],
        ['malformed value path', 'PATCH', user, patchOp([{ op: 'replace', path: 'emails[type eq "work"', value: 'x' }]), 400, 'invalidPath'],
        ['path not a string', 'PATCH', user, patchOp([{ op: 'replace', path: 7, value: 'x' }]), 400, 'invalidPath'],
        ['group unknown attribute', 'PATCH', group, patchOp([{ op: 'add', path: 'owners', value: [] }]), 400, 'invalidPath'],
        ['id', 'PATCH', user, patchOp([{ op: 'replace', path: 'title', value: 'changed first' }, { op: 'replace', path: 'id', value: 'mine' }]), 400, 'mutability'],
        ['meta', 'PATCH', user, patchOp([{ op: 'replace', path: 'meta', value: {} }]), 400, 'mutability'],
        ['meta.lastModified', 'PATCH', user, patchOp([{ op: 'add', path: 'meta.lastModified', value: '2020-01-01T00:00:00Z' }]), 400, 'mutability'],
        ['groups', 'PATCH', user, patchOp([{ op: 'add', path: 'groups', value: [{ value: groupId }] }]), 400, 'mutability'],
        ['group id', 'PATCH', group, patchOp([{ op: 'remove', path: 'id' }]), 400, 'mutability'],
        ['remove without path', 'PATCH', user, patchOp([{ op: 'remove' }]), 400, 'noTarget'],
        ['unknown op', 'PATCH', user, patchOp([{ op: 'upsert', path: 'title', value: 'x' }]), 400, 'invalidSyntax'],
        ['no PatchOp schema', 'PATCH', user, { schemas: [USER], Operations: [{ op: 'replace', path: 'title', value: 'x' }] }, 400, 'invalidSyntax'],
        ['no operations', 'PATCH', user, patchOp([]), 400, 'invalidSyntax'],
        ['operation not an object', 'PATCH', user, patchOp(['replace title']), 400, 'invalidSyntax'],
        ['a list for a body', 'PATCH', user, [patchOp([])], 400, 'invalidSyntax'],
      ]);
    });
  });

  describe('types', () => {
    it('answers values of the wrong type with 400 invalidValue, in POST, PUT and PATCH', async () => {
      await check([
        ['userName a number', 'POST', users, { ...valid, userName: 42 }, 400, 'invalidValue'],
        ['userName a number (PUT)', 'PUT', user, { ...valid, userName: 42 }, 400, 'invalidValue'],
        ['active an object', 'PUT', user, { ...valid, active: { value: true } }, 400, 'invalidValue'],
        ['active a word', 'PUT', user, { ...valid, active: 'yes' }, 400, 'invalidValue'],
        ['emails not a list', 'PUT', user, { ...valid, emails: 'victim@example.com' }, 400, 'invalidValue'],
        ['emails of strings', 'POST', users, { ...valid, userName: 'other', emails: ['other@example.com'] }, 400, 'invalidValue'],
        ['email value a number', 'PUT', user, { ...valid, emails: [{ value: 5 }] }, 400, 'invalidValue'],
        ['name a string', 'PUT', user, { ...valid, name: 'Vic Tim' }, 400, 'invalidValue'],
        ['givenName a list', 'PUT', user, { ...valid, name: { givenName: ['Vic'] } }, 400, 'invalidValue'],
        ['extension a string', 'PUT', user, { ...valid, [ENTERPRISE]: 'Sales' }, 400, 'invalidValue'],
        ['department a number', 'PUT', user, { ...valid, [ENTERPRISE]: { department: 7 } }, 400, 'invalidValue'],
        ['schemas a string', 'PUT', user, { ...valid, schemas: USER }, 400, 'invalidValue'],
        ['PATCH userName a number', 'PATCH', user, patchOp([{ op: 'replace', path: 'userName', value: 42 }]), 400, 'invalidValue'],
        ['PATCH active an object', 'PATCH', user, patchOp([{ op: 'replace', path: 'active', value: {} }]), 400, 'invalidValue'],
        ['PATCH emails a string', 'PATCH', user, patchOp([{ op: 'replace', path: 'emails', value: 'x@example.com' }]), 400, 'invalidValue'],
        ['PATCH without path, a number', 'PATCH', user, patchOp([{ op: 'replace', value: { title: 3 } }]), 400, 'invalidValue'],
        ['group displayName a number', 'PUT', group, { displayName: 5 }, 400, 'invalidValue'],
        ['group members not a list', 'PUT', group, { displayName: 'Victims', members: 'everyone' }, 400, 'invalidValue'],
        ['group members of numbers', 'PATCH', group, patchOp([{ op: 'add', path: 'members', value: [5] }]), 400, 'invalidValue'],
        ['user body a string', 'POST', users, '"victim"', 400, 'invalidSyntax'],
      ]);
    });
  });

  describe('bodies', () => {
    it('answers malformed JSON with 400 invalidSyntax', async () => {
      const broken = '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x",';
      await check([
        ['POST', 'POST', users, broken, 400, 'invalidSyntax'],
        ['PUT', 'PUT', user, '{userName: "victim"}', 400, 'invalidSyntax'],
        ['PATCH', 'PATCH', user, '{"schemas": [}', 400, 'invalidSyntax'],
        ['PATCH group', 'PATCH', group, 'not json', 400, 'invalidSyntax'],
        ['.search', 'POST', () => '/scim/v2/.search', '{', 400, 'invalidSyntax'],
        ['Bulk', 'POST', () => '/scim/v2/Bulk', '{"schemas": ["x"]', 400, 'invalidSyntax'],
        ['prototype poisoning', 'POST', users, '{"userName": "p", "__proto__": {"admin": true}}', 400, 'invalidSyntax'],
      ]);
    });

    it('answers bodies over maxPayloadSize with 413, naming the limit', async () => {
      const big = { ...valid, userName: 'big', title: 'x'.repeat(1024 * 1024) };
      await check([
        ['POST /Users', 'POST', users, big, 413, undefined],
        ['PUT', 'PUT', user, big, 413, undefined],
        ['PATCH', 'PATCH', user, patchOp([{ op: 'replace', path: 'title', value: 'x'.repeat(1024 * 1024) }]), 413, undefined],
        ['Bulk', 'POST', () => '/scim/v2/Bulk', { schemas: [BULK_REQUEST], Operations: [{ method: 'POST', path: '/Users', bulkId: 'b', data: big }] }, 413, undefined],
      ]);
      const res = await scim(t, 'POST', '/scim/v2/Users', big);
      expect(res.json().detail).toBe('The size of the request exceeds the maxPayloadSize (1048576).');
    });

    it('answers Bulk requests over the limits or out of shape with 413 or 400', async () => {
      const op = (i: number) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: { ...valid, userName: `bulk${i}`, emails: [{ value: `bulk${i}@example.com` }] } });
      await check([
        ['too many operations', 'POST', () => '/scim/v2/Bulk', { schemas: [BULK_REQUEST], Operations: Array.from({ length: 1001 }, (_, i) => op(i)) }, 413, undefined],
        ['no BulkRequest schema', 'POST', () => '/scim/v2/Bulk', { schemas: [SEARCH_REQUEST], Operations: [op(1)] }, 400, 'invalidSyntax'],
        ['Operations not a list', 'POST', () => '/scim/v2/Bulk', { schemas: [BULK_REQUEST], Operations: op(1) }, 400, 'invalidSyntax'],
        ['failOnErrors not a number', 'POST', () => '/scim/v2/Bulk', { schemas: [BULK_REQUEST], failOnErrors: 'one', Operations: [op(1)] }, 400, 'invalidValue'],
        ['a bulkId twice', 'POST', () => '/scim/v2/Bulk', { schemas: [BULK_REQUEST], Operations: [op(1), { ...op(2), bulkId: 'b1' }] }, 400, 'invalidValue'],
      ]);
    });
  });

  describe('list parameters', () => {
    it('answers a bad sortBy, sortOrder, startIndex or count with 400 invalidValue', async () => {
      await check([
        ['unknown sortBy', 'GET', () => '/scim/v2/Users?sortBy=shoeSize', undefined, 400, 'invalidValue'],
        ['sortBy of another type', 'GET', () => '/scim/v2/Groups?sortBy=name.givenName', undefined, 400, 'invalidValue'],
        ['malformed sortBy', 'GET', () => `/scim/v2/Users?sortBy=${q('a b')}`, undefined, 400, 'invalidValue'],
        ['sortOrder', 'GET', () => '/scim/v2/Users?sortBy=userName&sortOrder=up', undefined, 400, 'invalidValue'],
        ['startIndex a word', 'GET', () => '/scim/v2/Users?startIndex=first', undefined, 400, 'invalidValue'],
        ['startIndex a fraction', 'GET', () => '/scim/v2/Users?startIndex=1.5', undefined, 400, 'invalidValue'],
        ['count a word', 'GET', () => '/scim/v2/Groups?count=all', undefined, 400, 'invalidValue'],
        ['count given twice', 'GET', () => '/scim/v2/Users?count=1&count=2', undefined, 400, 'invalidValue'],
        ['count in a search', 'POST', () => '/scim/v2/Users/.search', { schemas: [SEARCH_REQUEST], count: 1.5 }, 400, 'invalidValue'],
        ['sortOrder in a search', 'POST', () => '/scim/v2/.search', { schemas: [SEARCH_REQUEST], sortBy: 'displayName', sortOrder: 1 }, 400, 'invalidValue'],
        ['attributes and excludedAttributes', 'GET', () => '/scim/v2/Users?attributes=userName&excludedAttributes=title', undefined, 400, 'invalidValue'],
        ['attributes with a filter', 'GET', () => `/scim/v2/Users?attributes=${q('emails[type eq "work"]')}`, undefined, 400, 'invalidValue'],
        ['attributes of numbers', 'POST', () => '/scim/v2/Users/.search', { schemas: [SEARCH_REQUEST], attributes: [1, 2] }, 400, 'invalidValue'],
      ]);
    });

    it('reads startIndex below 1 as 1 and a negative count as 0 (RFC 7644 §3.4.2.4), and caps count at maxResults', async () => {
      expect((await t.get('/scim/v2/Users?startIndex=-5&count=1')).json()).toMatchObject({ startIndex: 1, itemsPerPage: 1 });
      expect((await t.get('/scim/v2/Users?count=-1')).json()).toMatchObject({ totalResults: 1, itemsPerPage: 0, Resources: [] });
      expect((await t.get('/scim/v2/Users?startIndex=99999999')).json()).toMatchObject({ totalResults: 1, itemsPerPage: 0, Resources: [] });
      expect((await t.get('/scim/v2/Users?count=999999999')).json()).toMatchObject({ totalResults: 1, itemsPerPage: 1 });
    });
  });

  describe('preconditions', () => {
    it('answers If-Match naming another version with 412', async () => {
      const stale = { 'if-match': 'W/"1"' };
      await check([
        ['PUT', 'PUT', user, { ...valid, title: 'changed' }, 412, undefined, stale],
        ['PATCH', 'PATCH', user, patchOp([{ op: 'replace', path: 'title', value: 'changed' }]), 412, undefined, stale],
        ['DELETE', 'DELETE', user, undefined, 412, undefined, stale],
        ['PUT group', 'PUT', group, { displayName: 'changed' }, 412, undefined, { 'if-match': 'garbage' }],
        ['DELETE group', 'DELETE', group, undefined, 412, undefined, stale],
      ]);
    });
  });
});
