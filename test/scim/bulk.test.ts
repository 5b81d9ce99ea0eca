import { afterAll, beforeAll, expect, it } from 'vitest';
import { openTestScim, type TestScim } from '../support/scim.js';
import { BULK_REQUEST, expectScimError, journalHead, patchOp, scim } from '../support/scim-requests.js';
import { describeEachStore } from '../support/stores.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

const user = (userName: string) => ({ schemas: [USER], userName, emails: [{ value: `${userName}@example.com`, primary: true }] });

describeEachStore('SCIM /Bulk', (kind) => {
  let t: TestScim;
  beforeAll(async () => {
    t = await openTestScim(kind);
  });
  afterAll(() => t?.dispose());

  const bulk = async (Operations: unknown[], extra: Record<string, unknown> = {}) => {
    const res = await scim(t, 'POST', '/scim/v2/Bulk', { schemas: [BULK_REQUEST], Operations, ...extra });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.schemas).toEqual([BULK_RESPONSE]);
    return body.Operations as { method: string; bulkId?: string; location?: string; version?: string; status: string; response?: { scimType?: string; status: string; detail: string } }[];
  };
  const userNamed = async (userName: string) => (await t.get(`/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`)).json().Resources[0];
  const groupNamed = async (name: string) => (await t.get(`/scim/v2/Groups?filter=${encodeURIComponent(`displayName eq "${name}"`)}`)).json().Resources[0];

  it('creates users and a group whose members refer to them by bulkId, the group first (a forward reference)', async () => {
    const results = await bulk([
      { method: 'POST', path: '/Groups', bulkId: 'team', data: { schemas: [GROUP], displayName: 'Bulk Team', members: [{ type: 'User', value: 'bulkId:ann' }, { value: 'bulkId:ben' }] } },
      { method: 'POST', path: '/Users', bulkId: 'ann', data: user('bulk.ann') },
      { method: 'post', path: '/users', bulkId: 'ben', data: user('bulk.ben') },
    ]);
    expect(results.map((r) => [r.method, r.bulkId, r.status])).toEqual([
      ['POST', 'ann', '201'],
      ['POST', 'ben', '201'],
      ['POST', 'team', '201'],
    ]);
    const [ann, ben] = [await userNamed('bulk.ann'), await userNamed('bulk.ben')];
    expect(results[0]).toMatchObject({ location: `http://localhost:80/scim/v2/Users/${ann.id}`, version: ann.meta.version });
    const team = await groupNamed('Bulk Team');
    expect(results[2]!.location).toBe(`http://localhost:80/scim/v2/Groups/${team.id}`);
    expect(team.members.map((m: { value: string }) => m.value).sort()).toEqual([ann.id, ben.id].sort());
  });

  it('runs PUT, PATCH and DELETE, resolves bulkIds in paths, nests a group created in the same request', async () => {
    const made = await bulk([
      { method: 'POST', path: '/Users', bulkId: 'cat', data: user('bulk.cat') },
      { method: 'POST', path: '/Groups', bulkId: 'outer', data: { displayName: 'Bulk Outer', members: [{ value: 'bulkId:inner' }] } },
      { method: 'POST', path: '/Groups', bulkId: 'inner', data: { displayName: 'Bulk Inner' } },
      { method: 'PATCH', path: '/Groups/bulkId:inner', data: patchOp([{ op: 'add', path: 'members', value: [{ value: 'bulkId:cat' }] }]) },
      { method: 'PUT', path: '/Users/bulkId:cat', data: { ...user('bulk.cat'), title: 'Put in bulk' } },
    ]);
    // In request order, except that an operation waits for the bulkIds it refers to.
    expect(made.map((r) => [r.method, r.bulkId, r.status])).toEqual([
      ['POST', 'cat', '201'],
      ['POST', 'inner', '201'],
      ['PATCH', undefined, '204'],
      ['PUT', undefined, '200'],
      ['POST', 'outer', '201'],
    ]);
    const [inner, outer, cat] = [await groupNamed('Bulk Inner'), await groupNamed('Bulk Outer'), await userNamed('bulk.cat')];
    expect(outer.members).toEqual([expect.objectContaining({ value: inner.id, type: 'Group' })]);
    expect(inner.members).toEqual([expect.objectContaining({ value: cat.id, type: 'User' })]);
    expect(cat.title).toBe('Put in bulk');
    const gone = await bulk([
      { method: 'DELETE', path: `/Users/${cat.id}`, version: cat.meta.version },
      { method: 'DELETE', path: `/Groups/${outer.id}` },
    ]);
    expect(gone).toEqual([
      { method: 'DELETE', location: `http://localhost:80/scim/v2/Users/${cat.id}`, status: '204' },
      { method: 'DELETE', location: `http://localhost:80/scim/v2/Groups/${outer.id}`, status: '204' },
    ]);
    expect((await t.get(`/scim/v2/Users/${cat.id}`)).statusCode).toBe(404);
  });

  it('reports each failed operation with a SCIM error, applies the others, and each operation whole or not at all', async () => {
    const dan = (await scim(t, 'POST', '/scim/v2/Users', user('bulk.dan'))).json();
    const head = await journalHead(t);
    const results = await bulk([
      { method: 'PATCH', path: `/Users/${dan.id}`, version: 'W/"1"', data: patchOp([{ op: 'replace', path: 'title', value: 'Stale' }]) },
      { method: 'PATCH', path: `/Users/${dan.id}`, data: patchOp([{ op: 'replace', path: 'title', value: 'Kept' }, { op: 'replace', path: 'id', value: 'x' }]) },
      { method: 'POST', path: '/Users', bulkId: 'dup', data: user('bulk.dan') },
      { method: 'DELETE', path: '/Users/ffffffffffffffffffffffff' },
      { method: 'GET', path: `/Users/${dan.id}` },
      { method: 'POST', path: '/Users/abc', bulkId: 'wrong', data: user('bulk.wrong') },
      { method: 'POST', path: '/Users', data: user('bulk.nobulkid') },
      { method: 'PUT', path: `/Users/${dan.id}`, data: { ...user('bulk.dan'), active: { yes: true } } },
      { method: 'PATCH', path: `/Users/${dan.id}`, data: patchOp([{ op: 'replace', path: 'title', value: 'Applied' }]) },
    ]);
    expect(results.map((r) => [r.status, r.response?.scimType])).toEqual([
      ['412', undefined],
      ['400', 'mutability'],
      ['409', 'uniqueness'],
      ['404', undefined],
      ['400', 'invalidValue'],
      ['400', 'invalidValue'],
      ['400', 'invalidValue'],
      ['400', 'invalidValue'],
      ['200', undefined],
    ]);
    for (const r of results.slice(0, -1)) expect(r.response).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: r.status, detail: expect.any(String) });
    expect((await t.core.users.get(t.ctx, dan.id)).jobTitle).toBe('Applied');
    // Only the last operation changed anything: one journal row.
    expect(await journalHead(t)).toBe(head + 1);
  });

  it('stops once failOnErrors operations have failed', async () => {
    const results = await bulk(
      [
        { method: 'DELETE', path: '/Users/ffffffffffffffffffffffff' },
        { method: 'POST', path: '/Users', bulkId: 'e1', data: user('bulk.e1') },
        { method: 'DELETE', path: '/Groups/ffffffffffffffffffffffff' },
        { method: 'POST', path: '/Users', bulkId: 'e2', data: user('bulk.e2') },
      ],
      { failOnErrors: 2 },
    );
    expect(results.map((r) => r.status)).toEqual(['404', '201', '404']);
    expect(await userNamed('bulk.e1')).toBeDefined();
    expect(await userNamed('bulk.e2')).toBeUndefined();
    expectScimError(await scim(t, 'POST', '/scim/v2/Bulk', { schemas: [BULK_REQUEST], failOnErrors: 0, Operations: [{ method: 'DELETE', path: '/Users/x' }] }), 400, 'invalidValue');
  });

  it('refuses circular references with 409, operations referring to them or to unknown bulkIds too, creating nothing', async () => {
    const head = await journalHead(t);
    const results = await bulk([
      { method: 'POST', path: '/Groups', bulkId: 'a', data: { displayName: 'Circle A', members: [{ type: 'Group', value: 'bulkId:b' }] } },
      { method: 'POST', path: '/Groups', bulkId: 'b', data: { displayName: 'Circle B', members: [{ type: 'Group', value: 'bulkId:a' }] } },
      { method: 'POST', path: '/Groups', bulkId: 'self', data: { displayName: 'Circle Self', members: [{ type: 'Group', value: 'bulkId:self' }] } },
      { method: 'POST', path: '/Users', bulkId: 'fan', data: { ...user('bulk.fan'), [`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`]: { manager: { value: 'bulkId:a' } } } },
      { method: 'POST', path: '/Users', bulkId: 'lost', data: { ...user('bulk.lost'), [`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`]: { manager: { value: 'bulkId:nowhere' } } } },
    ]);
    const byId = Object.fromEntries(results.map((r) => [r.bulkId, r]));
    expect(byId.lost).toMatchObject({ status: '400', response: { scimType: 'invalidValue' } });
    for (const id of ['a', 'b', 'self', 'fan']) expect(byId[id], id).toMatchObject({ status: '409', response: { status: '409' } });
    expect(byId.a!.response!.detail).toMatch(/[Cc]ircular/);
    expect(results).toHaveLength(5);
    expect(await journalHead(t)).toBe(head);
  });

  it('refuses a request over the limits with 413 as RFC 7644 §3.7.4 shows it, and one that is no BulkRequest with 400, applying nothing', async () => {
    const head = await journalHead(t);
    const many = Array.from({ length: 1001 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `u${i}`, data: user(`bulk.many${i}`) }));
    const tooMany = await scim(t, 'POST', '/scim/v2/Bulk', { schemas: [BULK_REQUEST], Operations: many });
    expectScimError(tooMany, 413);
    expect(tooMany.json().detail).toBe('The number of operations exceeds the maxOperations (1000).');
    const big = [{ method: 'POST', path: '/Users', bulkId: 'big', data: { ...user('bulk.big'), title: 'x'.repeat(1024 * 1024) } }];
    const tooLarge = await scim(t, 'POST', '/scim/v2/Bulk', { schemas: [BULK_REQUEST], Operations: big });
    expectScimError(tooLarge, 413);
    expect(tooLarge.json().detail).toBe('The size of the bulk operation exceeds the maxPayloadSize (1048576).');
    expectScimError(await scim(t, 'POST', '/scim/v2/Bulk', { Operations: [{ method: 'DELETE', path: '/Users/x' }] }), 400, 'invalidSyntax');
    expectScimError(await scim(t, 'POST', '/scim/v2/Bulk', { schemas: [BULK_REQUEST], Operations: [] }), 400, 'invalidSyntax');
    const twice = [
      { method: 'POST', path: '/Users', bulkId: 'same', data: user('bulk.same1') },
      { method: 'POST', path: '/Users', bulkId: 'same', data: user('bulk.same2') },
    ];
    expectScimError(await scim(t, 'POST', '/scim/v2/Bulk', { schemas: [BULK_REQUEST], Operations: twice }), 400, 'invalidValue');
    expect(await journalHead(t)).toBe(head);
  });
});
