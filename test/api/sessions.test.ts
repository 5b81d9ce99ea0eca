import { afterAll, beforeAll, expect, it } from 'vitest';
import type { OrgId } from '../../src/core/ids.js';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { adminWithKey, createUser, expectError, expectOk, MISSING_ID } from './helpers.js';

describeEachStore("API: users' sign-in sessions", (kind) => {
  let t: TestApi;
  beforeAll(async () => {
    t = await openTestApi(kind);
  });
  afterAll(() => t.dispose());

  const where = { ip: '192.0.2.7', userAgent: 'Test/1.0', origin: 'sso' as const };

  it('lists a user\'s live sessions without their tokens, and signs the user out everywhere', async () => {
    const user = await createUser(t, { password: 'CorrectHorse42x', activated: true });
    const signIn = () => t.core.signIn.password(t.orgId as OrgId, user.username, 'CorrectHorse42x', where);
    const first = await signIn();
    const second = await signIn();
    if (first.status !== 'signed_in' || second.status !== 'signed_in') throw new Error(`not signed in: ${first.status}`);
    const listed = expectOk(await t.call('GET', `/api/v2/users/${user._id}/sessions`));
    expect(listed).toHaveLength(2);
    expect(listed[0]).toEqual({ created: expect.any(String), lastSeen: expect.any(String), idleExpires: expect.any(String), expires: expect.any(String), mfa: null, ip: '192.0.2.7', userAgent: 'Test/1.0' });
    expect(JSON.stringify(listed)).not.toContain(first.token);

    const readOnly = await adminWithKey(t, 'Administrator', { readOnly: true });
    expectOk(await t.call('GET', `/api/v2/users/${user._id}/sessions`, { key: readOnly.key }));
    expectError(await t.call('DELETE', `/api/v2/users/${user._id}/sessions`, { key: readOnly.key }), 403);

    expect(expectOk(await t.call('DELETE', `/api/v2/users/${user._id}/sessions`))).toEqual({ ended: 2 });
    expect(await t.core.signIn.resume(first.token)).toBeUndefined();
    expect(await t.core.signIn.resume(second.token)).toBeUndefined();
    expect(expectOk(await t.call('GET', `/api/v2/users/${user._id}/sessions`))).toEqual([]);
    expectError(await t.call('GET', `/api/v2/users/${MISSING_ID}/sessions`), 404, 'USER_NOT_FOUND');
  });
  it('generates recovery codes once, reports how many are left, and removes them', async () => {
    const user = await createUser(t);
    const made = expectOk(await t.call('POST', `/api/v2/users/${user._id}/recoverycodes`), 201);
    expect(made.codes).toHaveLength(10);
    expect(expectOk(await t.call('GET', `/api/v2/users/${user._id}/recoverycodes`))).toEqual({ total: 10, remaining: 10, created: expect.any(String) });
    expect(JSON.stringify(expectOk(await t.call('GET', `/api/v2/users/${user._id}/recoverycodes`)))).not.toContain(made.codes[0]);
    expect(await t.call('DELETE', `/api/v2/users/${user._id}/recoverycodes`)).toMatchObject({ statusCode: 204 });
    expectError(await t.call('DELETE', `/api/v2/users/${user._id}/recoverycodes`), 404, 'RECOVERY_CODES_NOT_FOUND');
    const readOnly = await adminWithKey(t, 'Administrator', { readOnly: true });
    expectError(await t.call('POST', `/api/v2/users/${user._id}/recoverycodes`, { key: readOnly.key }), 403);
  });
});
