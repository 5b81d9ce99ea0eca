import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Directory, DirectoryAgent, DirectorySyncRun } from '../../core/model.js';
import { adSettings } from '../../core/services/active-directory.js';
import { ctxOf } from '../context.js';
import { parseList, project, type FieldNames, type RawQuery } from '../list-params.js';
import { errorResponses, IdParams, ListQuerystring, NullableString } from '../wire/common.js';
import { sendPage } from '../wire/graph.js';

const tags = ['Active Directory'];
const FIELDS: FieldNames = { id: 'id', domain: 'name', created: 'created' };

const Authority = Type.Union([Type.Literal('import'), Type.Literal('export'), Type.Literal('both'), Type.Literal('ignore')]);
/** Roster extensions to JumpCloud's active-directory resource: the domain's sync settings. */
const SettingsProperties = {
  schema: Type.Union([Type.Literal('active_directory'), Type.Literal('ldap')], {
    description: 'active_directory (default), or ldap: an OpenLDAP, 389-ds or FreeIPA directory read through the same agent (entryUUID, inetOrgPerson, groupOfNames), imported only; set when connecting',
  }),
  configuration: Type.Union([Type.Literal('ad_authoritative'), Type.Literal('two_way'), Type.Literal('roster_authoritative')], {
    description: 'ad_authoritative: import only; two_way: both, the newer change wins; roster_authoritative: Roster writes to AD only',
  }),
  importScopeGroupDn: Type.Union([Type.String(), Type.Null()], { description: 'The security group whose members, nested included, are imported' }),
  usersOu: Type.Union([Type.String(), Type.Null()], { description: 'Where users Roster creates in AD go' }),
  groupsOu: Type.Union([Type.String(), Type.Null()], { description: 'Where groups Roster creates in AD go' }),
  attributeMap: Type.Record(Type.String(), Type.String(), { description: 'Roster attribute → AD attribute, over the defaults' }),
  authority: Type.Record(Type.String(), Authority, { description: "Per attribute, over the configuration's preset (also suspended, membership)" }),
  removal: Type.Object(
    { action: Type.Union([Type.Literal('suspend'), Type.Literal('delete')]), graceDays: Type.Union([Type.Integer({ minimum: 0, maximum: 3650 }), Type.Null()]) },
    { description: 'A user deleted in AD or gone from the scope: suspended and deleted after graceDays (null: never), or deleted at once' },
  ),
  deleteThreshold: Type.Object(
    { count: Type.Integer({ minimum: 0 }), percent: Type.Number({ minimum: 0, maximum: 100 }) },
    { description: 'A run that would remove more than both count and percent of the linked objects holds its removals back' },
  ),
};

const ActiveDirectorySchema = Type.Object(
  { id: Type.String(), domain: Type.String(), ...Object.fromEntries(Object.entries(SettingsProperties).map(([k, v]) => [k, Type.Optional(v)])) },
  { $id: 'ActiveDirectory' },
);
const SettingsWrite = Type.Object(
  Object.fromEntries(Object.entries(SettingsProperties).map(([k, v]) => [k, Type.Optional(v)])),
  { additionalProperties: true },
);
const AgentSchema = Type.Object(
  {
    id: Type.String(),
    state: Type.String({ description: 'unsealed (waiting for the agent to register), active, inactive' }),
    hostname: Type.String(),
    version: Type.String(),
    source_ip: Type.String(),
    contactAt: Type.Optional(Type.String({ description: 'The last contact; absent until the agent registers' })),
    connectKey: Type.Optional(Type.String({ description: 'The one-time key to install the agent with: in the answer that creates the agent, once' })),
    connectKeyExpires: Type.Optional(NullableString()),
  },
  { $id: 'ActiveDirectoryAgent' },
);
export const RunSchema = Type.Object(
  {
    id: Type.String(),
    agentId: NullableString(),
    kind: Type.String(),
    mode: Type.String({ description: 'full or incremental' }),
    dryRun: Type.Boolean(),
    status: Type.String({ description: 'running, succeeded, failed, or held (removals held back by a safety check)' }),
    started: Type.String(),
    finished: NullableString(),
    counts: Type.Record(Type.String(), Type.Number()),
    plan: Type.Optional(Type.Array(Type.Unknown(), { description: 'Per object: action, kind, externalId, localId, name, changes (before → after), reason, held' })),
    error: NullableString(),
  },
  { $id: 'SyncRun' },
);
const AgentParams = Type.Object({ activedirectory_id: Type.String(), agent_id: Type.String() });
const DomainParams = Type.Object({ activedirectory_id: Type.String() });

