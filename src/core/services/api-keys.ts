import { requirePermission, type Context, type Origin } from '../context.js';
import { conflict, forbidden, invalid, notFound, unauthenticated } from '../errors.js';
import { isWellFormedId, newId, type AdminId, type ApiKeyId, type OrgId } from '../ids.js';
import { changesBetween } from '../journal.js';
import type { ApiKey } from '../model.js';
import { permissionsFor } from '../roles.js';
import { API_KEY_PREFIX, digestSecret, newApiKeySecret } from '../secrets.js';
import { checkExpiry, journal, type Deps } from './deps.js';

export interface ApiKeyInput {
  name?: string;
  readOnly?: boolean;
  /** ISO-8601 time after which the key stops working. */
  expiresAt?: string | null;
}

export interface IssuedApiKey {
  key: ApiKey;
  /** The key itself. Shown once; only its digest is stored. */
  secret: string;
}

export const MAX_KEYS_PER_ADMIN = 50;
/** Last use is written at most this often per key, so reads do not turn into writes. */
const TOUCH_INTERVAL_MS = 60_000;

export class ApiKeyService {
  constructor(private readonly deps: Deps) {}

  private ownerOf(ctx: Context): AdminId {
    if (ctx.actor.type !== 'admin' || !ctx.actor.id) throw forbidden('ADMIN_ONLY', 'Only administrators have API keys');
    return ctx.actor.id as AdminId;
  }

  async list(ctx: Context): Promise<ApiKey[]> {
    requirePermission(ctx, 'apikeys:read');
    return this.deps.store.read.apiKeys.listByAdmin(this.ownerOf(ctx));
  }

  /** A new key for the calling administrator. */
  async create(ctx: Context, input: ApiKeyInput): Promise<IssuedApiKey> {
    requirePermission(ctx, 'apikeys:write');
    return this.issue(ctx, this.ownerOf(ctx), input);
  }

  /** A new key for any administrator of the org; the local operator's path (CLI, first run). */
  async issue(ctx: Context, adminId: AdminId, input: ApiKeyInput): Promise<IssuedApiKey> {
    requirePermission(ctx, 'apikeys:write');
    const name = input.name ?? '';
    if (typeof name !== 'string' || name.length > 256) throw invalid('INVALID_INPUT', 'name must be at most 256 characters');
    if (input.readOnly !== undefined && typeof input.readOnly !== 'boolean') throw invalid('INVALID_INPUT', 'readOnly must be true or false');
    const expiresAt = checkExpiry(input.expiresAt, this.deps.clock());
    const secret = newApiKeySecret();
    const key: ApiKey = {
      id: newId<ApiKeyId>(),
      adminId,
      name,
      prefix: secret.slice(0, API_KEY_PREFIX.length + 6),
      readOnly: input.readOnly ?? false,
      expiresAt,
      created: this.deps.clock().toISOString(),
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.deps.store.transaction(async (tx) => {
      const admin = await tx.admins.findById(adminId, { forUpdate: true });
      if (!admin || !admin.orgIds.includes(ctx.orgId)) throw notFound('ADMINISTRATOR_NOT_FOUND', 'Administrator not found');
      const active = (await tx.apiKeys.listByAdmin(adminId)).filter((k) => !k.revokedAt);
      if (active.length >= MAX_KEYS_PER_ADMIN) {
        throw conflict('TOO_MANY_API_KEYS', `An administrator may hold at most ${MAX_KEYS_PER_ADMIN} active API keys; revoke one first`);
      }
      await tx.apiKeys.insert(key, digestSecret(secret));
      journal(tx, ctx, { objectType: 'api_key', objectId: key.id, operation: 'create', changes: changesBetween(null, key) });
    });
    return { key, secret };
  }

  /** Revokes one of the caller's keys, or, with admins:write, a key of another admin of the org. */
  async revoke(ctx: Context, id: string): Promise<ApiKey> {
    requirePermission(ctx, 'apikeys:write');
    return this.deps.store.transaction(async (tx) => {
      const key = await tx.apiKeys.findById(id as ApiKeyId);
      const own = key !== undefined && ctx.actor.type === 'admin' && key.adminId === ctx.actor.id;
      if (key && !own) {
        const owner = await tx.admins.findById(key.adminId);
        if (!owner || !owner.orgIds.includes(ctx.orgId)) throw notFound('API_KEY_NOT_FOUND', 'API key not found');
        requirePermission(ctx, 'admins:write');
      }
      if (!key) throw notFound('API_KEY_NOT_FOUND', 'API key not found');
      if (key.revokedAt) return key;
      const revoked = { ...key, revokedAt: this.deps.clock().toISOString() };
      await tx.apiKeys.revoke(key.id, revoked.revokedAt);
      journal(tx, ctx, { objectType: 'api_key', objectId: key.id, operation: 'update', changes: changesBetween(key, revoked) });
      return revoked;
    });
  }

  /**
   * Turns a presented key and an optional org choice into a Context: findKey → refuseRevoked →
   * refuseExpired → refuseSuspendedAdmin → selectOrganization → recordUse.
   */
  async authenticate(secret: string | undefined, requestedOrg: string | undefined, origin: Origin): Promise<Context> {
    if (!secret) throw unauthenticated('API_KEY_MISSING', 'An API key is required in the x-api-key header');
    if (secret.length > 512) throw unauthenticated('API_KEY_INVALID', 'The API key is not valid');
    const found = await this.deps.store.read.apiKeys.findBySecretHash(digestSecret(secret));
    if (!found) throw unauthenticated('API_KEY_INVALID', 'The API key is not valid');
    const { key, admin } = found;
    const now = this.deps.clock();
    if (key.revokedAt) throw unauthenticated('API_KEY_REVOKED', 'The API key has been revoked');
    if (key.expiresAt && Date.parse(key.expiresAt) <= now.getTime()) throw unauthenticated('API_KEY_EXPIRED', 'The API key has expired');
    if (admin.suspended) throw unauthenticated('ADMIN_SUSPENDED', 'The administrator who owns this API key is suspended');
    const orgId = selectOrganization(admin.orgIds, requestedOrg);
    if (!key.lastUsedAt || now.getTime() - Date.parse(key.lastUsedAt) >= TOUCH_INTERVAL_MS) {
      await this.deps.store.read.apiKeys.touch(key.id, now.toISOString(), new Date(now.getTime() - TOUCH_INTERVAL_MS).toISOString());
    }
    return {
      orgId,
      actor: { type: 'admin', id: admin.id, apiKeyId: key.id },
      origin,
      role: admin.roleName,
      permissions: permissionsFor(admin.roleName, key.readOnly),
      readOnlyKey: key.readOnly,
      orgIds: admin.orgIds,
    };
  }
}

/** JumpCloud's multi-tenant rules for the x-org-id header. */
export function selectOrganization(orgIds: readonly OrgId[], requested: string | undefined): OrgId {
  if (requested === undefined || requested === '') {
    if (orgIds.length === 1) return orgIds[0]!;
    if (orgIds.length === 0) throw forbidden('NO_ORGANIZATION', 'The administrator is not linked to any organization');
    throw unauthenticated('ORG_ID_REQUIRED', 'This administrator manages several organizations; choose one with the x-org-id header');
  }
  if (!isWellFormedId(requested)) throw invalid('MALFORMED_ORG_ID', 'x-org-id is not a well-formed organization id');
  const match = orgIds.find((id) => id === requested);
  if (!match) throw notFound('ORGANIZATION_NOT_FOUND', 'Organization ID not found');
  return match;
}
