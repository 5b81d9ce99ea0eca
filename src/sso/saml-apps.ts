import { randomBytes, X509Certificate } from 'node:crypto';
import { requirePermission, type Context } from '../core/context.js';
import type { DirectoryCore } from '../core/directory.js';
import { conflict, isDirectoryError, type ErrorDetail } from '../core/errors.js';
import { REDACTED } from '../core/journal.js';
import { isWellFormedId, type ApplicationId, type OrgId } from '../core/ids.js';
import type { Application, User } from '../core/model.js';
import { ALL_ROWS } from '../core/query.js';
import { redactConfig } from '../core/services/applications.js';
import { configValue, isSamlApplication, missingForLogin, readSamlConfig, userAttributeValues, type SamlAppSettings } from './saml-app-config.js';
import {
  buildIdpMetadata,
  buildSamlResponse,
  certificateFingerprint,
  generateSigningKeyPair,
  NS,
  type BuiltResponse,
  type ServiceProviderConfig,
} from './saml/index.js';
import { signEnveloped, xpathStep } from './saml/signature.js';
import { escapeXml, instant, newSamlId } from './saml/xml.js';

type Json = Record<string, unknown>;

/** Where an application's SAML endpoints are, under the base URL the request came to. */
export function samlUrls(baseUrl: string, appId: string) {
  const root = `${baseUrl}/saml/${appId}`;
  return { metadata: `${root}/metadata`, sso: `${root}/sso`, start: `${root}/start` };
}

/**
 * The base of Roster's URLs: ROSTER_PUBLIC_URL when set, else `https://host:port` as the client
 * addressed this server (X-Forwarded-* only with ROSTER_TRUST_PROXY).
 */
export const baseUrlOf = (request: { protocol: string; host: string }, publicUrl?: string) =>
  publicUrl ? publicUrl.replace(/\/+$/, '') : `${request.protocol}://${request.host}`;

export const defaultIdpEntityId = (baseUrl: string, appId: string) => `${baseUrl}/saml/${appId}`;

/** Config keys Roster fills in itself: kept when a PUT leaves them out, since losing them breaks the SP. */
const KEPT_KEYS = ['idpEntityId', 'idpCertificate', 'idpPrivateKey', 'idpNextCertificate', 'idpNextPrivateKey', 'persistentNameIdSecret'];
/** Secrets a SAML config check needs in the clear (the key must match its certificate). */
const SECRET_KEYS = ['idpPrivateKey', 'idpNextPrivateKey', 'persistentNameIdSecret'];

/** A published IdP certificate, as administrators see it. */
export interface SamlCertificateInfo {
  /** `signing`: signs responses now; `next`: published ahead of a switch (see `retire`). */
  use: 'signing' | 'next';
  certificate: string;
  fingerprintSha256: string;
  notBefore: string;
  notAfter: string;
}

export type SamlSettingsResult = { ok: true; value: SamlAppSettings } | { ok: false; error: string };

/** The config with `overrides` set, every stored secret left as "[REDACTED]" so the application service keeps it. */
function withValues(config: Json, overrides: Record<string, string | undefined>): Json {
  const out = redactConfig(config);
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) {
      delete out[key];
      continue;
    }
    const entry = out[key];
    out[key] = typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? { ...entry, value } : { value };
  }
  return out;
}

const certificateExpiry = (pem: string) => new Date(new X509Certificate(pem).validTo).toISOString();

/**
 * SAML applications: finding one by id, completing its configuration (the IdP key pair, entity
 * id and persistent-NameID secret Roster makes itself), key rotation, and turning its settings
 * and a user into metadata and responses. The HTTP endpoints (sso/saml-routes.ts) and the admin
 * API (api/routes/saml-applications.ts) both go through it.
 */
export class SamlApplications {
  /** Application id → org: an application never moves, so this only grows with real applications. */
  private readonly orgOfApplication = new Map<string, OrgId>();
  private readonly completing = new Map<string, Promise<Application>>();

