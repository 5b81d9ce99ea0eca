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

const toWire = (c: OidcClient, clientSecret?: string) => ({ ...c, ...(clientSecret ? { clientSecret } : {}) });

/** An OpenID Connect application's client (Roster extension): settings, and its secret shown once. */
export const oidcRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;
  app.addSchema(ClientSchema);
  const clientRef = Type.Unsafe({ $ref: 'OidcClient#' });

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
