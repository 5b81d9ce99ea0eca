import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { invalid } from '../../core/errors.js';
import type { ApplicationId } from '../../core/ids.js';
import { BULK_MODES, DEPROVISION_ACTIONS, MATCH_ATTRIBUTES, MEMBER_PATCH_MODES, PATCH_MODES, PROVISIONING_STATUSES, type ProvisionedObject, type ProvisioningTarget } from '../../core/model.js';
import type { ProvisioningInput } from '../../core/services/provisioning.js';
import { dryRun } from '../../integrations/scim-app/provisioner.js';
import { ProvisioningWorker } from '../../integrations/scim-app/worker.js';
import { ctxOf } from '../context.js';
import { errorResponses, IdParams, NullableString } from '../wire/common.js';
import { sendPage } from '../wire/graph.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The process's provisioning worker, when it runs one. */
    provisioningWorker: ProvisioningWorker | null;
  }
}

const tags = ['Roster extensions'];
const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

const Settings = {
  enabled: Type.Boolean({ description: 'Provision the users and groups associated with the application' }),
  baseUrl: Type.String({ description: "The application's SCIM base URL (https; http only to this machine)" }),
  deprovision: literals(DEPROVISION_ACTIONS),
  groups: Type.Boolean({ description: 'Push the groups associated with the application, with their members' }),
  roleMappings: Type.Array(Type.Object({ groupId: Type.String(), role: Type.String() }), { description: "Each member of the group gets the role in SCIM's roles attribute" }),
  patch: literals(PATCH_MODES),
  memberPatch: literals(MEMBER_PATCH_MODES),
  bulk: literals(BULK_MODES),
  matchBy: literals(MATCH_ATTRIBUTES),
  concurrency: Type.Integer({ minimum: 1, maximum: 64 }),
  reconcileMinutes: Type.Integer({ minimum: 0, maximum: 10080 }),
};

/**
 * The enumerated settings as a body takes them: plain strings, checked by the service, whose message
 * names the allowed values (Ajv's errors for a union of literals only say "must match a schema in anyOf").
 */
const choice = (values: readonly string[], description: string) => Type.String({ description: `${description}: one of ${values.join(', ')}` });
const SettingsInput = {
  ...Settings,
  deprovision: choice(DEPROVISION_ACTIONS, 'What happens in the application to a user who loses access'),
  patch: choice(PATCH_MODES, 'auto uses PATCH when the application supports it; never replaces whole resources'),
  memberPatch: choice(MEMBER_PATCH_MODES, 'How membership changes are sent'),
  bulk: choice(BULK_MODES, 'auto sends creates in SCIM bulk requests when the application supports them'),
  matchBy: choice(MATCH_ATTRIBUTES, 'How an account that already exists in the application is recognised'),
};

const TargetSchema = Type.Object(
  {
    applicationId: Type.String(),
    ...Settings,
    hasToken: Type.Boolean({ description: 'Whether a bearer token is set; the token is never returned' }),
    status: literals(PROVISIONING_STATUSES),
    cursor: Type.Integer({ description: 'The journal position the application has converged to' }),
    counters: Type.Record(Type.String(), Type.Number(), { description: 'What the last run did' }),
    lastRunAt: NullableString(),
    lastSuccessAt: NullableString(),
    lastError: NullableString(),
    lastErrorAt: NullableString(),
    reconciledAt: NullableString(),
    updated: Type.String(),
  },
  { $id: 'ProvisioningTarget' },
);

const ObjectSchema = Type.Object(
  {
    type: literals(['user', 'group']),
    id: Type.String({ description: 'The Roster id' }),
    remoteId: NullableString({ description: "The object's id in the application" }),
    name: Type.String(),
    state: literals(['active', 'inactive', 'deleted']),
    written: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()], { description: 'The attributes last written (members as Roster ids)' }),
    writtenAt: NullableString(),
    error: NullableString(),
    errorAt: NullableString(),
    attempts: Type.Integer(),
  },
  { $id: 'ProvisionedObject' },
);

const toTarget = (t: ProvisioningTarget) => ({
  applicationId: t.applicationId,
  ...t.config,
  hasToken: t.hasToken,
  status: t.status,
  cursor: t.cursor,
  counters: t.counters,
  lastRunAt: t.lastRunAt,
  lastSuccessAt: t.lastSuccessAt,
  lastError: t.lastError,
  lastErrorAt: t.lastErrorAt,
  reconciledAt: t.reconciledAt,
  updated: t.updated,
});

const toObject = (o: ProvisionedObject) => ({
  type: o.objectType,
  id: o.localId,
  remoteId: o.remoteId,
  name: o.name,
  state: o.state,
  written: o.written,
  writtenAt: o.writtenAt,
  error: o.error,
  errorAt: o.errorAt,
  attempts: o.attempts,
});

/**
 * Outbound SCIM provisioning of an application (Roster extension): its settings and bearer token,
 * status, what was written per user and group, a dry-run plan and an immediate run.
 */
