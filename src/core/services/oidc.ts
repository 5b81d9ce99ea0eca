import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { requirePermission, systemContext, type Context } from '../context.js';
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
  /** Changes whenever the keys or their roles change: a provider built on another version must be built again. */
  version: string;
  /** When a key starts signing or leaves on schedule next (ISO 8601), or null. */
  nextChange: string | null;
}

/** Where a signing key is in its life: published before it signs, signing, or published after it signed. */
export type OidcKeyState = 'next' | 'active' | 'previous';

/** A signing key as administrators see it: never its private material. */
export interface OidcSigningKey {
  kid: string;
  alg: string;
  state: OidcKeyState;
  created: string;
  /** When it signs (signed) from. */
  activates: string;
  /** When it leaves the JWKS; null while it is not replaced. */
  retires: string | null;
}

/** Where a failed client authentication came from. */
export interface ClientAuthFailure {
  ip: string;
  /** The provider's route: token, introspection, revocation. */
  endpoint: string;
}

/** How long ID tokens (the only JWTs Roster's provider signs) are valid; a replaced signing key stays published at least this long after it stops signing. */
export const OIDC_ID_TOKEN_TTL_SECONDS = 3600;
const SIGNING_ALG = 'RS256';

const DEFAULT_SETTINGS: OidcClientSettings = { redirectUris: [], postLogoutRedirectUris: [], grantTypes: ['authorization_code', 'refresh_token'], tokenEndpointAuthMethod: 'client_secret_basic' };
const SECRET_BYTES = 32;
/** A new key is made when the newest is this old. */
const ROTATE_AFTER_MS = 90 * 86_400_000;
/** A new signing key is published this long before it signs, so every RP's cached JWKS has it by then. */
const PUBLISH_BEFORE_USE_MS = 86_400_000;
/** A key replaced by the automatic rotation stays published (and accepted for cookies) this long after its successor starts. */
const RETAIN_REPLACED_MS = 30 * 86_400_000;
/** How often a process reads the keys again, unless configured (ROSTER_OIDC_KEY_REFRESH_SECONDS). */
export const DEFAULT_KEY_REFRESH_MS = 60_000;
/** Beyond the ID token lifetime, for clocks that differ: how long a key replaced through the API stays published after it stops signing. */
const CLOCK_SKEW_MS = 5 * 60_000;

const time = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Where each key of a use stands at `now`: the one that signs (the latest to have started), the
 * ones waiting to sign (published only), and the ones that signed before (published only, until
 * they retire). Retired keys are left out.
 */
