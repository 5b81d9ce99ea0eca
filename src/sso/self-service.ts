import cookie from '@fastify/cookie';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { Type } from 'typebox';
import { selfContext, systemContext, type Context } from '../core/context.js';
import { conflict, DirectoryError, forbidden, invalid, notFound, unauthenticated } from '../core/errors.js';
import type { ApplicationId, OrgId } from '../core/ids.js';
import type { Application, Organization, User, UserSession } from '../core/model.js';
import type { RelyingParty } from '../core/services/webauthn.js';
import { SESSION_COOKIE } from './sign-in.js';

const tags = ['Roster extensions'];
const WEBAUTHN_COOKIE = 'roster_self_webauthn';
const PREFIX = '/api/self';

const Ok = Type.Object({}, { additionalProperties: true });
/** Answers in the API's error shape (the `Error` schema the HTTP server registers). */
const errorRef = Type.Unsafe<unknown>({ $ref: 'Error#' });
const errorResponses = (...codes: number[]) => Object.fromEntries([400, 401, 403, ...codes].map((code) => [code, errorRef]));
const errors = errorResponses(404, 409);

declare module 'fastify' {
  interface FastifyRequest {
    self: { user: User; session: UserSession; org: Organization; ctx: Context } | null;
  }
}

/** Where an application opens from the user portal: SAML applications through Roster; others at their own address. */
function launchUrl(app: Application): string | null {
  if (app.sso.type === 'saml') return `/saml/${app.id}/start`;
  return /^https?:\/\//i.test(app.ssoUrl) ? app.ssoUrl : null;
}

/** A browser-session request must come from Roster's own pages (as the admin portal's). */
function fromPortal(request: FastifyRequest): void {
  if (request.headers['x-requested-with'] !== 'roster') {
    throw forbidden('PORTAL_HEADER_MISSING', 'Requests signed in with a browser session must send the header x-requested-with: roster');
  }
  const origin = request.headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host !== request.host) throw forbidden('CROSS_SITE_REQUEST', 'This request came from another site');
}

export interface SelfServiceOptions {
  /** The public address (ROSTER_PUBLIC_URL) security keys are bound to; else each request's host. */
  publicUrl?: string;
}

/**
 * The user portal's API, at /api/self: the signed-in user (the single sign-on session cookie)
 * reads their account and the org's password policy, changes their password (which a connected
 * directory may refuse), manages their second factors (authenticator app, security keys and
 * passkeys, recovery codes) and lists the applications they may open. Every change is journaled
 * with the user as the actor, origin `portal`.
 */