  constructor(private readonly core: DirectoryCore) {}

  /** The application with this id in whichever organization holds it. */
  async find(id: string): Promise<Application | undefined> {
    if (!isWellFormedId(id)) return undefined;
    const repo = this.core.store.read.applications;
    const known = this.orgOfApplication.get(id);
    if (known) return repo.findById(known, id as ApplicationId);
    const orgs = await this.core.store.read.orgs.listAll({ sort: [], page: ALL_ROWS });
    for (const org of orgs.items) {
      const app = await repo.findById(org.id, id as ApplicationId);
      if (app) {
        this.orgOfApplication.set(id, org.id);
        return app;
      }
    }
    return undefined;
  }

  /**
   * Fills in what a SAML application needs and lacks: a signing key pair (`idpCertificate`,
   * `idpPrivateKey`, sealed by the application service), `idpEntityId` (`<base URL>/saml/<id>`)
   * and `persistentNameIdSecret`. Returns the application unchanged when nothing was missing.
   * Concurrent calls in this process share one run.
   */
  complete(ctx: Context, app: Application, baseUrl: string): Promise<Application> {
    if (!isSamlApplication(app) || missingForLogin(readSamlConfig(redactConfig(app.config)).settings).length === 0) return Promise.resolve(app);
    let running = this.completing.get(app.id);
    if (!running) {
      running = this.fillIn(ctx, app, baseUrl).finally(() => this.completing.delete(app.id));
      this.completing.set(app.id, running);
    }
    return running;
  }

  private async fillIn(ctx: Context, app: Application, baseUrl: string): Promise<Application> {
    const { settings } = readSamlConfig(redactConfig(app.config));
    const overrides: Record<string, string> = {};
    const entityId = settings.idpEntityId || defaultIdpEntityId(baseUrl, app.id);
    if (!settings.idpEntityId) overrides.idpEntityId = entityId;
    let sso = app.sso;
    if (!settings.credential) {
      const pair = await generateSigningKeyPair({ entityId });
      overrides.idpCertificate = pair.certificatePem;
      overrides.idpPrivateKey = pair.privateKeyPem;
      sso = { ...app.sso, idpCertExpirationAt: pair.notAfter.toISOString() };
    }
    if (!settings.persistentNameIdSecret) overrides.persistentNameIdSecret = randomBytes(32).toString('base64url');
    return this.core.applications.update(ctx, app.id, { config: withValues(app.config, overrides), sso });
  }

  private async samlApplication(ctx: Context, id: string): Promise<Application> {
    const app = await this.core.applications.get(ctx, id);
    if (!isSamlApplication(app)) throw conflict('APPLICATION_NOT_SAML', 'The application does not use SAML: set its sso.type to "saml" first');
    return app;
  }

  /**
   * Step one of a key rotation: a new key pair whose certificate is published in the metadata
   * beside the current one, while the current key keeps signing. Calling it again replaces the
   * next key (never used yet) with a fresh one.
   */
  async rotate(ctx: Context, id: string, baseUrl: string): Promise<Application> {
    requirePermission(ctx, 'applications:write');
    const app = await this.complete(ctx, await this.samlApplication(ctx, id), baseUrl);
    const { settings } = readSamlConfig(redactConfig(app.config));
    const pair = await generateSigningKeyPair({ entityId: settings.idpEntityId });
    return this.core.applications.update(ctx, app.id, { config: withValues(app.config, { idpNextCertificate: pair.certificatePem, idpNextPrivateKey: pair.privateKeyPem }) });
  }

