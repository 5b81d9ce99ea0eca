import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Directory } from '../../core/model.js';
import { cloudSettings, type CloudDirectoryType } from '../../core/services/cloud-directories.js';
import { notFound } from '../../core/errors.js';
import { ctxOf } from '../context.js';
import { parseList, project, type FieldNames, type RawQuery } from '../list-params.js';
import { errorResponses, IdParams, ListQuerystring, NullableString } from '../wire/common.js';
import { sendPage } from '../wire/graph.js';
import { RunSchema, toRun } from './active-directories.js';

const FIELDS: FieldNames = { id: 'id', name: 'name', created: 'created' };

/**
 * A cloud directory on the wire: JumpCloud's gsuite / office365 object (id, name, groupsEnabled)
 * with Roster's sync settings beside it. The credential is never returned: only whether it is set
 * (and, for Google, the service account it names).
 */
function toWire(d: Directory) {
  const s = cloudSettings(d);
  const common = {
    id: d.id,
    name: d.name,
    groupsEnabled: true,
    domain: s.domain,
    configuration: s.configuration,
    attributeMap: s.attributeMap,
    authority: s.authority,
    removal: s.removal,
    deleteThreshold: s.deleteThreshold,
    deprovision: s.deprovision ?? 'suspend',
    pollSeconds: s.pollSeconds,
    reconcileMinutes: s.reconcileMinutes,
    exportConcurrency: s.exportConcurrency,
    credentialSet: typeof d.config.credential === 'string',
    created: d.created,
  };
  if (s.schema === 'google_workspace') {
    return { ...common, groupsEnabled: s.scope.importGroups, adminEmail: s.adminEmail, customer: s.customer, usersOu: s.usersOu, queriesPerMinute: s.queriesPerMinute, scope: s.scope, endpoints: s.endpoints, serviceAccountEmail: (d.config.serviceAccountEmail as string | undefined) ?? null };
  }
  return { ...common, tenantId: s.tenantId, clientId: s.clientId, domainMap: s.domainMap, usageLocation: s.usageLocation, groupType: s.groupType, scope: s.scope, endpoints: s.endpoints, caCertificates: s.caCertificates };
}

const Settings = Type.Object({}, { additionalProperties: true, description: 'Settings (see docs/cloud-directories.md); unknown settings are refused' });
const Output = Type.Object({ id: Type.String(), name: Type.String(), groupsEnabled: Type.Boolean(), domain: Type.String(), credentialSet: Type.Boolean() }, { additionalProperties: true });

const Rule = Type.Object({ id: Type.String(), builtIn: Type.String(), direction: Type.String() });
const RuleParams = Type.Object({ id: Type.String(), rule_id: Type.String() });

const KINDS: { path: string; type: CloudDirectoryType; tag: string; what: string }[] = [
  { path: 'gsuites', type: 'g_suite', tag: 'G Suite', what: 'Google Workspace directory' },
  { path: 'office365s', type: 'office_365', tag: 'Office 365', what: 'Microsoft 365 directory' },
];

/**
 * Google Workspace (JumpCloud's /gsuites) and Microsoft 365 (/office365s): settings, the sync's
 * state, its dry runs and its run history. Associations, users and user groups of each are served
 * with the other resources' (routes/graph.ts).
 */
