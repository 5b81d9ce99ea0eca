import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { requirePermission, type Context } from '../context.js';
import { invalid, notFound, type ErrorDetail } from '../errors.js';
import { groupsContaining } from '../graph.js';
import { newId, type ApplicationId, type GroupId, type OrgId, type UserId } from '../ids.js';
import { REDACTED } from '../journal.js';
import type { Application, User } from '../model.js';
import type { OidcClientRecord, OidcKeyRecord } from '../ports.js';
import type { DirectoryViewService } from './directory-view.js';
import { journal, type Deps } from './deps.js';

export const OIDC_GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export const OIDC_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
export type OidcGrantType = (typeof OIDC_GRANT_TYPES)[number];
export type OidcAuthMethod = (typeof OIDC_AUTH_METHODS)[number];

/** The client metadata Roster manages for an OIDC application. */
export interface OidcClientSettings {
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: OidcGrantType[];
  /** `none` makes a public client (a browser or native app): no secret, PKCE required. */
  tokenEndpointAuthMethod: OidcAuthMethod;
}

export type OidcClientInput = Partial<OidcClientSettings>;

/** An OIDC application's client as administrators see it: never its secret. */
export interface OidcClient extends OidcClientSettings {
  clientId: string;
  applicationId: ApplicationId;
  hasSecret: boolean;
  secretUpdated: string | null;
  created: string;
  updated: string;
}

/** What the OIDC provider needs of a client: its settings, open secret and application. */
export interface OidcClientForProvider {
  record: OidcClientRecord;
  settings: OidcClientSettings;
  secret: string | null;
  application: Application;
}

/** The installation's provider keys, opened: signing keys (private JWKs, the active one first) and cookie keys (the signing one first). */
export interface OidcKeys {
  signing: Record<string, unknown>[];
  cookies: string[];
}

const DEFAULT_SETTINGS: OidcClientSettings = { redirectUris: [], postLogoutRedirectUris: [], grantTypes: ['authorization_code', 'refresh_token'], tokenEndpointAuthMethod: 'client_secret_basic' };
const SECRET_BYTES = 32;
/** A new key is made when the newest is this old. */
const ROTATE_AFTER_MS = 90 * 86_400_000;
/** A new signing key is published this long before it signs, so every RP's cached JWKS has it by then. */
const PUBLISH_BEFORE_USE_MS = 86_400_000;
/** A replaced key stays published (and accepted for cookies) this long. */
const RETAIN_REPLACED_MS = 30 * 86_400_000;

const isLocked = (user: User, now: Date) => user.accountLocked && (user.lockedUntil === null || Date.parse(user.lockedUntil) > now.getTime());
const sealContext = (clientId: string) => `oidc-client:${clientId}`;
const keyContext = (id: string) => `oidc-key:${id}`;

/** Redirect URIs: absolute, no fragment; https, or http only to this machine (OAuth 2.0 Security BCP §2.1, RFC 8252 §7.3). */
function checkUri(value: unknown, field: string, errors: ErrorDetail[]): value is string {
  const fail = (message: string) => errors.push({ field, reason: 'INVALID', message });
  if (typeof value !== 'string' || value.length > 2048) return (fail(`${field} must hold strings of at most 2048 characters`), false);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return (fail(`${field}: "${value}" is not an absolute URL`), false);
  }
  if (url.hash) return (fail(`${field}: "${value}" must not have a fragment`), false);
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback) && !/^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(url.protocol)) {
    return (fail(`${field}: "${value}" must use https (http only to localhost; a private-use scheme like com.example.app: for native apps)`), false);
  }
  return true;
}

