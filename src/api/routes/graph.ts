import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { RESOURCE_TYPES, type ResourceType, type SubjectType } from '../../core/model.js';
import { AssociationService } from '../../core/services/associations.js';
import { ctxOf } from '../context.js';
import { parseList, parsePage, type RawQuery } from '../list-params.js';
import { errorResponses, ListQuerystring, toWireEdge } from '../wire/common.js';
import { connectionRef, GraphOperationSchema, sendPage, toWithPaths, withPathsRef } from '../wire/graph.js';
import { SYSTEMUSER_FIELDS } from '../wire/systemuser.js';

/** Resources reachable through associations, with their JumpCloud path segment and id parameter. */
export const RESOURCE_PATHS: readonly { path: string; type: ResourceType; param: string; tag: string }[] = [
  { path: 'applications', type: 'application', param: 'application_id', tag: 'Applications' },
  { path: 'ldapservers', type: 'ldap_server', param: 'ldapserver_id', tag: 'LDAP Servers' },
  { path: 'radiusservers', type: 'radius_server', param: 'radiusserver_id', tag: 'RADIUS Servers' },
  { path: 'activedirectories', type: 'active_directory', param: 'activedirectory_id', tag: 'Active Directory' },
  { path: 'gsuites', type: 'g_suite', param: 'gsuite_id', tag: 'G Suite' },
  { path: 'office365s', type: 'office_365', param: 'office365_id', tag: 'Office 365' },
];

const SUBJECTS: readonly { path: string; type: SubjectType; param: string; tag: string }[] = [
  { path: 'users', type: 'user', param: 'user_id', tag: 'Users' },
  { path: 'usergroups', type: 'user_group', param: 'group_id', tag: 'User Groups' },
];

const DIRECTORY_RESOURCES: readonly ResourceType[] = ['active_directory', 'g_suite', 'ldap_server', 'office_365'];

const targetsOf = (raw: RawQuery): string[] =>
  [raw.targets ?? [], raw['targets[]'] ?? []].flat().flatMap((t) => String(t).split(',')).map((t) => t.trim()).filter(Boolean);

const TargetsQuery = (allowed: readonly string[]) =>
  Type.Object(
    {
      targets: Type.Union([Type.String(), Type.Array(Type.String())], { description: `One or more of ${allowed.join(', ')}` }),
      limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
      skip: Type.Optional(Type.Integer({ minimum: 0 })),
    },
    { additionalProperties: true },
  );

const PageQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })), skip: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: true });

const noContent = { 204: Type.Null(), ...errorResponses(404, 409) };

/**
 * The v2 graph: direct associations (`…/associations`) and what they grant transitively
 * (`/users/{id}/applications`, `/applications/{id}/users`, …), reported with paths.
 */
export const graphRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;

  for (const subject of SUBJECTS) {
    const params = Type.Object({ [subject.param]: Type.String() });
    const idOf = (p: unknown) => (p as Record<string, string>)[subject.param]!;

    app.get(`/${subject.path}/:${subject.param}/associations`, {
      schema: { tags: [subject.tag], summary: `Direct associations of a ${subject.type.replace('_', ' ')}`, params, querystring: TargetsQuery(RESOURCE_TYPES), response: { 200: Type.Array(connectionRef), ...errorResponses(404) } },
    }, async (request, reply) => {
      const raw = request.query as unknown as RawQuery;
      const targets = AssociationService.checkTargets(targetsOf(raw), RESOURCE_TYPES);
      const page = await core.associations.ofSubject(ctxOf(request), subject.type, idOf(request.params), targets, parsePage(raw));
      return sendPage(reply, page, toWireEdge);
    });

    app.post(`/${subject.path}/:${subject.param}/associations`, {
      schema: { tags: [subject.tag], summary: `Associate a ${subject.type.replace('_', ' ')} with a resource, or remove the association`, params, body: GraphOperationSchema(RESOURCE_TYPES), response: noContent },
    }, async (request, reply) => {
      const { op, type, id, attributes } = request.body;
      await core.associations.change(ctxOf(request), { type: subject.type, id: idOf(request.params) }, { type: type as ResourceType, id }, op, (attributes as Record<string, unknown> | null | undefined) ?? null);
      return reply.code(204).send(null);
    });

    const traversals: [string, readonly ResourceType[]][] = [
      ['applications', ['application']],
      ['directories', DIRECTORY_RESOURCES],
      ['ldapservers', ['ldap_server']],
      ['radiusservers', ['radius_server']],
    ];
    for (const [segment, types] of traversals) {
      app.get(`/${subject.path}/:${subject.param}/${segment}`, {
        schema: {
          tags: [subject.tag],
          summary: `${segment} the ${subject.type.replace('_', ' ')} can reach, directly or through groups, with the paths`,
          params,
          querystring: PageQuery,
          response: { 200: Type.Array(withPathsRef), ...errorResponses(404) },
        },
      }, async (request, reply) => {
        const page = await core.associations.resourcesOfSubject(ctxOf(request), subject.type, idOf(request.params), types, parsePage(request.query as RawQuery));
        return sendPage(reply, page, toWithPaths);
      });
    }
  }

  for (const resource of RESOURCE_PATHS) {
    const params = Type.Object({ [resource.param]: Type.String() });
    const idOf = (p: unknown) => (p as Record<string, string>)[resource.param]!;

    app.get(`/${resource.path}/:${resource.param}/associations`, {
      schema: { tags: [resource.tag], summary: 'Users and groups associated directly', params, querystring: TargetsQuery(['user', 'user_group']), response: { 200: Type.Array(connectionRef), ...errorResponses(404) } },
    }, async (request, reply) => {
      const raw = request.query as unknown as RawQuery;
      const targets = AssociationService.checkTargets(targetsOf(raw), ['user', 'user_group'] as const);
      const page = await core.associations.ofResource(ctxOf(request), resource.type, idOf(request.params), targets, parsePage(raw));
      return sendPage(reply, page, toWireEdge);
    });

    app.post(`/${resource.path}/:${resource.param}/associations`, {
      schema: { tags: [resource.tag], summary: 'Grant or remove access for a user or group', params, body: GraphOperationSchema(['user', 'user_group']), response: noContent },
    }, async (request, reply) => {
      const { op, type, id, attributes } = request.body;
      await core.associations.change(ctxOf(request), { type: type as SubjectType, id }, { type: resource.type, id: idOf(request.params) }, op, (attributes as Record<string, unknown> | null | undefined) ?? null);
      return reply.code(204).send(null);
    });

    app.get(`/${resource.path}/:${resource.param}/users`, {
      schema: {
        tags: [resource.tag],
        summary: 'Users with access, directly or through (nested) groups, with the paths',
        params,
        querystring: ListQuerystring(),
        response: { 200: Type.Array(withPathsRef), ...errorResponses(404) },
      },
    }, async (request, reply) => {
      const { query } = parseList(request.query as RawQuery, SYSTEMUSER_FIELDS, 'v2');
      return sendPage(reply, await core.associations.usersOfResource(ctxOf(request), resource.type, idOf(request.params), query), toWithPaths);
    });

    app.get(`/${resource.path}/:${resource.param}/usergroups`, {
      schema: {
        tags: [resource.tag],
        summary: 'Groups with access: associated ones and the groups nested in them, with the paths',
        params,
        querystring: PageQuery,
        response: { 200: Type.Array(withPathsRef), ...errorResponses(404) },
      },
    }, async (request, reply) =>
      sendPage(reply, await core.associations.groupsOfResource(ctxOf(request), resource.type, idOf(request.params), parsePage(request.query as RawQuery)), toWithPaths));
  }
};
