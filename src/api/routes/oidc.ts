import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OIDC_AUTH_METHODS, OIDC_GRANT_TYPES, type OidcClient, type OidcClientInput } from '../../core/services/oidc.js';
import { ctxOf } from '../context.js';
import { errorResponses, IdParams, NullableString } from '../wire/common.js';

const tags = ['Roster extensions'];

const ClientSchema = Type.Object(
  {
    clientId: Type.String({ description: 'The OAuth client_id (the application id)' }),
    applicationId: Type.String(),
    redirectUris: Type.Array(Type.String()),
    postLogoutRedirectUris: Type.Array(Type.String()),
    grantTypes: Type.Array(Type.String({ description: OIDC_GRANT_TYPES.join(', ') })),
    tokenEndpointAuthMethod: Type.String({ description: OIDC_AUTH_METHODS.join(', ') }),
    hasSecret: Type.Boolean({ description: 'Whether a client secret is set; it is never returned after it is made' }),
    secretUpdated: NullableString(),
    clientSecret: Type.Optional(Type.String({ description: 'Only in the response that made it: store it now' })),
    created: Type.String(),
    updated: Type.String(),
  },
  { $id: 'OidcClient' },
);

const SigningKeySchema = Type.Object(
  {
    kid: Type.String({ description: 'The key id, as in the JWKS and the header of the tokens it signs' }),
    alg: Type.String(),
    state: Type.String({ description: 'next (published, signs from `activates`), active (signs), previous (published for verification until `retires`)' }),
    created: Type.String(),
    activates: Type.String({ description: 'When it signs (signed) from' }),
    retires: NullableString({ description: 'When it leaves the JWKS and is deleted; null while it is not replaced' }),
  },
  { $id: 'OidcSigningKey' },
);

const toWire = (c: OidcClient, clientSecret?: string) => ({ ...c, ...(clientSecret ? { clientSecret } : {}) });

/** An OpenID Connect application's client (Roster extension): settings, and its secret shown once. */
export const oidcRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;
  app.addSchema(ClientSchema);
  app.addSchema(SigningKeySchema);
  const clientRef = Type.Unsafe({ $ref: 'OidcClient#' });
  const keysRef = Type.Array(Type.Unsafe({ $ref: 'OidcSigningKey#' }));

  app.get('/oidc/keys', {
    schema: {
      tags,
      summary: "The OpenID Connect provider's signing keys (never their private parts)",
      description: 'The keys are the installation\'s, shared by every organization; the next key first, then the active one, then previous ones. Needs organization:read.',
      response: { 200: keysRef, ...errorResponses() },
    },
  }, async (request) => core.oidc.signingKeys(ctxOf(request)));

  app.post('/oidc/keys/rotate', {
    schema: {
      tags,
      summary: 'Rotate the OpenID Connect signing key',
      description:
        'A new key is published in the JWKS at once and signs from `activates` (after ROSTER_OIDC_KEY_REFRESH_SECONDS, 60 by default, by when every process has it). ' +
        'Keys that signed before stay published until the ID tokens they signed have expired (one hour after the new key starts, plus five minutes), then are deleted; ' +
        'a key published but not yet signing is withdrawn. Answers with the keys as GET does. Journaled. Needs organization:write.',
      response: { 200: keysRef, ...errorResponses() },
    },
  }, async (request) => core.oidc.rotateSigningKey(ctxOf(request)));

  app.get('/applications/:id/oidc', {
    schema: { tags, summary: "An OIDC application's client settings", params: IdParams, response: { 200: clientRef, ...errorResponses(404) } },
  }, async (request) => toWire(await core.oidc.get(ctxOf(request), request.params.id)));

  app.put('/applications/:id/oidc', {
    schema: {
      tags,
      summary: "Create or change an OIDC application's client",
      description:
        'The application must have `sso.type` "oidc". Only the settings sent change. The client id is the application id. ' +
        'A new confidential client gets a secret, returned in this response only; POST …/oidc/secret makes a new one. ' +
        'tokenEndpointAuthMethod "none" makes a public client (no secret, PKCE required).',
      params: IdParams,
      body: Type.Object(
        {
          redirectUris: Type.Optional(Type.Array(Type.String(), { maxItems: 50 })),
          postLogoutRedirectUris: Type.Optional(Type.Array(Type.String(), { maxItems: 50 })),
          grantTypes: Type.Optional(Type.Array(Type.String({ description: OIDC_GRANT_TYPES.join(', ') }), { maxItems: 3 })),
          tokenEndpointAuthMethod: Type.Optional(Type.String({ description: OIDC_AUTH_METHODS.join(', ') })),
        },
        { additionalProperties: false },
      ),
      response: { 200: clientRef, ...errorResponses(400, 404) },
    },
  }, async (request) => {
    const { client, clientSecret } = await core.oidc.configure(ctxOf(request), request.params.id, request.body as OidcClientInput);
    return toWire(client, clientSecret);
  });

  app.post('/applications/:id/oidc/secret', {
    schema: {
      tags,
      summary: 'Make a new client secret (shown once)',
      description: 'The old secret stops working at once. Tokens already issued stay valid until they expire.',
      params: IdParams,
      response: { 200: clientRef, ...errorResponses(400, 404) },
    },
  }, async (request) => {
    const { client, clientSecret } = await core.oidc.rotateSecret(ctxOf(request), request.params.id);
    return toWire(client, clientSecret);
  });
};
