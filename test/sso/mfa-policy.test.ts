import type { LightMyRequestResponse } from 'fastify';
import { generate } from 'otplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApi, type Api } from '../../src/api/server.js';
import type { User } from '../../src/core/model.js';
import { registerSignIn } from '../../src/sso/sign-in.js';
import { openTestCore, type TestCore } from '../support/core.js';
import { describeEachStore } from '../support/stores.js';
import { SoftAuthenticator } from '../support/webauthn-authenticator.js';

const PASSWORD = 'CorrectHorse42x';
const STEP = 58_000_000;
const atStep = (step: number, seconds = 0) => new Date((step * 30 + seconds) * 1000);
const HOST = 'roster.test';
const ORIGIN = `http://${HOST}`;

describeEachStore('Second-factor policy and enrollment at sign-in', (kind) => {
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
  const cookiesOf = (res: LightMyRequestResponse) => Object.fromEntries(res.cookies.map((c) => [c.name, c.value]));
  const pendingOf = (res: LightMyRequestResponse) => {
    const value = cookiesOf(res).roster_sign_in;
    expect(value, 'the answer carries the sign-in in progress').toBeTruthy();
    return { roster_sign_in: value! };
  };
  const form = (path: string, fields: Record<string, string>, cookies: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: path,
      headers: { host: HOST, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(fields).toString(),
      cookies,
    });
  const json = (path: string, body: unknown, cookies: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: path, headers: { host: HOST, origin: ORIGIN, 'content-type': 'application/json' }, payload: JSON.stringify(body), cookies });
  const get = (path: string, cookies: Record<string, string> = {}) => app.inject({ method: 'GET', url: path, headers: { host: HOST }, cookies });
  const signIn = () => form(url(), { username: 'ann.smith', password: PASSWORD, return: '/portal' });
  const session = async (res: LightMyRequestResponse) => {
    const token = cookiesOf(res).roster_session;
    expect(token, 'a session cookie').toBeTruthy();
    return (await app.inject({ method: 'GET', url: '/sso/session', headers: { host: HOST }, cookies: { roster_session: token! } })).json().session;
  };
  const requireMfa = (settings: { required?: boolean; selfEnrollment?: boolean } = { required: true }) =>
    t.core.organizations.update(t.ctx, t.ctx.orgId, { mfa: settings });
  const codeAt = (secret: string, step = STEP) => generate({ secret, epoch: step * 30 });
  const secretOn = (page: string) => /<code>([A-Z2-7 ]+)<\/code>/.exec(page)?.[1]?.replace(/ /g, '');

  it('signs in with the password alone while neither the org nor the user asks for a second factor', async () => {
    const res = await signIn();
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/portal');
  });

  it('sends a user without a factor to enroll an authenticator app: QR code, a mistyped code keeps the same secret, then recovery codes and a session', async () => {
    await requireMfa();
    const pw = await signIn();
    expect(pw.statusCode).toBe(303);
    expect(pw.headers.location).toBe(url('/enroll'));
    expect(cookiesOf(pw).roster_session).toBeUndefined();
    const pending = pendingOf(pw);

    const page = await get(url('/enroll'), pending);
    expect(page.body).toContain('Set up two-step verification');
    expect(page.body).toContain('Use an authenticator app');
    expect(page.body).not.toContain('Not now');

    const start = await form(url('/enroll/totp'), {}, pending);
    expect(start.statusCode).toBe(200);
    expect(start.body).toContain('<svg');
    const secret = secretOn(start.body)!;
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    const withSecret = pendingOf(start);
    expect(await t.core.credentials.totpStatus(t.ctx, user.id)).toMatchObject({ enrolled: true, confirmed: false });

    const wrong = await form(url('/enroll/totp/confirm'), { code: String((Number(await codeAt(secret)) + 1) % 1_000_000).padStart(6, '0') }, withSecret);
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('That code is not correct');
    expect(secretOn(wrong.body)).toBe(secret);

    const done = await form(url('/enroll/totp/confirm'), { code: await codeAt(secret) }, withSecret);
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain('Save your recovery codes');
    const codes = [...done.body.matchAll(/<li>([0-9A-Z]{5}-[0-9A-Z]{5})<\/li>/g)].map((m) => m[1]!);
    expect(codes).toHaveLength(10);
    expect(done.body).toContain('href="/portal"');
    expect((await session(done)).mfa).toBe('totp');
    expect(await t.core.recoveryCodes.status(t.ctx, user.id)).toMatchObject({ remaining: 10 });

    // From now on the password step asks for the code, and enrollment is closed to this sign-in.
    t.clock.now = atStep(STEP + 2, 5);
    const next = await signIn();
    expect(next.headers.location).toBe(url('/mfa'));
    expect((await form(url('/enroll/totp'), {}, pendingOf(next))).statusCode).toBe(303);
    const passed = await form(url('/mfa'), { code: codes[0]! }, pendingOf(next));
    expect(passed.headers.location).toBe('/portal');

    const journal = await t.core.journal.list(t.ctx, 0, 1000);
    const enrollments = journal.filter((e) => e.objectId === user.id && e.operation === 'mfa_enroll');
    expect(enrollments.length).toBeGreaterThanOrEqual(3);
    expect(enrollments.every((e) => e.actorType === 'user' && e.actorId === user.id && e.origin === 'sso')).toBe(true);
    expect(JSON.stringify(journal)).not.toContain(secret);
  });

  it('answers JSON clients at each step', async () => {
    await requireMfa();
    const pw = await json(url(), { username: 'ann.smith', password: PASSWORD, return: '/portal' });
    expect(pw.json()).toEqual({ status: 'enrollment_required', methods: ['totp', 'webauthn'], optional: false, until: null });
    const start = await json(url('/enroll/totp'), {}, pendingOf(pw));
    const { secret, otpauthUri } = start.json();
    expect(otpauthUri).toContain(`secret=${secret}`);
    const done = await json(url('/enroll/totp/confirm'), { code: await codeAt(secret) }, pendingOf(start));
    expect(done.json()).toMatchObject({ status: 'signed_in', return: '/portal' });
    expect(done.json().recoveryCodes).toHaveLength(10);
  });

  it('refuses users without a factor when the org does not let them enroll themselves', async () => {
    await requireMfa({ required: true, selfEnrollment: false });
    const pw = await signIn();
    expect(pw.statusCode).toBe(403);
    expect(pw.body).toContain('requires two-step verification');
    expect(cookiesOf(pw).roster_session).toBeUndefined();
    const refused = (await t.core.journal.list(t.ctx, 0, 1000)).filter((e) => e.operation === 'sign_in').map((e) => e.details);
    expect(refused).toContainEqual(expect.objectContaining({ result: 'refused', reason: 'MFA_ENROLLMENT_REQUIRED', userId: user.id }));
  });

  it('asks one user for a second factor through their own flag, and lets an exempt user through', async () => {
    const other = await t.core.users.create(t.ctx, { username: 'bob', email: 'bob@example.com', password: PASSWORD, state: 'ACTIVATED' });
    await t.core.users.update(t.ctx, user.id, { mfaRequired: true });
    expect((await signIn()).headers.location).toBe(url('/enroll'));
    expect((await form(url(), { username: 'bob', password: PASSWORD, return: '/portal' })).headers.location).toBe('/portal');

    await t.core.users.update(t.ctx, user.id, { mfaExclusion: true });
    expect((await signIn()).headers.location).toBe('/portal');
    void other;
  });

  it('offers enrollment during an enrollment period, lets the user put it off, and requires it once the period ends', async () => {
    await requireMfa();
    const until = new Date(t.clock.now.getTime() + 3 * 86_400_000).toISOString();
    await t.core.users.update(t.ctx, user.id, { mfaExclusion: true, mfaExclusionUntil: until });
    const pw = await signIn();
    expect(pw.headers.location).toBe(url('/enroll'));
    const page = await get(url('/enroll'), pendingOf(pw));
    expect(page.body).toContain('Not now');
    expect(page.body).toContain('You can put this off until');
    const skipped = await form(url('/enroll/skip'), {}, pendingOf(pw));
    expect(skipped.headers.location).toBe('/portal');
    expect((await session(skipped)).mfa).toBeNull();

    t.clock.now = new Date(Date.parse(until) + 1000);
    const late = await signIn();
    expect(late.headers.location).toBe(url('/enroll'));
    expect((await get(url('/enroll'), pendingOf(late))).body).not.toContain('Not now');
    const refused = await form(url('/enroll/skip'), {}, pendingOf(late));
    expect(refused.statusCode).toBe(303);
    expect(cookiesOf(refused).roster_session).toBeUndefined();
  });

  it('refuses to enroll a factor for a user who has one, even with an enrollment step in hand', async () => {
    await requireMfa();
    const pw = await signIn();
    const pending = pendingOf(pw);
    // Meanwhile the user (or an administrator) enrolled a factor elsewhere.
    const { secret } = await t.core.credentials.enrollTotp(t.ctx, user.id);
    await t.core.credentials.confirmTotp(t.ctx, user.id, await codeAt(secret, STEP - 1));
    const start = await form(url('/enroll/totp'), {}, pending);
    expect(start.statusCode).toBe(401);
    expect(start.body).toContain('already set up');
    expect(await t.core.credentials.totpStatus(t.ctx, user.id)).toMatchObject({ confirmed: true });
    const options = await json(url('/enroll/webauthn/options'), {}, pending);
    expect(options.statusCode).toBe(409);
  });

  describe('security keys and passkeys', () => {
    const enrollKey = async (authenticator: SoftAuthenticator, resident = true) => {
      await requireMfa();
      const pw = await signIn();
      const options = await json(url('/enroll/webauthn/options'), {}, pendingOf(pw));
      expect(options.statusCode).toBe(200);
      const { options: publicKey } = options.json();
      expect(publicKey.rp).toEqual({ id: HOST, name: 'Test Org' });
      const credential = authenticator.create(publicKey, { resident });
      const done = await form(url('/enroll/webauthn'), { response: JSON.stringify(credential), name: 'Desk key' }, pendingOf(options));
      expect(done.statusCode, done.body).toBe(200);
      expect(done.body).toContain('Save your recovery codes');
      expect((await session(done)).mfa).toBe('webauthn');
      return credential;
    };

    it('enrolls a security key at sign-in, then takes it as the second factor; an answer to an old challenge is refused', async () => {
      const authenticator = new SoftAuthenticator({ origin: ORIGIN, rpId: HOST });
      await enrollKey(authenticator);
      expect(await t.core.webauthn.list(t.ctx, user.id)).toEqual([expect.objectContaining({ name: 'Desk key' })]);

      const pw = await signIn();
      expect(pw.headers.location).toBe(url('/mfa'));
      const page = await get(url('/mfa'), pendingOf(pw));
      expect(page.body).toContain('Use your security key or passkey');
      expect(page.body).not.toContain('authenticator app, or a recovery code');
      const options = await json(url('/webauthn/options'), {}, pendingOf(pw));
      const assertion = authenticator.get(options.json().options);
      const passed = await form(url('/webauthn'), { response: JSON.stringify(assertion) }, pendingOf(options));
      expect(passed.statusCode, passed.body).toBe(303);
      expect(passed.headers.location).toBe('/portal');
      expect((await session(passed)).mfa).toBe('webauthn');

      // The same answer again, to a new challenge: refused, and the page offers the key again.
      const again = await signIn();
      const fresh = await json(url('/webauthn/options'), {}, pendingOf(again));
      const replayed = await form(url('/webauthn'), { response: JSON.stringify(assertion) }, pendingOf(fresh));
      expect(replayed.statusCode).toBe(401);
      expect(replayed.body).toContain('was not accepted');
      expect(cookiesOf(replayed).roster_session).toBeUndefined();
      // A challenge answers once: the cookie the refusal left has none outstanding.
      const twice = await form(url('/webauthn'), { response: JSON.stringify(authenticator.get(fresh.json().options)) }, pendingOf(replayed));
      expect(twice.statusCode).toBe(303);
      expect(twice.headers.location).toBe(url());
    });

    it('signs in with a passkey alone, asking for user verification; a suspended user cannot', async () => {
      const authenticator = new SoftAuthenticator({ origin: ORIGIN, rpId: HOST });
      await enrollKey(authenticator);

      const options = await json(url('/passkey/options'), { return: '/apps' });
      const { options: publicKey } = options.json();
      expect(publicKey.allowCredentials ?? []).toEqual([]);
      expect(publicKey.userVerification).toBe('required');
      const unverified = await form(url('/passkey'), { response: JSON.stringify(authenticator.get(publicKey, { userVerified: false })) }, pendingOf(options));
      expect(unverified.statusCode).toBe(401);
      expect(cookiesOf(unverified).roster_session).toBeUndefined();

      const again = await json(url('/passkey/options'), { return: '/apps' });
      const passed = await form(url('/passkey'), { response: JSON.stringify(authenticator.get(again.json().options)) }, pendingOf(again));
      expect(passed.statusCode, passed.body).toBe(303);
      expect(passed.headers.location).toBe('/apps');
      expect((await session(passed)).mfa).toBe('passkey');

      await t.core.users.update(t.ctx, user.id, { state: 'SUSPENDED' });
      const third = await json(url('/passkey/options'), {});
      const refused = await form(url('/passkey'), { response: JSON.stringify(authenticator.get(third.json().options)) }, pendingOf(third));
      expect(refused.statusCode).toBe(401);
      expect(refused.body).toContain('The username or password is incorrect.');
    });

    it('refuses malformed WebAuthn answers with the page, never an error', async () => {
      const authenticator = new SoftAuthenticator({ origin: ORIGIN, rpId: HOST });
      await enrollKey(authenticator);
      const pw = await signIn();
      const options = await json(url('/webauthn/options'), {}, pendingOf(pw));
      for (const response of ['', 'not json', '{"id":1}', JSON.stringify({ ...authenticator.get(options.json().options), type: 'x' }), 'x'.repeat(70_000)]) {
        const res = await form(url('/webauthn'), { response }, pendingOf(options));
        expect([401, 303]).toContain(res.statusCode);
      }
    });
  });
});
