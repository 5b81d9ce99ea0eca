import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DirectoryCore } from '../core/directory.js';
import type { Directory, ScimToken, User, UserGroup } from '../core/model.js';
import { ALL_ROWS, type Filter as CoreFilter, type ListQuery } from '../core/query.js';
import { directoryContext } from '../core/context.js';
import { scimError, scimErrorHandler, scimInvalid } from './errors.js';
import { parseFilter, type Filter } from './filter.js';
import { fromScimGroup, groupFilter, toScimGroup } from './groups.js';
import { applyPatch } from './patch.js';
import { resourceTypes, schemas, serviceProviderConfig } from './schemas.js';
import { fromScimUser, toScimUser, userFilter, versionOf } from './users.js';

const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
/** What the server promises in /ServiceProviderConfig. */
export const SCIM_LIMITS = { maxOperations: 1000, maxPayloadSize: 1024 * 1024, maxResults: 1000 };

declare module 'fastify' {
  interface FastifyRequest {
    scim: { source: Directory; token: ScimToken } | null;
  }
}

/** The core context of the source whose token the request carries; writes are journaled as `scim:<source id>`. */
const contextOf = (request: FastifyRequest) => {
  const { source } = request.scim!;
  return directoryContext(source.orgId, source.id, `scim:${source.id}`);
};

/**
 * A list request's filter (translated for the resource) and page as the core's query. startIndex
 * is 1-based (RFC 7644 §3.4.2.4); count is capped at maxResults, and 0 asks for the total only.
 */
function listQuery(params: { filter?: string; startIndex?: string; count?: string }, translate: (filter: Filter) => CoreFilter): { query: ListQuery; start: number } {
  const start = Math.max(1, Number.parseInt(params.startIndex ?? '1', 10) || 1);
  const size = params.count === undefined ? SCIM_LIMITS.maxResults : Math.min(SCIM_LIMITS.maxResults, Math.max(0, Number.parseInt(params.count, 10) || 0));
  let filter: CoreFilter | undefined;
  if (params.filter !== undefined) {
    const parsed = parseFilter(params.filter);
    if (!parsed.ok) throw scimInvalid('invalidFilter', parsed.error);
    filter = translate(parsed.value);
  }
  return { query: { ...(filter ? { filter } : {}), sort: [], page: { limit: size, skip: start - 1 } }, start };
}

const listResponse = <T>(resources: T[]) => ({
  schemas: [LIST_RESPONSE],
  totalResults: resources.length,
  startIndex: 1,
  itemsPerPage: resources.length,
  Resources: resources,
});

/** The service's base URL as the client addressed it (behind a proxy when trustProxy is set). */
const baseUrl = (request: FastifyRequest) => `${request.protocol}://${request.host}/scim/v2`;

/**
 * The SCIM 2.0 front-end at /scim/v2 (RFC 7644): bearer tokens of SCIM sources, SCIM errors and
 * media type, and the discovery endpoints. Every request needs a source's token.
 */
export interface ScimOptions {
  /** Conformance testing only: a token served at GET /Token without authentication. */
  testToken?: string;
}