function scheduleOf(keys: readonly OidcKeyRecord[], use: OidcKeyRecord['use'], now: number) {
  const live = keys.filter((k) => k.use === use && (k.retires === null || time(k.retires) > now));
  const byStart = (a: OidcKeyRecord, b: OidcKeyRecord) => time(a.activates) - time(b.activates) || time(a.created) - time(b.created) || a.id.localeCompare(b.id);
  const started = live.filter((k) => time(k.activates) <= now).sort((a, b) => byStart(b, a));
  const pending = live.filter((k) => time(k.activates) > now).sort(byStart);
  // Nothing has started (only right after a first key was made through the API): the first to start signs.
  const active = started[0] ?? pending[0];
  const next = pending.filter((k) => k !== active);
  const previous = started.slice(1);
  return { live, active, next, previous, ordered: [...(active ? [active] : []), ...next, ...previous] };
}

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
  private readonly keyListeners = new Set<() => void>();
  /** How often every process reads the keys again; a key rotated through the API signs this long after it is made. */
  readonly keyRefreshMs: number;

  constructor(
    private readonly deps: Deps,
    private readonly applications: DirectoryViewService<Application>,
    options: { keyRefreshMs?: number } = {},
  ) {
    this.keyRefreshMs = options.keyRefreshMs ?? DEFAULT_KEY_REFRESH_MS;
  }

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
   * A failed client authentication at the provider (a wrong secret, an unknown or disabled
   * client), journaled as a refused `sign_in` on the organization of the client's application.
   * False when no organization has a client with that id, so there is nowhere to journal it. The
   * presented secret is never passed here.
   */
  async recordClientAuthFailure(clientId: string, where: ClientAuthFailure): Promise<boolean> {
    if (clientId.length === 0 || clientId.length > 100) return false;
    const found = await this.deps.store.read.oidc.findClient(clientId);
    if (!found) return false;
    const { orgId, applicationId } = found.client;
    const ctx = systemContext(orgId, 'sso');
    await this.deps.store.transaction(async (tx) => {
      journal(tx, ctx, {
        objectType: 'organization',
        objectId: orgId,
        operation: 'sign_in',
        changes: {},
        details: { protocol: 'oidc', applicationId, clientId, result: 'refused', reason: 'INVALID_CLIENT_AUTH', endpoint: where.endpoint, ip: where.ip },
      });
    });
    return true;
  }

  /**
   * The provider's keys, made on first use and rotated when the newest is 90 days old: the new
   * signing key is published at once and signs from a day later; replaced keys stay published
   * for 30 days after their successor starts. A rotation through the API (`rotateSigningKey`)
   * sets its own schedule. Every process calls this at start and then every `keyRefreshMs`, and
   * at the times in `nextChange`.
   */
  async keys(): Promise<OidcKeys> {
    const now = this.deps.clock().getTime();
    const due = (keys: OidcKeyRecord[], use: OidcKeyRecord['use']) => {
      const newest = scheduleOf(keys, use, now).live.reduce<OidcKeyRecord | undefined>((a, k) => (!a || time(k.created) > time(a.created) ? k : a), undefined);
      return !newest || now - time(newest.created) >= ROTATE_AFTER_MS;
    };
    const retired = (keys: OidcKeyRecord[]) => keys.filter((k) => k.retires !== null && time(k.retires) <= now);
    let keys = await this.deps.store.read.oidc.listKeys();
    if (due(keys, 'sig') || due(keys, 'cookie') || retired(keys).length > 0) {
      keys = await this.deps.store.transaction(async (tx) => {
        // Inside the lock: another process may have rotated since the read above.
        await tx.lock('oidc-keys');
        const current = await tx.oidc.listKeys();
        for (const use of ['sig', 'cookie'] as const) {
          if (!due(current, use)) continue;
          const { live, active } = scheduleOf(current, use, now);
          // The first key signs at once; a successor once every process has it (and, for signing, every RP's cached JWKS).
          const delay = !active ? 0 : use === 'sig' ? Math.max(PUBLISH_BEFORE_USE_MS, this.keyRefreshMs) : this.keyRefreshMs;
          const key = this.newKey(use, now + delay);
          for (const k of live) if (k.retires === null && time(k.activates) <= now) await tx.oidc.setKeyRetires(k.id, iso(time(key.activates) + RETAIN_REPLACED_MS));
          await tx.oidc.insertKey(key);
        }
        for (const key of retired(await tx.oidc.listKeys())) await tx.oidc.deleteKey(key.id);
        return tx.oidc.listKeys();
      });
    }
    const open = (k: OidcKeyRecord) => this.deps.secrets.open(k.sealed, keyContext(k.id));
    const sig = scheduleOf(keys, 'sig', now);
    const cookie = scheduleOf(keys, 'cookie', now);
    const upcoming = [...sig.live, ...cookie.live].flatMap((k) => [k.activates, k.retires]).filter((t): t is string => t !== null && time(t) > now);
    return {
      signing: sig.ordered.map((k) => JSON.parse(open(k)) as Record<string, unknown>),
      cookies: cookie.ordered.map(open),
      version: JSON.stringify([sig.ordered.map((k) => k.id), cookie.ordered.map((k) => k.id)]),
      nextChange: upcoming.length > 0 ? iso(Math.min(...upcoming.map(time))) : null,
    };
  }

  /** The provider's signing keys: id, state and schedule, never private material. Keys are the installation's, shared by every organization. */
  async signingKeys(ctx: Context): Promise<OidcSigningKey[]> {
    requirePermission(ctx, 'organization:read');
    return this.describe(await this.deps.store.read.oidc.listKeys(), this.deps.clock().getTime());
  }

  /**
   * Rotates the signing key now (a key is suspected compromised, or policy says so): a new key is
   * published at once and signs after `keyRefreshMs`, by when every process sharing the store
   * has read it; keys that signed before stay published until the ID tokens they signed have
   * expired (an hour after the new key starts, plus five minutes of clock skew), then leave the
   * JWKS. A key published but not yet signing is withdrawn. Journaled on the caller's
   * organization, though the keys serve every organization of the installation.
   */
  async rotateSigningKey(ctx: Context): Promise<OidcSigningKey[]> {
    requirePermission(ctx, 'organization:write');
    const now = this.deps.clock().getTime();
    const keys = await this.deps.store.transaction(async (tx) => {
      await tx.lock('oidc-keys');
      const { active, next, previous } = scheduleOf(await tx.oidc.listKeys(), 'sig', now);
      for (const k of next) await tx.oidc.deleteKey(k.id);
      const key = this.newKey('sig', now + this.keyRefreshMs);
      const retires = iso(time(key.activates) + OIDC_ID_TOKEN_TTL_SECONDS * 1000 + CLOCK_SKEW_MS);
      const retiring: Record<string, string> = {};
      for (const k of [...(active ? [active] : []), ...previous]) {
        const at = k.retires !== null && time(k.retires) < time(retires) ? k.retires : retires;
        if (at !== k.retires) await tx.oidc.setKeyRetires(k.id, at);
        retiring[k.id] = at;
      }
      await tx.oidc.insertKey(key);
      journal(tx, ctx, {
        objectType: 'organization',
        objectId: ctx.orgId,
        operation: 'update',
        changes: { 'oidc.signingKey': { before: active?.id ?? null, after: key.id } },
        details: { activates: key.activates, retiring, withdrawn: next.map((k) => k.id) },
      });
      return tx.oidc.listKeys();
    });
    for (const listener of this.keyListeners) listener();
    return this.describe(keys, now);
  }

  /** Calls `listener` after this process rotates a key, so that its provider takes the key at once; returns the unsubscribe. */
  onKeysChanged(listener: () => void): () => void {
    this.keyListeners.add(listener);
    return () => this.keyListeners.delete(listener);
  }

  private describe(keys: readonly OidcKeyRecord[], now: number): OidcSigningKey[] {
    const { active, next, previous } = scheduleOf(keys, 'sig', now);
    const view = (k: OidcKeyRecord, state: OidcKeyState): OidcSigningKey => ({ kid: k.id, alg: SIGNING_ALG, state, created: k.created, activates: k.activates, retires: k.retires });
    return [...next.map((k) => view(k, 'next')), ...(active ? [view(active, 'active')] : []), ...previous.map((k) => view(k, 'previous'))];
  }

  private newKey(use: OidcKeyRecord['use'], activates: number): OidcKeyRecord {
    const id = newId<string>();
    const material =
      use === 'sig'
        ? JSON.stringify({ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: id, use: 'sig', alg: SIGNING_ALG })
        : randomBytes(32).toString('base64url');
    return { id, use, sealed: this.deps.secrets.seal(material, keyContext(id)), created: this.deps.clock().toISOString(), activates: iso(activates), retires: null };
  }

  /** Forgets provider objects (codes, tokens, sessions) that expired more than a day ago. */
  prune(): Promise<number> {
    return this.deps.store.read.oidc.pruneState(new Date(this.deps.clock().getTime() - 86_400_000).toISOString());
  }
}
