import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DirectoryCore } from '../core/directory.js';
import { isWellFormedId, type OrgId } from '../core/ids.js';
import type { Organization } from '../core/model.js';
import type { PendingSignIn, SignInContext, SignInRefusal, SignInStep } from '../core/services/sign-in.js';
import type { RelyingParty } from '../core/services/webauthn.js';
import { enrollmentPage, messagePage, recoveryCodesPage, secondFactorPage, signInPage, totpEnrollmentPage, WEBAUTHN_SCRIPT } from './pages.js';
import { WEBAUTHN_SCRIPT_SOURCE } from './webauthn-script.js';
import QRCode from 'qrcode';

export const SESSION_COOKIE = 'roster_session';
const PENDING_COOKIE = 'roster_sign_in';

/** What a person is told for each refusal: one message for every wrong-credential case, so the page reveals no more than it must. */
const MESSAGES: Record<SignInRefusal, string> = {
  INVALID_CREDENTIALS: 'The username or password is incorrect.',
  PASSWORD_EXPIRED: 'Your password has expired. Ask your administrator to reset it.',
  ACCOUNT_LOCKED: 'The username or password is incorrect, or the account is locked. Try again later or ask your administrator.',
  SUSPENDED: 'The username or password is incorrect.',
  NOT_ACTIVATED: 'The username or password is incorrect.',
  NOT_ASSOCIATED: 'Your account does not have access to this application. Ask your administrator for access.',
  CREDENTIAL_UNAVAILABLE: 'The username or password is incorrect.',
  INVALID_TOTP: 'That code is not correct. Enter the current code from your authenticator app.',
  TOTP_REPLAYED: 'That code has already been used. Wait for the next code.',
  INVALID_RECOVERY_CODE: 'That recovery code is not correct, or has been used.',
  INVALID_WEBAUTHN: 'That security key or passkey was not accepted. Try again, or use another way to sign in.',
  WEBAUTHN_CLONED: 'That security key was refused because it may have been copied. Ask your administrator.',
  MFA_ENROLLMENT_REQUIRED: 'Your organization requires two-step verification, and your account has none set up. Ask your administrator to set it up.',
  ALREADY_ENROLLED: 'Two-step verification is already set up for your account. Sign in again.',
};

/**
 * The reason a JSON client is given: the wrong-credential cases share one, as they share one
 * message, so an answer never tells whether an account exists or is suspended.
 */
const publicReason = (reason: SignInRefusal): SignInRefusal =>
  reason === 'SUSPENDED' || reason === 'NOT_ACTIVATED' || reason === 'CREDENTIAL_UNAVAILABLE' ? 'INVALID_CREDENTIALS' : reason;

/** Refusals shown on the page of the step that failed, not on the password page. */
const SECOND_STEP: ReadonlySet<SignInRefusal> = new Set(['INVALID_TOTP', 'TOTP_REPLAYED', 'INVALID_RECOVERY_CODE', 'INVALID_WEBAUTHN', 'WEBAUTHN_CLONED']);

/** Where to send someone who must sign in first, to come back to `returnTo` (a path on this server). */
export const signInUrl = (orgId: string, returnTo: string) => `/sso/${orgId}/sign-in?return=${encodeURIComponent(safeReturn(returnTo))}`;

/**
 * The signed-in user of a request, from its session cookie; undefined when there is none or it
 * has ended. The route's scope must parse cookies (@fastify/cookie).
 */
export function signedIn(core: DirectoryCore, request: FastifyRequest) {
  return core.signIn.resume(request.cookies?.[SESSION_COOKIE] ?? '');
}

/** Only a path on this server: anything else (another host, `//host`, a scheme) returns to the start. */
export function safeReturn(value: unknown): string {
  if (typeof value !== 'string' || value.length > 2048) return '/';
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\') || /[\u0000-\u001f]/.test(value)) return '/';
  return value;
}

const wantsJson = (request: FastifyRequest) =>
  String(request.headers['content-type'] ?? '').startsWith('application/json') || String(request.headers.accept ?? '').startsWith('application/json');

/** A POST from another site's page is refused: the browser names the page's origin, and it must be this server's. */
function crossSite(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined || origin === 'null') return origin === 'null';
  try {
    return new URL(origin).host !== request.host;
  } catch {
    return true;
  }
}

const cookieOptions = (request: FastifyRequest, maxAgeSeconds: number) => ({
  path: '/',
  httpOnly: true,
  sameSite: 'lax' as const,
  secure: request.protocol === 'https',
  maxAge: maxAgeSeconds,
});

