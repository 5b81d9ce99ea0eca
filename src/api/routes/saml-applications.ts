import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../../core/context.js';
import { conflict, invalid, type ErrorDetail } from '../../core/errors.js';
import type { Application } from '../../core/model.js';
import { ctxOf } from '../context.js';
import type { Api } from '../server.js';
import { toApplication } from '../wire/application.js';
import { errorResponses, IdParams } from '../wire/common.js';

const tags = ['Roster extensions'];

const SamlInfoSchema = Type.Object(
  {
    idpEntityId: Type.String({ description: 'The IdP entity id (config.idpEntityId)' }),
    spEntityId: Type.String(),
    acsUrls: Type.Array(Type.String(), { description: 'config.acsUrl, then config.additionalAcsUrls' }),
    metadataUrl: Type.String({ description: 'IdP metadata for the service provider' }),
    ssoUrl: Type.String({ description: 'SingleSignOnService, HTTP-Redirect and HTTP-POST bindings' }),
    startUrl: Type.String({ description: 'IdP-initiated sign-on (optional ?RelayState=)' }),
    certificates: Type.Array(
      Type.Object({
        use: Type.Union([Type.Literal('signing'), Type.Literal('next')], { description: 'signing: signs responses now; next: published ahead of POST …/saml/retire' }),
        certificate: Type.String({ description: 'PEM' }),
        fingerprintSha256: Type.String(),
        notBefore: Type.String(),
        notAfter: Type.String(),
      }),
    ),
  },
  { $id: 'SamlApplicationInfo' },
);
const infoRef = Type.Unsafe({ $ref: 'SamlApplicationInfo#' });

/**
 * What the API needs of the SAML identity provider to manage SAML applications; the SSO
 * front-end provides it and the composition root hands it over, so neither front-end imports
 * the other.
 */
export interface SamlApplicationAdmin {
  /** Whether an application (or its `sso` settings) uses SAML. */
  isSaml(app: Pick<Application, 'sso'>): boolean;
  /**
   * Checks a SAML application's write (a POST or PUT body): every problem, named by field. Keeps
   * the keys Roster made when a PUT's config leaves them out (it changes the body to do so).
   */
  checkWrite(body: { config?: Record<string, unknown> }, existing: Application | undefined): ErrorDetail[];
  /** The application's endpoints and published certificates. */
  info(app: Application, baseUrl: string): unknown;
  needsCompletion(app: Application): boolean;
  /** Fills in what Roster makes (keys, entity id, secret). */
  complete(ctx: Context, app: Application, baseUrl: string): Promise<Application>;
  rotate(ctx: Context, id: string, baseUrl: string): Promise<Application>;
  retire(ctx: Context, id: string): Promise<Application>;
}

/** The URL the client reached this server at, or the configured public one. */
export const baseUrlOf = (request: { protocol: string; host: string }, publicUrl?: string) =>
  (publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');

/** An application's SAML identity provider: its endpoints and certificates, and signing-key rotation. JumpCloud has no equivalent. */
export const samlApplicationRoutes: FastifyPluginAsyncTypebox<{ publicUrl?: string; saml: SamlApplicationAdmin }> = async (app, options) => {
  const { saml } = options;
  const baseUrl = (request: FastifyRequest) => baseUrlOf(request, options.publicUrl);
  app.addSchema(SamlInfoSchema);

  app.get('/applications/:id/saml', {
    schema: {
      tags,
      summary: "A SAML application's IdP endpoints and published certificates",
      params: IdParams,
      response: { 200: infoRef, ...errorResponses(404, 409) },
    },
  }, async (request) => {
    const application = await app.core.applications.get(ctxOf(request), request.params.id);
    if (!saml.isSaml(application)) throw conflict('APPLICATION_NOT_SAML', 'The application does not use SAML: set its sso.type to "saml" first');
    return saml.info(application, baseUrl(request));
  });

  app.post('/applications/:id/saml/rotate', {
    schema: {
      tags,
      summary: 'Start a signing-key rotation: publish a next key in the metadata',
      description:
        'Makes a new key pair. Its certificate is published in the metadata beside the current one (use "next") while the current key keeps signing, ' +
        'so service providers that read the metadata trust both before the switch. POST …/saml/retire then switches. Calling rotate again replaces the next key.',
      params: IdParams,
      response: { 200: infoRef, ...errorResponses(404, 409) },
    },
  }, async (request) => saml.info(await saml.rotate(ctxOf(request), request.params.id, baseUrl(request)), baseUrl(request)));

  app.post('/applications/:id/saml/retire', {
    schema: {
      tags,
      summary: 'Finish a signing-key rotation: the next key signs, the old certificate leaves the metadata',
      description: '409 SAML_NO_NEXT_KEY when no rotation is in progress.',
      params: IdParams,
      response: { 200: infoRef, ...errorResponses(404, 409) },
    },
  }, async (request) => saml.info(await saml.retire(ctxOf(request), request.params.id), baseUrl(request)));
};

type WriteRequest = FastifyRequest<{ Params: { id?: string }; Body: { config?: Record<string, unknown>; sso?: Record<string, unknown> } | undefined }>;

const applicationWrite = (request: FastifyRequest): 'create' | 'update' | undefined => {
  const route = request.routeOptions.url;
  if (request.method === 'POST' && route === '/api/applications') return 'create';
  if (request.method === 'PUT' && route === '/api/applications/:id') return 'update';
  return undefined;
};

/**
 * SAML applications through JumpCloud's application endpoints (POST /api/applications, PUT
 * /api/applications/{id}): the SAML config is checked before the write (400 with every problem),
 * the keys Roster made are kept when a PUT leaves them out, and after the write an application
 * that became SAML without a key pair gets one, in the answer already.
 */
export function samlApplicationHooks(api: Api, saml: SamlApplicationAdmin, publicUrl?: string): void {

  api.addHook('preHandler', async (request: WriteRequest) => {
    const write = applicationWrite(request);
    const body = request.body;
    if (!write || !body || (body.config === undefined && body.sso === undefined)) return;
    const existing = write === 'update' ? await api.core.applications.get(ctxOf(request), request.params.id!) : undefined;
    if (!saml.isSaml({ sso: body.sso ?? existing?.sso ?? {} })) return;
    const errors = saml.checkWrite(body, existing);
    if (errors.length > 0) throw invalid('INVALID_INPUT', errors.map((e) => e.message).join('; '), errors);
  });

  api.addHook('preSerialization', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (!applicationWrite(request) || reply.statusCode !== 200) return payload;
    const wire = payload as { _id?: unknown; sso?: Record<string, unknown> } | null;
    if (!wire || typeof wire._id !== 'string' || !saml.isSaml({ sso: wire.sso ?? {} })) return payload;
    const ctx = ctxOf(request);
    const application = await api.core.applications.get(ctx, wire._id);
    if (!saml.needsCompletion(application)) return payload;
    return toApplication(await saml.complete(ctx, application, baseUrlOf(request, publicUrl)));
  });
}
