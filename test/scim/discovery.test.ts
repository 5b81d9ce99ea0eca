import { afterAll, beforeAll, expect, it } from 'vitest';
import { openTestScim, type TestScim } from '../support/scim.js';
import { describeEachStore } from '../support/stores.js';

describeEachStore('SCIM front-end: bearer tokens, errors and discovery', (kind) => {
  let t: TestScim;
  beforeAll(async () => {
    t = await openTestScim(kind);
  });
  afterAll(() => t?.dispose());

  const get = (url: string, bearer?: string | null) => t.get(url, bearer);

  it('refuses requests without a valid source token with a SCIM 401', async () => {
    for (const bearer of [null, 'rsc_not-a-token', 'rst_an-api-key-is-not-a-scim-token']) {
      const res = await get('/scim/v2/ServiceProviderConfig', bearer);
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="Roster SCIM"');
      expect(res.json()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
    }
  });

  it('serves ServiceProviderConfig (also as serviceConfiguration), ResourceTypes and Schemas', async () => {
    for (const path of ['/scim/v2/ServiceProviderConfig', '/scim/v2/serviceConfiguration']) {
      const res = await get(path);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
      expect(res.json()).toMatchObject({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
        patch: { supported: true },
        authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken' })],
      });
    }
    const types = (await get('/scim/v2/ResourceTypes')).json();
    expect(types).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 2 });
    expect(types.Resources[0]).toMatchObject({ id: 'User', endpoint: '/Users', meta: { location: 'http://localhost:80/scim/v2/ResourceTypes/User' } });
    expect((await get('/scim/v2/ResourceTypes/group')).json()).toMatchObject({ id: 'Group', endpoint: '/Groups' });
    const all = (await get('/scim/v2/Schemas')).json();
    expect(all.Resources.map((s: { id: string }) => s.id)).toEqual([
      'urn:ietf:params:scim:schemas:core:2.0:User',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      'urn:ietf:params:scim:schemas:core:2.0:Group',
    ]);
    expect(JSON.stringify(all)).toContain('User Account');
    expect((await get('/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group')).json()).toMatchObject({ name: 'Group' });
  });

  it('answers unknown paths and resources with a SCIM 404', async () => {
    for (const path of ['/scim/v2/Nothing', '/scim/v2/ResourceTypes/Printer', '/scim/v2/Schemas/urn:x']) {
      const res = await get(path);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404' });
    }
  });
});

describeEachStore('SCIM conformance-test token route', (kind) => {
  it('is served without authentication only when a test token is configured (ROSTER_SCIM_TEST_TOKEN)', async () => {
    const plain = await openTestScim(kind);
    try {
      expect((await plain.get('/scim/v2/Token', null)).statusCode).toBe(401);
    } finally {
      await plain.dispose();
    }
    const testing = await openTestScim(kind, { testToken: 'rsc_for-the-conformance-collection' });
    try {
      const res = await testing.get('/scim/v2/Token', null);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ token: 'rsc_for-the-conformance-collection' });
      // Every other endpoint still needs a real token.
      expect((await testing.get('/scim/v2/Users', null)).statusCode).toBe(401);
    } finally {
      await testing.dispose();
    }
  });
});