  /**
   * Step two: the next key signs from now on and the old certificate leaves the metadata.
   * 409 SAML_NO_NEXT_KEY when no rotation is in progress.
   */
  async retire(ctx: Context, id: string): Promise<Application> {
    requirePermission(ctx, 'applications:write');
    const app = await this.samlApplication(ctx, id);
    const { settings } = readSamlConfig(this.core.applications.openConfig(app));
    if (!settings.nextCertificate || !settings.nextPrivateKey) throw conflict('SAML_NO_NEXT_KEY', 'No rotation is in progress: POST …/saml/rotate publishes a next key first');
    const config = withValues(app.config, {
      idpCertificate: settings.nextCertificate,
      idpPrivateKey: settings.nextPrivateKey,
      idpNextCertificate: undefined,
      idpNextPrivateKey: undefined,
    });
    return this.core.applications.update(ctx, app.id, { config, sso: { ...app.sso, idpCertExpirationAt: certificateExpiry(settings.nextCertificate) } });
  }

  /** The certificates the metadata publishes, the signing one first. */
  certificates(app: Application): SamlCertificateInfo[] {
    const { settings } = readSamlConfig(redactConfig(app.config));
    const out: SamlCertificateInfo[] = [];
    const add = (use: SamlCertificateInfo['use'], pem: string | undefined) => {
      if (!pem) return;
      const cert = new X509Certificate(pem);
      out.push({ use, certificate: pem, fingerprintSha256: certificateFingerprint(pem), notBefore: new Date(cert.validFrom).toISOString(), notAfter: new Date(cert.validTo).toISOString() });
    };
    add('signing', settings.credential?.certificatePem);
    add('next', settings.nextCertificate);
    return out;
  }

  /** The settings public endpoints need (entity ids, URLs, certificates), without opening any secret. */
  publicSettings(app: Application): SamlSettingsResult {
    return this.checked(readSamlConfig(redactConfig(app.config)));
  }

  /** The settings for signing a user in, secrets opened. */
  loginSettings(app: Application): SamlSettingsResult {
    let config: Json;
    try {
      config = this.core.applications.openConfig(app);
    } catch (e) {
      if (isDirectoryError(e)) return { ok: false, error: e.message };
      throw e;
    }
    return this.checked(readSamlConfig(config));
  }

  private checked({ settings, errors }: ReturnType<typeof readSamlConfig>): SamlSettingsResult {
    if (errors.length > 0) return { ok: false, error: errors.map((e) => e.message).join('; ') };
    const missing = missingForLogin(settings);
    if (missing.length > 0) return { ok: false, error: `missing ${missing.join(', ')}` };
    return { ok: true, value: settings };
  }

  /** Whether the stored configuration still lacks what Roster fills in itself. */
  isSaml(app: Pick<Application, 'sso'>): boolean {
    return isSamlApplication(app);
  }

  /**
   * A SAML application's write (POST or PUT body) checked: every problem, named by field. The keys
   * Roster made are put back into a PUT's config that leaves them out, and `"[REDACTED]"` is
   * checked as the secret it stands for.
   */
  checkWrite(body: { config?: Json }, existing: Application | undefined): ErrorDetail[] {
    if (existing && body.config !== undefined && isSamlApplication(existing)) {
      const stored = redactConfig(existing.config);
      for (const key of KEPT_KEYS) if (!(key in body.config) && key in stored) body.config[key] = stored[key];
    }
    const config = { ...(body.config ?? (existing ? redactConfig(existing.config) : {})) };
    if (existing) {
      const opened = this.core.applications.openConfig(existing);
      for (const key of SECRET_KEYS) if (configValue(config, key) === REDACTED && opened[key] !== undefined) config[key] = opened[key];
    }
    return readSamlConfig(config).errors;
  }

  /** The application's endpoints and published certificates, for administrators. */
  info(app: Application, baseUrl: string) {
    const { settings } = readSamlConfig(redactConfig(app.config));
    const urls = samlUrls(baseUrl, app.id);
    return {
      idpEntityId: settings.idpEntityId,
      spEntityId: settings.spEntityId,
      acsUrls: settings.acsUrls,
      metadataUrl: urls.metadata,
      ssoUrl: urls.sso,
      startUrl: urls.start,
      certificates: this.certificates(app),
    };
  }

