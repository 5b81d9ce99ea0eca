import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApi, type TestApi } from '../support/api.js';
import { adminWithKey, expectError, expectOk } from './helpers.js';

describe('API: the OpenID Connect signing keys', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await openTestApi();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('lists the keys and rotates them, for administrators who may change the organization', async () => {
    await t.core.oidc.keys();
    const [first] = expectOk(await t.call('GET', '/api/v2/oidc/keys'), 200) as { kid: string }[];
    expect(first).toEqual({ kid: expect.any(String), alg: 'RS256', state: 'active', created: expect.any(String), activates: expect.any(String), retires: null });

    const rotated = expectOk(await t.call('POST', '/api/v2/oidc/keys/rotate'), 200) as { kid: string; state: string; retires: string | null }[];
    expect(rotated.map((k) => k.state)).toEqual(['next', 'active']);
    expect(rotated[1]).toMatchObject({ kid: first!.kid, retires: expect.any(String) });
    expect(JSON.stringify(rotated)).not.toMatch(/"(d|p|q|dp|dq|qi|sealed)"/);
    expect(expectOk(await t.call('GET', '/api/v2/oidc/keys'), 200)).toEqual(rotated);

    const helpDesk = await adminWithKey(t, 'Help Desk');
    expect(expectOk(await t.call('GET', '/api/v2/oidc/keys', { key: helpDesk.key }), 200)).toHaveLength(2);
    expectError(await t.call('POST', '/api/v2/oidc/keys/rotate', { key: helpDesk.key }), 403, 'PERMISSION_DENIED');
    const readOnly = await adminWithKey(t, 'Administrator', { readOnly: true });
    expectError(await t.call('POST', '/api/v2/oidc/keys/rotate', { key: readOnly.key }), 403, 'API_KEY_READ_ONLY');
    expectError(await t.call('GET', '/api/v2/oidc/keys', { key: null }), 401);
  });
});