export async function scimRoutes(app: FastifyInstance, core: DirectoryCore, options: ScimOptions = {}): Promise<void> {
  app.decorateRequest('scim', null);
  app.setErrorHandler(scimErrorHandler);
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).type('application/scim+json').send(scimError(404, `No SCIM resource at ${request.method} ${request.url}`));
  });
  // SCIM clients label bodiless requests (DELETE) with the media type too: an empty body is no body.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser(['application/scim+json'], { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined);
    else parseJson(request, body as string, done);
  });
  app.addHook('onSend', async (_request, reply) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('application/json')) reply.type('application/scim+json');
  });
  // Conformance testing only: Microsoft's SCIM test collection starts by fetching its token here.
  const testToken = options.testToken;
  if (testToken) app.get('/Token', { config: { public: true } }, async () => ({ token: testToken }));

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if ((request.routeOptions.config as { public?: boolean } | undefined)?.public) return undefined;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const found = match ? await core.scimSources.authenticate(match[1]!) : undefined;
    if (!found) {
      void reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="Roster SCIM"')
        .type('application/scim+json')
        .send(scimError(401, match ? 'The bearer token is not valid' : 'A SCIM source bearer token is required'));
      return reply;
    }
    request.scim = found;
    return undefined;
  });

  const config = (request: FastifyRequest) => serviceProviderConfig(baseUrl(request), SCIM_LIMITS);
  app.get('/ServiceProviderConfig', async (request) => config(request));
  // Entra ID's provisioning also reads this older name.
  app.get('/serviceConfiguration', async (request) => config(request));

  app.get('/ResourceTypes', async (request) => listResponse(resourceTypes(baseUrl(request))));
  app.get<{ Params: { id: string } }>('/ResourceTypes/:id', async (request, reply) => {
    const found = resourceTypes(baseUrl(request)).find((r) => r.id.toLowerCase() === request.params.id.toLowerCase());
    return found ?? reply.code(404).type('application/scim+json').send(scimError(404, `No resource type ${request.params.id}`));
  });

  app.get<{ Querystring: { filter?: string; startIndex?: string; count?: string } }>('/Users', async (request) => {
    const ctx = contextOf(request);
    const { query, start } = listQuery(request.query, userFilter);
    const page = await core.users.list(ctx, query);
    return {
      schemas: [LIST_RESPONSE],
      totalResults: page.total,
      startIndex: start,
      itemsPerPage: page.items.length,
      Resources: page.items.map((u) => toScimUser(u, baseUrl(request))),
    };
  });

  app.get<{ Params: { id: string } }>('/Users/:id', async (request, reply) => {
    const user = await core.users.get(contextOf(request), request.params.id);
    return reply.header('etag', versionOf(user.updated)).send(toScimUser(user, baseUrl(request)));
  });

  const sendUser = (request: FastifyRequest, reply: FastifyReply, user: User, code = 200) =>
    reply
      .code(code)
      .header('etag', versionOf(user.updated))
      .header(code === 201 ? 'location' : 'content-location', `${baseUrl(request)}/Users/${user.id}`)
      .send(toScimUser(user, baseUrl(request)));

  app.post('/Users', async (request, reply) => {
    const input = fromScimUser(request.body, false);
    if (!input.username) throw scimInvalid('invalidValue', 'userName is required');
    return sendUser(request, reply, await core.users.create(contextOf(request), input), 201);
  });

  app.put<{ Params: { id: string } }>('/Users/:id', async (request, reply) =>
    sendUser(request, reply, await core.users.update(contextOf(request), request.params.id, fromScimUser(request.body, true))),
  );

  app.patch<{ Params: { id: string } }>('/Users/:id', async (request, reply) => {
    const ctx = contextOf(request);
    const current = toScimUser(await core.users.get(ctx, request.params.id), baseUrl(request));
    const patched = applyPatch('User', current, request.body);
    return sendUser(request, reply, await core.users.update(ctx, request.params.id, fromScimUser(patched, true)));
  });

  app.delete<{ Params: { id: string } }>('/Users/:id', async (request, reply) => {
    await core.users.delete(contextOf(request), request.params.id);
    return reply.code(204).send();
  });

  // ---- Groups ----

  const membersOf = async (ctx: ReturnType<typeof contextOf>, groupId: string) => (await core.groups.members(ctx, groupId, ALL_ROWS)).items;
  const excludesMembers = (request: FastifyRequest) =>
    String((request.query as { excludedAttributes?: string }).excludedAttributes ?? '')
      .toLowerCase()
      .split(',')
      .map((a) => a.trim())
      .includes('members');
  const sendGroup = async (request: FastifyRequest, reply: FastifyReply, group: UserGroup, code = 200) => {
    const members = excludesMembers(request) ? undefined : await membersOf(contextOf(request), group.id);
    return reply
      .code(code)
      .header('etag', versionOf(group.updated))
      .header(code === 201 ? 'location' : 'content-location', `${baseUrl(request)}/Groups/${group.id}`)
      .send(toScimGroup(group, baseUrl(request), members));
  };

  app.get<{ Querystring: { filter?: string; startIndex?: string; count?: string } }>('/Groups', async (request) => {
    const ctx = contextOf(request);
    const { query, start } = listQuery(request.query, groupFilter);
    const page = await core.groups.list(ctx, query);
    const withMembers = !excludesMembers(request);
    const resources = [];
    for (const g of page.items) resources.push(toScimGroup(g, baseUrl(request), withMembers ? await membersOf(ctx, g.id) : undefined));
    return { schemas: [LIST_RESPONSE], totalResults: page.total, startIndex: start, itemsPerPage: resources.length, Resources: resources };
  });

  app.get<{ Params: { id: string } }>('/Groups/:id', async (request, reply) => sendGroup(request, reply, await core.groups.get(contextOf(request), request.params.id)));

  app.post('/Groups', async (request, reply) => {
    const ctx = contextOf(request);
    const { name, members } = fromScimGroup(request.body);
    if (!name) throw scimInvalid('invalidValue', 'displayName is required');
    // Created and given its members in two steps; if the members fail, the new group goes again.
    const group = await core.groups.create(ctx, { name });
    if (members && members.length > 0) {
      try {
        await core.groups.change(ctx, group.id, { members });
      } catch (e) {
        await core.groups.delete(ctx, group.id);
        throw e;
      }
    }
    return sendGroup(request, reply, await core.groups.get(ctx, group.id), 201);
  });

  app.put<{ Params: { id: string } }>('/Groups/:id', async (request, reply) => {
    const { name, members } = fromScimGroup(request.body);
    const group = await core.groups.change(contextOf(request), request.params.id, { ...(name ? { input: { name } } : {}), members: members ?? [] });
    return sendGroup(request, reply, group);
  });

  app.patch<{ Params: { id: string } }>('/Groups/:id', async (request, reply) => {
    const ctx = contextOf(request);
    const current = toScimGroup(await core.groups.get(ctx, request.params.id), baseUrl(request), await membersOf(ctx, request.params.id));
    const { name, members } = fromScimGroup(applyPatch('Group', current, request.body));
    await core.groups.change(ctx, request.params.id, { ...(name ? { input: { name } } : {}), members: members ?? [] });
    // Entra ID expects no body here.
    return reply.code(204).send();
  });

  app.delete<{ Params: { id: string } }>('/Groups/:id', async (request, reply) => {
    await core.groups.delete(contextOf(request), request.params.id);
    return reply.code(204).send();
  });

  app.get('/Schemas', async (request) => listResponse(schemas(baseUrl(request))));
  app.get<{ Params: { id: string } }>('/Schemas/:id', async (request, reply) => {
    const found = schemas(baseUrl(request)).find((s) => s.id.toLowerCase() === request.params.id.toLowerCase());
    return found ?? reply.code(404).type('application/scim+json').send(scimError(404, `No schema ${request.params.id}`));
  });
}

/**
 * Resource endpoints in the case the RFC spells them: Entra ID's requests include `/users`. For
 * the HTTP server's URL rewriting, since its router is case-sensitive.
 */
export function canonicalScimUrl(url: string): string {
  return url.replace(/^\/scim\/v2\/(users|groups)(?=[/?]|$)/i, (_m, resource: string) => `/scim/v2/${resource[0]!.toUpperCase()}${resource.slice(1).toLowerCase()}`);
}

/** Mounts the SCIM front-end on the HTTP server at /scim/v2. */
export async function registerScim(app: FastifyInstance, core: DirectoryCore, options: ScimOptions = {}): Promise<void> {
  await app.register(async (scim) => scimRoutes(scim, core, options), { prefix: '/scim/v2' });
}
