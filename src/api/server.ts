import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv, type Options as AjvOptions } from 'ajv';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifySchemaCompiler, type FastifyServerOptions } from 'fastify';
import type { DirectoryCore } from '../core/directory.js';
import cookie from '@fastify/cookie';
import { authenticate, requirePortalRequest } from './context.js';
import { adminSessionRoutes, adminSignInRoutes } from './routes/admin-session.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { rejectNulCharacters } from './input-guard.js';
import { administratorRoutes } from './routes/administrators.js';
import { applicationRoutes } from './routes/applications.js';
import { credentialRoutes } from './routes/credentials.js';
import { directoryRoutes } from './routes/directories.js';
import { activeDirectoryRoutes } from './routes/active-directories.js';
import { cloudDirectoryRoutes } from './routes/cloud-directories.js';
import { agentProtocolRoutes } from './routes/agent-protocol.js';
import { extensionRoutes } from './routes/extensions.js';
import { graphRoutes } from './routes/graph.js';
import { healthRoutes } from './routes/health.js';
import { oidcRoutes } from './routes/oidc.js';
import { organizationRoutes } from './routes/organizations.js';
import { scimSourceRoutes } from './routes/scim-sources.js';
import { provisioningRoutes } from './routes/provisioning.js';
import { samlApplicationHooks, samlApplicationRoutes, type SamlApplicationAdmin } from './routes/saml-applications.js';
import type { ProvisioningWorker } from '../integrations/scim-app/worker.js';
import { radiusServerRoutes } from './routes/radiusservers.js';
import { systemUserRoutes } from './routes/systemusers.js';
import { userGroupRoutes } from './routes/usergroups.js';
import { userImportRoutes } from './routes/user-import.js';
import { ErrorSchema, GraphConnectionSchema, GraphObjectWithPathsSchema } from './wire/common.js';
import { SystemUserSchema } from './wire/systemuser.js';

export interface ApiOptions {
  core: DirectoryCore;
  version: string;
  logger?: FastifyServerOptions['logger'];
  /** Largest accepted request body, bytes. */
  bodyLimit?: number;
  trustProxy?: boolean;
  /** Serve HTTPS with this certificate and key (PEM). */
  https?: { cert: Buffer; key: Buffer };
  /** Rewrites a request's URL before routing (another front-end's path aliases). */
  rewriteUrl?: (url: string) => string;
  /** The process's outbound provisioning worker; "run now" requests go through it. */
  provisioningWorker?: ProvisioningWorker;
  /** The URL browsers reach Roster at (ROSTER_PUBLIC_URL); SAML entity ids and endpoint URLs use it. Else the request's own. */
  publicUrl?: string;
  /** The SAML identity provider's application management; without it, SAML applications are plain applications to the API. */
  saml?: SamlApplicationAdmin;
}

export type Api = FastifyInstance<any, any, any, any, TypeBoxTypeProvider>;

type ValidatorFactory = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']>;

const ajvBase: AjvOptions = { allErrors: true, strict: false, useDefaults: true };

/**
 * Bodies are validated as sent: a string where a boolean belongs is an error, not a guess.
 * Query strings and path parameters are text, so their numbers and booleans are coerced.
 */
function validators() {
  const body = new Ajv({ ...ajvBase, coerceTypes: false, removeAdditional: false });
  const params = new Ajv({ ...ajvBase, coerceTypes: 'array' });
  return { body, params };
}

/**
 * Installed as the compilers factory, not with setValidatorCompiler: a plugin that calls addSchema
 * rebuilds its validator from the server's factory, which would otherwise be fastify's default,
 * type-coercing Ajv.
 */
function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const ajv = validators();
  return ({ schema, httpPart }) => (httpPart === 'body' ? ajv.body : ajv.params).compile(schema as object);
}

export async function buildApi(options: ApiOptions): Promise<Api> {
  const app = Fastify({
    ...(options.https ? { https: options.https } : {}),
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    trustProxy: options.trustProxy ?? false,
    requestIdHeader: 'x-request-id',
    ...(options.rewriteUrl ? { rewriteUrl: (request: { url?: string }) => options.rewriteUrl!(request.url ?? '/') } : {}),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // fastify types the factory for plain Ajv compile functions; at run time it takes route schemas.
    schemaController: { compilersFactory: { buildValidator: validatorCompiler as unknown as ValidatorFactory } },
    // Router errors (a malformed URL, an over-long path parameter) answer in the API's error shape too.
    frameworkErrors: (error, request, reply) => errorHandler(error, request as FastifyRequest, reply as FastifyReply),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Some clients send `content-type: application/json` on bodiless POSTs (user actions); an empty
  // body is no body. Anything else goes to fastify's parser, which refuses prototype poisoning.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined);
    else parseJson(request, body as string, done);
  });
  app.decorate('core', options.core);
  app.decorate('provisioningWorker', options.provisioningWorker ?? null);
  app.decorateRequest('ctx', null);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
  });

  for (const schema of [ErrorSchema, SystemUserSchema, GraphConnectionSchema, GraphObjectWithPathsSchema]) app.addSchema(schema);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Roster API',
        version: options.version,
        description:
          'The Roster directory API. Paths, fields, status codes and error shapes follow the JumpCloud API v1 and v2, ' +
          'so tools built for that API work unchanged. Operations tagged "Roster extensions" have no JumpCloud equivalent.',
      },
      servers: [{ url: '/' }],
      components: { securitySchemes: { 'x-api-key': { type: 'apiKey', in: 'header', name: 'x-api-key' } } },
      security: [{ 'x-api-key': [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes);
  await app.register(agentProtocolRoutes, { prefix: '/api/agent/v1' });
  await app.register(async (portal) => {
    portal.addHook('onRequest', async (request) => requirePortalRequest(request));
    await portal.register(adminSignInRoutes, { prefix: '/api' });
  });
  await app.register(async (api) => {
    await api.register(cookie);
    api.addHook('onRequest', authenticate);
    api.addHook('preValidation', rejectNulCharacters);
    if (options.saml) samlApplicationHooks(api, options.saml, options.publicUrl);
    await api.register(adminSessionRoutes, { prefix: '/api' });
    await api.register(systemUserRoutes, { prefix: '/api' });
    await api.register(administratorRoutes, { prefix: '/api' });
    await api.register(applicationRoutes, { prefix: '/api' });
    await api.register(organizationRoutes, { prefix: '/api' });
    await api.register(radiusServerRoutes, { prefix: '/api' });
    await api.register(userGroupRoutes, { prefix: '/api/v2' });
    await api.register(graphRoutes, { prefix: '/api/v2' });
    await api.register(directoryRoutes, { prefix: '/api/v2' });
    await api.register(activeDirectoryRoutes, { prefix: '/api/v2' });
    await api.register(cloudDirectoryRoutes, { prefix: '/api/v2' });
    await api.register(extensionRoutes, { prefix: '/api/v2' });
    await api.register(userImportRoutes, { prefix: '/api/v2' });
    await api.register(credentialRoutes, { prefix: '/api/v2' });
    await api.register(scimSourceRoutes, { prefix: '/api/v2' });
    await api.register(provisioningRoutes, { prefix: '/api/v2' });
    if (options.saml) await api.register(samlApplicationRoutes, { prefix: '/api/v2', saml: options.saml, ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}) });
    await api.register(oidcRoutes, { prefix: '/api/v2' });
  });
  return app;
}
