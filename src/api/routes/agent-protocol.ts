import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { setTimeout as sleep } from 'node:timers/promises';
import { conflict, notFound, unauthenticated } from '../../core/errors.js';
import type { Directory, DirectoryAgent } from '../../core/model.js';
import { adSettings, attributeSources } from '../../core/services/active-directory.js';
import type { AgentTaskAnswer } from '../../core/services/agent-tasks.js';
import type { ExportOutcome } from '../../core/services/directory-export.js';
import type { ImportBatch } from '../../core/services/directory-sync.js';
import { errorResponses } from '../wire/common.js';

declare module 'fastify' {
  interface FastifyRequest {
    agent?: { agent: DirectoryAgent; directory: Directory };
  }
}

const tags = ['Directory agents'];
/** How long the writer lease lasts; an agent renews it at each contact, well within. */
export const WRITER_LEASE_SECONDS = 60;
const MAX_OBJECTS = 5_000;
const MAX_SEEN = 1_000_000;

const ExternalId = Type.String({ minLength: 1, maxLength: 256 });
const SourceObjectSchema = Type.Object({
  kind: Type.Union([Type.Literal('user'), Type.Literal('user_group')]),
  externalId: ExternalId,
  attributes: Type.Record(Type.String({ maxLength: 64 }), Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 64 })),
  present: Type.Boolean(),
  gone: Type.Optional(Type.Union([Type.Literal('deleted'), Type.Literal('out_of_scope')])),
  disabled: Type.Optional(Type.Boolean()),
  privileged: Type.Optional(Type.Boolean()),
  members: Type.Optional(Type.Array(Type.Object({ kind: Type.Union([Type.Literal('user'), Type.Literal('user_group')]), externalId: ExternalId }), { maxItems: 100_000 })),
  changedAt: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$', maxLength: 40 })),
});

const ImportSchema = Type.Object({
  runId: Type.Optional(Type.String({ maxLength: 64 })),
  mode: Type.Union([Type.Literal('full'), Type.Literal('incremental')]),
  dryRun: Type.Optional(Type.Boolean()),
  objects: Type.Array(SourceObjectSchema, { maxItems: MAX_OBJECTS }),
  complete: Type.Optional(
    Type.Object({ seen: Type.Optional(Type.Object({ users: Type.Array(ExternalId, { maxItems: MAX_SEEN }), groups: Type.Array(ExternalId, { maxItems: MAX_SEEN }) })) }),
  ),
  cursor: Type.Optional(Type.Union([Type.String({ maxLength: 1_000_000 }), Type.Null()])),
});

const OutcomeSchema = Type.Object({
  op: Type.Object({ op: Type.Union([Type.Literal('create_user'), Type.Literal('update_user'), Type.Literal('create_group'), Type.Literal('update_group')]), localId: Type.String({ maxLength: 64 }) }, { additionalProperties: true }),
  ok: Type.Boolean(),
  externalId: Type.Optional(ExternalId),
  dn: Type.Optional(Type.String({ maxLength: 4096 })),
  passwordSet: Type.Optional(Type.Boolean()),
  disabled: Type.Optional(Type.Boolean()),
  error: Type.Optional(Type.String({ maxLength: 4000 })),
});

function bearer(request: FastifyRequest): string {
  const value = String(request.headers.authorization ?? '');
  return value.toLowerCase().startsWith('bearer ') ? value.slice(7).trim() : '';
}

/**
 * What `roster agent` talks to, at /api/agent/v1: registration with the one-time connect key,
 * then, with the agent's own credential (`Authorization: Bearer rag_…`), its configuration and
 * state, the writer lease, and import batches. The agent only ever dials out to Roster.
 */
