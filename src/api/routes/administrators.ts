import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ctxOf } from '../context.js';
import { parseList, project, type RawQuery } from '../list-params.js';
import { ADMIN_FIELDS, AdministratorCreateSchema, AdministratorSchema, AdministratorWriteSchema, toAdministrator } from '../wire/administrator.js';
import { errorResponses, IdParams, ListQuerystring } from '../wire/common.js';

const tags = ['Users (administrators)'];
const adminRef = Type.Unsafe({ $ref: 'Administrator#' });

/** v1 /users: administrators, separate identities from the directory's users (systemusers). */
export const administratorRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;
  app.addSchema(AdministratorSchema);

  app.get('/users', {
    schema: { tags, summary: 'List administrators', querystring: ListQuerystring(), response: { 200: Type.Object({ totalCount: Type.Integer(), results: Type.Array(adminRef) }), ...errorResponses() } },
  }, async (request) => {
    const ctx = ctxOf(request);
    const { query, fields } = parseList(request.query as RawQuery, ADMIN_FIELDS, 'v1');
    const page = await core.administrators.list(ctx, query);
    return { totalCount: page.total, results: page.items.map((a) => project(toAdministrator(a, ctx.orgId), fields, '_id')) };
  });

  app.get('/users/:id', {
    schema: { tags, summary: 'Get an administrator', params: IdParams, response: { 200: adminRef, ...errorResponses(404) } },
  }, async (request) => {
    const ctx = ctxOf(request);
    return toAdministrator(await core.administrators.get(ctx, request.params.id), ctx.orgId);
  });

  app.put('/users/:id', {
    schema: {
      tags,
      summary: 'Update an administrator',
      description: 'Anyone may edit their own name and email; roles, suspension and passwords need the admins:write permission, and no one grants a role beyond their own.',
      params: IdParams,
      body: AdministratorWriteSchema,
      response: { 200: adminRef, ...errorResponses(404, 409) },
    },
  }, async (request) => {
    const ctx = ctxOf(request);
    return toAdministrator(await core.administrators.update(ctx, request.params.id, request.body), ctx.orgId);
  });

  app.post('/users', {
    schema: {
      tags: [...tags, 'Roster extensions'],
      summary: 'Create an administrator',
      body: AdministratorCreateSchema,
      response: { 201: adminRef, ...errorResponses(409) },
    },
  }, async (request, reply) => {
    const ctx = ctxOf(request);
    const admin = await core.administrators.create(ctx, request.body);
    return reply.code(201).send(toAdministrator(admin, ctx.orgId));
  });

  app.delete('/users/:id', {
    schema: { tags: [...tags, 'Roster extensions'], summary: 'Remove an administrator and revoke their API keys', params: IdParams, response: { 200: adminRef, ...errorResponses(404, 409) } },
  }, async (request) => {
    const ctx = ctxOf(request);
    return toAdministrator(await core.administrators.delete(ctx, request.params.id), ctx.orgId);
  });
};
