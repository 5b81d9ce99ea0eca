import cookie from '@fastify/cookie';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { Type } from 'typebox';
import { unauthenticated } from '../../core/errors.js';
import type { AdminSignInContext, AdminSignInRefusal, AdminSignInStep } from '../../core/services/admin-sign-in.js';
import { PERMISSIONS } from '../../core/roles.js';
import { ADMIN_SESSION_COOKIE, ctxOf } from '../context.js';
import { errorResponses } from '../wire/common.js';

const tags = ['Roster extensions'];
const PENDING_COOKIE = 'roster_admin_sign_in';

const MESSAGES: Record<AdminSignInRefusal, string> = {
  INVALID_CREDENTIALS: 'The email or password is incorrect.',
  ACCOUNT_LOCKED: 'Too many failed attempts: this account is locked for a while. Try again later or ask another administrator.',
  INVALID_TOTP: 'That code is not correct. Enter the current code from your authenticator app.',
  TOTP_REPLAYED: 'That code has already been used. Wait for the next code.',
};

const cookieOptions = (request: FastifyRequest, maxAgeSeconds: number) => ({
  path: '/api',
  httpOnly: true,
  sameSite: 'strict' as const,
  secure: request.protocol === 'https',
  maxAge: maxAgeSeconds,
});

const where = (request: FastifyRequest): AdminSignInContext => ({ ip: request.ip, userAgent: String(request.headers['user-agent'] ?? '') });

export const qrCodeSvg = (uri: string) => QRCode.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });

const StepSchema = Type.Object({
  status: Type.Union([Type.Literal('signed_in'), Type.Literal('mfa_required'), Type.Literal('enrollment_required')]),
  expires: Type.Optional(Type.String({ description: 'When the session ends at the latest (signed_in)' })),
  secret: Type.Optional(Type.String({ description: 'Base32 secret of the authenticator app to set up (enrollment_required); shown once' })),
  otpauthUri: Type.Optional(Type.String()),
  qrSvg: Type.Optional(Type.String({ description: 'The otpauth URI as a QR code, SVG' })),
});

const TotpSetupSchema = Type.Object({ secret: Type.String(), otpauthUri: Type.String(), qrSvg: Type.String() });

/** Answers a sign-in step: a session cookie, the next step with its pending cookie, or 401 with the reason. */
async function answer(request: FastifyRequest, reply: FastifyReply, step: AdminSignInStep) {
  const core = request.server.core;
  if (step.status === 'signed_in') {
    void reply.clearCookie(PENDING_COOKIE, { path: '/api/session' });
    void reply.setCookie(ADMIN_SESSION_COOKIE, step.token, cookieOptions(request, Math.floor((Date.parse(step.session.expires) - Date.parse(step.session.created)) / 1000)));
    return { status: step.status, expires: step.session.expires };
  }
  if (step.status === 'refused') {
    throw unauthenticated(step.reason, MESSAGES[step.reason]);
  }
  const stage = step.status === 'mfa_required' ? 'mfa' : 'enroll';
  void reply.setCookie(PENDING_COOKIE, core.adminSignIn.sealPending({ adminId: step.admin.id, stage }), { ...cookieOptions(request, 300), path: '/api/session' });
  if (step.status === 'mfa_required') return { status: step.status };
  return { status: step.status, secret: step.secret, otpauthUri: step.otpauthUri, qrSvg: await qrCodeSvg(step.otpauthUri) };
}

/**
 * Signing in to the admin portal (no API key needed): email and password, then the authenticator
 * app's code. The session is an HttpOnly, SameSite=Strict cookie for /api that the API accepts in
 * place of an API key from the portal (requests must carry `x-requested-with: roster`).
 */
