import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ldapSettings } from '../../core/ldap-settings.js';
import type { Directory } from '../../core/model.js';
import { ctxOf } from '../context.js';
import { parseList, project, type FieldNames, type RawQuery } from '../list-params.js';
import { errorResponses, IdParams, ListQuerystring } from '../wire/common.js';
import { sendPage } from '../wire/graph.js';

const DIRECTORY_FIELDS: FieldNames = { id: 'id', name: 'name', type: 'type', created: 'created' };

const DirectorySchema = Type.Object({ id: Type.String(), name: Type.Optional(Type.String()), type: Type.Optional(Type.String()) }, { $id: 'Directory' });

const LdapAction = Type.Union([Type.Literal('disable'), Type.Literal('remove')]);
const SampleRate = Type.Number({ minimum: 0, maximum: 1 });
/** Roster extensions to JumpCloud's ldapserver resource. */
const LdapExtensions = {
  allowPlainBind: Type.Optional(Type.Boolean({ description: 'Accept simple binds on connections without TLS (off by default)' })),
  userSearchAccess: Type.Optional(
    Type.Union([Type.Literal('none'), Type.Literal('self'), Type.Literal('all')], {
      description: 'What a user who is not an LDAP binding user may read after binding: nothing, their own entry, or everything',
    }),
  ),
  bindEventSampleRate: Type.Optional({ ...SampleRate, description: 'Share of successful binds journaled as events; failures always are' }),
  searchEventSampleRate: Type.Optional({ ...SampleRate, description: 'Share of searches journaled as events' }),
};

const LdapServerSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.Optional(Type.String()),
    userLockoutAction: Type.Optional(Type.String()),
    userPasswordExpirationAction: Type.Optional(Type.String()),
    ...LdapExtensions,
  },
  { $id: 'LdapServer' },
);

const toDirectory = (d: Directory) => ({ id: d.id, name: d.name, type: d.type });
const toLdapServer = (d: Directory) => ({ id: d.id, name: d.name, ...ldapSettings(d) });

const SETTING_KEYS = ['userLockoutAction', 'userPasswordExpirationAction', ...Object.keys(LdapExtensions)];

export const directoryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;
  app.addSchema(DirectorySchema);
  app.addSchema(LdapServerSchema);

  app.get('/directories', {
    schema: { tags: ['Directories'], summary: 'Every directory of the organization', querystring: ListQuerystring(), response: { 200: Type.Array(Type.Unsafe({ $ref: 'Directory#' })), ...errorResponses() } },
  }, async (request, reply) => {
    const { query, fields } = parseList(request.query as RawQuery, DIRECTORY_FIELDS, 'v2');
    return sendPage(reply, await core.directories.list(ctxOf(request), query), (d) => project(toDirectory(d), fields, 'id'));
  });

  app.get('/ldapservers', {
    schema: { tags: ['LDAP Servers'], summary: "The organization's LDAP service", querystring: ListQuerystring(), response: { 200: Type.Array(Type.Unsafe({ $ref: 'LdapServer#' })), ...errorResponses() } },
  }, async (request, reply) => {
    const { query, fields } = parseList(request.query as RawQuery, DIRECTORY_FIELDS, 'v2');
    return sendPage(reply, await core.directories.list(ctxOf(request), query, 'ldap_server'), (d) => project(toLdapServer(d), fields, 'id'));
  });

  app.get('/ldapservers/:id', {
    schema: { tags: ['LDAP Servers'], summary: 'Get the LDAP service', params: IdParams, response: { 200: Type.Unsafe({ $ref: 'LdapServer#' }), ...errorResponses(404) } },
  }, async (request) => toLdapServer(await core.directories.get(ctxOf(request), request.params.id, 'ldap_server')));

  app.patch('/ldapservers/:id', {
    schema: {
      tags: ['LDAP Servers'],
      summary: 'Configure the LDAP service',
      params: IdParams,
      body: Type.Object(
        {
          name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
          userLockoutAction: Type.Optional(LdapAction),
          userPasswordExpirationAction: Type.Optional(LdapAction),
          ...LdapExtensions,
        },
        { additionalProperties: true },
      ),
      response: { 200: Type.Unsafe({ $ref: 'LdapServer#' }), ...errorResponses(404) },
    },
  }, async (request) => {
    const { name, id: _id, ...rest } = request.body as Record<string, unknown> & { name?: string };
    const config: Record<string, unknown> = {};
    for (const key of SETTING_KEYS) if (rest[key] !== undefined) config[key] = rest[key];
    const updated = await core.directories.update(ctxOf(request), request.params.id, 'ldap_server', { ...(name ? { name } : {}), config });
    return toLdapServer(updated);
  });
};