export const agentProtocolRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;

  app.post('/register', {
    schema: {
      tags,
      summary: 'Register an agent with its one-time connect key',
      body: Type.Object({ connectKey: Type.String({ maxLength: 200 }), hostname: Type.String({ maxLength: 255 }), version: Type.String({ maxLength: 64 }) }),
      response: {
        201: Type.Object({ agentId: Type.String(), credential: Type.String({ description: "The agent's own credential: given once" }), directoryId: Type.String(), organization: Type.String(), domain: Type.String() }),
        ...errorResponses(401),
      },
    },
  }, async (request, reply) => {
    const registered = await core.activeDirectory.register(request.body.connectKey, { hostname: request.body.hostname, version: request.body.version, ip: request.ip });
    if (!registered) throw unauthenticated('INVALID_CONNECT_KEY', 'The connect key is unknown, used, or expired; add a new agent to get a new one');
    return reply.code(201).send({
      agentId: registered.agent.id,
      credential: registered.credential,
      directoryId: registered.directory.id,
      organization: registered.agent.orgId,
      domain: adSettings(registered.directory).domain,
    });
  });

  const mustWrite = async (agent: DirectoryAgent) => {
    if (!(await core.activeDirectory.takeWriterLease(agent, WRITER_LEASE_SECONDS))) throw conflict('NOT_THE_WRITER', 'Another agent of this domain holds the writer lease');
  };

  await app.register(async (authed) => {
    authed.addHook('onRequest', async (request) => {
      const found = await core.activeDirectory.authenticate(bearer(request), request.ip);
      if (!found) throw unauthenticated('INVALID_AGENT_CREDENTIAL', 'The agent credential is unknown or was revoked');
      request.agent = found;
    });

    authed.get('/config', {
      schema: {
        tags,
        summary: "The domain's sync settings and state for this agent; renews the writer lease when the agent can hold it",
        response: { 200: Type.Unknown(), ...errorResponses(401) },
      },
    }, async (request) => {
      const { agent, directory } = request.agent!;
      const settings = adSettings(directory);
      const writer = await core.activeDirectory.takeWriterLease(agent, WRITER_LEASE_SECONDS);
      const state = await core.activeDirectory.stateFor(agent);
      return {
        agentId: agent.id,
        directoryId: directory.id,
        domain: settings.domain,
        schema: settings.schema,
        configuration: settings.configuration,
        importScopeGroupDn: settings.importScopeGroupDn,
        usersOu: settings.usersOu,
        groupsOu: settings.groupsOu,
        /** The AD attributes to read for users. */
        userAttributes: [...new Set([...Object.values(attributeSources(settings)), 'userprincipalname', 'whenchanged'])],
        importCursor: state?.importCursor ?? null,
        fullImportWanted: state?.fullImportWanted ?? true,
        dryRunWanted: state?.dryRunWanted ?? false,
        writer,
        leaseSeconds: WRITER_LEASE_SECONDS,
      };
    });

    authed.post('/import', {
      bodyLimit: 64 * 1024 * 1024,
      schema: {
        tags,
        summary: 'Apply a batch of changes read from the directory, with the cursor after them',
        body: ImportSchema,
        response: { 200: Type.Unknown(), ...errorResponses(401, 409) },
      },
    }, async (request) => {
      const { agent } = request.agent!;
      if (!(await core.activeDirectory.takeWriterLease(agent, WRITER_LEASE_SECONDS))) {
        throw conflict('NOT_THE_WRITER', 'Another agent of this domain holds the writer lease');
      }
      const result = await core.directorySync.importBatch(agent, request.body as ImportBatch);
      return {
        runId: result.run.id,
        status: result.run.status,
        counts: result.run.counts,
        ...(result.run.dryRun ? { plan: result.plan } : {}),
      };
    });

    authed.get('/export', {
      schema: {
        tags,
        summary: 'What to write to the directory now (the sync role): operations planned from Roster against what the directory last held',
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })) }),
        response: { 200: Type.Unknown(), ...errorResponses(401, 409) },
      },
    }, async (request) => {
      const { agent } = request.agent!;
      await mustWrite(agent);
      return core.directoryExport.plan(agent.orgId, agent.directoryId, (request.query as { limit?: number }).limit ?? 500);
    });

    authed.post('/export', {
      bodyLimit: 64 * 1024 * 1024,
      schema: {
        tags,
        summary: 'Report the operations of an export plan the agent carried out, with the directory ids of what it created',
        body: Type.Object({ outcomes: Type.Array(OutcomeSchema, { maxItems: MAX_OBJECTS }) }),
        response: { 200: Type.Unknown(), ...errorResponses(401, 409) },
      },
    }, async (request) => {
      const { agent } = request.agent!;
      await mustWrite(agent);
      const run = await core.directoryExport.record(agent, (request.body as { outcomes: ExportOutcome[] }).outcomes);
      return { runId: run.id, status: run.status, counts: run.counts };
    });

    authed.get('/tasks', {
      schema: {
        tags,
        summary: "Requests waiting for the agent (password writes, delegated logins); waits up to `wait` seconds for one, or until Roster's journal moves past `head`",
        querystring: Type.Object({ wait: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 })), head: Type.Optional(Type.Integer({ minimum: 0 })) }),
        response: { 200: Type.Unknown(), ...errorResponses(401) },
      },
    }, async (request) => {
      const { agent } = request.agent!;
      const query = request.query as { wait?: number; head?: number };
      const waitMs = (query.wait ?? 25) * 1000;
      const journal = core.store.read.journal;
      const seen = query.head;
      const moved = async () => seen !== undefined && (await journal.head(agent.orgId)) !== seen;
      // Only the writer serves requests: another agent waits, ready to take over.
      if (!(await core.activeDirectory.takeWriterLease(agent, WRITER_LEASE_SECONDS))) {
        await sleep(Math.min(waitMs, 5000));
        return { tasks: [], head: await journal.head(agent.orgId) };
      }
      const tasks = await core.agentTasks.take(agent, waitMs, moved);
      return { tasks, head: await journal.head(agent.orgId) };
    });

    authed.post('/tasks/:id', {
      schema: {
        tags,
        summary: "The agent's answer to a request",
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: Type.Union([
          Type.Object({ ok: Type.Literal(true), externalId: Type.Optional(ExternalId), known: Type.Optional(Type.Unknown()) }),
          Type.Object({ ok: Type.Literal(false), outcome: Type.Union([Type.Literal('refused'), Type.Literal('failed')]), reason: Type.String({ maxLength: 2000 }) }),
        ]),
        response: { 204: Type.Null(), ...errorResponses(401, 404) },
      },
    }, async (request, reply) => {
      if (!(await core.agentTasks.answer(request.agent!.agent, (request.params as { id: string }).id, request.body as AgentTaskAnswer))) {
        throw notFound('TASK_NOT_FOUND', 'No such request is waiting for this agent (its requester may have given up)');
      }
      return reply.code(204).send(null);
    });

    authed.post('/password', {
      schema: {
        tags,
        summary: "A password changed in the directory, pushed as it happens (a domain controller's password filter): Roster keeps it for the user linked to the account",
        body: Type.Object({ username: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })), externalId: Type.Optional(ExternalId), password: Type.String({ minLength: 1, maxLength: 1024 }) }),
        response: { 204: Type.Null(), ...errorResponses(400, 401, 404) },
      },
    }, async (request, reply) => {
      const { agent } = request.agent!;
      await core.directorySync.passwordFromDirectory(agent, request.body as { username?: string; externalId?: string; password: string });
      return reply.code(204).send(null);
    });

    authed.post('/error', {
      schema: { tags, summary: 'Report a failure (the domain controller unreachable, a bind refused)', body: Type.Object({ message: Type.String({ maxLength: 2000 }) }), response: { 204: Type.Null(), ...errorResponses(401) } },
    }, async (request, reply) => {
      await core.activeDirectory.reportError(request.agent!.agent, (request.body as { message: string }).message);
      return reply.code(204).send(null);
    });

    authed.post('/lease/release', {
      schema: { tags, summary: 'Give up the writer lease (the agent is stopping), so another agent takes over at once', response: { 204: Type.Null(), ...errorResponses(401) } },
    }, async (request, reply) => {
      await core.activeDirectory.releaseWriterLease(request.agent!.agent);
      return reply.code(204).send(null);
    });

    authed.post('/credential', {
      schema: { tags, summary: "Rotate the agent's credential; the old one stops working", response: { 200: Type.Object({ credential: Type.String() }), ...errorResponses(401) } },
    }, async (request) => ({ credential: await core.activeDirectory.rotateCredential(request.agent!.agent) }));
  });
};
