import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { invalid } from '../../core/errors.js';
import { and, type Filter } from '../../core/query.js';
import type { UserId } from '../../core/ids.js';
import type { User } from '../../core/model.js';
import { ctxOf } from '../context.js';
import { parseFilters, parseList, parsePage, parseFields, parseSort, project, type FieldNames, type RawQuery } from '../list-params.js';
import { errorResponses, IdParams, ListQuerystring } from '../wire/common.js';
import { SYSTEMUSER_FIELDS, SystemUserCreateSchema, SystemUserUpdateSchema, toSystemUser, toUserInput } from '../wire/systemuser.js';

const tags = ['Systemusers'];
const userRef = Type.Unsafe({ $ref: 'SystemUser#' });
const ListSchema = Type.Object({ totalCount: Type.Integer(), results: Type.Array(userRef) });

/** `search[searchTerm]` / `search[fields]` (GET) and `searchFilter` (POST /search): substring, any field. */
function textSearch(term: unknown, fields: unknown, names: FieldNames): Filter | undefined {
  const terms = (Array.isArray(term) ? term : [term]).filter((t): t is string => typeof t === 'string' && t !== '');
  if (terms.length === 0) return undefined;
  const list = (Array.isArray(fields) ? fields : typeof fields === 'string' ? fields.split(/[\s,]+/) : ['username', 'email', 'firstname', 'lastname'])
    .filter((f): f is string => typeof f === 'string' && f !== '');
  const filters: Filter[] = [];
  for (const wire of list) {
    const field = names[wire];
    if (!field) throw invalid('INVALID_FILTER', `cannot search unknown field "${wire}"`);
    for (const t of terms) filters.push({ kind: 'text', field, op: 'contains', value: t });
  }
  return { kind: 'or', filters };
}

/** POST /search/systemusers `filter`: `[{field: value}]`, `{and: [...]}` or `{or: [...]}`; equality per field. */
function bodyFilter(filter: unknown, names: FieldNames): Filter | undefined {
  if (filter === undefined || filter === null) return undefined;
  const clause = (item: unknown): Filter => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw invalid('INVALID_FILTER', 'each filter expression must be an object');
    const entries = Object.entries(item as Record<string, unknown>);
    const parts: Filter[] = entries.map(([key, value]) => {
      if (key === 'and' || key === 'or') return group(key, value);
      const field = names[key];
      if (!field) throw invalid('INVALID_FILTER', `unknown field "${key}"`);
      if (value !== null && typeof value === 'object') throw invalid('INVALID_FILTER', `${key} takes a plain value`);
      return { kind: 'compare', field, op: 'eq', value: value as string };
    });
    return parts.length === 1 ? parts[0]! : { kind: 'and', filters: parts };
  };
  const group = (kind: 'and' | 'or', list: unknown): Filter => {
    if (!Array.isArray(list)) throw invalid('INVALID_FILTER', `${kind} takes a list of expressions`);
    return { kind, filters: list.map(clause) };
  };
  if (Array.isArray(filter)) return group('and', filter);
  return clause(filter);
}

/** JumpCloud's user actions answer 200 with a JSON string body. */
const emptyString = (reply: FastifyReply) => reply.type('application/json; charset=utf-8').send('""');

