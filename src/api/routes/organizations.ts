import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ctxOf } from '../context.js';
import { parseList, project, type RawQuery } from '../list-params.js';
import { errorResponses, IdParams, ListQuerystring } from '../wire/common.js';
import { ORGANIZATION_FIELDS, OrganizationSchema, OrganizationWriteSchema, toOrganization, toOrganizationInput } from '../wire/organization.js';

const tags = ['Organizations'];
const orgRef = Type.Unsafe({ $ref: 'Organization#' });

export const organizationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;
  app.addSchema(OrganizationSchema);

  app.get('/organizations', {
    schema: {
      tags,
      summary: 'List the organizations this administrator manages',
      querystring: ListQuerystring(),
      response: {
        200: Type.Object({ totalCount: Type.Integer(), results: Type.Array(Type.Object({ _id: Type.String(), displayName: Type.Optional(Type.String()), logoUrl: Type.Optional(Type.String()) })) }),
        ...errorResponses(),
      },
    },
  }, async (request) => {
    const { query, fields } = parseList(request.query as RawQuery, ORGANIZATION_FIELDS, 'v1');
    const page = await core.organizations.list(ctxOf(request), query);
    return {
      totalCount: page.total,
      results: page.items.map((o) => project({ _id: o.id, displayName: o.displayName, logoUrl: o.logoUrl }, fields, '_id')),
    };
  });

  app.get('/organizations/:id', {
    schema: { tags, summary: 'Get an organization and its settings', params: IdParams, response: { 200: orgRef, ...errorResponses(404) } },
  }, async (request) => toOrganization(await core.organizations.get(ctxOf(request), request.params.id)));

  app.put('/organizations/:id', {
    schema: {
      tags,
      summary: 'Update an organization: name, logo, password policy, default user states, RADIUS settings (Roster extension)',
      params: IdParams,
      body: OrganizationWriteSchema,
      response: { 200: orgRef, ...errorResponses(404) },
    },
  }, async (request) => toOrganization(await core.organizations.update(ctxOf(request), request.params.id, toOrganizationInput(request.body))));
};