function checkSettings(input: OidcClientInput, base: OidcClientSettings): OidcClientSettings {
  const errors: ErrorDetail[] = [];
  const fail = (field: string, message: string) => errors.push({ field, reason: 'INVALID', message });
  const uris = (field: 'redirectUris' | 'postLogoutRedirectUris') => {
    const v = input[field];
    if (v === undefined) return base[field];
    if (!Array.isArray(v) || v.length > 50) return (fail(field, `${field} must be a list of at most 50 URLs`), []);
    return [...new Set(v.filter((u) => checkUri(u, field, errors)))];
  };
  const settings: OidcClientSettings = {
    redirectUris: uris('redirectUris'),
    postLogoutRedirectUris: uris('postLogoutRedirectUris'),
    grantTypes: base.grantTypes,
    tokenEndpointAuthMethod: base.tokenEndpointAuthMethod,
  };
  if (input.grantTypes !== undefined) {
    if (!Array.isArray(input.grantTypes) || input.grantTypes.length === 0 || input.grantTypes.some((g) => !(OIDC_GRANT_TYPES as readonly string[]).includes(g))) {
      fail('grantTypes', `grantTypes must be a non-empty list of ${OIDC_GRANT_TYPES.join(', ')}`);
    } else settings.grantTypes = [...new Set(input.grantTypes)];
  }
  if (input.tokenEndpointAuthMethod !== undefined) {
    if (!(OIDC_AUTH_METHODS as readonly string[]).includes(input.tokenEndpointAuthMethod)) fail('tokenEndpointAuthMethod', `tokenEndpointAuthMethod must be one of ${OIDC_AUTH_METHODS.join(', ')}`);
    else settings.tokenEndpointAuthMethod = input.tokenEndpointAuthMethod;
  }
  if (settings.tokenEndpointAuthMethod === 'none' && settings.grantTypes.includes('client_credentials')) {
    fail('grantTypes', 'a public client (tokenEndpointAuthMethod none) cannot use client_credentials');
  }
  if (settings.grantTypes.includes('refresh_token') && !settings.grantTypes.includes('authorization_code')) {
    fail('grantTypes', 'refresh_token needs authorization_code');
  }
  if (errors.length > 0) throw invalid('INVALID_INPUT', errors.map((e) => e.message).join('; '), errors);
  return settings;
}

const settingsOf = (record: OidcClientRecord): OidcClientSettings => ({ ...DEFAULT_SETTINGS, ...(record.settings as Partial<OidcClientSettings>) });

const view = (record: OidcClientRecord): OidcClient => ({
  clientId: record.clientId,
  applicationId: record.applicationId,
  ...settingsOf(record),
  hasSecret: record.secretUpdated !== null,
  secretUpdated: record.secretUpdated,
  created: record.created,
  updated: record.updated,
});

export const isOidcApplication = (app: Application) => app.sso.type === 'oidc';

/**
 * OpenID Connect for applications: each OIDC application's client (settings and secret, kept
 * sealed and shown once), who may sign in to it and with which claims, and the installation's
 * provider keys. The protocol itself lives in the sso/ front-end.
 */
export class OidcService {
  constructor(
    private readonly deps: Deps,
    private readonly applications: DirectoryViewService<Application>,
  ) {}

  private async application(ctx: Context, id: string): Promise<Application> {
    const app = await this.deps.store.read.applications.findById(ctx.orgId, id as ApplicationId);
    if (!app) throw notFound('APPLICATION_NOT_FOUND', 'Application not found');
    return app;
  }

  async get(ctx: Context, applicationId: string): Promise<OidcClient> {
    requirePermission(ctx, 'applications:read');
    const app = await this.application(ctx, applicationId);
    const record = await this.deps.store.read.oidc.findClientOfApplication(ctx.orgId, app.id);
    if (!record) throw notFound('OIDC_CLIENT_NOT_FOUND', 'The application has no OpenID Connect client yet; PUT its settings first');
    return view(record);
  }