export const selfServiceRoutes: FastifyPluginAsyncTypebox<SelfServiceOptions> = async (app, options) => {
  await app.register(cookie);
  const core = app.core;
  const publicUrl = options.publicUrl ? new URL(options.publicUrl) : undefined;
  const relyingParty = (request: FastifyRequest, org: Organization): RelyingParty =>
    publicUrl
      ? { id: publicUrl.hostname, origin: publicUrl.origin, name: org.displayName }
      : { id: request.hostname, origin: `${request.protocol}://${request.host}`, name: org.displayName };

  app.decorateRequest('self', null);
  app.addHook('onRequest', async (request) => {
    fromPortal(request);
    const found = await core.signIn.resume(request.cookies[SESSION_COOKIE] ?? '');
    if (!found) throw unauthenticated('SESSION_EXPIRED', 'Your session has ended; sign in again');
    const org = await core.store.read.orgs.findById(found.user.orgId);
    if (!org) throw unauthenticated('SESSION_EXPIRED', 'Your session has ended; sign in again');
    request.self = { ...found, org, ctx: selfContext(found.user, 'portal') };
  });
  const me = (request: FastifyRequest) => request.self!;

  const factors = async (user: User) => {
    const ctx = systemContext(user.orgId, 'portal');
    const [totp, keys, codes, requirement] = await Promise.all([
      core.credentials.totpStatus(ctx, user.id),
      core.webauthn.list(ctx, user.id),
      core.recoveryCodes.status(ctx, user.id),
      core.mfa.requirementOf(user),
    ]);
    return {
      required: requirement.required,
      exemptUntil: requirement.exemptUntil,
      totp: totp.confirmed,
      webauthn: keys,
      recoveryCodes: { total: codes.total, remaining: codes.remaining, created: codes.created },
    };
  };

  app.get(PREFIX, {
    schema: { tags, summary: 'User portal: the signed-in user, their organization\'s password policy and their second factors', security: [], response: { 200: Ok, ...errors } },
  }, async (request) => {
    const { user, session, org } = me(request);
    const policy = org.settings.passwordPolicy;
    return {
      user: {
        id: user.id,
        username: user.username,
        email: user.email,
        firstname: user.firstname,
        lastname: user.lastname,
        displayName: user.displayname || [user.firstname, user.lastname].filter(Boolean).join(' ') || user.username,
        passwordExpirationDate: user.passwordExpirationDate,
      },
      organization: { id: org.id, displayName: org.displayName },
      passwordPolicy: {
        minLength: policy.minLength,
        needsLowercase: policy.needsLowercase,
        needsUppercase: policy.needsUppercase,
        needsNumeric: policy.needsNumeric,
        needsSymbolic: policy.needsSymbolic,
        allowUsernameSubstring: policy.allowUsernameSubstring,
        maxHistory: policy.maxHistory,
        passwordExpirationInDays: policy.passwordExpirationInDays,
      },
      mfa: await factors(user),
      session: { created: session.created, expires: session.expires, mfa: session.mfa || null },
    };
  });

  app.post(`${PREFIX}/password`, {
    schema: {
      tags,
      summary: 'User portal: change one\'s own password',
      description:
        'The current password must verify (wrong ones count towards lockout: 400 INVALID_CURRENT_PASSWORD, or 423 when it locked the account). ' +
        'The new one must meet the policy (400 with a detail per rule). A connected directory that refuses it answers 400 PASSWORD_REFUSED_BY_DIRECTORY ' +
        'with its reason; a password that a directory manages is 409 PASSWORD_MANAGED_BY_DIRECTORY. A new password ends every session of the user, this one included.',
      security: [],
      body: Type.Object({ currentPassword: Type.String({ minLength: 1, maxLength: 1024 }), newPassword: Type.String({ minLength: 1, maxLength: 1024 }) }),
      response: { 200: Ok, ...errorResponses(400, 401, 403, 423) },
    },
  }, async (request) => {
    const { user } = me(request);
    const { currentPassword, newPassword } = request.body;
    if (currentPassword === newPassword) throw invalid('PASSWORD_UNCHANGED', 'The new password must differ from the current one', [{ field: 'newPassword', reason: 'UNCHANGED', message: 'is the current password' }]);
    const result = await core.authentication.changePassword(user.orgId, user.username, currentPassword, newPassword, 'portal');
    if (!result.ok) {
      if (result.reason === 'ACCOUNT_LOCKED') throw new DirectoryError('locked', 'ACCOUNT_LOCKED', 'Too many wrong passwords: your account is locked. Try again later or ask your administrator.');
      throw invalid('INVALID_CURRENT_PASSWORD', 'The current password is not correct', [{ field: 'currentPassword', reason: 'INVALID', message: 'is not correct' }]);
    }
    return { status: 'changed', signInAgain: true };
  });

  app.post(`${PREFIX}/totp`, {
    schema: { tags, summary: 'User portal: start setting up an authenticator app (secret, otpauth URI and QR code; shown once)', security: [], response: { 201: Ok, ...errors } },
  }, async (request, reply) => {
    const { user, ctx } = me(request);
    if ((await core.credentials.totpStatus(ctx, user.id)).confirmed) throw conflict('TOTP_ALREADY_CONFIRMED', 'An authenticator app is already set up; remove it first to set up another');
    const started = await core.credentials.enrollTotp(ctx, user.id);
    const qrSvg = await QRCode.toString(started.otpauthUri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    return reply.code(201).send({ ...started, qrSvg });
  });

  app.post(`${PREFIX}/totp/confirm`, {
    schema: {
      tags,
      summary: 'User portal: finish setting up the authenticator app with its first code',
      description: 'A user who had no second factor before also gets a first set of 10 recovery codes, shown once.',
      security: [],
      body: Type.Object({ code: Type.String({ minLength: 1, maxLength: 16 }) }),
      response: { 200: Ok, ...errors },
    },
  }, async (request) => {
    const { user, ctx } = me(request);
    const before = await factors(user);
    await core.credentials.confirmTotp(ctx, user.id, request.body.code.replace(/\s/g, ''));
    const first = before.webauthn.length === 0 && before.recoveryCodes.remaining === 0;
    return { totp: true, ...(first ? { recoveryCodes: await core.recoveryCodes.generate(ctx, user.id) } : {}) };
  });

  app.delete(`${PREFIX}/totp`, {
    schema: { tags, summary: 'User portal: remove one\'s authenticator app', security: [], response: { 200: Ok, ...errors } },
  }, async (request) => {
    const { user, ctx } = me(request);
    if (!(await core.credentials.resetTotp(ctx, user.id))) throw notFound('TOTP_NOT_ENROLLED', 'No authenticator app is set up');
    return { totp: false };
  });

  app.post(`${PREFIX}/webauthn/options`, {
    schema: { tags, summary: 'User portal: options for registering a security key or passkey (navigator.credentials.create)', security: [], response: { 200: Ok, ...errors } },
  }, async (request, reply) => {
    const { user, org } = me(request);
    const { options: publicKey, challenge } = await core.webauthn.registrationOptions(org.id, user.id, relyingParty(request, org));
    void reply.setCookie(WEBAUTHN_COOKIE, core.signIn.sealPending({ orgId: org.id, userId: user.id, returnTo: '/portal/', stage: 'enroll', challenge }), {
      path: PREFIX,
      httpOnly: true,
      sameSite: 'strict',
      secure: request.protocol === 'https',
      maxAge: 300,
    });
    return { options: publicKey };
  });

  app.post(`${PREFIX}/webauthn`, {
    schema: {
      tags,
      summary: 'User portal: register the security key or passkey the browser created',
      description: 'A user who had no second factor before also gets a first set of 10 recovery codes, shown once.',
      security: [],
      body: Type.Object({ response: Type.Unknown(), name: Type.Optional(Type.String({ maxLength: 64 })) }),
      response: { 201: Ok, ...errors },
    },
  }, async (request, reply) => {
    const { user, org, ctx } = me(request);
    const pending = core.signIn.openPending(request.cookies[WEBAUTHN_COOKIE] ?? '');
    void reply.clearCookie(WEBAUTHN_COOKIE, { path: PREFIX });
    if (!pending?.challenge || pending.userId !== user.id) throw invalid('WEBAUTHN_NOT_STARTED', 'Start registering the key again');
    const before = await factors(user);
    const name = request.body.name?.trim() || undefined;
    const registered = await core.webauthn.register(org.id, user.id, request.body.response, pending.challenge, relyingParty(request, org), name, 'portal');
    if (!registered.ok) throw invalid(registered.reason, registered.message);
    const first = !before.totp && before.webauthn.length === 0 && before.recoveryCodes.remaining === 0;
    return reply.code(201).send({ credential: registered.credential, ...(first ? { recoveryCodes: await core.recoveryCodes.generate(ctx, user.id) } : {}) });
  });

  app.delete(`${PREFIX}/webauthn/:credentialId`, {
    schema: { tags, summary: 'User portal: remove one of one\'s security keys or passkeys', security: [], params: Type.Object({ credentialId: Type.String({ maxLength: 1024 }) }), response: { 200: Ok, ...errors } },
  }, async (request) => {
    const { user, ctx } = me(request);
    if (!(await core.webauthn.remove(ctx, user.id, request.params.credentialId))) throw notFound('WEBAUTHN_CREDENTIAL_NOT_FOUND', 'No such security key or passkey');
    return { removed: true };
  });

  app.post(`${PREFIX}/recoverycodes`, {
    schema: { tags, summary: 'User portal: a new set of 10 recovery codes, shown once (the old set stops working)', security: [], response: { 201: Ok, ...errors } },
  }, async (request, reply) => {
    const { user, ctx } = me(request);
    const f = await factors(user);
    if (!f.totp && f.webauthn.length === 0) throw conflict('NO_SECOND_FACTOR', 'Set up an authenticator app or a security key first; recovery codes stand in for one');
    return reply.code(201).send({ codes: await core.recoveryCodes.generate(ctx, user.id) });
  });

  app.get(`${PREFIX}/applications`, {
    schema: { tags, summary: 'User portal: the applications the user may open, directly or through a group, with where to open them', security: [], response: { 200: Type.Array(Ok), ...errors } },
  }, async (request) => {
    const { user } = me(request);
    const ctx = systemContext(user.orgId, 'portal');
    const reached = await core.associations.resourcesOfSubject(ctx, 'user', user.id, ['application'], { limit: 100, skip: 0 });
    const apps = await core.store.read.applications.findByIds(user.orgId as OrgId, reached.items.map((r) => r.ref.id as ApplicationId));
    return apps
      .filter((a) => a.active)
      .map((a) => ({ id: a.id, name: a.displayLabel || a.displayName || a.name, description: a.displayName && a.displayLabel ? a.displayName : '', color: a.color, launchUrl: launchUrl(a) }))
      .sort((x, y) => x.name.localeCompare(y.name));
  });
};
