import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DirectoryCore } from '../core/directory.js';
import { isWellFormedId, type OrgId } from '../core/ids.js';
import type { SignInContext, SignInRefusal, SignInStep } from '../core/services/sign-in.js';
import { messagePage, secondFactorPage, signInPage } from './pages.js';

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
};

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

/**
 * Users signing in, at /sso/{org id}/sign-in: a password form, then a TOTP form for users who
 * have one, then a session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS). The same endpoints
 * answer JSON to clients that send or accept it. Single sign-on (SAML, OIDC) and the user portal
 * send people here and read the session back.
 */
export async function signInRoutes(app: FastifyInstance, core: DirectoryCore): Promise<void> {
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-frame-options', 'DENY');
    reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
  });

  const where = (request: FastifyRequest): SignInContext => ({ ip: request.ip, userAgent: String(request.headers['user-agent'] ?? ''), origin: 'sso' });
  const orgOf = async (request: FastifyRequest<{ Params: { org: string } }>) => {
    const id = request.params.org;
    return isWellFormedId(id) ? core.store.read.orgs.findById(id as OrgId) : undefined;
  };
  const noOrg = (reply: FastifyReply) => reply.code(404).type('text/html').send(messagePage('Not found', 'There is no organization at this address.'));
  const base = (orgId: string) => `/sso/${orgId}/sign-in`;

  /** Ends a sign-in step: a session (cookie, then the return path), the second-factor form, or the refusal. */
  const finish = (request: FastifyRequest, reply: FastifyReply, orgId: string, orgName: string, step: SignInStep, returnTo: string, username = '') => {
    const json = wantsJson(request);
    if (step.status === 'signed_in') {
      void reply.clearCookie(PENDING_COOKIE, { path: base(orgId) });
      void reply.setCookie(SESSION_COOKIE, step.token, cookieOptions(request, Math.floor((Date.parse(step.session.expires) - Date.parse(step.session.created)) / 1000)));
      return json ? reply.send({ status: 'signed_in', expires: step.session.expires, return: returnTo }) : reply.code(303).redirect(returnTo);
    }
    if (step.status === 'mfa_required') {
      void reply.setCookie(PENDING_COOKIE, core.signIn.sealPending(step.user, returnTo), { ...cookieOptions(request, 300), path: base(orgId) });
      return json ? reply.send({ status: 'mfa_required', methods: step.methods }) : reply.code(303).redirect(`${base(orgId)}/mfa`);
    }
    const message = MESSAGES[step.reason];
    const code = step.reason === 'NOT_ASSOCIATED' ? 403 : 401;
    if (json) return reply.code(code).send({ status: 'refused', message });
    const page = ['INVALID_TOTP', 'TOTP_REPLAYED', 'INVALID_RECOVERY_CODE'].includes(step.reason)
      ? secondFactorPage({ orgName, action: `${base(orgId)}/mfa`, error: message })
      : signInPage({ orgName, action: base(orgId), returnTo, username, error: message });
    return reply.code(code).type('text/html').send(page);
  };

  app.get<{ Params: { org: string }; Querystring: { return?: string } }>('/:org/sign-in', async (request, reply) => {
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    return reply.type('text/html').send(signInPage({ orgName: org.displayName, action: base(org.id), returnTo: safeReturn(request.query.return) }));
  });

  app.post<{ Params: { org: string }; Body: { username?: unknown; password?: unknown; return?: unknown } | undefined }>('/:org/sign-in', async (request, reply) => {
    if (crossSite(request)) return reply.code(403).type('text/html').send(messagePage('Refused', 'This sign-in did not come from this site.'));
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    const body = request.body ?? {};
    const returnTo = safeReturn(body.return);
    const username = typeof body.username === 'string' ? body.username.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    if (!username || !password || username.length > 256 || password.length > 1024) {
      return finish(request, reply, org.id, org.displayName, { status: 'refused', reason: 'INVALID_CREDENTIALS' }, returnTo, username.slice(0, 256));
    }
    return finish(request, reply, org.id, org.displayName, await core.signIn.password(org.id, username, password, where(request)), returnTo, username);
  });

  app.get<{ Params: { org: string } }>('/:org/sign-in/mfa', async (request, reply) => {
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    const pending = core.signIn.openPending(request.cookies[PENDING_COOKIE] ?? '');
    if (!pending || pending.orgId !== org.id) return reply.code(303).redirect(base(org.id));
    return reply.type('text/html').send(secondFactorPage({ orgName: org.displayName, action: `${base(org.id)}/mfa` }));
  });

  app.post<{ Params: { org: string }; Body: { code?: unknown } | undefined }>('/:org/sign-in/mfa', async (request, reply) => {
    if (crossSite(request)) return reply.code(403).type('text/html').send(messagePage('Refused', 'This sign-in did not come from this site.'));
    const org = await orgOf(request);
    if (!org) return noOrg(reply);
    const pending = core.signIn.openPending(request.cookies[PENDING_COOKIE] ?? '');
    if (!pending || pending.orgId !== org.id) {
      if (wantsJson(request)) return reply.code(401).send({ status: 'refused', message: 'Sign in with your password first.' });
      return reply.code(303).redirect(base(org.id));
    }
    const code = typeof request.body?.code === 'string' ? request.body.code.replace(/\s/g, '') : '';
    const step = /^(\d{6}|[0-9A-Za-z]{5}-?[0-9A-Za-z]{5})$/.test(code)
      ? await core.signIn.secondFactor(org.id, pending.userId, code, where(request))
      : ({ status: 'refused', reason: 'INVALID_TOTP' } as const);
    return finish(request, reply, org.id, org.displayName, step, pending.returnTo);
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
export async function registerSignIn(app: FastifyInstance, core: DirectoryCore): Promise<void> {
  await app.register(async (scope) => signInRoutes(scope, core), { prefix: '/sso' });
}