  /**
   * Creates or changes the application's client (the client id is the application id). A new
   * confidential client gets a secret, returned here once; later ones come from `rotateSecret`.
   */
  async configure(ctx: Context, applicationId: string, input: OidcClientInput): Promise<{ client: OidcClient; clientSecret?: string }> {
    requirePermission(ctx, 'applications:write');
    const app = await this.application(ctx, applicationId);
    if (!isOidcApplication(app)) throw invalid('APPLICATION_NOT_OIDC', 'The application is not an OpenID Connect application: set its sso.type to "oidc" first');
    const now = this.deps.clock().toISOString();
    return this.deps.store.transaction(async (tx) => {
      await tx.lock(`oidc-client:${app.id}`);
      const before = await tx.oidc.findClientOfApplication(ctx.orgId, app.id);
      const settings = checkSettings(input, before ? settingsOf(before) : DEFAULT_SETTINGS);
      const needsSecret = settings.tokenEndpointAuthMethod !== 'none' && !before?.secretUpdated;
      const secret = needsSecret ? randomBytes(SECRET_BYTES).toString('base64url') : undefined;
      const record: OidcClientRecord = {
        clientId: app.id,
        orgId: ctx.orgId,
        applicationId: app.id,
        settings: { ...settings },
        secretUpdated: secret ? now : settings.tokenEndpointAuthMethod === 'none' ? null : (before?.secretUpdated ?? null),
        created: before?.created ?? now,
        updated: now,
      };
      const sealed = secret ? this.deps.secrets.seal(secret, sealContext(record.clientId)) : settings.tokenEndpointAuthMethod === 'none' ? null : undefined;
      await tx.oidc.putClient(record, sealed);
      const changes: Record<string, { before: unknown; after: unknown }> = {};
      const old = before ? settingsOf(before) : null;
      for (const key of Object.keys(settings) as (keyof OidcClientSettings)[]) {
        if (JSON.stringify(old?.[key] ?? null) !== JSON.stringify(settings[key])) changes[`oidc.${key}`] = { before: old?.[key] ?? null, after: settings[key] };
      }
      if (sealed !== undefined && (sealed !== null || before?.secretUpdated)) changes['oidc.clientSecret'] = { before: before?.secretUpdated ? REDACTED : null, after: sealed ? REDACTED : null };
      journal(tx, ctx, { objectType: 'application', objectId: app.id, operation: 'update', changes });
      return { client: view(record), ...(secret ? { clientSecret: secret } : {}) };
    });
  }

  /** A new client secret, returned once; the old one stops working at once. */
  async rotateSecret(ctx: Context, applicationId: string): Promise<{ client: OidcClient; clientSecret: string }> {
    requirePermission(ctx, 'applications:write');
    const app = await this.application(ctx, applicationId);
    const now = this.deps.clock().toISOString();
    return this.deps.store.transaction(async (tx) => {
      await tx.lock(`oidc-client:${app.id}`);
      const before = await tx.oidc.findClientOfApplication(ctx.orgId, app.id);
      if (!before) throw notFound('OIDC_CLIENT_NOT_FOUND', 'The application has no OpenID Connect client yet; PUT its settings first');
      if (settingsOf(before).tokenEndpointAuthMethod === 'none') throw invalid('PUBLIC_CLIENT', 'A public client (tokenEndpointAuthMethod none) has no secret');
      const secret = randomBytes(SECRET_BYTES).toString('base64url');
      const record = { ...before, secretUpdated: now, updated: now };
      await tx.oidc.putClient(record, this.deps.secrets.seal(secret, sealContext(record.clientId)));
      journal(tx, ctx, { objectType: 'application', objectId: app.id, operation: 'update', changes: { 'oidc.clientSecret': { before: before.secretUpdated ? REDACTED : null, after: REDACTED } } });
      return { client: view(record), clientSecret: secret };
    });
  }

  /** The client a provider request names, if its application is an active OIDC application. */
  async clientForProvider(clientId: string): Promise<OidcClientForProvider | undefined> {
    if (clientId.length > 100) return undefined;
    const found = await this.deps.store.read.oidc.findClient(clientId);
    if (!found) return undefined;
    const application = await this.deps.store.read.applications.findById(found.client.orgId, found.client.applicationId);
    if (!application || !application.active || !isOidcApplication(application)) return undefined;
    const secret = found.sealedSecret ? this.deps.secrets.open(found.sealedSecret, sealContext(clientId)) : null;
    return { record: found.client, settings: settingsOf(found.client), secret, application };
  }

