import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ctxOf } from '../context.js';
import { parseList, project, type RawQuery } from '../list-params.js';
import { APPLICATION_FIELDS, ApplicationSchema, ApplicationWriteSchema, toApplication, toApplicationInput } from '../wire/application.js';
import { errorResponses, IdParams, ListQuerystring } from '../wire/common.js';

const tags = ['Applications'];
const appRef = Type.Unsafe({ $ref: 'Application#' });

export const applicationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;
  app.addSchema(ApplicationSchema);

  app.get('/applications', {
    schema: { tags, summary: 'List applications', querystring: ListQuerystring(), response: { 200: Type.Object({ totalCount: Type.Integer(), results: Type.Array(appRef) }), ...errorResponses() } },
  }, async (request) => {
    const { query, fields } = parseList(request.query as RawQuery, APPLICATION_FIELDS, 'v1');
    if (query.sort.length === 0 && !query.page.after) query.sort = [{ field: 'name', descending: false }];
    const page = await core.applications.list(ctxOf(request), query);
    return { totalCount: page.total, results: page.items.map((a) => project(toApplication(a), fields, '_id')) };
  });

  app.post('/applications', {
    schema: {
      tags,
      summary: 'Create an application',
      body: Type.Object({ ...ApplicationWriteSchema.properties, name: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: true }),
      response: { 200: appRef, ...errorResponses() },
    },
  }, async (request) => toApplication(await core.applications.create(ctxOf(request), toApplicationInput(request.body))));

  app.get('/applications/:id', {
    schema: { tags, summary: 'Get an application', params: IdParams, response: { 200: appRef, ...errorResponses(404) } },
  }, async (request) => toApplication(await core.applications.get(ctxOf(request), request.params.id)));

  app.put('/applications/:id', {
    schema: { tags, summary: 'Update an application (only the fields given change)', params: IdParams, body: ApplicationWriteSchema, response: { 200: appRef, ...errorResponses(404) } },
  }, async (request) => toApplication(await core.applications.update(ctxOf(request), request.params.id, toApplicationInput(request.body))));

  app.delete('/applications/:id', {
    schema: { tags, summary: 'Delete an application and its associations', params: IdParams, response: { 200: appRef, ...errorResponses(404) } },
  }, async (request) => toApplication(await core.applications.delete(ctxOf(request), request.params.id)));
};
