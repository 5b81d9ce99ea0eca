import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiKey, JournalEntry } from '../../core/model.js';
import { PERMISSIONS, ROLE_NAMES, ROLE_PERMISSIONS } from '../../core/roles.js';
import { MAX_JOURNAL_PAGE } from '../../core/services/journal.js';
import { ctxOf } from '../context.js';
import { parseFilters, type FieldNames, type RawQuery } from '../list-params.js';
import { errorResponses, FreeObject, IdParams, NullableString } from '../wire/common.js';
import { invalid } from '../../core/errors.js';

const tags = ['Roster extensions'];

const JOURNAL_FIELDS: FieldNames = {
  seq: 'seq',
  objectType: 'objectType',
  objectId: 'objectId',
  operation: 'operation',
  origin: 'origin',
  actorType: 'actorType',
  actorId: 'actorId',
  at: 'at',
};

const ApiKeySchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    prefix: Type.String({ description: 'The first characters of the key, to recognise it' }),
    readOnly: Type.Boolean(),
    expiresAt: NullableString(),
    created: Type.String(),
    lastUsedAt: NullableString(),
    revokedAt: NullableString(),
  },
  { $id: 'ApiKey' },
);

const JournalEntrySchema = Type.Object(
  {
    seq: Type.Integer(),
    at: Type.String(),
    objectType: Type.String(),
    objectId: Type.String(),
    operation: Type.String(),
    changes: FreeObject({ description: 'attribute → {before, after}; secrets read "[REDACTED]"' }),
    actor: Type.Object({ type: Type.String(), id: NullableString(), apiKeyId: NullableString() }),
    origin: Type.String(),
    details: Type.Union([FreeObject({ description: 'what an event carries: result, reason, client address, search filter' }), Type.Null()]),
  },
  { $id: 'JournalEntry' },
);

const toApiKey = (k: ApiKey) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  readOnly: k.readOnly,
  expiresAt: k.expiresAt,
  created: k.created,
  lastUsedAt: k.lastUsedAt,
  revokedAt: k.revokedAt,
});

const toJournalEntry = (e: JournalEntry) => ({
  seq: e.seq,
  at: e.at,
  objectType: e.objectType,
  objectId: e.objectId,
  operation: e.operation,
  changes: e.changes,
  actor: { type: e.actorType, id: e.actorId, apiKeyId: e.apiKeyId },
  origin: e.origin,
  details: e.details,
});

/** What JumpCloud's API lacks: roles, scoped and expiring API keys, the change journal. */
export const extensionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;
  app.addSchema(ApiKeySchema);
  app.addSchema(JournalEntrySchema);
  const keyRef = Type.Unsafe({ $ref: 'ApiKey#' });

  app.get('/roles', {
    schema: {
      tags,
      summary: 'Administrator roles and their permissions',
      response: {
        200: Type.Array(Type.Object({ name: Type.String(), permissions: Type.Array(Type.Object({ name: Type.String(), description: Type.String() })) })),
        ...errorResponses(),
      },
    },
  }, async () =>
    ROLE_NAMES.map((name) => ({ name, permissions: ROLE_PERMISSIONS[name].map((p) => ({ name: p, description: PERMISSIONS[p] })) })),
  );

  app.get('/apikeys', {
    schema: { tags, summary: "The calling administrator's API keys", response: { 200: Type.Array(keyRef), ...errorResponses() } },
  }, async (request) => (await core.apiKeys.list(ctxOf(request))).map(toApiKey));

  app.post('/apikeys', {
    schema: {
      tags,
      summary: 'Create an API key; the key is in the response once and never again',
      body: Type.Object(
        {
          name: Type.Optional(Type.String({ maxLength: 256 })),
          readOnly: Type.Optional(Type.Boolean({ description: 'The key can read but not change anything' })),
          expiresAt: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()], { description: 'ISO-8601 time after which the key stops working' })),
        },
        { additionalProperties: false },
      ),
      response: { 201: Type.Object({ ...ApiKeySchema.properties, key: Type.String() }), ...errorResponses(409) },
    },
  }, async (request, reply) => {
    const issued = await core.apiKeys.create(ctxOf(request), request.body);
    return reply.code(201).send({ ...toApiKey(issued.key), key: issued.secret });
  });

  app.delete('/apikeys/:id', {
    schema: { tags, summary: 'Revoke an API key', params: IdParams, response: { 200: keyRef, ...errorResponses(404) } },
  }, async (request) => toApiKey(await core.apiKeys.revoke(ctxOf(request), request.params.id)));

  app.get('/journal', {
    schema: {
      tags,
      summary: 'The change journal: audit log and change feed',
      description:
        'Every change in sequence order. Pass the x-next-since header of one page as `since` for the next; an empty page means you are up to date. ' +
        'Filters as in v2, on seq, objectType, objectId, operation, origin, actorType, actorId, at.',
      querystring: Type.Object(
        {
          since: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_JOURNAL_PAGE, default: 100 })),
          filter: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
        },
        { additionalProperties: true },
      ),
      response: { 200: Type.Array(Type.Unsafe({ $ref: 'JournalEntry#' })), ...errorResponses() },
    },
  }, async (request, reply) => {
    const raw = request.query as unknown as RawQuery;
    const since = Number(raw.since ?? 0);
    const limit = Number(raw.limit ?? 100);
    if (!Number.isInteger(since) || !Number.isInteger(limit)) throw invalid('INVALID_PAGING', 'since and limit must be integers');
    const entries = await core.journal.list(ctxOf(request), since, limit, parseFilters(raw, JOURNAL_FIELDS, 'v2'));
    void reply.header('x-next-since', String(entries.at(-1)?.seq ?? since));
    return entries.map(toJournalEntry);
  });
};