  /**
   * The user an OIDC token or session speaks for, with the names of every group they belong to
   * (directly or nested): undefined once the user is suspended, locked, deleted or no longer
   * associated with the application (directly or through a group), which ends their tokens.
   */
  async account(orgId: OrgId, applicationId: ApplicationId, userId: string): Promise<{ user: User; groups: string[] } | undefined> {
    const repos = this.deps.store.read;
    const user = await repos.users.findById(orgId, userId as UserId);
    if (!user || user.state !== 'ACTIVATED' || isLocked(user, this.deps.clock())) return undefined;
    const app = await this.applications.current(orgId, applicationId);
    if (!app || !app.resource.active || !app.users.has(user.id)) return undefined;
    const groupIds = [...(await groupsContaining(repos, orgId, { type: 'user', id: user.id })).keys()] as GroupId[];
    const groups = groupIds.length > 0 ? await repos.groups.findByIds(orgId, groupIds) : [];
    return { user, groups: groups.map((g) => g.name).sort() };
  }

  /**
   * The provider's keys, made on first use and rotated when the newest is 90 days old: the new
   * signing key is published at once and signs from a day later; replaced keys stay published
   * for 30 days. Processes read the keys when they start.
   */
  async keys(): Promise<OidcKeys> {
    const now = this.deps.clock().getTime();
    const due = (keys: OidcKeyRecord[], use: OidcKeyRecord['use']) => {
      const newest = keys.find((k) => k.use === use);
      return !newest || now - Date.parse(newest.created) >= ROTATE_AFTER_MS;
    };
    // Each key is retired once its successor is old enough: the successor's age says when it was replaced.
    const retired = (keys: OidcKeyRecord[]) =>
      (['sig', 'cookie'] as const).flatMap((use) => {
        const ofUse = keys.filter((k) => k.use === use);
        return ofUse.filter((_, i) => i > 0 && now - Date.parse(ofUse[i - 1]!.created) >= RETAIN_REPLACED_MS + PUBLISH_BEFORE_USE_MS);
      });
    let keys = await this.deps.store.read.oidc.listKeys();
    if (due(keys, 'sig') || due(keys, 'cookie') || retired(keys).length > 0) {
      keys = await this.deps.store.transaction(async (tx) => {
        // Inside the lock: another process may have rotated since the read above.
        await tx.lock('oidc-keys');
        const current = await tx.oidc.listKeys();
        for (const use of ['sig', 'cookie'] as const) if (due(current, use)) await tx.oidc.insertKey(this.newKey(use));
        for (const key of retired(await tx.oidc.listKeys())) await tx.oidc.deleteKey(key.id);
        return tx.oidc.listKeys();
      });
    }
    const open = (k: OidcKeyRecord) => this.deps.secrets.open(k.sealed, keyContext(k.id));
    const sig = keys.filter((k) => k.use === 'sig');
    // Newest first; the active key is the newest that has been published long enough (or the only one).
    const active = sig.find((k) => now - Date.parse(k.created) >= PUBLISH_BEFORE_USE_MS) ?? sig[0]!;
    const ordered = [active, ...sig.filter((k) => k !== active)];
    return {
      signing: ordered.map((k) => JSON.parse(open(k)) as Record<string, unknown>),
      cookies: keys.filter((k) => k.use === 'cookie').map(open),
    };
  }

  private newKey(use: OidcKeyRecord['use']): OidcKeyRecord {
    const id = newId<string>();
    const material =
      use === 'sig'
        ? JSON.stringify({ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: id, use: 'sig', alg: 'RS256' })
        : randomBytes(32).toString('base64url');
    return { id, use, sealed: this.deps.secrets.seal(material, keyContext(id)), created: this.deps.clock().toISOString() };
  }

  /** Forgets provider objects (codes, tokens, sessions) that expired more than a day ago. */
  prune(): Promise<number> {
    return this.deps.store.read.oidc.pruneState(new Date(this.deps.clock().getTime() - 86_400_000).toISOString());
  }
}
