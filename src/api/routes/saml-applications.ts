import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { conflict, invalid } from '../../core/errors.js';
import type { Application } from '../../core/model.js';
import { redactConfig } from '../../core/services/applications.js';
import { REDACTED } from '../../core/journal.js';
import { configValue, isSamlApplication, readSamlConfig } from '../../sso/saml-app-config.js';
import { baseUrlOf, SamlApplications, samlUrls } from '../../sso/saml-apps.js';
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

function info(saml: SamlApplications, app: Application, baseUrl: string) {
  const { settings } = readSamlConfig(redactConfig(app.config));
  const urls = samlUrls(baseUrl, app.id);
  return {
    idpEntityId: settings.idpEntityId,
    spEntityId: settings.spEntityId,
    acsUrls: settings.acsUrls,
    metadataUrl: urls.metadata,
    ssoUrl: urls.sso,
    startUrl: urls.start,
    certificates: saml.certificates(app),
  };
}

/** An application's SAML identity provider: its endpoints and certificates, and signing-key rotation. JumpCloud has no equivalent. */
export const samlApplicationRoutes: FastifyPluginAsyncTypebox<{ publicUrl?: string }> = async (app, options) => {
  const saml = new SamlApplications(app.core);
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
    if (!isSamlApplication(application)) throw conflict('APPLICATION_NOT_SAML', 'The application does not use SAML: set its sso.type to "saml" first');
    return info(saml, application, baseUrl(request));
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
  }, async (request) => info(saml, await saml.rotate(ctxOf(request), request.params.id, baseUrl(request)), baseUrl(request)));

  app.post('/applications/:id/saml/retire', {
    schema: {
      tags,
      summary: 'Finish a signing-key rotation: the next key signs, the old certificate leaves the metadata',
      description: '409 SAML_NO_NEXT_KEY when no rotation is in progress.',
      params: IdParams,
      response: { 200: infoRef, ...errorResponses(404, 409) },
    },
  }, async (request) => info(saml, await saml.retire(ctxOf(request), request.params.id), baseUrl(request)));
};

/** Config keys Roster fills in itself: kept when a PUT leaves them out, since losing them breaks the SP. */
const KEPT_KEYS = ['idpEntityId', 'idpCertificate', 'idpPrivateKey', 'idpNextCertificate', 'idpNextPrivateKey', 'persistentNameIdSecret'];
/** Secrets a SAML config check needs in the clear (the key must match its certificate). */
const SECRET_KEYS = ['idpPrivateKey', 'idpNextPrivateKey', 'persistentNameIdSecret'];

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
export function samlApplicationHooks(api: Api, publicUrl?: string): void {
  const saml = new SamlApplications(api.core);

  api.addHook('preHandler', async (request: WriteRequest) => {
    const write = applicationWrite(request);
    const body = request.body;
    if (!write || !body || (body.config === undefined && body.sso === undefined)) return;
    const existing = write === 'update' ? await api.core.applications.get(ctxOf(request), request.params.id!) : undefined;
    const sso = body.sso ?? existing?.sso ?? {};
    if (!isSamlApplication({ sso })) return;
    if (existing && body.config !== undefined && isSamlApplication(existing)) {
      const stored = redactConfig(existing.config);
      for (const key of KEPT_KEYS) if (!(key in body.config) && key in stored) body.config[key] = stored[key];
    }
    const config = { ...(body.config ?? (existing ? redactConfig(existing.config) : {})) };
    if (existing) {
      // "[REDACTED]" keeps the stored secret: check with that secret.
      const opened = api.core.applications.openConfig(existing);
      for (const key of SECRET_KEYS) if (configValue(config, key) === REDACTED && opened[key] !== undefined) config[key] = opened[key];
    }
    const { errors } = readSamlConfig(config);
    if (errors.length > 0) throw invalid('INVALID_INPUT', errors.map((e) => e.message).join('; '), errors);
  });

  api.addHook('preSerialization', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (!applicationWrite(request) || reply.statusCode !== 200) return payload;
    const wire = payload as { _id?: unknown; sso?: Record<string, unknown> } | null;
    if (!wire || typeof wire._id !== 'string' || !isSamlApplication({ sso: wire.sso ?? {} })) return payload;
    const ctx = ctxOf(request);
    const application = await api.core.applications.get(ctx, wire._id);
    if (!saml.needsCompletion(application)) return payload;
    return toApplication(await saml.complete(ctx, application, baseUrlOf(request, publicUrl)));
  });
}