const toDomain = (d: Directory) => {
  const { domain, ...settings } = adSettings(d);
  return { id: d.id, domain, ...settings };
};
const toAgent = (a: DirectoryAgent, connectKey?: string) => ({
  id: a.id,
  state: a.state,
  hostname: a.hostname,
  version: a.version,
  source_ip: a.sourceIp,
  ...(a.contactAt ? { contactAt: a.contactAt } : {}),
  ...(connectKey ? { connectKey, connectKeyExpires: a.connectKeyExpires } : {}),
});
export const toRun = (r: DirectorySyncRun, withPlan: boolean) => ({
  id: r.id,
  agentId: r.agentId,
  kind: r.kind,
  mode: r.mode,
  dryRun: r.dryRun,
  status: r.status,
  started: r.started,
  finished: r.finished,
  counts: r.counts,
  error: r.error,
  ...(withPlan ? { plan: r.plan } : {}),
});

/**
 * Active Directory domains (JumpCloud's /activedirectories and their agents), with Roster's sync
 * settings, state and run history.
 */
export const activeDirectoryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;
  app.addSchema(ActiveDirectorySchema);
  app.addSchema(AgentSchema);
  app.addSchema(RunSchema);
  const domainRef = Type.Unsafe({ $ref: 'ActiveDirectory#' });
  const agentRef = Type.Unsafe({ $ref: 'ActiveDirectoryAgent#' });
  const runRef = Type.Unsafe({ $ref: 'SyncRun#' });

  app.get('/activedirectories', {
    schema: { tags, summary: 'List Active Directory domains', querystring: ListQuerystring(), response: { 200: Type.Array(domainRef), ...errorResponses() } },
  }, async (request, reply) => {
    const { query, fields } = parseList(request.query as RawQuery, FIELDS, 'v2');
    return sendPage(reply, await core.activeDirectory.list(ctxOf(request), query), (d) => project(toDomain(d), fields, 'id'));
  });

  app.post('/activedirectories', {
    schema: {
      tags,
      summary: 'Connect an Active Directory domain',
      description: 'domain is required; the sync settings (Roster extension) are optional and default to AD authoritative with nothing in scope.',
      body: Type.Object({ domain: Type.String({ maxLength: 253 }), ...Object.fromEntries(Object.entries(SettingsProperties).map(([k, v]) => [k, Type.Optional(v)])) }, { additionalProperties: true }),
      response: { 201: domainRef, ...errorResponses(409) },
    },
  }, async (request, reply) => reply.code(201).send(toDomain(await core.activeDirectory.create(ctxOf(request), request.body as Record<string, unknown>))));

  app.get('/activedirectories/:id', {
    schema: { tags, summary: 'An Active Directory domain', params: IdParams, response: { 200: domainRef, ...errorResponses(404) } },
  }, async (request) => toDomain(await core.activeDirectory.get(ctxOf(request), request.params.id)));

  app.patch('/activedirectories/:id', {
    schema: {
      tags: [...tags, 'Roster extensions'],
      summary: "Change a domain's sync settings",
      description: 'Only the settings sent change. Switching configuration is journaled. A new import scope makes the next import read the whole scope.',
      params: IdParams,
      body: SettingsWrite,
      response: { 200: domainRef, ...errorResponses(404) },
    },
  }, async (request) => toDomain(await core.activeDirectory.updateSettings(ctxOf(request), request.params.id, request.body as Record<string, unknown>)));

  app.put('/activedirectories/:id/users/:user_id/passwordauthority', {
    schema: {
      tags: [...tags, 'Roster extensions'],
      summary: "A linked user's password authority for the domain",
      description: '`directory`: logins are verified against AD through the agent (delegated authentication); `roster`: Roster\'s password counts, and is written to AD in two-way and Roster authoritative; `null`: the configuration decides (AD authoritative: directory, else roster). Journaled on the user.',
      params: Type.Object({ id: Type.String(), user_id: Type.String() }),
      body: Type.Object({ passwordAuthority: Type.Union([Type.Literal('roster'), Type.Literal('directory'), Type.Null()]) }),
      response: { 200: Type.Object({ passwordAuthority: Type.Union([Type.Literal('roster'), Type.Literal('directory')]) }), ...errorResponses(400, 404) },
    },
  }, async (request) => {
    const { id, user_id } = request.params as { id: string; user_id: string };
    const { passwordAuthority } = request.body as { passwordAuthority: 'roster' | 'directory' | null };
    return { passwordAuthority: await core.activeDirectory.setPasswordAuthority(ctxOf(request), id, user_id, passwordAuthority) };
  });

  app.delete('/activedirectories/:id', {
    schema: { tags, summary: 'Disconnect an Active Directory domain', description: 'Its agents stop working; the users and groups it imported stay, unlinked.', params: IdParams, response: { 200: domainRef, ...errorResponses(404) } },
  }, async (request) => {
    const domain = await core.activeDirectory.get(ctxOf(request), request.params.id);
    await core.activeDirectory.delete(ctxOf(request), domain.id);
    return toDomain(domain);
  });

  app.get('/activedirectories/:activedirectory_id/agents', {
    schema: { tags, summary: "A domain's agents", params: DomainParams, querystring: ListQuerystring(), response: { 200: Type.Array(agentRef), ...errorResponses(404) } },
  }, async (request) => (await core.activeDirectory.agents(ctxOf(request), request.params.activedirectory_id)).map((a) => toAgent(a)));

  app.post('/activedirectories/:activedirectory_id/agents', {
    schema: {
      tags,
      summary: 'Add an agent; the answer holds its one-time connect key',
      description: 'Install the agent next to a domain controller with the connect key (roster agent --connect-key …). The key works once, for seven days.',
      params: DomainParams,
      body: Type.Optional(Type.Object({}, { additionalProperties: true })),
      response: { 201: agentRef, ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const { agent, connectKey } = await core.activeDirectory.createAgent(ctxOf(request), request.params.activedirectory_id);
    return reply.code(201).send(toAgent(agent, connectKey));
  });

  app.get('/activedirectories/:activedirectory_id/agents/:agent_id', {
    schema: { tags, summary: 'An agent', params: AgentParams, response: { 200: agentRef, ...errorResponses(404) } },
  }, async (request) => toAgent(await core.activeDirectory.agent(ctxOf(request), request.params.activedirectory_id, request.params.agent_id)));

  app.delete('/activedirectories/:activedirectory_id/agents/:agent_id', {
    schema: { tags, summary: 'Remove an agent; its credential stops working at once', params: AgentParams, response: { 204: Type.Null(), ...errorResponses(404) } },
  }, async (request, reply) => {
    await core.activeDirectory.deleteAgent(ctxOf(request), request.params.activedirectory_id, request.params.agent_id);
    return reply.code(204).send(null);
  });

  app.get('/activedirectories/:id/sync', {
    schema: {
      tags: [...tags, 'Roster extensions'],
      summary: "Where a domain's sync stands",
      params: IdParams,
      response: {
        200: Type.Object({
          fullImportWanted: Type.Boolean(),
          dryRunWanted: Type.Boolean(),
          cursor: Type.Boolean({ description: 'The domain has an import cursor (the next import is incremental)' }),
          writerAgentId: NullableString(),
          writerUntil: NullableString(),
          lastImportAt: NullableString(),
          lastError: NullableString(),
          lastErrorAt: NullableString(),
          agents: Type.Array(agentRef),
          lastRun: Type.Union([runRef, Type.Null()]),
        }),
        ...errorResponses(404),
      },
    },
  }, async (request) => {
    const ctx = ctxOf(request);
    const [state, agents, runs] = await Promise.all([
      core.activeDirectory.state(ctx, request.params.id),
      core.activeDirectory.agents(ctx, request.params.id),
      core.activeDirectory.runs(ctx, request.params.id, 1, 0),
    ]);
    return {
      fullImportWanted: state.fullImportWanted,
      dryRunWanted: state.dryRunWanted,
      cursor: state.importCursor !== null,
      writerAgentId: state.writerAgentId,
      writerUntil: state.writerUntil,
      lastImportAt: state.lastImportAt,
      lastError: state.lastError,
      lastErrorAt: state.lastErrorAt,
      agents: agents.map((a) => toAgent(a)),
      lastRun: runs.items[0] ? toRun(runs.items[0], false) : null,
    };
  });

  app.get('/activedirectories/:id/sync/export', {
    schema: {
      tags: [...tags, 'Roster extensions'],
      summary: 'What the agent would write to AD now (two-way, Roster authoritative): a dry run of the export',
      description: 'Operations planned from Roster against what AD last held: create_user, update_user (attribute changes, disabled), create_group, update_group (attribute changes, members added and removed by objectGUID). Empty when Roster does not write to the domain. Writes nothing.',
      params: IdParams,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })) }),
      response: { 200: Type.Object({ ops: Type.Array(Type.Unknown()), more: Type.Boolean() }), ...errorResponses(404) },
    },
  }, async (request) => core.directoryExport.preview(ctxOf(request), request.params.id, (request.query as { limit?: number }).limit ?? 500));

  app.post('/activedirectories/:id/sync/full', {
    schema: { tags: [...tags, 'Roster extensions'], summary: 'Ask the agents for a full import at their next contact', params: IdParams, response: { 202: Type.Null(), ...errorResponses(404) } },
  }, async (request, reply) => {
    await core.activeDirectory.requestFullImport(ctxOf(request), request.params.id);
    return reply.code(202).send(null);
  });

  app.post('/activedirectories/:id/sync/plan', {
    schema: {
      tags: [...tags, 'Roster extensions'],
      summary: 'Ask for a plan (a dry run): at its next contact the agent reads the whole scope and Roster plans it without applying anything',
      description: 'The plan appears as a run with dryRun true (GET …/sync/runs); the agent is woken by its next poll (30 s by default).',
      params: IdParams,
      response: { 202: Type.Null(), ...errorResponses(404) },
    },
  }, async (request, reply) => {
    await core.activeDirectory.requestDryRun(ctxOf(request), request.params.id);
    return reply.code(202).send(null);
  });

  app.get('/activedirectories/:id/sync/runs', {
    schema: {
      tags: [...tags, 'Roster extensions'],
      summary: "A domain's sync runs, newest first (without their plans)",
      params: IdParams,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })), skip: Type.Optional(Type.Integer({ minimum: 0 })) }),
      response: { 200: Type.Array(runRef), ...errorResponses(404) },
    },
  }, async (request, reply) => {
    const page = await core.activeDirectory.runs(ctxOf(request), request.params.id, request.query.limit ?? 20, request.query.skip ?? 0);
    return reply.header('x-total-count', String(page.total)).send(page.items.map((r) => toRun(r, false)));
  });

  app.get('/activedirectories/:id/sync/runs/:run_id', {
    schema: {
      tags: [...tags, 'Roster extensions'],
      summary: 'A sync run with its plan',
      params: Type.Object({ id: Type.String(), run_id: Type.String() }),
      response: { 200: runRef, ...errorResponses(404) },
    },
  }, async (request) => toRun(await core.activeDirectory.run(ctxOf(request), request.params.id, request.params.run_id), true));
};
