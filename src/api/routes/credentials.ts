import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { notFound } from '../../core/errors.js';
import type { TotpStatus } from '../../core/services/credentials.js';
import { ctxOf } from '../context.js';
import { errorResponses, NullableString } from '../wire/common.js';

const tags = ['Roster extensions'];
const params = Type.Object({ user_id: Type.String({ description: 'User id' }) });

const TotpStatusSchema = Type.Object(
  {
    enrolled: Type.Boolean({ description: 'The user has a TOTP enrollment, confirmed or not' }),
    confirmed: Type.Boolean({ description: 'The user proved the enrollment with a code; RADIUS servers with mfa ENABLED then ask for codes' }),
    enrolledAt: NullableString({ description: 'When the current enrollment began' }),
  },
  { $id: 'TotpStatus' },
);
const statusRef = Type.Unsafe<TotpStatus>({ $ref: 'TotpStatus#' });

/** A user's second factor and NT-hash credential, managed by an administrator. JumpCloud has no equivalent. */
export const credentialRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;
  app.addSchema(TotpStatusSchema);

  app.post('/users/:user_id/totp', {
    schema: {
      tags,
      summary: "Enroll a user's TOTP second factor; the secret is in the response once and never again",
      description:
        'Replaces any earlier enrollment, confirmed or not, with a new unconfirmed one (RFC 6238: SHA-1, 6 digits, 30-second steps). ' +
        'Give the user the secret or the otpauth URI (as a QR code), then confirm with a code from their app.',
      params,
      response: {
        201: Type.Object({ secret: Type.String({ description: 'Base32 secret' }), otpauthUri: Type.String({ description: 'otpauth://totp/Roster:<username>?… for authenticator apps' }) }),
        ...errorResponses(404),
      },
    },
  }, async (request, reply) => reply.code(201).send(await core.credentials.enrollTotp(ctxOf(request), request.params.user_id)));

  app.post('/users/:user_id/totp/confirm', {
    schema: {
      tags,
      summary: "Confirm a user's TOTP enrollment with a current code",
      description: 'A code of the current 30-second step or one step either side confirms the enrollment; a wrong code is 400 INVALID_TOTP.',
      params,
      body: Type.Object({ code: Type.String({ minLength: 1, maxLength: 16, description: 'The 6-digit code the app shows' }) }, { additionalProperties: true }),
      response: { 200: statusRef, ...errorResponses(404, 409) },
    },
  }, async (request) => core.credentials.confirmTotp(ctxOf(request), request.params.user_id, request.body.code));

  app.get('/users/:user_id/totp', {
    schema: { tags, summary: "A user's TOTP state (never the secret)", params, response: { 200: statusRef, ...errorResponses(404) } },
  }, async (request) => core.credentials.totpStatus(ctxOf(request), request.params.user_id));

  app.delete('/users/:user_id/totp', {
    schema: {
      tags,
      summary: "Remove a user's TOTP second factor",
      description: 'As POST /api/systemusers/{id}/resetmfa, but 404 TOTP_NOT_ENROLLED when the user has none.',
      params,
      response: { 204: Type.Null(), ...errorResponses(404) },
    },
  }, async (request, reply) => {
    if (!(await core.credentials.resetTotp(ctxOf(request), request.params.user_id))) throw notFound('TOTP_NOT_ENROLLED', 'The user has no TOTP enrollment');
    return reply.code(204).send(null);
  });

  app.delete('/users/:user_id/nthash', {
    schema: {
      tags,
      summary: "Remove a user's NT hash",
      description:
        'The NT hash (kept only when the organization sets settings.radius.storeNtHashes) lets the user sign in with PEAP-MSCHAPv2. ' +
        'Without it MSCHAPv2 fails for the user until their next password change or successful password login. 404 NT_HASH_NOT_FOUND when there is none.',
      params,
      response: { 204: Type.Null(), ...errorResponses(404) },
    },
  }, async (request, reply) => {
    if (!(await core.credentials.deleteNtHash(ctxOf(request), request.params.user_id))) throw notFound('NT_HASH_NOT_FOUND', 'The user has no NT hash');
    return reply.code(204).send(null);
  });
  app.get('/users/:user_id/sessions', {
    schema: {
      tags,
      summary: "A user's live sign-in sessions (never their tokens)",
      params,
      response: {
        200: Type.Array(
          Type.Object({
            created: Type.String(),
            lastSeen: Type.String(),
            idleExpires: Type.String({ description: 'Ends here unless used before' }),
            expires: Type.String({ description: 'Ends here whatever happens' }),
            mfa: Type.Union([Type.String(), Type.Null()], { description: 'The second factor the sign-in passed' }),
            ip: Type.String(),
            userAgent: Type.String(),
          }),
        ),
        ...errorResponses(404),
      },
    },
  }, async (request) =>
    (await core.signIn.sessionsOf(ctxOf(request), request.params.user_id)).map((s) => ({
      created: s.created,
      lastSeen: s.lastSeen,
      idleExpires: s.idleExpires,
      expires: s.expires,
      mfa: s.mfa || null,
      ip: s.ip,
      userAgent: s.userAgent,
    })),
  );

  app.delete('/users/:user_id/sessions', {
    schema: {
      tags,
      summary: 'Sign a user out everywhere: end every sign-in session',
      params,
      response: { 200: Type.Object({ ended: Type.Integer() }), ...errorResponses(404) },
    },
  }, async (request) => ({ ended: await core.signIn.revokeAll(ctxOf(request), request.params.user_id) }));
  app.post('/users/:user_id/recoverycodes', {
    schema: {
      tags,
      summary: "Generate a user's recovery codes; they are in the response once and never again",
      description: 'Ten one-time codes (XXXXX-XXXXX) that stand in for a TOTP code when the authenticator is lost; a new set replaces the old. Only their SHA-256 digests are stored.',
      params,
      response: { 201: Type.Object({ codes: Type.Array(Type.String()) }), ...errorResponses(404) },
    },
  }, async (request, reply) => reply.code(201).send({ codes: await core.recoveryCodes.generate(ctxOf(request), request.params.user_id) }));

  app.get('/users/:user_id/recoverycodes', {
    schema: {
      tags,
      summary: "How many of a user's recovery codes are left (never the codes)",
      params,
      response: { 200: Type.Object({ total: Type.Integer(), remaining: Type.Integer(), created: NullableString() }), ...errorResponses(404) },
    },
  }, async (request) => core.recoveryCodes.status(ctxOf(request), request.params.user_id));

  app.delete('/users/:user_id/recoverycodes', {
    schema: { tags, summary: "Remove a user's recovery codes", params, response: { 204: Type.Null(), ...errorResponses(404) } },
  }, async (request, reply) => {
    if (!(await core.recoveryCodes.remove(ctxOf(request), request.params.user_id))) throw notFound('RECOVERY_CODES_NOT_FOUND', 'The user has no recovery codes');
    return reply.code(204).send(null);
  });

  const KeySchema = Type.Object({
    id: Type.String({ description: 'The credential id (base64url)' }),
    name: Type.String(),
    created: Type.String(),
    lastUsedAt: NullableString(),
    transports: Type.Array(Type.String(), { description: 'How the browser reaches the authenticator: usb, nfc, ble, internal, hybrid' }),
    deviceType: Type.String({ description: 'singleDevice (a security key) or multiDevice (a passkey synced between devices)' }),
    backedUp: Type.Boolean(),
    aaguid: Type.String({ description: "The authenticator model's AAGUID; all zeros when the authenticator does not say" }),
  });

  app.get('/users/:user_id/webauthn', {
    schema: { tags, summary: "A user's security keys and passkeys (public keys are never shown)", params, response: { 200: Type.Array(KeySchema), ...errorResponses(404) } },
  }, async (request) => core.webauthn.list(ctxOf(request), request.params.user_id));

  app.delete('/users/:user_id/webauthn/:credential_id', {
    schema: {
      tags,
      summary: "Remove one of a user's security keys or passkeys",
      params: Type.Object({ user_id: Type.String(), credential_id: Type.String({ maxLength: 1400 }) }),
      response: { 204: Type.Null(), ...errorResponses(404) },
    },
  }, async (request, reply) => {
    if (!(await core.webauthn.remove(ctxOf(request), request.params.user_id, request.params.credential_id))) {
      throw notFound('WEBAUTHN_CREDENTIAL_NOT_FOUND', 'The user has no such security key or passkey');
    }
    return reply.code(204).send(null);
  });

  app.get('/users/:user_id/mfa', {
    schema: {
      tags,
      summary: "A user's second factors and where they stand with the MFA policy",
      description:
        'required: sign-in asks this user for a second factor now (the organization\'s settings.mfa.required or the user\'s enable_user_portal_multifactor, ' +
        'unless an exemption holds). exemptUntil: the end of an enrollment period, during which the user is asked to enroll and may put it off.',
      params,
      response: {
        200: Type.Object({
          factors: Type.Array(Type.String({ description: 'totp or webauthn' })),
          recoveryCodes: Type.Integer({ description: 'Unused recovery codes' }),
          applies: Type.Boolean(),
          required: Type.Boolean(),
          exemptUntil: NullableString(),
        }),
        ...errorResponses(404),
      },
    },
  }, async (request) => {
    const ctx = ctxOf(request);
    const user = await core.users.get(ctx, request.params.user_id);
    const [factors, codes, requirement] = await Promise.all([
      core.mfa.factorsOf(ctx.orgId, user.id),
      core.recoveryCodes.status(ctx, user.id),
      core.mfa.requirementOf(user),
    ]);
    return { factors, recoveryCodes: codes.remaining, ...requirement };
  });
};
