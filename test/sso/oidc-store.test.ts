import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Application } from '../../src/core/model.js';
import { adapterFactory } from '../../src/sso/oidc/adapter.js';
import { asRole, failure, openTestCore, type TestCore } from '../support/core.js';
import { describeEachStore } from '../support/stores.js';

describeEachStore('OpenID Connect storage and clients', (kind) => {
  let t: TestCore;
  let app: Application;

  beforeEach(async () => {
    t = await openTestCore(kind);
    app = await t.core.applications.create(t.ctx, { name: 'Wiki', sso: { type: 'oidc' } });
  });
  afterEach(async () => {
    await t?.dispose();
  });

  it('stores provider objects with expiry, consumption, lookups by uid and user code, and grant revocation', async () => {
    const adapter = adapterFactory(t.core);
    const codes = adapter('AuthorizationCode');
    const tokens = adapter('AccessToken');
    const sessions = adapter('Session');
    await codes.upsert('code-1', { grantId: 'g1', accountId: 'u1', scope: 'openid' }, 60);
    await tokens.upsert('at-1', { grantId: 'g1', accountId: 'u1' }, 3600);
    await tokens.upsert('at-2', { grantId: 'g2', accountId: 'u1' }, 3600);
    await sessions.upsert('s-1', { uid: 'uid-1', accountId: 'u1' }, 3600);
    await adapter('DeviceCode').upsert('dc-1', { userCode: 'ABCD-EFGH' }, 600);
    await tokens.upsert('expired', { grantId: 'g3' }, -1);

    expect(await codes.find('code-1')).toMatchObject({ grantId: 'g1', accountId: 'u1' });
    expect(await codes.find('code-1')).not.toHaveProperty('consumed');
    await codes.consume('code-1');
    expect((await codes.find('code-1'))?.consumed).toEqual(expect.any(Number));
    expect(await sessions.findByUid('uid-1')).toMatchObject({ accountId: 'u1' });
    expect(await adapter('DeviceCode').findByUserCode('ABCD-EFGH')).toMatchObject({ userCode: 'ABCD-EFGH' });
    expect(await tokens.find('expired')).toBeUndefined();
    // The same id in another model is another object.
    expect(await adapter('RefreshToken').find('at-1')).toBeUndefined();

    await sessions.upsert('s-1', { uid: 'uid-1', accountId: 'u2' }, 3600);
    expect(await sessions.find('s-1')).toMatchObject({ accountId: 'u2' });

    await tokens.revokeByGrantId('g1');
    expect(await codes.find('code-1')).toBeUndefined();
    expect(await tokens.find('at-1')).toBeUndefined();
    expect(await tokens.find('at-2')).toBeDefined();
    await sessions.destroy('s-1');
    expect(await sessions.find('s-1')).toBeUndefined();

    t.clock.now = new Date(Date.now() + 2 * 86_400_000);
    // at-2, the device code and the one that had already expired.
    expect(await t.core.oidc.prune()).toBe(3);
  });

  it('keeps the client secret sealed, shows it once, and serves the client to the provider', async () => {
    const { client, clientSecret } = await t.core.oidc.configure(t.ctx, app.id, { redirectUris: ['https://wiki.example.com/cb'] });
    expect(client).toMatchObject({ clientId: app.id, hasSecret: true, grantTypes: ['authorization_code', 'refresh_token'], tokenEndpointAuthMethod: 'client_secret_basic' });
    expect(clientSecret).toBeTruthy();
    const stored = await t.core.store.read.oidc.findClient(app.id);
    expect(stored?.sealedSecret).not.toContain(clientSecret);
    expect((await t.core.oidc.clientForProvider(app.id))?.secret).toBe(clientSecret);
    expect(await adapterFactory(t.core)('Client').find(app.id)).toMatchObject({ client_id: app.id, client_secret: clientSecret, redirect_uris: ['https://wiki.example.com/cb'] });

    // A second PUT keeps the secret and returns none.
    const again = await t.core.oidc.configure(t.ctx, app.id, { postLogoutRedirectUris: ['https://wiki.example.com/'] });
    expect(again.clientSecret).toBeUndefined();
    expect((await t.core.oidc.clientForProvider(app.id))?.secret).toBe(clientSecret);

    const rotated = await t.core.oidc.rotateSecret(t.ctx, app.id);
    expect(rotated.clientSecret).not.toBe(clientSecret);
    expect((await t.core.oidc.clientForProvider(app.id))?.secret).toBe(rotated.clientSecret);

    const journal = (await t.core.journal.list(t.ctx, 0, 100)).filter((e) => e.objectId === app.id && e.operation === 'update');
    expect(JSON.stringify(journal)).not.toContain(clientSecret!);
    expect(JSON.stringify(journal)).not.toContain(rotated.clientSecret);
    expect(journal.at(-1)?.changes['oidc.clientSecret']).toEqual({ before: '[REDACTED]', after: '[REDACTED]' });

    await t.core.applications.update(t.ctx, app.id, { active: false });
    expect(await t.core.oidc.clientForProvider(app.id)).toBeUndefined();
  });

  it('refuses bad settings and applications that are not OIDC', async () => {
    expect((await failure(t.core.oidc.configure(t.ctx, app.id, { redirectUris: ['http://evil.example.com/cb'] }))).code).toBe('INVALID_INPUT');
    expect((await failure(t.core.oidc.configure(t.ctx, app.id, { redirectUris: ['https://a.example.com/cb#x'] }))).code).toBe('INVALID_INPUT');
    expect((await failure(t.core.oidc.configure(t.ctx, app.id, { tokenEndpointAuthMethod: 'none', grantTypes: ['client_credentials'] }))).code).toBe('INVALID_INPUT');
    const publicClient = await t.core.oidc.configure(t.ctx, app.id, { tokenEndpointAuthMethod: 'none', redirectUris: ['http://127.0.0.1:8000/cb'] });
    expect(publicClient.clientSecret).toBeUndefined();
    expect(publicClient.client.hasSecret).toBe(false);
    expect((await failure(t.core.oidc.rotateSecret(t.ctx, app.id))).code).toBe('PUBLIC_CLIENT');
    const saml = await t.core.applications.create(t.ctx, { name: 'Other', sso: { type: 'saml' } });
    expect((await failure(t.core.oidc.configure(t.ctx, saml.id, {}))).code).toBe('APPLICATION_NOT_OIDC');
    expect((await failure(t.core.oidc.get(t.ctx, saml.id))).code).toBe('OIDC_CLIENT_NOT_FOUND');
  });

  it('makes the provider keys once, sealed, and rotates them after 90 days', async () => {
    const first = await t.core.oidc.keys();
    expect(first.signing).toHaveLength(1);
    expect(first.signing[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(first.cookies).toHaveLength(1);
    const rows = await t.core.store.read.oidc.listKeys();
    expect(rows.map((r) => r.sealed).join()).not.toContain(String(first.signing[0]!.d));
    expect(await t.core.oidc.keys()).toEqual(first);

    t.clock.now = new Date(Date.now() + 91 * 86_400_000);
    const rotated = await t.core.oidc.keys();
    expect(rotated.signing).toHaveLength(2);
    // Published at once, signing only from a day later.
    expect(rotated.signing[0]!.kid).toBe(first.signing[0]!.kid);
    t.clock.now = new Date(t.clock.now.getTime() + 2 * 86_400_000);
    expect((await t.core.oidc.keys()).signing[0]!.kid).not.toBe(first.signing[0]!.kid);
    t.clock.now = new Date(t.clock.now.getTime() + 40 * 86_400_000);
    expect((await t.core.oidc.keys()).signing).toHaveLength(1);
  });

  it('rotates the signing key through the API: published at once, signing after the refresh interval, the old key kept until its ID tokens expire', async () => {
    const changed: number[] = [];
    t.core.oidc.onKeysChanged(() => changed.push(1));
    const first = await t.core.oidc.keys();
    const k1 = String(first.signing[0]!.kid);
    expect(await t.core.oidc.signingKeys(t.ctx)).toEqual([{ kid: k1, alg: 'RS256', state: 'active', created: expect.any(String), activates: expect.any(String), retires: null }]);

    const rotated = await t.core.oidc.rotateSigningKey(t.ctx);
    expect(changed).toHaveLength(1);
    expect(rotated.map((k) => k.state)).toEqual(['next', 'active']);
    const [next, old] = rotated as [(typeof rotated)[0], (typeof rotated)[0]];
    expect(old.kid).toBe(k1);
    expect(next).not.toHaveProperty('d');
    expect(Date.parse(next.activates) - t.clock.now.getTime()).toBe(t.core.oidc.keyRefreshMs);
    // The ID tokens it signed last an hour; five minutes more for clocks that differ.
    expect(Date.parse(old.retires!) - Date.parse(next.activates)).toBe(3_600_000 + 300_000);

    let keys = await t.core.oidc.keys();
    expect(keys.signing.map((k) => k.kid)).toEqual([k1, next.kid]);
    expect(keys.nextChange).toBe(next.activates);
    expect(keys.version).not.toBe(first.version);

    t.clock.now = new Date(Date.parse(next.activates));
    keys = await t.core.oidc.keys();
    expect(keys.signing.map((k) => k.kid)).toEqual([next.kid, k1]);
    expect(keys.nextChange).toBe(old.retires);
    expect((await t.core.oidc.signingKeys(t.ctx)).map((k) => [k.kid, k.state])).toEqual([
      [next.kid, 'active'],
      [k1, 'previous'],
    ]);

    t.clock.now = new Date(Date.parse(old.retires!));
    keys = await t.core.oidc.keys();
    expect(keys.signing.map((k) => k.kid)).toEqual([next.kid]);
    expect((await t.core.store.read.oidc.listKeys()).filter((k) => k.use === 'sig').map((k) => k.id)).toEqual([next.kid]);
    // The cookie keys are not touched.
    expect(keys.cookies).toEqual(first.cookies);

    const journal = (await t.core.journal.list(t.ctx, 0, 100)).filter((e) => e.changes['oidc.signingKey']);
    expect(journal).toHaveLength(1);
    expect(journal[0]).toMatchObject({ objectType: 'organization', objectId: t.ctx.orgId, operation: 'update', changes: { 'oidc.signingKey': { before: k1, after: next.kid } } });
    expect(JSON.stringify(journal)).not.toContain(String(first.signing[0]!.d));
  });

  it('withdraws a key still waiting to sign, and shortens how long older keys stay, when rotated through the API', async () => {
    const k1 = String((await t.core.oidc.keys()).signing[0]!.kid);
    // The automatic rotation at 90 days: a new key that signs a day later, the old one kept 30 days after that.
    t.clock.now = new Date(Date.now() + 91 * 86_400_000);
    const auto = await t.core.oidc.keys();
    const pending = String(auto.signing[1]!.kid);
    expect((await t.core.oidc.signingKeys(t.ctx)).map((k) => [k.kid, k.state])).toEqual([
      [pending, 'next'],
      [k1, 'active'],
    ]);
    const rotated = await t.core.oidc.rotateSigningKey(t.ctx);
    expect(rotated.map((k) => k.kid)).not.toContain(pending);
    expect(rotated.map((k) => [k.kid === k1 ? 'k1' : 'new', k.state])).toEqual([
      ['new', 'next'],
      ['k1', 'active'],
    ]);
    expect(Date.parse(rotated[1]!.retires!) - t.clock.now.getTime()).toBe(t.core.oidc.keyRefreshMs + 3_900_000);
    expect((await t.core.store.read.oidc.listKeys()).map((k) => k.id)).not.toContain(pending);

    // Rotated again before the new key signs: it is withdrawn too, and k1 keeps its (earlier) retirement.
    t.clock.now = new Date(t.clock.now.getTime() + 1000);
    const again = await t.core.oidc.rotateSigningKey(t.ctx);
    expect(again.map((k) => k.state)).toEqual(['next', 'active']);
    expect(again[1]).toMatchObject({ kid: k1, retires: rotated[1]!.retires });
    expect(again[0]!.kid).not.toBe(rotated[0]!.kid);
  });

  it('lets administrators who may change the organization rotate the keys, and those who read it list them', async () => {
    expect(await t.core.oidc.signingKeys(asRole(t.ctx, 'Help Desk'))).toEqual([]);
    expect((await failure(t.core.oidc.rotateSigningKey(asRole(t.ctx, 'Manager')))).code).toBe('PERMISSION_DENIED');
    expect((await failure(t.core.oidc.rotateSigningKey(asRole(t.ctx, 'Administrator', true)))).code).toBe('API_KEY_READ_ONLY');
    expect(await t.core.oidc.rotateSigningKey(asRole(t.ctx, 'Administrator'))).toHaveLength(1);
  });

  it('journals a failed client authentication on the organization of the client, never for an unknown client id', async () => {
    await t.core.oidc.configure(t.ctx, app.id, { redirectUris: ['https://wiki.example.com/cb'] });
    expect(await t.core.oidc.recordClientAuthFailure(app.id, { ip: '192.0.2.7', endpoint: 'token' })).toBe(true);
    expect(await t.core.oidc.recordClientAuthFailure('no-such-client', { ip: '192.0.2.7', endpoint: 'token' })).toBe(false);
    const entries = (await t.core.journal.list(t.ctx, 0, 100)).filter((e) => e.operation === 'sign_in');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      objectType: 'organization',
      objectId: t.ctx.orgId,
      origin: 'sso',
      details: { protocol: 'oidc', applicationId: app.id, clientId: app.id, result: 'refused', reason: 'INVALID_CLIENT_AUTH', endpoint: 'token', ip: '192.0.2.7' },
    });
  });
});