export const provisioningRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;
  app.addSchema(TargetSchema);
  app.addSchema(ObjectSchema);
  const targetRef = Type.Unsafe({ $ref: 'ProvisioningTarget#' });
  const objectRef = Type.Unsafe({ $ref: 'ProvisionedObject#' });
  const worker = () => app.provisioningWorker ?? new ProvisioningWorker(core.provisioning);

  app.get('/applications/:id/provisioning', {
    schema: { tags, summary: "An application's SCIM provisioning: settings and status", params: IdParams, response: { 200: targetRef, ...errorResponses(404) } },
  }, async (request) => toTarget(await core.provisioning.get(ctxOf(request), request.params.id)));

  const update = {
    schema: {
      tags,
      summary: "Change an application's SCIM provisioning settings",
      description:
        'Only the settings sent change. `token` sets the bearer token (stored encrypted, never returned); `null` removes it. ' +
        'A new baseUrl is a new target: what was recorded of the old one is forgotten.',
      params: IdParams,
      body: Type.Partial(Type.Object({ ...SettingsInput, token: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: true })),
      response: { 200: targetRef, ...errorResponses(404) },
    },
  };
  const configure = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const target = await core.provisioning.configure(ctxOf(request), request.params.id, request.body as ProvisioningInput);
    // This process's worker picks the change up at once; the others within their next read.
    app.provisioningWorker?.wake();
    return toTarget(target);
  };
  app.put('/applications/:id/provisioning', update, configure);
  app.patch('/applications/:id/provisioning', update, configure);

  app.get('/applications/:id/provisioning/objects', {
    schema: {
      tags,
      summary: 'What was written to the application, per user and group',
      params: IdParams,
      querystring: Type.Object({
        type: Type.Optional(literals(['user', 'group'])),
        failed: Type.Optional(Type.Boolean({ description: 'Only objects whose last write failed (true) or succeeded (false)' })),
        limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, default: 10 })),
        skip: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
      }),
      response: { 200: Type.Array(objectRef), ...errorResponses(404) },
    },
  }, async (request, reply) => {
    const q = request.query;
    const page = await core.provisioning.objects(ctxOf(request), request.params.id, {
      ...(q.type ? { objectType: q.type } : {}),
      ...(q.failed !== undefined ? { failed: q.failed } : {}),
      page: { limit: q.limit ?? 10, skip: q.skip ?? 0 },
    });
    return sendPage(reply, page, toObject);
  });

  app.get('/applications/:id/provisioning/plan', {
    schema: {
      tags,
      summary: 'Dry run: what the next run would write, and why',
      description: 'Computed from the directory and the records of what was written; nothing is sent to the application.',
      params: IdParams,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 10000, default: 100, description: 'Operations listed (all are counted)' })) }),
    },
  }, async (request) => {
    const target = await core.provisioning.get(ctxOf(request), request.params.id);
    const result = await dryRun(core.provisioning, target);
    const ops = result ? [...result.plan.users, ...result.plan.groups] : [];
    const summary: Record<string, Record<string, number>> = { user: {}, group: {} };
    for (const op of ops) summary[op.kind]![op.action] = (summary[op.kind]![op.action] ?? 0) + 1;
    return {
      seq: result?.seq ?? 0,
      enabled: target.config.enabled,
      summary,
      operations: ops.slice(0, request.query.limit ?? 100).map((op) => ({
        type: op.kind,
        id: op.localId,
        name: op.name,
        action: op.action,
        reason: op.reason,
        ...(op.record?.remoteId ? { remoteId: op.record.remoteId } : {}),
        ...(op.payload ? { attributes: op.payload } : {}),
        ...(op.members && (op.members.add.length > 0 || op.members.remove.length > 0) ? { members: { add: op.members.add, remove: op.members.remove } } : {}),
      })),
    };
  });

  app.post('/applications/:id/provisioning/run', {
    schema: {
      tags,
      summary: 'Provision the application now and wait for the run',
      description: '`reconcile: true` also reads the application\'s accounts back and repairs what drifted.',
      params: IdParams,
      body: Type.Object({ reconcile: Type.Optional(Type.Boolean()) }, { additionalProperties: true }),
    },
    // The body is optional (a bare POST runs without reconciling); Ajv refuses an absent one.
    preValidation: async (request) => {
      request.body ??= {};
    },
  }, async (request) => {
    const ctx = ctxOf(request);
    const target = await core.provisioning.runnableBy(ctx, request.params.id);
    if (!target.config.enabled) throw invalid('PROVISIONING_DISABLED', 'Provisioning is not enabled for this application');
    const result = await worker().runNow(ctx.orgId, target.applicationId as ApplicationId, request.body.reconcile === true);
    if (!result) throw invalid('PROVISIONING_BUSY', 'Another run of this application holds its lease; try again shortly');
    return { ...result, status: (await core.provisioning.get(ctx, request.params.id)).status };
  });
};