export const systemUserRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;
  const wire = (u: User) => toSystemUser(u, new Date());
  /** Users with their second factors (`totp_enabled`, `mfa`, `mfaEnrollment`): one query per factor for the whole page. */
  const wireAll = async (request: FastifyRequest, users: User[]) => {
    const now = new Date();
    const { totp, webauthn } = await core.mfa.factorsAmong(ctxOf(request), users.map((u) => u.id));
    return users.map((u) => toSystemUser(u, now, { totp: totp.has(u.id), webauthn: webauthn.has(u.id) }));
  };
  const wireOne = async (request: FastifyRequest, user: User) => (await wireAll(request, [user]))[0]!;

  app.get('/systemusers', {
    schema: { tags, summary: 'List users', querystring: ListQuerystring({ search: Type.Optional(Type.Unknown()) }), response: { 200: ListSchema, ...errorResponses() } },
  }, async (request) => {
    const raw = request.query as RawQuery;
    const { query, fields } = parseList(raw, SYSTEMUSER_FIELDS, 'v1');
    const search = textSearch(raw['search[searchTerm]'] ?? raw['search[searchTerm][]'], raw['search[fields]'] ?? raw['search[fields][]'], SYSTEMUSER_FIELDS);
    const page = await core.users.list(ctxOf(request), { ...query, filter: and(query.filter, search) });
    return { totalCount: page.total, results: (await wireAll(request, page.items)).map((u) => project(u, fields, '_id')) };
  });

  app.post('/systemusers', {
    schema: { tags, summary: 'Create a user', body: SystemUserCreateSchema, response: { 200: userRef, ...errorResponses(409) } },
  }, async (request) => wire(await core.users.create(ctxOf(request), toUserInput(request.body))));

  app.get('/systemusers/:id', {
    schema: { tags, summary: 'Get a user', params: IdParams, querystring: Type.Object({ fields: Type.Optional(Type.String()) }), response: { 200: userRef, ...errorResponses(404) } },
  }, async (request) => project(await wireOne(request, await core.users.get(ctxOf(request), request.params.id)), parseFields(request.query as RawQuery), '_id'));

  app.put('/systemusers/:id', {
    schema: { tags, summary: 'Update a user (only the fields given change)', params: IdParams, body: SystemUserUpdateSchema, response: { 200: userRef, ...errorResponses(404, 409) } },
  }, async (request) => wireOne(request, await core.users.update(ctxOf(request), request.params.id, toUserInput(request.body))));

  app.delete('/systemusers/:id', {
    schema: {
      tags,
      summary: 'Delete a user',
      description: 'A user who manages others is refused (409) unless cascade_manager=null clears their manager or cascade_manager=<user id> reassigns them.',
      params: IdParams,
      querystring: Type.Object({ cascade_manager: Type.Optional(Type.String()) }),
      response: { 200: userRef, ...errorResponses(404, 409) },
    },
  }, async (request) => {
    const cascade = request.query.cascade_manager;
    const cascadeManager = cascade === undefined ? undefined : cascade === 'null' || cascade === '' ? null : (cascade as UserId);
    return wire(await core.users.delete(ctxOf(request), request.params.id, { cascadeManager }));
  });

  app.post('/systemusers/:id/unlock', {
    schema: { tags, summary: 'Unlock a user locked out by failed logins', params: IdParams, response: { 200: Type.String(), ...errorResponses(404) } },
  }, async (request, reply) => {
    await core.users.unlock(ctxOf(request), request.params.id);
    return emptyString(reply);
  });

  app.post('/systemusers/:id/expire', {
    schema: { tags, summary: "Expire a user's password now", params: IdParams, response: { 200: Type.String(), ...errorResponses(404) } },
  }, async (request, reply) => {
    await core.users.expire(ctxOf(request), request.params.id);
    return emptyString(reply);
  });

  app.post('/systemusers/:id/resetmfa', {
    schema: {
      tags,
      summary: "Reset a user's second factors",
      description:
        "Removes the user's TOTP, security keys and passkeys, and recovery codes, so the user enrolls again (at the next sign-in when the MFA policy applies). " +
        'exclusion with exclusionUntil or exclusionDays gives an enrollment period: until it ends the user is asked to enroll at sign-in and may put it off. ' +
        'exclusion without a date exempts the user from the policy for good; exclusion false ends an exemption. Answers 200 whether or not the user had a factor.',
      params: IdParams,
      body: Type.Object(
        {
          exclusion: Type.Optional(Type.Boolean()),
          exclusionDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
          exclusionUntil: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601 date-time' })),
        },
        { additionalProperties: true },
      ),
      response: { 200: Type.String(), ...errorResponses(404) },
    },
    // The body is optional: JumpCloud clients often send none.
    preValidation: async (request) => {
      request.body ??= {};
    },
  }, async (request, reply) => {
    const { exclusion, exclusionDays, exclusionUntil } = request.body;
    await core.mfa.reset(ctxOf(request), request.params.id, {
      ...(exclusion !== undefined ? { exclusion } : {}),
      ...(exclusionDays !== undefined ? { exclusionDays } : {}),
      ...(exclusionUntil !== undefined ? { exclusionUntil } : {}),
    });
    return emptyString(reply);
  });

  app.post('/systemusers/:id/state/activate', {
    schema: { tags, summary: 'Activate a staged user', params: IdParams, response: { 200: Type.String(), ...errorResponses(404, 409) } },
  }, async (request, reply) => {
    await core.users.activate(ctxOf(request), request.params.id);
    return emptyString(reply);
  });

  app.post('/search/systemusers', {
    schema: {
      tags: ['Search'],
      summary: 'Search users',
      description: '`filter` is a list of {field: value} (all must match) or {and|or: [...]}; `searchFilter` is {searchTerm, fields} (substring, any field).',
      querystring: Type.Object({ limit: Type.Optional(Type.Integer()), skip: Type.Optional(Type.Integer()), fields: Type.Optional(Type.String()), filter: Type.Optional(Type.String()) }, { additionalProperties: true }),
      body: Type.Optional(Type.Object({
        filter: Type.Optional(Type.Unknown()),
        searchFilter: Type.Optional(Type.Object({ searchTerm: Type.Optional(Type.Unknown()), fields: Type.Optional(Type.Array(Type.String())) }, { additionalProperties: true })),
        fields: Type.Optional(Type.String()),
      }, { additionalProperties: true })),
      response: { 200: ListSchema, ...errorResponses() },
    },
  }, async (request) => {
    const raw = request.query as RawQuery;
    const body = request.body ?? {};
    const filter = and(
      parseFilters(raw, SYSTEMUSER_FIELDS, 'v1'),
      bodyFilter(body.filter, SYSTEMUSER_FIELDS),
      body.searchFilter ? textSearch(body.searchFilter.searchTerm, body.searchFilter.fields, SYSTEMUSER_FIELDS) : undefined,
    );
    const fields = parseFields({ fields: [body.fields ?? [], raw.fields ?? []].flat() });
    const page = await core.users.list(ctxOf(request), { filter, sort: parseSort(raw, SYSTEMUSER_FIELDS), page: parsePage(raw) });
    return { totalCount: page.total, results: (await wireAll(request, page.items)).map((u) => project(u, fields, '_id')) };
  });
};