  needsCompletion(app: Application): boolean {
    return isSamlApplication(app) && missingForLogin(readSamlConfig(redactConfig(app.config)).settings).length > 0;
  }

  /** The service provider as the AuthnRequest validator sees it. */
  static serviceProvider(settings: SamlAppSettings): ServiceProviderConfig {
    return {
      entityId: settings.spEntityId,
      acsUrls: settings.acsUrls,
      requireSignedRequests: settings.requireSignedAuthnRequests,
      spCertificates: settings.spCertificates,
      allowSha1: settings.allowSha1Signatures,
    };
  }

  static metadata(settings: SamlAppSettings, ssoUrl: string): string {
    return buildIdpMetadata({
      entityId: settings.idpEntityId,
      certificates: [settings.credential!.certificatePem, ...(settings.nextCertificate ? [settings.nextCertificate] : [])],
      ssoUrls: { redirect: ssoUrl, post: ssoUrl },
      nameIdFormats: [settings.nameIdFormat],
      wantAuthnRequestsSigned: settings.requireSignedAuthnRequests,
    });
  }

  /**
   * The names of the user's groups that reach this application: the groups associated with it
   * and those nested in them, as far as the user belongs to them (directly or through nesting).
   */
  async groupNames(user: User, applicationId: string): Promise<string[]> {
    const view = await this.core.applicationViews.current(user.orgId, applicationId);
    if (!view) return [];
    return [...view.groupsOf(user.id)].flatMap((id) => {
      const group = view.groups.get(id);
      return group ? [group.name] : [];
    });
  }

  /** A signed (and, when configured, encrypted) Response asserting `user` to the application. */
  static response(
    settings: SamlAppSettings,
    input: { user: User; groupNames: readonly string[]; acsUrl: string; inResponseTo?: string; authnInstant: Date },
  ): BuiltResponse {
    return buildSamlResponse({
      idp: { entityId: settings.idpEntityId, credential: settings.credential! },
      sp: { entityId: settings.spEntityId, acsUrl: input.acsUrl },
      user: { id: input.user.id, username: input.user.username, email: input.user.email },
      nameIdFormat: settings.nameIdFormat,
      ...(settings.persistentNameIdSecret ? { persistentIdSecret: settings.persistentNameIdSecret } : {}),
      attributes: userAttributeValues(settings, input.user, input.groupNames),
      ...(input.inResponseTo !== undefined ? { inResponseTo: input.inResponseTo } : {}),
      authnInstant: input.authnInstant,
      sign: { assertion: settings.signAssertion, response: settings.signResponse },
      ...(settings.encryptTo ? { encryption: { spCertificate: settings.encryptTo } } : {}),
    });
  }

  /**
   * SAML core §3.4.1.1: an IsPassive request that cannot be answered without asking the user gets
   * a Response with the second-level status NoPassive, signed, and no assertion.
   */
  static noPassiveResponse(settings: SamlAppSettings, acsUrl: string, inResponseTo: string, now = new Date()): string {
    const responsePath = `/${xpathStep(NS.protocol, 'Response')}`;
    const xml =
      `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${newSamlId()}" Version="2.0" IssueInstant="${instant(now)}" ` +
      `Destination="${escapeXml(acsUrl)}" InResponseTo="${escapeXml(inResponseTo)}">` +
      `<saml:Issuer>${escapeXml(settings.idpEntityId)}</saml:Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder">` +
      `<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:NoPassive"/></samlp:StatusCode></samlp:Status>` +
      `</samlp:Response>`;
    const signed = signEnveloped(xml, responsePath, { reference: `${responsePath}/${xpathStep(NS.assertion, 'Issuer')}`, action: 'after' }, settings.credential!);
    return Buffer.from(signed, 'utf8').toString('base64');
  }
}

