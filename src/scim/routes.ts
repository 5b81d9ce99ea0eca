import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DirectoryCore } from '../core/directory.js';
import type { Directory, ScimToken } from '../core/model.js';
import { directoryContext } from '../core/context.js';
import { runBulk, type BulkCall } from './bulk.js';
import { scimError, scimErrorHandler } from './errors.js';
import { parseProjection } from './projection.js';
import {
  createResource,
  deleteResource,
  GROUPS,
  LIST_RESPONSE,
  listResources,
  patchResource,
  readResource,
  replaceResource,
  searchAll,
  USERS,
  type ResourceKind,
  type ScimCall,
  type ScimResult,
} from './resources.js';
import { resourceTypes, schemas, SCIM_LIMITS, serviceProviderConfig } from './schemas.js';
import { searchFromBody, searchFromQuery } from './search.js';

export { SCIM_LIMITS };

declare module 'fastify' {
  interface FastifyRequest {
    scim: { source: Directory; token: ScimToken } | null;
  }
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

/** The source whose token the request carries; its writes are journaled as `scim:<source id>`. */
function sourceCall(core: DirectoryCore, request: FastifyRequest): BulkCall {
  const { source } = request.scim!;
  return { core, ctx: directoryContext(source.orgId, source.id, `scim:${source.id}`), directoryId: source.id, baseUrl: baseUrl(request) };
}

const header = (request: FastifyRequest, name: string) => {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

/** A request as the resource handlers take it: attributes/excludedAttributes and the conditional headers. */
function callOf(core: DirectoryCore, request: FastifyRequest): ScimCall {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const ifMatch = header(request, 'if-match');
  const ifNoneMatch = header(request, 'if-none-match');
  return {
    ...sourceCall(core, request),
    projection: parseProjection(query.attributes, query.excludedAttributes),
    ...(ifMatch !== undefined ? { ifMatch } : {}),
    ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}),
  };
}

function send(reply: FastifyReply, result: ScimResult) {
  void reply.code(result.status);
  if (result.etag !== undefined) void reply.header('etag', result.etag);
  if (result.location !== undefined && result.status !== 204) void reply.header(result.status === 201 ? 'location' : 'content-location', result.location);
  return result.body !== undefined ? reply.send(result.body) : reply.send();
}

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
  // Every body, /Bulk's included, is held to the maxPayloadSize the ServiceProviderConfig promises.
  app.addHook('onRoute', (route) => {
    route.bodyLimit = SCIM_LIMITS.maxPayloadSize;
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

  app.get('/Schemas', async (request) => listResponse(schemas(baseUrl(request))));
  app.get<{ Params: { id: string } }>('/Schemas/:id', async (request, reply) => {
    const found = schemas(baseUrl(request)).find((s) => s.id.toLowerCase() === request.params.id.toLowerCase());
    return found ?? reply.code(404).type('application/scim+json').send(scimError(404, `No schema ${request.params.id}`));
  });

  for (const kind of [USERS, GROUPS] as ResourceKind[]) resourceRoutes(app, core, kind);

  // RFC 7644 §3.4.3: a search from the root covers every resource type.
  app.post('/.search', async (request) => {
    const params = searchFromBody(request.body);
    return searchAll({ ...sourceCall(core, request), projection: params.projection }, params);
  });

  app.post('/Bulk', async (request) => runBulk(sourceCall(core, request), request.body, (error) => request.log.error({ err: error }, 'SCIM bulk operation failed')));
}

/** The endpoints of one resource type: list, search, read, create, replace, patch, delete. */
function resourceRoutes(app: FastifyInstance, core: DirectoryCore, kind: ResourceKind): void {
  const base = `/${kind.endpoint}`;
  type ById = { Params: { id: string } };
  app.get(base, async (request) => {
    const params = searchFromQuery(request.query);
    return listResources({ ...sourceCall(core, request), projection: params.projection }, kind, params);
  });
  app.post(`${base}/.search`, async (request) => {
    const params = searchFromBody(request.body);
    return listResources({ ...sourceCall(core, request), projection: params.projection }, kind, params);
  });
  app.get<ById>(`${base}/:id`, async (request, reply) => send(reply, await readResource(callOf(core, request), kind, request.params.id)));
  app.post(base, async (request, reply) => send(reply, await createResource(callOf(core, request), kind, request.body)));
  app.put<ById>(`${base}/:id`, async (request, reply) => send(reply, await replaceResource(callOf(core, request), kind, request.params.id, request.body)));
  app.patch<ById>(`${base}/:id`, async (request, reply) => send(reply, await patchResource(callOf(core, request), kind, request.params.id, request.body)));
  app.delete<ById>(`${base}/:id`, async (request, reply) => send(reply, await deleteResource(callOf(core, request), kind, request.params.id)));
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