export const cloudDirectoryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;
  const CloudRun = { ...RunSchema, $id: 'CloudSyncRun' };
  app.addSchema(CloudRun);
  const runRef = Type.Unsafe({ $ref: 'CloudSyncRun#' });
  for (const { path, type, tag, what } of KINDS) {
    const tags = [tag];
    const ext = [tag, 'Roster extensions'];
    app.get(`/${path}`, {
      schema: { tags: ext, summary: `List ${what}s`, querystring: ListQuerystring(), response: { 200: Type.Array(Output), ...errorResponses() } },
    }, async (request, reply) => {
      const { query, fields } = parseList(request.query as RawQuery, FIELDS, 'v2');
      return sendPage(reply, await core.cloudDirectories.list(ctxOf(request), type, query), (d) => project(toWire(d), fields, 'id'));
    });
    app.post(`/${path}`, {
      schema: { tags: ext, summary: `Connect a ${what}`, body: Settings, response: { 201: Output, ...errorResponses(400, 409) } },
    }, async (request, reply) => reply.code(201).send(toWire(await core.cloudDirectories.create(ctxOf(request), type, request.body as Record<string, unknown>))));
    app.get(`/${path}/:id`, {
      schema: { tags, summary: `Get a ${what}`, params: IdParams, response: { 200: Output, ...errorResponses(404) } },
    }, async (request) => toWire(await core.cloudDirectories.get(ctxOf(request), type, request.params.id)));
    app.patch(`/${path}/:id`, {
      schema: { tags, summary: `Change a ${what}'s settings or credential`, params: IdParams, body: Settings, response: { 200: Output, ...errorResponses(400, 404) } },
    }, async (request) => toWire(await core.cloudDirectories.update(ctxOf(request), type, request.params.id, request.body as Record<string, unknown>)));
    app.delete(`/${path}/:id`, {
      schema: { tags: ext, summary: `Disconnect a ${what} (nothing in it changes; its users and groups stay in Roster, unlinked)`, params: IdParams, response: { 204: Type.Null(), ...errorResponses(404) } },
    }, async (request, reply) => {
      await core.cloudDirectories.delete(ctxOf(request), type, request.params.id);
      return reply.code(204).send(null);
    });
    app.get(`/${path}/:id/translationrules`, {
      schema: { tags, summary: "The directory's translation rules: which attributes go which way (the authority table underneath)", params: IdParams, response: { 200: Type.Array(Rule), ...errorResponses(404) } },
    }, async (request) => core.cloudDirectories.translationRules(ctxOf(request), type, request.params.id));
    app.post(`/${path}/:id/translationrules`, {
      schema: { tags, summary: 'Add a translation rule', params: IdParams, body: Type.Object({ builtIn: Type.String(), direction: Type.Optional(Type.String()) }), response: { 201: Rule, ...errorResponses(400, 404, 409) } },
    }, async (request, reply) => reply.code(201).send(await core.cloudDirectories.addTranslationRule(ctxOf(request), type, request.params.id, request.body)));
    app.get(`/${path}/:id/translationrules/:rule_id`, {
      schema: { tags, summary: 'A translation rule', params: RuleParams, response: { 200: Rule, ...errorResponses(404) } },
    }, async (request) => {
      const rule = (await core.cloudDirectories.translationRules(ctxOf(request), type, request.params.id)).find((r) => r.id === request.params.rule_id);
      if (!rule) throw notFound('TRANSLATION_RULE_NOT_FOUND', 'Translation rule not found');
      return rule;
    });
    app.delete(`/${path}/:id/translationrules/:rule_id`, {
      schema: { tags, summary: "Delete a translation rule (the attribute follows the configuration's preset again)", params: RuleParams, response: { 204: Type.Null(), ...errorResponses(404) } },
    }, async (request, reply) => {
      await core.cloudDirectories.deleteTranslationRule(ctxOf(request), type, request.params.id, request.params.rule_id);
      return reply.code(204).send(null);
    });
    app.get(`/${path}/:id/import/users`, {
      schema: {
        tags,
        summary: `${what} accounts available for import: read now, those no Roster user is linked to (its administrators excepted)`,
        description: type === 'g_suite' ? 'limit (≤ 100, default 10), pageToken, and query: a case-insensitive text the email or a name contains.' : 'top (≤ 100, default 10), skipToken, and search: a case-insensitive text the user principal name or a name contains.',
        params: IdParams,
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })), top: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })), pageToken: Type.Optional(Type.String()), skipToken: Type.Optional(Type.String()), query: Type.Optional(Type.String()), search: Type.Optional(Type.String()) }, { additionalProperties: true }),
        response: { 200: Type.Object({}, { additionalProperties: true }), ...errorResponses(404, 503) },
      },
    }, async (request) => {
      const q = request.query;
      const size = (type === 'g_suite' ? q.limit : q.top) ?? 10;
      const token = type === 'g_suite' ? q.pageToken : q.skipToken;
      const offset = token ? Number(Buffer.from(token, 'base64url').toString()) || 0 : 0;
      const found = await core.cloudDirectories.availableForImport(ctxOf(request), type, request.params.id, (type === 'g_suite' ? q.query : q.search) ?? '');
      const page = found.slice(offset, offset + size);
      const next = offset + size < found.length ? Buffer.from(String(offset + size)).toString('base64url') : undefined;
      if (type === 'g_suite') {
        return { users: page.map((u) => ({ id: u.externalId, primaryEmail: u.attributes.primaryemail ?? '', givenName: u.attributes.givenname ?? '', familyName: u.attributes.familyname ?? '', thumbnailPhotoUrl: '' })), ...(next ? { nextPageToken: next } : {}) };
      }
      return { top: size, users: page.map((u) => ({ id: u.externalId, userPrincipalName: u.attributes.userprincipalname ?? '', givenName: u.attributes.givenname ?? '', surname: u.attributes.surname ?? '' })), ...(next ? { skipToken: next } : {}) };
    });
    app.get(`/${path}/:id/sync`, {
      schema: {
        tags: ext,
        summary: `Where a ${what}'s sync stands`,
        params: IdParams,
        response: {
          200: Type.Object({
            fullImportWanted: Type.Boolean(),
            dryRunWanted: Type.Boolean(),
            cursor: Type.Boolean({ description: 'A delta cursor is kept (Microsoft 365: the next read is incremental)' }),
            workerUntil: NullableString(),
            lastImportAt: NullableString(),
            lastError: NullableString(),
            lastErrorAt: NullableString(),
            lastRun: Type.Union([runRef, Type.Null()]),
          }),
          ...errorResponses(404),
        },
      },
    }, async (request) => {
      const ctx = ctxOf(request);
      const [state, runs] = await Promise.all([core.cloudDirectories.state(ctx, type, request.params.id), core.cloudDirectories.runs(ctx, type, request.params.id, 1, 0)]);
      return {
        fullImportWanted: state.fullImportWanted,
        dryRunWanted: state.dryRunWanted,
        cursor: state.importCursor !== null,
        workerUntil: state.writerUntil,
        lastImportAt: state.lastImportAt,
        lastError: state.lastError,
        lastErrorAt: state.lastErrorAt,
        lastRun: runs.items[0] ? toRun(runs.items[0], false) : null,
      };
    });
    app.get(`/${path}/:id/sync/export`, {
      schema: {
        tags: ext,
        summary: `What Roster would write to the ${what} now: a dry run of the export`,
        description: 'create_user, update_user, delete_user, create_group, update_group, planned against what the directory last held; `held` when deprovisioning exceeds the delete threshold. Writes nothing.',
        params: IdParams,
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })) }),
        response: { 200: Type.Object({ ops: Type.Array(Type.Unknown()), more: Type.Boolean(), held: Type.Optional(Type.Object({ count: Type.Integer(), reason: Type.String() })) }), ...errorResponses(404) },
      },
    }, async (request) => core.cloudDirectories.exportPlan(ctxOf(request), type, request.params.id, (request.query as { limit?: number }).limit ?? 500));
    app.post(`/${path}/:id/sync/full`, {
      schema: { tags: ext, summary: 'Read the whole directory and reconcile at the next turn', params: IdParams, response: { 202: Type.Null(), ...errorResponses(404) } },
    }, async (request, reply) => {
      await core.cloudDirectories.requestRead(ctxOf(request), type, request.params.id);
      return reply.code(202).send(null);
    });
    app.post(`/${path}/:id/sync/plan`, {
      schema: {
        tags: ext,
        summary: 'Ask for a plan of the import (a dry run): the next turn reads the whole directory and plans it without applying anything',
        description: 'The plan appears as a run with dryRun true (GET …/sync/runs).',
        params: IdParams,
        response: { 202: Type.Null(), ...errorResponses(404) },
      },
    }, async (request, reply) => {
      await core.cloudDirectories.requestRead(ctxOf(request), type, request.params.id, true);
      return reply.code(202).send(null);
    });
    app.get(`/${path}/:id/sync/runs`, {
      schema: {
        tags: ext,
        summary: `A ${what}'s sync runs (imports and exports), newest first, without their plans`,
        params: IdParams,
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })), skip: Type.Optional(Type.Integer({ minimum: 0 })) }),
        response: { 200: Type.Array(runRef), ...errorResponses(404) },
      },
    }, async (request, reply) => {
      const page = await core.cloudDirectories.runs(ctxOf(request), type, request.params.id, request.query.limit ?? 20, request.query.skip ?? 0);
      return reply.header('x-total-count', String(page.total)).send(page.items.map((r) => toRun(r, false)));
    });
    app.get(`/${path}/:id/sync/runs/:run_id`, {
      schema: { tags: ext, summary: 'A sync run with its plan', params: Type.Object({ id: Type.String(), run_id: Type.String() }), response: { 200: runRef, ...errorResponses(404) } },
    }, async (request) => toRun(await core.cloudDirectories.run(ctxOf(request), type, request.params.id, request.params.run_id), true));
  }
};
