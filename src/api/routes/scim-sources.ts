import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Directory, ScimToken } from '../../core/model.js';
import { ctxOf } from '../context.js';
import { parseList, project, type FieldNames, type RawQuery } from '../list-params.js';
import { errorResponses, IdParams, ListQuerystring, NullableString } from '../wire/common.js';
import { sendPage } from '../wire/graph.js';

const tags = ['Roster extensions'];
const FIELDS: FieldNames = { id: 'id', name: 'name', created: 'created' };

const ScimSourceSchema = Type.Object(
  { id: Type.String(), name: Type.Optional(Type.String()), created: Type.Optional(Type.String()), updated: Type.Optional(Type.String()) },
  { $id: 'ScimSource' },
);
const ScimTokenSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    prefix: Type.String({ description: 'The first characters of the token, to recognise it' }),
    expiresAt: NullableString(),
    created: Type.String(),
    lastUsedAt: NullableString({ description: 'Recorded to the minute' }),
    revokedAt: NullableString(),
  },
  { $id: 'ScimToken' },
);
const TokenParams = Type.Object({ id: Type.String(), token_id: Type.String() });

const toSource = (d: Directory) => ({ id: d.id, name: d.name, created: d.created, updated: d.updated });
const toToken = (t: ScimToken) => ({
  id: t.id,
  name: t.name,
  prefix: t.prefix,
  expiresAt: t.expiresAt,
  created: t.created,
  lastUsedAt: t.lastUsedAt,
  revokedAt: t.revokedAt,
});

/**
 * SCIM sources (Roster extension): the HR systems and identity providers that push users and
 * groups into Roster over SCIM, and their bearer tokens.
 */
export const scimSourceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;
  app.addSchema(ScimSourceSchema);
  app.addSchema(ScimTokenSchema);
  const sourceRef = Type.Unsafe({ $ref: 'ScimSource#' });
  const tokenRef = Type.Unsafe({ $ref: 'ScimToken#' });

  app.get('/scimsources', {
    schema: { tags, summary: 'SCIM sources of the organization', querystring: ListQuerystring(), response: { 200: Type.Array(sourceRef), ...errorResponses() } },
  }, async (request, reply) => {
    const { query, fields } = parseList(request.query as RawQuery, FIELDS, 'v2');
    return sendPage(reply, await core.scimSources.list(ctxOf(request), query), (d) => project(toSource(d), fields, 'id'));
  });

  app.post('/scimsources', {
    schema: {
      tags,
      summary: 'Create a SCIM source (an HR system or identity provider that pushes users and groups)',
      body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: true }),
      response: { 201: sourceRef, ...errorResponses() },
    },
  }, async (request, reply) => reply.code(201).send(toSource(await core.scimSources.create(ctxOf(request), request.body))));

  app.get('/scimsources/:id', {
    schema: { tags, summary: 'A SCIM source', params: IdParams, response: { 200: sourceRef, ...errorResponses(404) } },
  }, async (request) => toSource(await core.scimSources.get(ctxOf(request), request.params.id)));

  app.delete('/scimsources/:id', {
    schema: {
      tags,
      summary: 'Delete a SCIM source and its tokens',
      description: 'The users and groups the source created stay in the directory.',
      params: IdParams,
      response: { 204: Type.Null(), ...errorResponses(404) },
    },
  }, async (request, reply) => {
    await core.scimSources.delete(ctxOf(request), request.params.id);
    return reply.code(204).send(null);
  });

  app.get('/scimsources/:id/tokens', {
    schema: { tags, summary: "A SCIM source's bearer tokens (never the tokens themselves)", params: IdParams, response: { 200: Type.Array(tokenRef), ...errorResponses(404) } },
  }, async (request) => (await core.scimSources.listTokens(ctxOf(request), request.params.id)).map(toToken));

  app.post('/scimsources/:id/tokens', {
    schema: {
      tags,
      summary: 'Issue a bearer token for a SCIM source; the token is in the response once and never again',
      description: 'Only the SHA-256 digest of the token is stored. Give the token to the HR system or identity provider as its SCIM secret token.',
      params: IdParams,
      body: Type.Object(
        { name: Type.Optional(Type.String({ maxLength: 256 })), expiresAt: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'ISO 8601; none by default' })) },
        { additionalProperties: true },
      ),
      response: { 201: Type.Object({ token: Type.String({ description: 'The bearer token, shown once' }), ...ScimTokenSchema.properties }), ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const issued = await core.scimSources.issueToken(ctxOf(request), request.params.id, request.body ?? {});
    return reply.code(201).send({ token: issued.secret, ...toToken(issued.token) });
  });

  app.delete('/scimsources/:id/tokens/:token_id', {
    schema: { tags, summary: 'Revoke a SCIM bearer token', params: TokenParams, response: { 204: Type.Null(), ...errorResponses(404) } },
  }, async (request, reply) => {
    await core.scimSources.revokeToken(ctxOf(request), request.params.id, request.params.token_id);
    return reply.code(204).send(null);
  });
};