export interface SignInOptions {
  /**
   * The address users reach Roster at (ROSTER_PUBLIC_URL). Security keys and passkeys are bound
   * to its host name; without it, to the host of each request.
   */
  publicUrl?: string;
}

type OrgRequest<B = unknown> = FastifyRequest<{ Params: { org: string }; Body: B }>;

/** A WebAuthn credential as the browser posts it: JSON, in a JSON body or a form's `response` field. */
function credentialOf(body: unknown): unknown {
  const raw = (body as { response?: unknown } | undefined)?.response;
  if (typeof raw !== 'string') return raw;
  if (raw.length > 64 * 1024) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Users signing in, at /sso/{org id}/sign-in: a password form (or a passkey), then the second
 * factor the user has (an authenticator app's code, a security key or passkey, or a recovery
 * code), or, when the policy asks for one the user lacks, its enrollment (a QR code for an
 * authenticator app, or a security key) with a first set of recovery codes; then a session cookie
 * (HttpOnly, SameSite=Lax, Secure over HTTPS). The same endpoints answer JSON to clients that send
 * or accept it. Single sign-on (SAML, OIDC) and the user portal send people here and read the
 * session back.
 */
export async function signInRoutes(app: FastifyInstance, core: DirectoryCore, options: SignInOptions = {}): Promise<void> {
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 96 * 1024 });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-frame-options', 'DENY');
    reply.header(
      'content-security-policy',
      "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
  });

  const where = (request: FastifyRequest): SignInContext => ({ ip: request.ip, userAgent: String(request.headers['user-agent'] ?? ''), origin: 'sso' });
  const orgOf = async (request: OrgRequest) => {
    const id = request.params.org;
    return isWellFormedId(id) ? core.store.read.orgs.findById(id as OrgId) : undefined;
  };
  const noOrg = (reply: FastifyReply) => reply.code(404).type('text/html').send(messagePage('Not found', 'There is no organization at this address.'));
  const refusedCrossSite = (reply: FastifyReply) => reply.code(403).type('text/html').send(messagePage('Refused', 'This sign-in did not come from this site.'));
  const base = (orgId: string) => `/sso/${orgId}/sign-in`;
  const publicUrl = options.publicUrl ? new URL(options.publicUrl) : undefined;
  /** Security keys belong to a host name: the public address's, or the request's. */
  const relyingParty = (request: FastifyRequest, org: Organization): RelyingParty =>
    publicUrl
      ? { id: publicUrl.hostname, origin: publicUrl.origin, name: org.displayName }
      : { id: request.hostname, origin: `${request.protocol}://${request.host}`, name: org.displayName };

  const setPending = (request: FastifyRequest, reply: FastifyReply, pending: PendingSignIn) =>
    reply.setCookie(PENDING_COOKIE, core.signIn.sealPending(pending), { ...cookieOptions(request, 300), path: base(pending.orgId) });
  /** The sign-in in progress, if it belongs to this org and waits for one of `stages`. */
  const pendingOf = (request: FastifyRequest, org: Organization, ...stages: PendingSignIn['stage'][]) => {
    const pending = core.signIn.openPending(request.cookies[PENDING_COOKIE] ?? '');
    return pending && pending.orgId === org.id && stages.includes(pending.stage) ? pending : undefined;
  };
  const noPending = (request: FastifyRequest, reply: FastifyReply, org: Organization) =>
    wantsJson(request)
      ? reply.code(401).send({ status: 'refused', message: 'Sign in with your password first.' })
      : reply.code(303).redirect(base(org.id));

  /** Ends a sign-in step: a session (cookie, then the return path), the next step, or the refusal. */
  const finish = async (request: FastifyRequest, reply: FastifyReply, org: Organization, step: SignInStep, returnTo: string, username = '') => {
    const json = wantsJson(request);
    if (step.status === 'signed_in') {
      void reply.clearCookie(PENDING_COOKIE, { path: base(org.id) });
      void reply.setCookie(SESSION_COOKIE, step.token, cookieOptions(request, Math.floor((Date.parse(step.session.expires) - Date.parse(step.session.created)) / 1000)));
      if (json) return reply.send({ status: 'signed_in', expires: step.session.expires, return: returnTo, ...(step.recoveryCodes ? { recoveryCodes: step.recoveryCodes } : {}) });
      if (step.recoveryCodes) return reply.type('text/html').send(recoveryCodesPage({ orgName: org.displayName, codes: step.recoveryCodes, continueTo: returnTo }));
      return reply.code(303).redirect(returnTo);
    }
    if (step.status === 'mfa_required') {
      void setPending(request, reply, { orgId: org.id, userId: step.user.id, returnTo, stage: 'mfa' });
      return json ? reply.send({ status: 'mfa_required', methods: step.methods }) : reply.code(303).redirect(`${base(org.id)}/mfa`);
    }
    if (step.status === 'enrollment_required') {
      void setPending(request, reply, { orgId: org.id, userId: step.user.id, returnTo, stage: step.optional ? 'enroll_optional' : 'enroll' });
      if (json) return reply.send({ status: 'enrollment_required', methods: step.methods, optional: step.optional, until: step.until });
      return reply.code(303).redirect(`${base(org.id)}/enroll`);
    }
    const message = MESSAGES[step.reason];
    const code = step.reason === 'NOT_ASSOCIATED' || step.reason === 'MFA_ENROLLMENT_REQUIRED' ? 403 : 401;
    if (json) return reply.code(code).send({ status: 'refused', reason: publicReason(step.reason), message });
    const pending = core.signIn.openPending(request.cookies[PENDING_COOKIE] ?? '');
    let page: string;
    if (SECOND_STEP.has(step.reason) && pending?.stage === 'mfa' && pending.userId) {
      page = secondFactorPage({ orgName: org.displayName, action: base(org.id), methods: await core.mfa.factorsOf(org.id, pending.userId), error: message });
    } else if (SECOND_STEP.has(step.reason) && (pending?.stage === 'enroll' || pending?.stage === 'enroll_optional') && pending.userId) {
      page = enrollmentPage({ orgName: org.displayName, action: `${base(org.id)}/enroll`, optional: pending.stage === 'enroll_optional', until: null, error: message });
    } else {
      page = signInPage({ orgName: org.displayName, action: base(org.id), returnTo, username, error: message });
    }
    return reply.code(code).type('text/html').send(page);
  };

  const totpPage = async (org: Organization, secret: string, uri: string, error?: string) =>
    totpEnrollmentPage({
      orgName: org.displayName,
      action: `${base(org.id)}/enroll/totp/confirm`,
      qrSvg: await QRCode.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' }),
      secret,
      ...(error ? { error } : {}),
    });

  app.get(WEBAUTHN_SCRIPT.slice('/sso'.length), async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(WEBAUTHN_SCRIPT_SOURCE),
  );

  app.get<{ Params: { org: string }; Querystring: { return?: string } }>('/:org/sign-in', async (request, reply) => {
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    return reply.type('text/html').send(signInPage({ orgName: org.displayName, action: base(org.id), returnTo: safeReturn(request.query.return) }));
  });

  app.post<{ Params: { org: string }; Body: { username?: unknown; password?: unknown; return?: unknown } | undefined }>('/:org/sign-in', async (request, reply) => {
    if (crossSite(request)) return refusedCrossSite(reply);
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    const body = request.body ?? {};
    const returnTo = safeReturn(body.return);
    const username = typeof body.username === 'string' ? body.username.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    if (!username || !password || username.length > 256 || password.length > 1024) {
      return finish(request, reply, org, { status: 'refused', reason: 'INVALID_CREDENTIALS' }, returnTo, username.slice(0, 256));
    }
    return finish(request, reply, org, await core.signIn.password(org.id, username, password, where(request)), returnTo, username);
  });

  // Passkeys: the browser offers this site's passkeys; the one chosen names the user.
  app.post<{ Params: { org: string }; Body: { return?: unknown } | undefined }>('/:org/sign-in/passkey/options', async (request, reply) => {
    if (crossSite(request)) return refusedCrossSite(reply);
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    const { options: publicKey, challenge } = await core.signIn.webauthnOptions(org.id, null, relyingParty(request, org));
    void setPending(request, reply, { orgId: org.id, userId: null, returnTo: safeReturn(request.body?.return), stage: 'passkey', challenge });
    return reply.send({ options: publicKey });
  });

  app.post<{ Params: { org: string }; Body: { response?: unknown } | undefined }>('/:org/sign-in/passkey', async (request, reply) => {
    if (crossSite(request)) return refusedCrossSite(reply);
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    const pending = pendingOf(request, org, 'passkey');
    if (!pending?.challenge) return noPending(request, reply, org);
    const step = await core.signIn.passkey(org.id, credentialOf(request.body), pending.challenge, relyingParty(request, org), where(request));
    if (step.status !== 'signed_in') void reply.clearCookie(PENDING_COOKIE, { path: base(org.id) });
    return finish(request, reply, org, step, pending.returnTo);
  });

  app.get<{ Params: { org: string } }>('/:org/sign-in/mfa', async (request, reply) => {
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    const pending = pendingOf(request, org, 'mfa');
    if (!pending?.userId) return reply.code(303).redirect(base(org.id));
    const methods = await core.mfa.factorsOf(org.id, pending.userId);
    return reply.type('text/html').send(secondFactorPage({ orgName: org.displayName, action: base(org.id), methods }));
  });

  app.post<{ Params: { org: string }; Body: { code?: unknown } | undefined }>('/:org/sign-in/mfa', async (request, reply) => {
    if (crossSite(request)) return refusedCrossSite(reply);
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    const pending = pendingOf(request, org, 'mfa');
    if (!pending?.userId) return noPending(request, reply, org);
    const code = typeof request.body?.code === 'string' ? request.body.code.replace(/\s/g, '') : '';
    const step = /^(\d{6}|[0-9A-Za-z]{5}-?[0-9A-Za-z]{5})$/.test(code)
      ? await core.signIn.secondFactor(org.id, pending.userId, code, where(request))
      : ({ status: 'refused', reason: 'INVALID_TOTP' } as const);
    return finish(request, reply, org, step, pending.returnTo);
  });

  app.post<{ Params: { org: string } }>('/:org/sign-in/webauthn/options', async (request, reply) => {
    if (crossSite(request)) return refusedCrossSite(reply);
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    const pending = pendingOf(request, org, 'mfa');
    if (!pending?.userId) return noPending(request, reply, org);
    const { options: publicKey, challenge } = await core.signIn.webauthnOptions(org.id, pending.userId, relyingParty(request, org));
    void setPending(request, reply, { ...pending, challenge });
    return reply.send({ options: publicKey });
  });

  app.post<{ Params: { org: string }; Body: { response?: unknown } | undefined }>('/:org/sign-in/webauthn', async (request, reply) => {
    if (crossSite(request)) return refusedCrossSite(reply);
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    const pending = pendingOf(request, org, 'mfa');
    if (!pending?.userId || !pending.challenge) return noPending(request, reply, org);
    // A challenge answers once: the pending sign-in goes back to waiting without one.
    void setPending(request, reply, { orgId: pending.orgId, userId: pending.userId, returnTo: pending.returnTo, stage: 'mfa' });
    const step = await core.signIn.securityKey(org.id, pending.userId, credentialOf(request.body), pending.challenge, relyingParty(request, org), where(request));
    return finish(request, reply, org, step, pending.returnTo);
  });

  // Enrollment at sign-in, for users the policy asks for a second factor they do not have.
  app.get<{ Params: { org: string } }>('/:org/sign-in/enroll', async (request, reply) => {
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    const pending = pendingOf(request, org, 'enroll', 'enroll_optional');
    const user = pending?.userId ? await core.store.read.users.findById(org.id, pending.userId) : undefined;
    if (!pending || !user) return reply.code(303).redirect(base(org.id));
    const requirement = await core.mfa.requirementOf(user);
    return reply
      .type('text/html')
      .send(enrollmentPage({ orgName: org.displayName, action: `${base(org.id)}/enroll`, optional: pending.stage === 'enroll_optional', until: requirement.exemptUntil }));
  });

  app.post<{ Params: { org: string } }>('/:org/sign-in/enroll/totp', async (request, reply) => {
    if (crossSite(request)) return refusedCrossSite(reply);
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    const pending = pendingOf(request, org, 'enroll', 'enroll_optional');
    if (!pending?.userId) return noPending(request, reply, org);
    const started = await core.signIn.startTotpEnrollment(org.id, pending.userId, where(request));
    if (!started.ok) return finish(request, reply, org, { status: 'refused', reason: started.reason }, pending.returnTo);
    void setPending(request, reply, { ...pending, totpSecret: started.secret });
    if (wantsJson(request)) return reply.send({ secret: started.secret, otpauthUri: started.otpauthUri });
    return reply.type('text/html').send(await totpPage(org, started.secret, started.otpauthUri));
  });

  app.post<{ Params: { org: string }; Body: { code?: unknown } | undefined }>('/:org/sign-in/enroll/totp/confirm', async (request, reply) => {
    if (crossSite(request)) return refusedCrossSite(reply);
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    const pending = pendingOf(request, org, 'enroll', 'enroll_optional');
    if (!pending?.userId) return noPending(request, reply, org);
    const code = typeof request.body?.code === 'string' ? request.body.code.replace(/\s/g, '') : '';
    const step = await core.signIn.confirmTotpEnrollment(org.id, pending.userId, code, where(request));
    if (step.status === 'refused' && step.reason === 'INVALID_TOTP' && pending.totpSecret && !wantsJson(request)) {
      // A mistyped first code: the same QR code again, so the app already set up stays good.
      const user = await core.store.read.users.findById(org.id, pending.userId);
      const uri = user ? core.credentials.totpUri(user, pending.totpSecret) : '';
      return reply.code(401).type('text/html').send(await totpPage(org, pending.totpSecret, uri, MESSAGES.INVALID_TOTP));
    }
    return finish(request, reply, org, step, pending.returnTo);
  });

  app.post<{ Params: { org: string } }>('/:org/sign-in/enroll/webauthn/options', async (request, reply) => {
    if (crossSite(request)) return refusedCrossSite(reply);
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    const pending = pendingOf(request, org, 'enroll', 'enroll_optional');
    if (!pending?.userId) return noPending(request, reply, org);
    const started = await core.signIn.webauthnEnrollmentOptions(org.id, pending.userId, relyingParty(request, org), where(request));
    if (!started.ok) return reply.code(409).send({ status: 'refused', reason: started.reason, message: MESSAGES[started.reason] });
    void setPending(request, reply, { ...pending, challenge: started.challenge });
    return reply.send({ options: started.options });
  });

  app.post<{ Params: { org: string }; Body: { response?: unknown; name?: unknown } | undefined }>('/:org/sign-in/enroll/webauthn', async (request, reply) => {
    if (crossSite(request)) return refusedCrossSite(reply);
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    const pending = pendingOf(request, org, 'enroll', 'enroll_optional');
    if (!pending?.userId || !pending.challenge) return noPending(request, reply, org);
    void setPending(request, reply, { orgId: pending.orgId, userId: pending.userId, returnTo: pending.returnTo, stage: pending.stage });
    const name = typeof request.body?.name === 'string' && request.body.name.trim() ? request.body.name : undefined;
    const step = await core.signIn.confirmWebauthnEnrollment(org.id, pending.userId, credentialOf(request.body), pending.challenge, relyingParty(request, org), where(request), name);
    return finish(request, reply, org, step, pending.returnTo);
  });

  app.post<{ Params: { org: string } }>('/:org/sign-in/enroll/skip', async (request, reply) => {
    if (crossSite(request)) return refusedCrossSite(reply);
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    const pending = pendingOf(request, org, 'enroll_optional');
    if (!pending?.userId) return noPending(request, reply, org);
    return finish(request, reply, org, await core.signIn.skipEnrollment(org.id, pending.userId, where(request)), pending.returnTo);
  });

  app.post('/sign-out', async (request, reply) => {
    if (crossSite(request)) return reply.code(403).type('text/html').send(messagePage('Refused', 'This sign-out did not come from this site.'));
    const token = request.cookies[SESSION_COOKIE];
    if (token) await core.signIn.signOut(token, where(request));
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return wantsJson(request) ? reply.send({ status: 'signed_out' }) : reply.type('text/html').send(messagePage('Signed out', 'You have signed out.'));
  });

  /** The signed-in user, for the user portal and single sign-on; 401 without a good session. */
  app.get('/session', async (request, reply) => {
    const found = await core.signIn.resume(request.cookies[SESSION_COOKIE] ?? '');
    if (!found) return reply.code(401).send({ status: 'signed_out' });
    const { user, session } = found;
    return {
      user: { id: user.id, organization: user.orgId, username: user.username, email: user.email, displayName: user.displayname || [user.firstname, user.lastname].filter(Boolean).join(' ') },
      session: { created: session.created, expires: session.expires, idleExpires: session.idleExpires, mfa: session.mfa || null },
    };
  });
}

/** Mounts the sign-in pages on the HTTP server at /sso. */
export async function registerSignIn(app: FastifyInstance, core: DirectoryCore, options: SignInOptions = {}): Promise<void> {
  await app.register(async (scope) => signInRoutes(scope, core, options), { prefix: '/sso' });
}
