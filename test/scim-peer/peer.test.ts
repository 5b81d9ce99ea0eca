import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ENTERPRISE_USER, startScimPeer, type ScimPeer } from '../support/scim-peer.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

/** A request to the peer with its token (or another bearer, or none when null). */
async function call(peer: ScimPeer, method: string, path: string, body?: unknown, bearer: string | null = peer.token): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['content-type'] = 'application/scim+json';
  const res = await fetch(peer.url + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const user = (userName: string, extra: Record<string, unknown> = {}) => ({ schemas: [USER], userName, ...extra });
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
const filter = (expression: string) => `filter=${encodeURIComponent(expression)}`;

describe('scim peer', () => {
  let peer: ScimPeer;

  beforeAll(async () => {
    peer = await startScimPeer();
  });
  afterEach(() => peer.reset());
  afterAll(() => peer.close());

  it('listens on loopback and answers a missing or wrong bearer token with a SCIM 401', async () => {
    expect(peer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/scim\/v2$/);
    for (const bearer of [null, 'wrong']) {
      const res = await call(peer, 'GET', '/Users', undefined, bearer);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '401' });
    }
    expect((await call(peer, 'GET', '/Users')).status).toBe(200);
    expect(peer.users()).toEqual([]);
  });

  it('accepts a given token', async () => {
    const other = await startScimPeer({ token: 'fixed-token' });
    try {
      expect(other.token).toBe('fixed-token');
      expect((await call(other, 'GET', '/Users')).status).toBe(200);
      expect((await call(other, 'GET', '/Users', undefined, peer.token)).status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('creates a user with its own uuid, meta, Location, the enterprise extension and roles', async () => {
    const res = await call(peer, 'POST', '/Users', {
      schemas: [USER, ENTERPRISE_USER],
      id: 'client-chosen',
      userName: 'ada@acme.test',
      externalId: 'roster-1',
      active: true,
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      emails: [{ value: 'ada@acme.test', type: 'work', primary: true }],
      roles: [{ value: 'admin', primary: true }],
      [ENTERPRISE_USER]: { department: 'Engineering', employeeNumber: '7' },
    });
    expect(res.status).toBe(201);
    const created = res.body;
    expect(created.id).toMatch(UUID);
    expect(created.schemas).toEqual([USER, ENTERPRISE_USER]);
    expect(created.meta).toMatchObject({ resourceType: 'User', version: 'W/"1"', location: `${peer.url}/Users/${created.id}` });
    expect(Date.parse(created.meta.created)).not.toBeNaN();
    expect(created.meta.lastModified).toBe(created.meta.created);
    expect(res.headers.get('location')).toBe(created.meta.location);
    expect(created.roles).toEqual([{ value: 'admin', primary: true }]);
    expect(created[ENTERPRISE_USER]).toEqual({ department: 'Engineering', employeeNumber: '7' });

    const read = await call(peer, 'GET', `/Users/${created.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created);
    expect(peer.users()).toEqual([expect.objectContaining({ id: created.id, userName: 'ada@acme.test', externalId: 'roster-1', meta: expect.objectContaining({ version: 'W/"1"' }) })]);
  });

  it('stores a password but never returns it', async () => {
    const { body } = await call(peer, 'POST', '/Users', user('pw', { password: 'S3cret!' }));
    expect(body.password).toBeUndefined();
    expect((await call(peer, 'GET', `/Users/${body.id}`)).body.password).toBeUndefined();
    expect(peer.users()[0]!.password).toBe('S3cret!');
    await call(peer, 'PATCH', `/Users/${body.id}`, patch({ op: 'replace', path: 'active', value: false }));
    await call(peer, 'PUT', `/Users/${body.id}`, user('pw', { title: 'x' }));
    expect(peer.users()[0]).toMatchObject({ password: 'S3cret!', title: 'x' });
    await call(peer, 'PATCH', `/Users/${body.id}`, patch({ op: 'replace', path: 'password', value: 'N3w!' }));
    expect(peer.users()[0]!.password).toBe('N3w!');
  });

  it('answers a duplicate userName, in any case, with 409 uniqueness', async () => {
    const first = await call(peer, 'POST', '/Users', user('Grace'));
    expect(first.status).toBe(201);
    const again = await call(peer, 'POST', '/Users', user('grace'));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
    const other = await call(peer, 'POST', '/Users', user('hopper'));
    const rename = await call(peer, 'PUT', `/Users/${other.body.id}`, user('GRACE'));
    expect(rename.status).toBe(409);
    expect(peer.users().map((u) => u.userName)).toEqual(['Grace', 'hopper']);
  });

  it('filters users on userName (case-insensitively) and externalId (exactly), and groups on displayName', async () => {
    await call(peer, 'POST', '/Users', user('Ada', { externalId: 'Ext-1' }));
    await call(peer, 'POST', '/Users', user('grace', { externalId: 'ext-2' }));
    await call(peer, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Engineers' });

    const names = async (path: string) => ((await call(peer, 'GET', path)).body.Resources as { userName?: string; displayName?: string }[]).map((r) => r.userName ?? r.displayName);
    expect(await names(`/Users?${filter('userName eq "ADA"')}`)).toEqual(['Ada']);
    expect(await names(`/Users?${filter('externalId eq "ext-2"')}`)).toEqual(['grace']);
    expect(await names(`/Users?${filter('externalId eq "ext-1"')}`)).toEqual([]);
    expect(await names(`/Users?${filter('userName eq "ada" or userName eq "GRACE"')}`)).toEqual(['Ada', 'grace']);
    expect(await names(`/Groups?${filter('displayName eq "engineers"')}`)).toEqual(['Engineers']);
    expect(await names(`/Groups?${filter('displayName eq "Designers"')}`)).toEqual([]);

    const list = await call(peer, 'GET', `/Users?${filter('userName eq "nobody"')}`);
    expect(list.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, Resources: [] });
    expect((await call(peer, 'GET', `/Users?filter=${encodeURIComponent('userName eq')}`)).status).toBe(400);
  });

  it('filters on enterprise extension attributes by their full name', async () => {
    await call(peer, 'POST', '/Users', { schemas: [USER, ENTERPRISE_USER], userName: 'a', [ENTERPRISE_USER]: { department: 'Ops' } });
    await call(peer, 'POST', '/Users', user('b'));
    const res = await call(peer, 'GET', `/Users?${filter(`${ENTERPRISE_USER}:department eq "ops"`)}`);
    expect(res.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(['a']);
  });

  it('pages lists with startIndex and count (RFC 7644 §3.4.2.4)', async () => {
    for (const name of ['u1', 'u2', 'u3', 'u4', 'u5']) await call(peer, 'POST', '/Users', user(name));
    const page = await call(peer, 'GET', '/Users?startIndex=2&count=2');
    expect(page.body).toMatchObject({ totalResults: 5, startIndex: 2, itemsPerPage: 2 });
    expect(page.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(['u2', 'u3']);
    const last = await call(peer, 'GET', '/Users?startIndex=5&count=2');
    expect(last.body).toMatchObject({ totalResults: 5, itemsPerPage: 1 });
    const past = await call(peer, 'GET', '/Users?startIndex=9&count=2');
    expect(past.body).toMatchObject({ totalResults: 5, itemsPerPage: 0, Resources: [] });
    const none = await call(peer, 'GET', '/Users?count=0');
    expect(none.body).toMatchObject({ totalResults: 5, itemsPerPage: 0, Resources: [] });
    const all = await call(peer, 'GET', '/Users');
    expect(all.body).toMatchObject({ totalResults: 5, startIndex: 1, itemsPerPage: 5 });
  });

  it('applies a PATCH replace of active and bumps meta.version', async () => {
    const { body: created } = await call(peer, 'POST', '/Users', user('ada', { active: true, title: 'Engineer' }));
    const res = await call(peer, 'PATCH', `/Users/${created.id}`, patch({ op: 'replace', path: 'active', value: false }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: created.id, active: false, title: 'Engineer', meta: { version: 'W/"2"', created: created.meta.created } });
    expect(peer.users()[0]).toMatchObject({ active: false, meta: { version: 'W/"2"' } });

    const noop = await call(peer, 'PATCH', `/Users/${created.id}`, patch({ op: 'replace', path: 'active', value: false }));
    expect(noop.status).toBe(204);
    expect(peer.users()[0]!.meta.version).toBe('W/"2"');
  });

  it('applies PATCH add, replace and remove on users, including value filters and extension paths', async () => {
    const { body: created } = await call(peer, 'POST', '/Users', {
      ...user('ada', { emails: [{ value: 'a@acme.test', type: 'work', primary: true }], roles: [{ value: 'admin' }, { value: 'dev' }] }),
    });
    const res = await call(
      peer,
      'PATCH',
      `/Users/${created.id}`,
      patch(
        { op: 'replace', path: 'emails[type eq "work"].value', value: 'ada@acme.test' },
        { op: 'remove', path: 'roles[value eq "admin"]' },
        { op: 'add', path: `${ENTERPRISE_USER}:department`, value: 'Research' },
        { op: 'add', value: { displayName: 'Ada L.', 'name.givenName': 'Ada' } },
      ),
    );
    expect(res.status).toBe(200);
    expect(peer.users()[0]).toMatchObject({
      displayName: 'Ada L.',
      name: { givenName: 'Ada' },
      emails: [{ value: 'ada@acme.test', type: 'work', primary: true }],
      roles: [{ value: 'dev' }],
      [ENTERPRISE_USER]: { department: 'Research' },
    });
    const bad = await call(peer, 'PATCH', `/Users/${created.id}`, patch({ op: 'replace', path: 'nonsense', value: 1 }));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ scimType: 'invalidPath' });
    const rename = await call(peer, 'POST', '/Users', user('grace'));
    const clash = await call(peer, 'PATCH', `/Users/${rename.body.id}`, patch({ op: 'replace', path: 'userName', value: 'ADA' }));
    expect(clash.status).toBe(409);
  });

  it('keeps group members as user ids and adds and removes them with PATCH', async () => {
    const ada = (await call(peer, 'POST', '/Users', user('ada', { displayName: 'Ada Lovelace' }))).body;
    const grace = (await call(peer, 'POST', '/Users', user('grace'))).body;
    const created = await call(peer, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Engineers', externalId: 'g-1', members: [{ value: ada.id }] });
    expect(created.status).toBe(201);
    const group = created.body;
    expect(group.id).toMatch(UUID);
    expect(group.members).toEqual([{ value: ada.id, display: 'Ada Lovelace', type: 'User' }]);

    const add = await call(peer, 'PATCH', `/Groups/${group.id}`, patch({ op: 'add', path: 'members', value: [{ value: grace.id, display: 'Grace' }, { value: ada.id }] }));
    expect(add.status).toBe(200);
    expect(peer.groups()[0]!.members).toEqual([
      { value: ada.id, display: 'Ada Lovelace', type: 'User' },
      { value: grace.id, display: 'Grace', type: 'User' },
    ]);
    expect((await call(peer, 'GET', `/Users/${grace.id}`)).body.groups).toEqual([{ value: group.id, display: 'Engineers', type: 'direct' }]);

    const remove = await call(peer, 'PATCH', `/Groups/${group.id}`, patch({ op: 'remove', path: `members[value eq "${ada.id}"]` }));
    expect(remove.status).toBe(200);
    expect(peer.groups()[0]!.members.map((m) => m.value)).toEqual([grace.id]);

    // Entra ID's form: remove with the values to take out.
    await call(peer, 'PATCH', `/Groups/${group.id}`, patch({ op: 'remove', path: 'members', value: [{ value: grace.id }] }));
    expect(peer.groups()[0]!.members).toEqual([]);
    expect(peer.groups()[0]!.meta.version).toBe('W/"4"');

    const stranger = await call(peer, 'PATCH', `/Groups/${group.id}`, patch({ op: 'add', path: 'members', value: [{ value: 'not-a-user' }] }));
    expect(stranger.status).toBe(400);
    expect(stranger.body).toMatchObject({ scimType: 'invalidValue' });
    expect((await call(peer, 'POST', '/Groups', { schemas: [GROUP], displayName: 'engineers' })).status).toBe(409);
  });

  it('replaces a whole resource with PUT', async () => {
    const { body: created } = await call(peer, 'POST', '/Users', user('ada', { title: 'Engineer', active: true, externalId: 'x' }));
    const res = await call(peer, 'PUT', `/Users/${created.id}`, user('ada.lovelace', { active: false }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: created.id, userName: 'ada.lovelace', active: false, meta: { created: created.meta.created, version: 'W/"2"' } });
    expect(res.body.title).toBeUndefined();
    expect(res.body.externalId).toBeUndefined();
    expect((await call(peer, 'PUT', '/Users/9b2b6a0e-0000-4000-8000-000000000000', user('ghost'))).status).toBe(404);

    const ada = created.id as string;
    const { body: group } = await call(peer, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Ops' });
    const put = await call(peer, 'PUT', `/Groups/${group.id}`, { schemas: [GROUP], displayName: 'Operations', members: [{ value: ada }] });
    expect(put.status).toBe(200);
    expect(peer.groups()[0]).toMatchObject({ displayName: 'Operations', members: [{ value: ada }] });
  });

  it('deletes with 204, answers unknown ids with 404 and drops a deleted user from its groups', async () => {
    const { body: ada } = await call(peer, 'POST', '/Users', user('ada'));
    const { body: group } = await call(peer, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Ops', members: [{ value: ada.id }] });
    const res = await call(peer, 'DELETE', `/Users/${ada.id}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expect(peer.users()).toEqual([]);
    expect(peer.groups()[0]!.members).toEqual([]);
    for (const path of [`/Users/${ada.id}`, '/Groups/nope']) {
      const missing = await call(peer, 'GET', path);
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ schemas: [ERROR], status: '404' });
    }
    expect((await call(peer, 'DELETE', `/Users/${ada.id}`)).status).toBe(404);
    expect((await call(peer, 'PATCH', `/Users/${ada.id}`, patch({ op: 'replace', path: 'active', value: false }))).status).toBe(404);
    expect((await call(peer, 'DELETE', `/Groups/${group.id}`)).status).toBe(204);
    expect(peer.groups()).toEqual([]);
  });

  it('answers malformed JSON and a missing body with SCIM 400s', async () => {
    const res = await fetch(`${peer.url}/Users`, { method: 'POST', headers: { authorization: `Bearer ${peer.token}`, 'content-type': 'application/scim+json' }, body: '{"userName":' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidSyntax' });
    expect((await call(peer, 'POST', '/Users', {})).status).toBe(400);
  });

  it('describes itself in ServiceProviderConfig, ResourceTypes and Schemas', async () => {
    const config = await call(peer, 'GET', '/ServiceProviderConfig');
    expect(config.status).toBe(200);
    expect(config.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 200 },
      changePassword: { supported: false },
      sort: { supported: true },
      etag: { supported: false },
      authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken', name: 'OAuth Bearer Token' })],
      meta: { resourceType: 'ServiceProviderConfig', location: `${peer.url}/ServiceProviderConfig` },
    });
    const types = await call(peer, 'GET', '/ResourceTypes');
    expect(types.body.Resources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'User', endpoint: '/Users', schemaExtensions: [{ schema: ENTERPRISE_USER, required: false }] }),
        expect.objectContaining({ name: 'Group', endpoint: '/Groups' }),
      ]),
    );
    const schemas = await call(peer, 'GET', '/Schemas');
    expect(schemas.body.Resources.map((s: { id: string }) => s.id)).toEqual(expect.arrayContaining([USER, GROUP, ENTERPRISE_USER]));
  });

  it('logs requests with their status and body, and counts them', async () => {
    await call(peer, 'POST', '/Users', user('ada'));
    await call(peer, 'GET', `/Users?${filter('userName eq "ada"')}`);
    await call(peer, 'GET', '/Users', undefined, null);
    expect(peer.requests).toEqual([
      expect.objectContaining({ method: 'POST', path: '/Users', query: '', status: 201, body: user('ada') }),
      expect.objectContaining({ method: 'GET', path: '/Users', query: filter('userName eq "ada"'), status: 200 }),
      expect.objectContaining({ method: 'GET', path: '/Users', status: 401 }),
    ]);
    expect(peer.counts()).toEqual({ requests: 3, chaos: 0, byMethod: { POST: 1, GET: 2 }, byStatus: { 201: 1, 200: 1, 401: 1 } });
    await peer.waitFor(() => peer.requests.length === 3, 100);
    await expect(peer.waitFor(() => false, 50)).rejects.toThrow(/not met/);
  });

  it('seeds pre-existing accounts without HTTP', async () => {
    const ada = await peer.createUser({ userName: 'ada', [ENTERPRISE_USER]: { department: 'Ops' } });
    const group = await peer.createGroup({ displayName: 'Ops', members: [{ value: ada.id }] });
    expect(ada).toMatchObject({ id: expect.stringMatching(UUID), userName: 'ada', meta: { version: 'W/"1"' } });
    expect(group.members).toEqual([{ value: ada.id, display: 'ada', type: 'User' }]);
    expect(peer.requests).toEqual([]);
    expect((await call(peer, 'POST', '/Users', user('ADA'))).status).toBe(409);
    await expect(peer.createUser({ userName: 'Ada' })).rejects.toMatchObject({ status: 409 });
  });

  it('keeps each peer to its own store when several run at once', async () => {
    const other = await startScimPeer();
    try {
      await Promise.all([call(peer, 'POST', '/Users', user('ada')), call(other, 'POST', '/Users', user('grace'))]);
      expect(peer.users().map((u) => u.userName)).toEqual(['ada']);
      expect(other.users().map((u) => u.userName)).toEqual(['grace']);
      const [mine, theirs] = await Promise.all([call(peer, 'GET', '/Users'), call(other, 'GET', '/Users')]);
      expect(mine.body.Resources[0].meta.location).toMatch(new RegExp(`^${peer.url}/Users/`));
      expect(theirs.body.Resources[0].meta.location).toMatch(new RegExp(`^${other.url}/Users/`));
    } finally {
      await other.close();
    }
  });

  it('serializes concurrent PATCHes of one group so no member is lost', async () => {
    const ids = await Promise.all(Array.from({ length: 10 }, async (_, i) => (await call(peer, 'POST', '/Users', user(`u${i}`))).body.id as string));
    const { body: group } = await call(peer, 'POST', '/Groups', { schemas: [GROUP], displayName: 'All' });
    await Promise.all(ids.map((id) => call(peer, 'PATCH', `/Groups/${group.id}`, patch({ op: 'add', path: 'members', value: [{ value: id }] }))));
    expect(peer.groups()[0]!.members.map((m) => m.value).sort()).toEqual([...ids].sort());
  });
});

