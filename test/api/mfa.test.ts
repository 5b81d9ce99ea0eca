import { generate } from 'otplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { UserId } from '../../src/core/ids.js';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { SoftAuthenticator } from '../support/webauthn-authenticator.js';
import { adminWithKey, createUser, expectError, expectOk } from './helpers.js';

const RP = { id: 'roster.test', name: 'Acme', origin: 'https://roster.test' };

describeEachStore('API second-factor policy, security keys and MFA reset', (kind) => {
  let t: TestApi;
  const call = (method: string, url: string, body?: unknown) => t.call(method, url, body === undefined ? {} : { body });

  beforeAll(async () => {
    t = await openTestApi(kind);
  });
  afterAll(async () => t?.dispose());

  /** A user with a confirmed TOTP, a security key and recovery codes. */
  const userWithEverything = async (body: Record<string, unknown> = {}) => {
    const user = await createUser(t, body);
    const { secret } = expectOk(await call('POST', `/api/v2/users/${user._id}/totp`), 201);
    expectOk(await call('POST', `/api/v2/users/${user._id}/totp/confirm`, { code: await generate({ secret }) }));
    expectOk(await call('POST', `/api/v2/users/${user._id}/recoverycodes`), 201);
    const authenticator = new SoftAuthenticator({ origin: RP.origin, rpId: RP.id });
    const { options, challenge } = await t.core.webauthn.registrationOptions(t.orgId as never, user._id as UserId, RP);
    const registered = await t.core.webauthn.register(t.orgId as never, user._id as UserId, authenticator.create(options), challenge, RP, 'YubiKey 5');
    expect(registered.ok).toBe(true);
    return user;
  };

  it('sets the org policy through the organization settings, and refuses unknown or mistyped settings', async () => {
    const before = expectOk(await call('GET', `/api/organizations/${t.orgId}`));
    expect(before.settings.mfa).toEqual({ required: false, selfEnrollment: true });
    const after = expectOk(await call('PUT', `/api/organizations/${t.orgId}`, { settings: { mfa: { required: true } } }));
    expect(after.settings.mfa).toEqual({ required: true, selfEnrollment: true });
    expectError(await call('PUT', `/api/organizations/${t.orgId}`, { settings: { mfa: { required: 'yes' } } }), 400);
    expectError(await call('PUT', `/api/organizations/${t.orgId}`, { settings: { mfa: { sometimes: true } } }), 400);
    expectOk(await call('PUT', `/api/organizations/${t.orgId}`, { settings: { mfa: { required: false } } }));
  });

  it("shows each user's factors and policy flags on the systemuser, and takes enable_user_portal_multifactor and mfa.exclusion", async () => {
    const user = await userWithEverything({ enable_user_portal_multifactor: true });
    const shown = expectOk(await call('GET', `/api/systemusers/${user._id}`));
    expect(shown).toMatchObject({
      totp_enabled: true,
      enable_user_portal_multifactor: true,
      mfa: { configured: true, exclusion: false },
      mfaEnrollment: { overallStatus: 'ENROLLED', totpStatus: 'ENROLLED', webAuthnStatus: 'ENROLLED' },
    });
    const exempt = expectOk(await call('PUT', `/api/systemusers/${user._id}`, { mfa: { exclusion: true, exclusionDays: 7 } }));
    expect(exempt.mfa.exclusion).toBe(true);
    expect(Date.parse(exempt.mfa.exclusionUntil) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    expectError(await call('PUT', `/api/systemusers/${user._id}`, { mfa: { exclusionUntil: 'next tuesday' } }), 400);
    const filtered = expectOk(await call('GET', `/api/systemusers?filter=enable_user_portal_multifactor:$eq:true`));
    expect(filtered.results.map((u: { _id: string }) => u._id)).toContain(user._id);

    const status = expectOk(await call('GET', `/api/v2/users/${user._id}/mfa`));
    expect(status).toMatchObject({ factors: ['totp', 'webauthn'], recoveryCodes: 10, applies: true, required: false });
    expect(status.exemptUntil).toBe(exempt.mfa.exclusionUntil);
  });

  it('lists and removes security keys without ever showing key material', async () => {
    const user = await userWithEverything();
    const keys = expectOk(await call('GET', `/api/v2/users/${user._id}/webauthn`));
    expect(keys).toEqual([expect.objectContaining({ name: 'YubiKey 5', lastUsedAt: null })]);
    expect(JSON.stringify(keys)).not.toMatch(/publicKey|public_key|counter/i);
    expectError(await call('DELETE', `/api/v2/users/${user._id}/webauthn/AAAA`), 404, 'WEBAUTHN_CREDENTIAL_NOT_FOUND');
    expect((await call('DELETE', `/api/v2/users/${user._id}/webauthn/${keys[0].id}`)).statusCode).toBe(204);
    expect(expectOk(await call('GET', `/api/v2/users/${user._id}/webauthn`))).toEqual([]);
  });

  it('resetmfa removes every factor and the recovery codes, sets an enrollment period, journals it once, and is a no-op the second time', async () => {
    const user = await userWithEverything();
    const reset = await call('POST', `/api/systemusers/${user._id}/resetmfa`, { exclusion: true, exclusionDays: 3 });
    expect(reset.statusCode, reset.body).toBe(200);
    const status = expectOk(await call('GET', `/api/v2/users/${user._id}/mfa`));
    expect(status).toMatchObject({ factors: [], recoveryCodes: 0 });
    expect(Date.parse(status.exemptUntil ?? '') || 0).toBe(0); // the policy does not apply to this user, so no period shows
    const shown = expectOk(await call('GET', `/api/systemusers/${user._id}`));
    expect(shown.mfa.exclusion).toBe(true);
    expect(Date.parse(shown.mfa.exclusionUntil) - Date.now()).toBeGreaterThan(2.9 * 86_400_000);
    expect(expectOk(await call('GET', `/api/v2/users/${user._id}/webauthn`))).toEqual([]);

    expect((await call('POST', `/api/systemusers/${user._id}/resetmfa`)).statusCode).toBe(200);
    const entries = expectOk(await call('GET', `/api/v2/journal?filter=objectId:eq:${user._id}&filter=operation:eq:mfa_reset`));
    expect(entries).toHaveLength(1);
    expect(Object.keys(entries[0].changes).sort()).toEqual(['mfaExclusion', 'mfaExclusionUntil', 'recoveryCodes', 'totp', 'webauthn']);

    expectError(await call('POST', `/api/systemusers/${user._id}/resetmfa`, { exclusionDays: 0 }), 400);
    expectError(await call('POST', `/api/systemusers/${user._id}/resetmfa`, { exclusionUntil: 'soon' }), 400);
  });

  it('keeps reading roles from changing second factors', async () => {
    const user = await createUser(t);
    const reader = await adminWithKey(t, 'Read Only');
    expectError(await t.call('POST', `/api/systemusers/${user._id}/resetmfa`, { key: reader.key, body: {} }), 403);
    expectError(await t.call('DELETE', `/api/v2/users/${user._id}/webauthn/AAAA`, { key: reader.key }), 403);
    expectOk(await t.call('GET', `/api/v2/users/${user._id}/mfa`, { key: reader.key }));
  });
});
