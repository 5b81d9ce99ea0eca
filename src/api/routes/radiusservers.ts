import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ctxOf } from '../context.js';
import { parseList, project, type RawQuery } from '../list-params.js';
import { errorResponses, IdParams, ListQuerystring } from '../wire/common.js';
import {
  RADIUS_SERVER_FIELDS,
  RadiusServerCreateSchema,
  RadiusServerSchema,
  RadiusServerUpdateSchema,
  toRadiusServer,
  toRadiusServerInput,
} from '../wire/radius-server.js';

const tags = ['RADIUS Servers'];
const serverRef = Type.Unsafe({ $ref: 'RadiusServer#' });
const SECRET_NOTE = 'The shared secret is write-only: no response ever contains it.';

/** JumpCloud v1 /radiusservers. */
export const radiusServerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;
  app.addSchema(RadiusServerSchema);

  app.get('/radiusservers', {
    schema: {
      tags,
      summary: 'List RADIUS servers',
      description: `Filter and sort on _id, name, mfa, userPasswordExpirationAction, created, updated. ${SECRET_NOTE}`,
      querystring: ListQuerystring(),
      response: { 200: Type.Object({ totalCount: Type.Integer(), results: Type.Array(serverRef) }), ...errorResponses() },
    },
  }, async (request) => {
    const { query, fields } = parseList(request.query as RawQuery, RADIUS_SERVER_FIELDS, 'v1');
    if (query.sort.length === 0 && !query.page.after) query.sort = [{ field: 'name', descending: false }];
    const page = await core.radiusServers.list(ctxOf(request), query);
    return { totalCount: page.total, results: page.items.map((s) => project(toRadiusServer(s), fields, '_id')) };
  });

  app.post('/radiusservers', {
    schema: {
      tags,
      summary: 'Create a RADIUS server',
      description: `name, networkSourceIp and sharedSecret are required. ${SECRET_NOTE}`,
      body: RadiusServerCreateSchema,
      response: { 200: serverRef, ...errorResponses(409) },
    },
  }, async (request) => toRadiusServer(await core.radiusServers.create(ctxOf(request), toRadiusServerInput(request.body))));

  app.get('/radiusservers/:id', {
    schema: { tags, summary: 'Get a RADIUS server', description: SECRET_NOTE, params: IdParams, response: { 200: serverRef, ...errorResponses(404) } },
  }, async (request) => toRadiusServer(await core.radiusServers.get(ctxOf(request), request.params.id)));

  app.put('/radiusservers/:id', {
    schema: {
      tags,
      summary: 'Update a RADIUS server (only the fields given change)',
      description: `Roster extension: a sharedSecret in the body replaces the secret. ${SECRET_NOTE}`,
      params: IdParams,
      body: RadiusServerUpdateSchema,
      response: { 200: serverRef, ...errorResponses(404, 409) },
    },
  }, async (request) => toRadiusServer(await core.radiusServers.update(ctxOf(request), request.params.id, toRadiusServerInput(request.body))));

  app.delete('/radiusservers/:id', {
    schema: { tags, summary: 'Delete a RADIUS server and its associations', params: IdParams, response: { 200: serverRef, ...errorResponses(404) } },
  }, async (request) => toRadiusServer(await core.radiusServers.delete(ctxOf(request), request.params.id)));
};