describe('scim peer without PATCH, filter or with bulk', () => {
  it('says PATCH is unsupported and answers it 501', async () => {
    const peer = await startScimPeer({ patch: false });
    try {
      expect((await call(peer, 'GET', '/ServiceProviderConfig')).body.patch).toEqual({ supported: false });
      const { body: ada } = await call(peer, 'POST', '/Users', user('ada', { active: true }));
      const res = await call(peer, 'PATCH', `/Users/${ada.id}`, patch({ op: 'replace', path: 'active', value: false }));
      expect(res.status).toBe(501);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '501' });
      expect(peer.users()[0]!.active).toBe(true);
      expect((await call(peer, 'PUT', `/Users/${ada.id}`, user('ada', { active: false }))).status).toBe(200);
      expect(peer.users()[0]!.active).toBe(false);
    } finally {
      await peer.close();
    }
  });

  it('says filtering is unsupported and answers filtered lists 501', async () => {
    const peer = await startScimPeer({ filter: false });
    try {
      expect((await call(peer, 'GET', '/ServiceProviderConfig')).body.filter).toMatchObject({ supported: false });
      expect((await call(peer, 'GET', `/Users?${filter('userName eq "ada"')}`)).status).toBe(501);
      expect((await call(peer, 'GET', '/Users')).status).toBe(200);
    } finally {
      await peer.close();
    }
  });

  it('serves Bulk when asked to', async () => {
    const peer = await startScimPeer({ bulk: true });
    try {
      expect((await call(peer, 'GET', '/ServiceProviderConfig')).body.bulk).toMatchObject({ supported: true, maxOperations: 1000 });
      const res = await call(peer, 'POST', '/Bulk', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: [{ method: 'POST', path: '/Users', bulkId: 'a', data: user('ada') }],
      });
      expect(res.status).toBe(200);
      expect(res.body.Operations).toEqual([expect.objectContaining({ bulkId: 'a', status: '201', location: expect.stringContaining(`${peer.url}/Users/`) })]);
      expect(peer.users().map((u) => u.userName)).toEqual(['ada']);
    } finally {
      await peer.close();
    }
    const plain = await startScimPeer();
    try {
      expect((await call(plain, 'POST', '/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: [] })).status).toBe(501);
    } finally {
      await plain.close();
    }
  });
});

