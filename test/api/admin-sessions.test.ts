import { generate } from 'otplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { operatorContext } from '../../src/core/context.js';
import type { OrgId } from '../../src/core/ids.js';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { expectError, expectOk, uniq } from './helpers.js';

const PORTAL = { 'x-requested-with': 'roster' };

describeEachStore('API: admin portal sessions', (kind) => {
  let t: TestApi;
  beforeAll(async () => {
    t = await openTestApi(kind);
  });
  afterAll(() => t.dispose());

  const newAdmin = async (options: { roleName?: 'Administrator' | 'Read Only'; enableMultiFactor?: boolean } = {}) => {
    const email = `${uniq('portal')}@acme.test`;
    const password = 'Portal-Passw0rd-42';
    const admin = await t.core.administrators.create(operatorContext(t.orgId as OrgId), { email, password, roleName: options.roleName ?? 'Administrator', enableMultiFactor: options.enableMultiFactor ?? false });
    return { admin, email, password };
  };
  const cookieOf = (res: { headers: Record<string, unknown> }, name: string) => {
    const lines = ([] as string[]).concat((res.headers['set-cookie'] as string | string[] | undefined) ?? []);
    const line = lines.find((l) => l.startsWith(`${name}=`));
    return line ? { value: line.slice(name.length + 1, line.indexOf(';')), line } : undefined;
  };
  const signIn = (email: string, password: string, headers: Record<string, string> = PORTAL) => t.call('POST', '/api/session', { key: null, body: { email, password }, headers });
  const withCookie = (cookie: string, extra: Record<string, string> = PORTAL) => ({ key: null, headers: { cookie, ...extra } });

  it('signs in with email and password; the cookie then stands in for an API key, with the role of the administrator', async () => {
    const { admin, email, password } = await newAdmin({ roleName: 'Read Only' });
    const res = await signIn(email.toUpperCase(), password);
    expect(expectOk(res)).toEqual({ status: 'signed_in', expires: expect.any(String) });
    const session = cookieOf(res, 'roster_admin')!;
    expect(session.line).toMatch(/HttpOnly/);
    expect(session.line).toMatch(/SameSite=Strict/);
    expect(session.line).toMatch(/Path=\/api/);
    const me = expectOk(await t.call('GET', '/api/session', withCookie(`roster_admin=${session.value}`)));
    expect(me).toMatchObject({ admin: { id: admin.id, email, roleName: 'Read Only' }, organization: t.orgId, mfa: { enabled: false, required: false } });
    expect(me.permissions).toContain('users:read');
    expect(me.permissions).not.toContain('users:write');
    expectOk(await t.call('GET', '/api/systemusers', withCookie(`roster_admin=${session.value}`)));
    expectError(await t.call('POST', '/api/systemusers', { ...withCookie(`roster_admin=${session.value}`), body: { username: uniq('u'), email: `${uniq('u')}@acme.test` } }), 403, 'PERMISSION_DENIED');

    // Without the portal's header, or from another site, the cookie is refused.
    expectError(await t.call('GET', '/api/systemusers', withCookie(`roster_admin=${session.value}`, {})), 403, 'PORTAL_HEADER_MISSING');
    expectError(await t.call('GET', '/api/systemusers', withCookie(`roster_admin=${session.value}`, { ...PORTAL, origin: 'https://evil.example' })), 403, 'CROSS_SITE_REQUEST');
    expectError(await signIn(email, password, {}), 403, 'PORTAL_HEADER_MISSING');

    // The sign-in and the sign-out are in the audit log, without the password.
    expect(await t.call('DELETE', '/api/session', withCookie(`roster_admin=${session.value}`))).toMatchObject({ statusCode: 204 });
    expectError(await t.call('GET', '/api/systemusers', withCookie(`roster_admin=${session.value}`)), 401, 'SESSION_EXPIRED');
    const rows = await t.core.store.read.journal.list(t.orgId as OrgId, { since: 0, limit: 10_000 });
    const mine = rows.filter((r) => r.objectId === admin.id && r.origin === 'portal').map((r) => r.operation);
    expect(mine).toEqual(expect.arrayContaining(['sign_in', 'sign_out']));
    expect(JSON.stringify(rows)).not.toContain(password);
  });

  it('refuses wrong passwords alike for unknown and known administrators, and locks after five in a row', async () => {
    const { email, password } = await newAdmin();
    expectError(await signIn('nobody@acme.test', password), 401, 'INVALID_CREDENTIALS');
    for (let i = 0; i < 4; i++) expectError(await signIn(email, 'Wrong-Passw0rd'), 401, 'INVALID_CREDENTIALS');
    expectError(await signIn(email, 'Wrong-Passw0rd'), 401, 'ACCOUNT_LOCKED');
    expectError(await signIn(email, password), 401, 'ACCOUNT_LOCKED');
    // Another administrator setting a new password unlocks the account.
    const { admin } = (await t.core.store.read.admins.findByEmail(email))!;
    expectOk(await t.call('PUT', `/api/users/${admin.id}`, { body: { password: 'Fresh-Passw0rd-99' } }));
    expect(expectOk(await signIn(email, 'Fresh-Passw0rd-99')).status).toBe('signed_in');
  });

  it('asks for the authenticator code when the administrator has one, and has them set one up when MFA is required', async () => {
    const { email, password } = await newAdmin({ enableMultiFactor: true });
    const first = await signIn(email, password);
    const step = expectOk(first);
    expect(step).toMatchObject({ status: 'enrollment_required', secret: expect.stringMatching(/^[A-Z2-7]+$/), qrSvg: expect.stringContaining('<svg') });
    expect(cookieOf(first, 'roster_admin')).toBeUndefined();
    const pending = cookieOf(first, 'roster_admin_sign_in')!;
    expectError(await t.call('POST', '/api/session/code', { ...withCookie(`roster_admin_sign_in=${pending.value}`), body: { code: '000000' } }), 401, 'INVALID_TOTP');
    const enrolled = await t.call('POST', '/api/session/code', { ...withCookie(`roster_admin_sign_in=${pending.value}`), body: { code: await generate({ secret: step.secret }) } });
    expect(expectOk(enrolled).status).toBe('signed_in');
    const session = cookieOf(enrolled, 'roster_admin')!;
    expect(expectOk(await t.call('GET', '/api/session', withCookie(`roster_admin=${session.value}`))).mfa).toEqual({ enabled: true, required: true });
    expectError(await t.call('DELETE', '/api/session/totp', withCookie(`roster_admin=${session.value}`)), 409, 'MFA_REQUIRED');

    // Next time the code is asked for; the code just used does not answer twice.
    const again = await signIn(email, password);
    expect(expectOk(again)).toEqual({ status: 'mfa_required' });
    const pending2 = cookieOf(again, 'roster_admin_sign_in')!;
    expectError(await t.call('POST', '/api/session/code', { ...withCookie(`roster_admin_sign_in=${pending2.value}`), body: { code: await generate({ secret: step.secret }) } }), 401, 'TOTP_REPLAYED');
    expectError(await t.call('POST', '/api/session/code', { key: null, headers: PORTAL, body: { code: '123456' } }), 401, 'SIGN_IN_EXPIRED');
  });

  it('ends the sessions of an administrator who is suspended or given a new password', async () => {
    const { admin, email, password } = await newAdmin();
    const session = cookieOf(await signIn(email, password), 'roster_admin')!;
    expectOk(await t.call('PUT', `/api/users/${admin.id}`, { body: { suspended: true } }));
    expectError(await t.call('GET', '/api/session', withCookie(`roster_admin=${session.value}`)), 401, 'SESSION_EXPIRED');
    expectError(await signIn(email, password), 401, 'INVALID_CREDENTIALS');
    expectOk(await t.call('PUT', `/api/users/${admin.id}`, { body: { suspended: false } }));
    const next = cookieOf(await signIn(email, password), 'roster_admin')!;
    expectOk(await t.call('PUT', `/api/users/${admin.id}`, { body: { password: 'Another-Passw0rd-7' } }));
    expectError(await t.call('GET', '/api/session', withCookie(`roster_admin=${next.value}`)), 401, 'SESSION_EXPIRED');
  });

  it('lets an administrator set up and remove their own authenticator app', async () => {
    const { admin, email, password } = await newAdmin();
    const session = `roster_admin=${cookieOf(await signIn(email, password), 'roster_admin')!.value}`;
    const started = expectOk(await t.call('POST', '/api/session/totp', withCookie(session)), 201);
    expectError(await t.call('POST', '/api/session/totp/confirm', { ...withCookie(session), body: { code: '000000' } }), 400, 'INVALID_TOTP');
    expect(expectOk(await t.call('POST', '/api/session/totp/confirm', { ...withCookie(session), body: { code: await generate({ secret: started.secret }) } }))).toEqual({ enabled: true });
    expect(expectOk(await signIn(email, password)).status).toBe('mfa_required');
    expect(expectOk(await t.call('GET', `/api/users/${admin.id}`)).totpEnrolled).toBe(true);
    expect(expectOk(await t.call('DELETE', '/api/session/totp', withCookie(session)))).toEqual({ enabled: false });
    expect(expectOk(await t.call('GET', `/api/users/${admin.id}`)).totpEnrolled).toBe(false);
    expect(expectOk(await signIn(email, password)).status).toBe('signed_in');
  });

  it('does not let an administrator without admins:write lift the multi-factor requirement on themselves', async () => {
    const { admin, email, password } = await newAdmin({ roleName: 'Read Only', enableMultiFactor: true });
    const step = expectOk(await signIn(email, password));
    const pending = step.status === 'enrollment_required' ? step : undefined;
    expect(pending).toBeDefined();
    const issued = await t.core.apiKeys.issue(operatorContext(t.orgId as OrgId), admin.id, { name: 'self', readOnly: false });
    expectError(await t.call('PUT', `/api/users/${admin.id}`, { key: issued.secret, body: { enableMultiFactor: false } }), 403);
    expect(expectOk(await t.call('GET', `/api/users/${admin.id}`)).enableMultiFactor).toBe(true);
  });

  it('forgets sessions once they have ended', async () => {
    const { email, password } = await newAdmin();
    const session = cookieOf(await signIn(email, password), 'roster_admin')!;
    expect(await t.call('DELETE', '/api/session', withCookie(`roster_admin=${session.value}`))).toMatchObject({ statusCode: 204 });
    const later = new Date(Date.now() + 60_000).toISOString();
    expect(await t.core.store.read.adminSessions.prune(later)).toBeGreaterThanOrEqual(1);
    expect(await t.core.store.read.adminSessions.prune(later)).toBe(0);
  });
});
