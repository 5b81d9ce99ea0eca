import { afterAll, beforeAll, expect, it } from 'vitest';
import { operatorContext } from '../../src/core/context.js';
import type { OrgId } from '../../src/core/ids.js';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { adminWithKey, expectError, expectOk, MISSING_ID } from './helpers.js';

describeEachStore('API SCIM sources and their bearer tokens', (kind) => {
  let t: TestApi;
  beforeAll(async () => {
    t = await openTestApi(kind);
  });
  afterAll(() => t.dispose());

  const newSource = async (name = 'Workday') => expectOk(await t.call('POST', '/api/v2/scimsources', { body: { name } }), 201);

  it('creates, lists, reads and deletes a source; it is a directory of type scim', async () => {
    const source = await newSource('HR system');
    expect(source).toEqual({ id: expect.stringMatching(/^[0-9a-f]{24}$/), name: 'HR system', created: expect.any(String), updated: expect.any(String) });
    expect(expectOk(await t.call('GET', `/api/v2/scimsources/${source.id}`))).toEqual(source);
    expect(expectOk(await t.call('GET', '/api/v2/scimsources')).map((s: { id: string }) => s.id)).toContain(source.id);
    const directories = expectOk(await t.call('GET', '/api/v2/directories'));
    expect(directories).toContainEqual({ id: source.id, name: 'HR system', type: 'scim' });
    expect(await t.call('DELETE', `/api/v2/scimsources/${source.id}`)).toMatchObject({ statusCode: 204 });
    expectError(await t.call('GET', `/api/v2/scimsources/${source.id}`), 404, 'SCIM_SOURCE_NOT_FOUND');
    expectError(await t.call('POST', '/api/v2/scimsources', { body: { name: '' } }), 400);
  });

  it('issues a token shown once, stores only its digest, and authenticates with it until it is revoked', async () => {
    const source = await newSource();
    const issued = expectOk(await t.call('POST', `/api/v2/scimsources/${source.id}/tokens`, { body: { name: 'Entra ID' } }), 201);
    expect(issued).toMatchObject({ token: expect.stringMatching(/^rsc_[A-Za-z0-9_-]{43}$/), name: 'Entra ID', revokedAt: null, lastUsedAt: null });
    expect(issued.prefix).toBe(issued.token.slice(0, 10));
    const listed = expectOk(await t.call('GET', `/api/v2/scimsources/${source.id}/tokens`));
    expect(listed).toEqual([{ id: issued.id, name: 'Entra ID', prefix: issued.prefix, expiresAt: null, created: issued.created, lastUsedAt: null, revokedAt: null }]);
    expect(JSON.stringify(listed)).not.toContain(issued.token);

    const found = await t.core.scimSources.authenticate(issued.token);
    expect(found).toMatchObject({ token: { id: issued.id }, source: { id: source.id, type: 'scim', orgId: t.orgId } });
    expect(await t.core.scimSources.authenticate(issued.token.slice(0, -1) + (issued.token.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    expect(await t.core.scimSources.authenticate(t.key)).toBeUndefined();
    expect(expectOk(await t.call('GET', `/api/v2/scimsources/${source.id}/tokens`))[0].lastUsedAt).not.toBeNull();

    expect(await t.call('DELETE', `/api/v2/scimsources/${source.id}/tokens/${issued.id}`)).toMatchObject({ statusCode: 204 });
    expect(await t.core.scimSources.authenticate(issued.token)).toBeUndefined();
    expectError(await t.call('DELETE', `/api/v2/scimsources/${source.id}/tokens/${MISSING_ID}`), 404, 'SCIM_TOKEN_NOT_FOUND');
    const journal = await t.core.journal.list(operatorContext(t.orgId as OrgId), 0, 1000);
    expect(journal.filter((e) => e.objectType === 'scim_token').map((e) => e.operation)).toEqual(['create', 'update']);
    expect(JSON.stringify(journal)).not.toContain(issued.token);
  });

  it('stops a token at its expiry, and with its source', async () => {
    const source = await newSource();
    expectError(await t.call('POST', `/api/v2/scimsources/${source.id}/tokens`, { body: { expiresAt: '2001-01-01T00:00:00Z' } }), 400);
    const issued = expectOk(await t.call('POST', `/api/v2/scimsources/${source.id}/tokens`, { body: { expiresAt: new Date(Date.now() + 3_600_000).toISOString() } }), 201);
    expect(await t.core.scimSources.authenticate(issued.token)).toBeDefined();
    expect(await t.call('DELETE', `/api/v2/scimsources/${source.id}`)).toMatchObject({ statusCode: 204 });
    expect(await t.core.scimSources.authenticate(issued.token)).toBeUndefined();
  });

  it('needs directories:write to create sources and issue tokens, and keeps other organizations out', async () => {
    const source = await newSource();
    const reader = await adminWithKey(t, 'Read Only');
    expectError(await t.call('POST', '/api/v2/scimsources', { body: { name: 'x' }, key: reader.key }), 403);
    expectError(await t.call('POST', `/api/v2/scimsources/${source.id}/tokens`, { body: {}, key: reader.key }), 403);
    expectOk(await t.call('GET', `/api/v2/scimsources/${source.id}/tokens`, { key: reader.key }));
    const other = await adminWithKey(t, 'Administrator', { orgId: (await t.core.organizations.create('Other org')).id });
    expectError(await t.call('GET', `/api/v2/scimsources/${source.id}`, { key: other.key }), 404);
    expectError(await t.call('POST', `/api/v2/scimsources/${source.id}/tokens`, { body: {}, key: other.key }), 404);
  });
});
