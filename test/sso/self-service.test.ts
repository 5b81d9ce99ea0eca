import { generate } from 'otplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApi, type Api } from '../../src/api/server.js';
import type { OrgId } from '../../src/core/ids.js';
import type { User } from '../../src/core/model.js';
import { selfServiceRoutes } from '../../src/sso/self-service.js';
import { registerSignIn } from '../../src/sso/sign-in.js';
import { openTestCore, type TestCore } from '../support/core.js';
import { describeEachStore } from '../support/stores.js';

const PASSWORD = 'CorrectHorse42x';
const HOST = 'roster.test';
const PORTAL = { host: HOST, 'x-requested-with': 'roster' };

describeEachStore('User portal API (/api/self)', (kind) => {
  let t: TestCore;
  let app: Api;

  beforeAll(async () => {
    t = await openTestCore(kind);
    app = await buildApi({ core: t.core, version: 'test' });
    await registerSignIn(app, t.core);
    await app.register(selfServiceRoutes);
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  let n = 0;
  const newUser = () => t.core.users.create(t.ctx, { username: `self.${++n}`, email: `self${n}@example.com`, firstname: 'Sam', lastname: 'Self', password: PASSWORD, state: 'ACTIVATED' });
  const signIn = async (user: User, password = PASSWORD) => {
    const step = await t.core.signIn.password(t.ctx.orgId as OrgId, user.username, password, { ip: '192.0.2.1', userAgent: 'test', origin: 'sso' });
    if (step.status !== 'signed_in') throw new Error(`not signed in: ${step.status}`);
    return step.token;
  };
  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, token: string, body?: unknown, headers: Record<string, string> = PORTAL) =>
    app.inject({ method, url, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, cookies: { roster_session: token }, ...(body !== undefined ? { payload: JSON.stringify(body) } : {}) });

  it('answers only a signed-in user, from the portal, and shows the account, the password policy and the factors', async () => {
    const user = await newUser();
    const token = await signIn(user);
    expect((await call('GET', '/api/self', 'rst_nothing')).json()).toMatchObject({ code: 401, reason: 'SESSION_EXPIRED' });
    expect((await call('GET', '/api/self', token, undefined, { host: HOST })).json()).toMatchObject({ code: 403, reason: 'PORTAL_HEADER_MISSING' });
    const res = await call('GET', '/api/self', token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      user: { id: user.id, username: user.username, displayName: 'Sam Self' },
      passwordPolicy: { minLength: expect.any(Number) },
      mfa: { totp: false, webauthn: [], recoveryCodes: { remaining: 0 } },
    });
  });

  it('changes the password: checks the current one and the policy, then ends the sessions', async () => {
    const user = await newUser();
    const token = await signIn(user);
    const wrong = await call('POST', '/api/self/password', token, { currentPassword: 'Not-it-42x', newPassword: 'BrandNew-Passw0rd' });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ reason: 'INVALID_CURRENT_PASSWORD', details: [{ field: 'currentPassword' }] });
    const weak = await call('POST', '/api/self/password', token, { currentPassword: PASSWORD, newPassword: 'short' });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().details.length).toBeGreaterThan(0);
    expect(await t.core.signIn.resume(token)).toBeDefined();
    const ok = await call('POST', '/api/self/password', token, { currentPassword: PASSWORD, newPassword: 'BrandNew-Passw0rd' });
    expect(ok.json()).toEqual({ status: 'changed', signInAgain: true });
    expect(await t.core.signIn.resume(token)).toBeUndefined();
    await expect(signIn(user, PASSWORD)).rejects.toThrow(/not signed in/);
    await signIn(user, 'BrandNew-Passw0rd');
    const rows = await t.core.journal.list(t.ctx, 0, 10_000);
    const change = rows.find((r) => r.objectId === user.id && r.operation === 'password_set');
    expect(change).toMatchObject({ actorType: 'user', actorId: user.id, origin: 'portal' });
    expect(JSON.stringify(rows)).not.toContain('BrandNew-Passw0rd');
  });

  it('sets up an authenticator app with a first set of recovery codes, refuses a second one, and removes it', async () => {
    const user = await newUser();
    const token = await signIn(user);
    const started = await call('POST', '/api/self/totp', token);
    expect(started.statusCode).toBe(201);
    const { secret, qrSvg } = started.json();
    expect(qrSvg).toContain('<svg');
    expect((await call('POST', '/api/self/totp/confirm', token, { code: '000000' })).json()).toMatchObject({ reason: 'INVALID_TOTP' });
    const confirmed = (await call('POST', '/api/self/totp/confirm', token, { code: await generate({ secret }) })).json();
    expect(confirmed.totp).toBe(true);
    expect(confirmed.recoveryCodes).toHaveLength(10);
    expect((await call('POST', '/api/self/totp', token)).json()).toMatchObject({ code: 409, reason: 'TOTP_ALREADY_CONFIRMED' });
    expect((await call('GET', '/api/self', token)).json().mfa).toMatchObject({ totp: true, recoveryCodes: { remaining: 10 } });
    expect((await call('POST', '/api/self/recoverycodes', token)).json().codes).toHaveLength(10);
    expect((await call('DELETE', '/api/self/totp', token)).json()).toEqual({ totp: false });
    expect((await call('POST', '/api/self/recoverycodes', token)).json()).toMatchObject({ code: 409, reason: 'NO_SECOND_FACTOR' });
  });

  it("lists the applications the user reaches directly or through a group, with where they open", async () => {
    const user = await newUser();
    const token = await signIn(user);
    const direct = await t.core.applications.create(t.ctx, { name: 'wiki', displayLabel: 'Team wiki', ssoUrl: 'https://wiki.example.com/login' } as never);
    const viaGroup = await t.core.applications.create(t.ctx, { name: 'payroll', displayLabel: 'Payroll' } as never);
    const hidden = await t.core.applications.create(t.ctx, { name: 'hidden', displayLabel: 'Not yours' } as never);
    const group = await t.core.groups.create(t.ctx, { name: `portal-${n}` });
    await t.core.groups.addMember(t.ctx, group.id, 'user', user.id);
    await t.core.associations.change(t.ctx, { type: 'user', id: user.id }, { type: 'application', id: direct.id }, 'add', null);
    await t.core.associations.change(t.ctx, { type: 'user_group', id: group.id }, { type: 'application', id: viaGroup.id }, 'add', null);
    const apps = (await call('GET', '/api/self/applications', token)).json();
    expect(apps.map((a: { name: string }) => a.name)).toEqual(['Payroll', 'Team wiki']);
    expect(apps.find((a: { name: string }) => a.name === 'Team wiki').launchUrl).toBe('https://wiki.example.com/login');
    expect(JSON.stringify(apps)).not.toContain(hidden.id);
  });
});