export const adminSignInRoutes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(cookie);
  const core = app.core;

  app.post('/session', {
    schema: {
      tags,
      summary: 'Sign in to the admin portal with email and password',
      description:
        'Answers `signed_in` with the session cookie, `mfa_required` (send the authenticator code to /api/session/code), or ' +
        '`enrollment_required` when multi-factor is required of the administrator and none is set up (scan the QR code, then send a code). ' +
        'A wrong email or password is 401 INVALID_CREDENTIALS; five failures in a row lock the account for 15 minutes (401 ACCOUNT_LOCKED).',
      security: [],
      body: Type.Object({ email: Type.String({ minLength: 1, maxLength: 256 }), password: Type.String({ minLength: 1, maxLength: 1024 }) }),
      response: { 200: StepSchema, ...errorResponses(400, 401) },
    },
  }, async (request, reply) => answer(request, reply, await core.adminSignIn.password(request.body.email.trim(), request.body.password, where(request))));

  app.post('/session/code', {
    schema: {
      tags,
      summary: "Second sign-in step: the authenticator app's current code",
      security: [],
      body: Type.Object({ code: Type.String({ minLength: 1, maxLength: 16 }) }),
      response: { 200: StepSchema, ...errorResponses(400, 401) },
    },
  }, async (request, reply) => {
    const pending = core.adminSignIn.openPending(request.cookies[PENDING_COOKIE] ?? '');
    if (!pending) throw unauthenticated('SIGN_IN_EXPIRED', 'Sign in with your email and password first.');
    return answer(request, reply, await core.adminSignIn.code(pending, request.body.code.replace(/\s/g, ''), where(request)));
  });
};

/** The signed-in administrator's own session and second factor; under the authenticated scope. */
export const adminSessionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;

  app.get('/session', {
    schema: {
      tags,
      summary: 'The signed-in administrator, their organizations and what their role allows',
      response: {
        200: Type.Object({
          admin: Type.Object({ id: Type.String(), email: Type.String(), firstname: Type.String(), lastname: Type.String(), roleName: Type.String() }),
          organization: Type.String({ description: 'The organization requests act on (x-org-id, or the only one)' }),
          organizations: Type.Array(Type.Object({ id: Type.String(), displayName: Type.String() })),
          permissions: Type.Array(Type.String()),
          mfa: Type.Object({ enabled: Type.Boolean(), required: Type.Boolean() }),
        }),
        ...errorResponses(401),
      },
    },
  }, async (request) => {
    const ctx = ctxOf(request);
    if (ctx.actor.type !== 'admin' || !ctx.actor.id) throw unauthenticated('NOT_AN_ADMINISTRATOR', 'This call needs an administrator');
    const admin = await core.administrators.get(ctx, ctx.actor.id);
    const orgs = await Promise.all(ctx.orgIds.map((id) => core.store.read.orgs.findById(id)));
    return {
      admin: { id: admin.id, email: admin.email, firstname: admin.firstname, lastname: admin.lastname, roleName: admin.roleName },
      organization: ctx.orgId,
      organizations: orgs.flatMap((o) => (o ? [{ id: o.id, displayName: o.displayName }] : [])),
      permissions: Object.keys(PERMISSIONS).filter((p) => ctx.permissions.has(p as keyof typeof PERMISSIONS)),
      mfa: await core.adminSignIn.totpStatus(ctx),
    };
  });

  app.delete('/session', {
    schema: { tags, summary: 'Sign out of the admin portal', response: { 204: Type.Null(), ...errorResponses(401) } },
  }, async (request, reply) => {
    const token = request.cookies[ADMIN_SESSION_COOKIE];
    if (token) await core.adminSignIn.signOut(token, where(request));
    void reply.clearCookie(ADMIN_SESSION_COOKIE, { path: '/api' });
    return reply.code(204).send(null);
  });

  app.post('/session/totp', {
    schema: { tags, summary: 'Start setting up an authenticator app for the signed-in administrator', response: { 201: TotpSetupSchema, ...errorResponses(409) } },
  }, async (request, reply) => {
    const started = await core.adminSignIn.startTotp(ctxOf(request));
    return reply.code(201).send({ ...started, qrSvg: await qrCodeSvg(started.otpauthUri) });
  });

  app.post('/session/totp/confirm', {
    schema: {
      tags,
      summary: "Finish setting up the administrator's authenticator app with its first code",
      body: Type.Object({ code: Type.String({ minLength: 1, maxLength: 16 }) }),
      response: { 200: Type.Object({ enabled: Type.Boolean() }), ...errorResponses(400, 409) },
    },
  }, async (request) => core.adminSignIn.confirmTotp(ctxOf(request), request.body.code.replace(/\s/g, '')));

  app.delete('/session/totp', {
    schema: { tags, summary: "Remove the administrator's authenticator app (refused while MFA is required of them)", response: { 200: Type.Object({ enabled: Type.Boolean() }), ...errorResponses(409) } },
  }, async (request) => core.adminSignIn.removeTotp(ctxOf(request)));
};
