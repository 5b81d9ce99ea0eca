import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { invalid } from '../../core/errors.js';
import { ctxOf } from '../context.js';
import { parseList, parsePage, project, type RawQuery } from '../list-params.js';
import { errorResponses, ListQuerystring } from '../wire/common.js';
import { connectionRef, GraphOperationSchema, sendPage, toWithPaths, withPathsRef } from '../wire/graph.js';
import { GROUP_FIELDS, toGroupInput, toUserGroup, UserGroupSchema, UserGroupWriteSchema } from '../wire/group.js';
import { SYSTEMUSER_FIELDS } from '../wire/systemuser.js';

const tags = ['User Groups'];
const groupRef = Type.Unsafe({ $ref: 'UserGroup#' });
const GroupParams = Type.Object({ group_id: Type.String() });
const PageQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })), skip: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: true });

export const userGroupRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;
  app.addSchema(UserGroupSchema);

  app.get('/usergroups', {
    schema: { tags, summary: 'List user groups', querystring: ListQuerystring(), response: { 200: Type.Array(groupRef), ...errorResponses() } },
  }, async (request, reply) => {
    const { query, fields } = parseList(request.query as RawQuery, GROUP_FIELDS, 'v2');
    const page = await core.groups.list(ctxOf(request), query);
    return sendPage(reply, page, (g) => project(toUserGroup(g), fields, 'id'));
  });

  app.post('/usergroups', {
    schema: { tags, summary: 'Create a user group', body: UserGroupWriteSchema, response: { 201: groupRef, ...errorResponses(409) } },
  }, async (request, reply) => reply.code(201).send(toUserGroup(await core.groups.create(ctxOf(request), toGroupInput(request.body)))));

  app.get('/usergroups/:id', {
    schema: { tags, summary: 'Get a user group', params: Type.Object({ id: Type.String() }), response: { 200: groupRef, ...errorResponses(404) } },
  }, async (request) => toUserGroup(await core.groups.get(ctxOf(request), request.params.id)));

  app.put('/usergroups/:id', {
    schema: { tags, summary: 'Update a user group', params: Type.Object({ id: Type.String() }), body: UserGroupWriteSchema, response: { 200: groupRef, ...errorResponses(404, 409) } },
  }, async (request) => toUserGroup(await core.groups.update(ctxOf(request), request.params.id, toGroupInput(request.body))));

  app.patch('/usergroups/:id', {
    schema: { tags, summary: 'Change some fields of a user group', params: Type.Object({ id: Type.String() }), body: Type.Partial(UserGroupWriteSchema), response: { 200: groupRef, ...errorResponses(404, 409) } },
  }, async (request) => toUserGroup(await core.groups.update(ctxOf(request), request.params.id, toGroupInput(request.body))));

  app.delete('/usergroups/:id', {
    schema: { tags, summary: 'Delete a user group, its memberships and associations', params: Type.Object({ id: Type.String() }), response: { 200: groupRef, ...errorResponses(404) } },
  }, async (request) => toUserGroup(await core.groups.delete(ctxOf(request), request.params.id)));

  app.get('/usergroups/:group_id/members', {
    schema: {
      tags,
      summary: 'Direct members of a group',
      description: 'Users, and (a Roster extension) groups nested in this group.',
      params: GroupParams,
      querystring: PageQuery,
      response: { 200: Type.Array(connectionRef), ...errorResponses(404) },
    },
  }, async (request, reply) => {
    const page = await core.groups.members(ctxOf(request), request.params.group_id, parsePage(request.query as RawQuery));
    return sendPage(reply, page, (m) => ({ from: { id: m.groupId, type: 'user_group' }, to: { id: m.memberId, type: m.memberType } }));
  });

  app.post('/usergroups/:group_id/members', {
    schema: {
      tags,
      summary: 'Add or remove a member',
      description: 'A duplicate add answers 409, removing a non-member 404. type user_group nests a group (Roster extension).',
      params: GroupParams,
      body: GraphOperationSchema(['user', 'user_group']),
      response: { 204: Type.Null(), ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const { op, type, id } = request.body;
    const memberType = type as 'user' | 'user_group';
    if (op === 'add') await core.groups.addMember(ctxOf(request), request.params.group_id, memberType, id);
    else if (op === 'remove') await core.groups.removeMember(ctxOf(request), request.params.group_id, memberType, id);
    else throw invalid('INVALID_OPERATION', 'members take op add or remove');
    return reply.code(204).send(null);
  });

  app.get('/usergroups/:group_id/membership', {
    schema: {
      tags,
      summary: 'Every user in the group, directly or through nested groups, with the paths',
      params: GroupParams,
      querystring: ListQuerystring(),
      response: { 200: Type.Array(withPathsRef), ...errorResponses(404) },
    },
  }, async (request, reply) => {
    const { query } = parseList(request.query as RawQuery, SYSTEMUSER_FIELDS, 'v2');
    return sendPage(reply, await core.groups.membership(ctxOf(request), request.params.group_id, query), toWithPaths);
  });

  app.get('/usergroups/:group_id/memberof', {
    schema: {
      tags,
      summary: 'Every group this group is nested in, with the paths',
      params: GroupParams,
      querystring: PageQuery,
      response: { 200: Type.Array(withPathsRef), ...errorResponses(404) },
    },
  }, async (request, reply) =>
    sendPage(reply, await core.groups.groupsOfGroup(ctxOf(request), request.params.group_id, parsePage(request.query as RawQuery)), toWithPaths));

  app.get('/users/:user_id/memberof', {
    schema: {
      tags: ['Users'],
      summary: 'Every group the user is in, directly or through nested groups, with the paths',
      params: Type.Object({ user_id: Type.String() }),
      querystring: PageQuery,
      response: { 200: Type.Array(withPathsRef), ...errorResponses(404) },
    },
  }, async (request, reply) =>
    sendPage(reply, await core.groups.groupsOfUser(ctxOf(request), request.params.user_id, parsePage(request.query as RawQuery)), toWithPaths));
};