describe('scim peer chaos', () => {
  it('fails every request at rate 1 with 429 (Retry-After), 500 or 503, in SCIM error shape', async () => {
    const peer = await startScimPeer({ chaos: { rate: 1, seed: 7, retryAfterSeconds: 3 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const res = await call(peer, 'GET', '/Users');
        statuses.push(res.status);
        expect([429, 500, 503]).toContain(res.status);
        expect(res.body).toMatchObject({ schemas: [ERROR], status: String(res.status) });
        if (res.status !== 500) expect(res.headers.get('retry-after')).toBe('3');
      }
      expect(new Set(statuses)).toEqual(new Set([429, 500, 503]));
      expect(peer.counts()).toMatchObject({ requests: 30, chaos: 30 });
      expect(new Set(peer.requests.map((r) => r.chaos))).toEqual(new Set(['throttled', 'unavailable', 'failed', 'lost']));
    } finally {
      await peer.close();
    }
  });

  it('applies a write whose response it then loses, so a blind retry collides', async () => {
    const peer = await startScimPeer({ chaos: { rate: 1, kinds: ['lost'] } });
    try {
      const res = await call(peer, 'POST', '/Users', user('ada'));
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '500' });
      expect(peer.users().map((u) => u.userName)).toEqual(['ada']);
      const id = peer.users()[0]!.id;
      const { body: group } = await call(peer, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Ops' });
      expect(group.status).toBe('500');
      const groupId = peer.groups()[0]!.id;
      expect((await call(peer, 'PATCH', `/Groups/${groupId}`, patch({ op: 'add', path: 'members', value: [{ value: id }] }))).status).toBe(500);
      expect(peer.groups()[0]!.members.map((m) => m.value)).toEqual([id]);
      expect((await call(peer, 'DELETE', `/Users/${id}`)).status).toBe(500);
      expect(peer.users()).toEqual([]);
      expect((await call(peer, 'GET', '/ServiceProviderConfig')).status).toBe(500);

      peer.setChaos(undefined);
      await call(peer, 'POST', '/Users', user('grace'));
      peer.setChaos({ rate: 1, kinds: ['lost'] });
      await call(peer, 'POST', '/Users', user('GRACE'));
      expect(peer.requests.at(-1)).toMatchObject({ status: 500, chaos: 'lost' });
      expect(peer.users().map((u) => u.userName)).toEqual(['grace']);
    } finally {
      await peer.close();
    }
  });

  it('does not apply writes it throttles or fails outright', async () => {
    const peer = await startScimPeer({ chaos: { rate: 1, kinds: ['throttled', 'unavailable', 'failed'] } });
    try {
      for (let i = 0; i < 6; i++) expect([429, 500, 503]).toContain((await call(peer, 'POST', '/Users', user(`u${i}`))).status);
      expect(peer.users()).toEqual([]);
    } finally {
      await peer.close();
    }
  });

  it('fails the same requests for the same seed, about `rate` of them, only those of the chosen methods', async () => {
    const run = async (seed: number) => {
      const peer = await startScimPeer({ chaos: { rate: 0.3, seed, methods: ['POST'] } });
      try {
        for (let i = 0; i < 100; i++) await call(peer, 'POST', '/Users', user(`u${i}`));
        for (let i = 0; i < 10; i++) expect((await call(peer, 'GET', '/Users?count=1')).status).toBe(200);
        return peer.requests.filter((r) => r.method === 'POST').map((r) => `${r.status}:${r.chaos ?? ''}`);
      } finally {
        await peer.close();
      }
    };
    const first = await run(42);
    expect(await run(42)).toEqual(first);
    expect(await run(43)).not.toEqual(first);
    const failed = first.filter((s) => !s.startsWith('201')).length;
    expect(failed).toBeGreaterThan(15);
    expect(failed).toBeLessThan(45);
  });

  it('adds latency when asked to', async () => {
    const peer = await startScimPeer({ latencyMs: 100 });
    try {
      const started = Date.now();
      await call(peer, 'GET', '/Users');
      expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    } finally {
      await peer.close();
    }
  });
});
