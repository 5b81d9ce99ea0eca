import type { LightMyRequestResponse } from 'fastify';
import { generate } from 'otplib';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { buildApi, type Api } from '../../src/api/server.js';
import type { User } from '../../src/core/model.js';
import { registerSignIn, safeReturn } from '../../src/sso/sign-in.js';
import { openTestCore, type TestCore } from '../support/core.js';
import { describeEachStore } from '../support/stores.js';

const PASSWORD = 'CorrectHorse42x';
const STEP = 58_000_000;
const atStep = (step: number, seconds = 0) => new Date((step * 30 + seconds) * 1000);
const HOST = 'roster.test';

describeEachStore('Signing in (/sso)', (kind) => {
  let t: TestCore;
  let app: Api;
  let user: User;

  beforeEach(async () => {
    t = await openTestCore(kind);
    t.clock.now = atStep(STEP, 5);
    user = await t.core.users.create(t.ctx, { username: 'ann.smith', email: 'ann@example.com', firstname: 'Ann', lastname: 'Smith', password: PASSWORD, state: 'ACTIVATED' });
    app = await buildApi({ core: t.core, version: 'test' });
    await registerSignIn(app, t.core);
    await app.ready();
  });
  afterEach(async () => {
    await app?.close();
    await t?.dispose();
  });

  const url = (path = '') => `/sso/${t.ctx.orgId}/sign-in${path}`;
  const cookiesOf = (res: LightMyRequestResponse) => Object.fromEntries(res.cookies.map((c) => [c.name, c]));
  const form = (path: string, fields: Record<string, string>, cookies: Record<string, string> = {}, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: path,
      headers: { host: HOST, origin: `http://${HOST}`, 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: new URLSearchParams(fields).toString(),
      cookies,
    });
  const session = (token?: string) => app.inject({ method: 'GET', url: '/sso/session', headers: { host: HOST }, ...(token ? { cookies: { roster_session: token } } : {}) });
  const signIn = async (password = PASSWORD, returnTo = '/portal') => form(url(), { username: 'ann.smith', password, return: returnTo });
  const tokenOf = (res: LightMyRequestResponse) => cookiesOf(res).roster_session!.value;
  const journal = async () => (await t.core.journal.list(t.ctx, 0, 1000)).filter((e) => e.operation === 'sign_in' || e.operation === 'sign_out');
  /** Enrolled and confirmed at STEP - 1. */
  const enrollTotp = async () => {
    const { secret } = await t.core.credentials.enrollTotp(t.ctx, user.id);
    await t.core.credentials.confirmTotp(t.ctx, user.id, await generate({ secret, epoch: (STEP - 1) * 30 }));
    return secret;
  };

  it('shows a sign-in form with every value escaped, and 404 for an unknown organization', async () => {
    const res = await app.inject({ method: 'GET', url: `${url()}?return=${encodeURIComponent('/a"><script>x</script>')}`, headers: { host: HOST } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('Sign in to Test Org');
    expect(res.body).toContain('value="/a&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
    expect(res.body).not.toContain('<script>');
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect((await app.inject({ method: 'GET', url: '/sso/0123456789abcdef01234567/sign-in' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/sso/not-an-id/sign-in' })).statusCode).toBe(404);
  });

  it('signs in with the password: a session cookie with safe flags, the return path, the session readable, journaled', async () => {
    const res = await signIn();
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/portal');
    const cookie = cookiesOf(res).roster_session!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(cookie.secure).toBeFalsy();
    expect(cookie.maxAge).toBe(12 * 3600);
    expect(cookie.value).toMatch(/^rst_[A-Za-z0-9_-]{43}$/);
    const me = await session(cookie.value);
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ user: { id: user.id, username: 'ann.smith', displayName: 'Ann Smith' }, session: { mfa: null } });
    // Only the token's digest is stored.
    const stored = await t.core.store.read.sessions.listLive(t.ctx.orgId, user.id, t.clock.now.toISOString());
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(cookie.value);
    expect(await journal()).toEqual([expect.objectContaining({ objectType: 'organization', operation: 'sign_in', details: expect.objectContaining({ userId: user.id, result: 'success' }) })]);
    // Over HTTPS (here: behind a proxy that says so) the cookie is Secure.
    await app.close();
    app = await buildApi({ core: t.core, version: 'test', trustProxy: true });
    await registerSignIn(app, t.core);
    const secure = await form(url(), { username: 'ann.smith', password: PASSWORD }, {}, { 'x-forwarded-proto': 'https', origin: `https://${HOST}` });
    expect(cookiesOf(secure).roster_session!.secure).toBe(true);
  });

  it('refuses a wrong password with one message whatever the reason, counts it towards lockout, and journals it', async () => {
    const wrong = await signIn('Wrong-password-1');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('The username or password is incorrect.');
    expect(wrong.body).toContain('value="ann.smith"');
    expect(cookiesOf(wrong).roster_session).toBeUndefined();
    const unknown = await form(url(), { username: 'nobody', password: PASSWORD });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.body).toContain('The username or password is incorrect.');
    expect((await t.core.users.get(t.ctx, user.id)).badLoginAttempts).toBe(1);
    const refused = (await journal()).map((e) => e.details);
    expect(refused).toEqual([
      expect.objectContaining({ result: 'refused', reason: 'INVALID_CREDENTIALS', userId: user.id }),
      expect.objectContaining({ result: 'refused', reason: 'INVALID_CREDENTIALS', username: 'nobody' }),
    ]);
    expect(JSON.stringify(refused)).not.toContain('Wrong-password-1');
    // JSON clients get JSON.
    const json = await app.inject({ method: 'POST', url: url(), headers: { host: HOST, 'content-type': 'application/json' }, payload: { username: 'ann.smith', password: 'nope' } });
    expect(json.statusCode).toBe(401);
    expect(json.json()).toEqual({ status: 'refused', reason: 'INVALID_CREDENTIALS', message: 'The username or password is incorrect.' });
  });

  it('asks users with TOTP for a code; a wrong or replayed code is refused and counted, a good one signs in', async () => {
    const secret = await enrollTotp();
    const first = await signIn();
    expect(first.statusCode).toBe(303);
    expect(first.headers.location).toBe(`${url()}/mfa`);
    expect(cookiesOf(first).roster_session).toBeUndefined();
    const pending = cookiesOf(first).roster_sign_in!;
    expect(pending).toMatchObject({ httpOnly: true, path: url() });
    const cookies = { roster_sign_in: pending.value };
    expect((await app.inject({ method: 'GET', url: `${url()}/mfa`, cookies })).body).toContain('authenticator app');

    const bad = await form(`${url()}/mfa`, { code: '000000' }, cookies);
    expect(bad.statusCode).toBe(401);
    expect(bad.body).toContain('That code is not correct.');
    const good = await form(`${url()}/mfa`, { code: await generate({ secret, epoch: STEP * 30 }) }, cookies);
    expect(good.statusCode).toBe(303);
    expect(good.headers.location).toBe('/portal');
    expect((await session(tokenOf(good))).json().session.mfa).toBe('totp');
    // The same code again (a second sign-in within its window) is a replay.
    const again = await signIn();
    const replay = await form(`${url()}/mfa`, { code: await generate({ secret, epoch: STEP * 30 }) }, { roster_sign_in: cookiesOf(again).roster_sign_in!.value });
    expect(replay.statusCode).toBe(401);
    expect(replay.body).toContain('already been used');
    // The good password before it reset the count; the replay counts again.
    expect((await t.core.users.get(t.ctx, user.id)).badLoginAttempts).toBe(1);
    expect((await journal()).map((e) => e.details?.reason ?? e.details?.result)).toEqual(['INVALID_TOTP', 'success', 'TOTP_REPLAYED']);
  });

  it('takes a recovery code instead of the TOTP code, once', async () => {
    await enrollTotp();
    const [code] = await t.core.recoveryCodes.generate(t.ctx, user.id);
    const first = cookiesOf(await signIn()).roster_sign_in!.value;
    const good = await form(`${url()}/mfa`, { code: code! }, { roster_sign_in: first });
    expect(good.statusCode).toBe(303);
    expect((await session(tokenOf(good))).json().session.mfa).toBe('recovery_code');
    const again = cookiesOf(await signIn()).roster_sign_in!.value;
    const reused = await form(`${url()}/mfa`, { code: code! }, { roster_sign_in: again });
    expect(reused.statusCode).toBe(401);
    expect(reused.body).toContain('That recovery code is not correct, or has been used.');
    expect((await t.core.recoveryCodes.status(t.ctx, user.id)).remaining).toBe(9);
  });

  it('refuses a second-factor step without a genuine, fresh password step', async () => {
    await enrollTotp();
    const noCookie = await form(`${url()}/mfa`, { code: '123456' });
    expect(noCookie.statusCode).toBe(303);
    expect(noCookie.headers.location).toBe(url());
    const forged = await form(`${url()}/mfa`, { code: '123456' }, { roster_sign_in: 'v1.forged.value' });
    expect(forged.headers.location).toBe(url());
    const pending = cookiesOf(await signIn()).roster_sign_in!.value;
    t.clock.now = atStep(STEP + 11);
    const stale = await form(`${url()}/mfa`, { code: '123456' }, { roster_sign_in: pending });
    expect(stale.headers.location).toBe(url());
    expect(cookiesOf(stale).roster_session).toBeUndefined();
  });

  it('ends sessions at the idle and absolute timeouts, and moves the idle timeout forward as the session is used', async () => {
    const token = tokenOf(await signIn());
    const start = t.clock.now.getTime();
    const at = (minutes: number) => (t.clock.now = new Date(start + minutes * 60_000));
    at(29);
    expect((await session(token)).statusCode).toBe(200);
    at(58);
    expect((await session(token)).statusCode).toBe(200);
    at(89);
    expect((await session(token)).statusCode).toBe(401);
    // Used every 20 minutes, a session still ends 12 hours after sign-in.
    const busy = tokenOf(await signIn());
    const began = t.clock.now.getTime();
    let alive = true;
    for (let m = 20; alive && m <= 13 * 60; m += 20) {
      t.clock.now = new Date(began + m * 60_000);
      alive = (await session(busy)).statusCode === 200;
      if (!alive) expect(m).toBeGreaterThanOrEqual(12 * 60);
    }
    expect(alive).toBe(false);
  });

  it('ends a session as soon as its user is suspended, locked, deleted or given a new password, or signs out', async () => {
    let password = PASSWORD;
    const signedIn = async () => tokenOf(await form(url(), { username: 'ann.smith', password }));
    const endedBy = async (change: () => Promise<unknown>) => {
      await t.core.users.update(t.ctx, user.id, { state: 'ACTIVATED', accountLocked: false });
      const token = await signedIn();
      expect((await session(token)).statusCode).toBe(200);
      await change();
      return (await session(token)).statusCode === 401;
    };
    expect(await endedBy(() => t.core.users.update(t.ctx, user.id, { state: 'SUSPENDED' }))).toBe(true);
    expect(await endedBy(() => t.core.users.update(t.ctx, user.id, { accountLocked: true }))).toBe(true);
    expect(
      await endedBy(async () => {
        password = 'Another-Secret-99';
        await t.core.users.setPassword(t.ctx, await t.core.users.get(t.ctx, user.id), password);
      }),
    ).toBe(true);
    // Ended for good: the user active and unlocked again does not bring it back.
    const before = await signedIn();
    await t.core.users.update(t.ctx, user.id, { state: 'SUSPENDED' });
    await t.core.users.update(t.ctx, user.id, { state: 'ACTIVATED' });
    expect((await session(before)).statusCode).toBe(401);
    // A change that touches none of these leaves the session alone.
    expect(await endedBy(() => t.core.users.update(t.ctx, user.id, { jobTitle: 'Engineer' }))).toBe(false);

    const token = await signedIn();
    const out = await app.inject({ method: 'POST', url: '/sso/sign-out', headers: { host: HOST, origin: `http://${HOST}` }, cookies: { roster_session: token } });
    expect(out.statusCode).toBe(200);
    expect(cookiesOf(out).roster_session?.value).toBe('');
    expect((await session(token)).statusCode).toBe(401);
    expect((await journal()).at(-1)).toMatchObject({ operation: 'sign_out', details: expect.objectContaining({ userId: user.id }) });
    // An administrator signs the user out everywhere.
    const a = await signedIn();
    const b = await signedIn();
    expect(await t.core.signIn.sessionsOf(t.ctx, user.id)).toHaveLength(3);
    expect(await t.core.signIn.revokeAll(t.ctx, user.id)).toBe(3);
    expect((await session(a)).statusCode).toBe(401);
    expect((await session(b)).statusCode).toBe(401);
    const c = await signedIn();
    await t.core.users.delete(t.ctx, user.id);
    expect((await session(c)).statusCode).toBe(401);
  });

  it('refuses sign-ins posted from another site, and never returns anywhere but this server', async () => {
    const cross = await form(url(), { username: 'ann.smith', password: PASSWORD }, {}, { origin: 'https://evil.example' });
    expect(cross.statusCode).toBe(403);
    expect(cookiesOf(cross).roster_session).toBeUndefined();
    for (const target of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', 'portal']) {
      const res = await signIn(PASSWORD, target);
      expect(res.headers.location, target).toBe('/');
    }
    expect(safeReturn('/apps/slack?x=1')).toBe('/apps/slack?x=1');
    expect((await session('rst_forged')).statusCode).toBe(401);
    expect((await session('not-a-token')).statusCode).toBe(401);
  });
});
