import { requirePermission, type Context } from '../context.js';
import { conflict, invalid, notFound } from '../errors.js';
import { newId, type DirectoryId, type ScimTokenId } from '../ids.js';
import { changesBetween } from '../journal.js';
import type { Directory, ScimToken } from '../model.js';
import type { ListQuery, ListResult } from '../query.js';
import { digestSecret, newBearerSecret, SCIM_TOKEN_PREFIX } from '../secrets.js';
import type { DirectoryService } from './directories.js';
import { checkExpiry, journal, type Deps } from './deps.js';

export interface IssuedScimToken {
  token: ScimToken;
  /** The bearer token itself. Shown once; only its digest is stored. */
  secret: string;
}

export const MAX_TOKENS_PER_SOURCE = 10;
/** Last use is written at most this often per token, so requests do not turn into writes. */
const TOUCH_INTERVAL_MS = 60_000;

const sourceNotFound = () => notFound('SCIM_SOURCE_NOT_FOUND', 'SCIM source not found');

function checkName(name: unknown, required: boolean): string | undefined {
  if (name === undefined && !required) return undefined;
  if (typeof name !== 'string' || name.trim() === '' || name.trim().length > 256) {
    throw invalid('INVALID_INPUT', 'name must be 1 to 256 characters', [{ field: 'name', reason: 'INVALID', message: 'must be 1 to 256 characters' }]);
  }
  return name.trim();
}

/**
 * SCIM sources: HR systems and identity providers (Entra ID, Okta) that push users and groups into
 * Roster over SCIM. Each is a directory of type `scim` with its own bearer tokens; what a source
 * writes is journaled with origin `scim:<directory id>`.
 */
export class ScimSourceService {
  constructor(
    private readonly deps: Deps,
    private readonly directories: DirectoryService,
  ) {}

  list(ctx: Context, query: ListQuery): Promise<ListResult<Directory>> {
    return this.directories.list(ctx, query, 'scim');
  }

  async get(ctx: Context, id: string): Promise<Directory> {
    requirePermission(ctx, 'directories:read');
    const source = await this.deps.store.read.directories.findById(ctx.orgId, id as DirectoryId);
    if (source?.type !== 'scim') throw sourceNotFound();
    return source;
  }

  async create(ctx: Context, input: { name?: unknown }): Promise<Directory> {
    requirePermission(ctx, 'directories:write');
    const now = this.deps.clock().toISOString();
    const source: Directory = { id: newId<DirectoryId>(), orgId: ctx.orgId, type: 'scim', name: checkName(input.name, true)!, config: {}, created: now, updated: now };
    await this.deps.store.transaction(async (tx) => {
      await tx.directories.insert(source);
      journal(tx, ctx, { objectType: 'directory', objectId: source.id, operation: 'create', changes: changesBetween(null, source) });
    });
    return source;
  }

  /** Deletes the source and its tokens; the users and groups it created stay. */
  async delete(ctx: Context, id: string): Promise<void> {
    requirePermission(ctx, 'directories:write');
    await this.deps.store.transaction(async (tx) => {
      const source = await tx.directories.findById(ctx.orgId, id as DirectoryId, { forUpdate: true });
      if (source?.type !== 'scim') throw sourceNotFound();
      await tx.directories.delete(ctx.orgId, source.id);
      journal(tx, ctx, { objectType: 'directory', objectId: source.id, operation: 'delete', changes: changesBetween(source, null) });
    });
  }

  async listTokens(ctx: Context, sourceId: string): Promise<ScimToken[]> {
    const source = await this.get(ctx, sourceId);
    return this.deps.store.read.scimTokens.listByDirectory(ctx.orgId, source.id);
  }

  async issueToken(ctx: Context, sourceId: string, input: { name?: unknown; expiresAt?: unknown }): Promise<IssuedScimToken> {
    requirePermission(ctx, 'directories:write');
    const name = checkName(input.name ?? 'SCIM token', false) ?? '';
    const expiresAt = checkExpiry(input.expiresAt, this.deps.clock());
    const secret = newBearerSecret(SCIM_TOKEN_PREFIX);
    return this.deps.store.transaction(async (tx) => {
      const source = await tx.directories.findById(ctx.orgId, sourceId as DirectoryId, { forUpdate: true });
      if (source?.type !== 'scim') throw sourceNotFound();
      const active = (await tx.scimTokens.listByDirectory(ctx.orgId, source.id)).filter((t) => !t.revokedAt);
      if (active.length >= MAX_TOKENS_PER_SOURCE) {
        throw conflict('TOO_MANY_SCIM_TOKENS', `A SCIM source may hold at most ${MAX_TOKENS_PER_SOURCE} active tokens; revoke one first`);
      }
      const token: ScimToken = {
        id: newId<ScimTokenId>(),
        orgId: ctx.orgId,
        directoryId: source.id,
        name,
        prefix: secret.slice(0, SCIM_TOKEN_PREFIX.length + 6),
        expiresAt,
        created: this.deps.clock().toISOString(),
        lastUsedAt: null,
        revokedAt: null,
      };
      await tx.scimTokens.insert(token, digestSecret(secret));
      journal(tx, ctx, { objectType: 'scim_token', objectId: token.id, operation: 'create', changes: changesBetween(null, token) });
      return { token, secret };
    });
  }

  async revokeToken(ctx: Context, sourceId: string, tokenId: string): Promise<void> {
    requirePermission(ctx, 'directories:write');
    await this.deps.store.transaction(async (tx) => {
      const token = await tx.scimTokens.findById(ctx.orgId, tokenId as ScimTokenId);
      if (!token || token.directoryId !== sourceId) throw notFound('SCIM_TOKEN_NOT_FOUND', 'SCIM token not found');
      if (token.revokedAt) return;
      const at = this.deps.clock().toISOString();
      await tx.scimTokens.revoke(ctx.orgId, token.id, at);
      journal(tx, ctx, { objectType: 'scim_token', objectId: token.id, operation: 'update', changes: changesBetween(token, { ...token, revokedAt: at }) });
    });
  }

  /**
   * System: the source a bearer token speaks for, or undefined when the token is unknown, revoked,
   * expired, or its source is gone. Records the use (at most once a minute).
   */
  async authenticate(secret: string): Promise<{ token: ScimToken; source: Directory } | undefined> {
    if (!secret.startsWith(SCIM_TOKEN_PREFIX)) return undefined;
    const repos = this.deps.store.read;
    const token = await repos.scimTokens.findBySecretHash(digestSecret(secret));
    const now = this.deps.clock();
    if (!token || token.revokedAt || (token.expiresAt && Date.parse(token.expiresAt) <= now.getTime())) return undefined;
    const source = await repos.directories.findById(token.orgId, token.directoryId);
    if (source?.type !== 'scim') return undefined;
    await repos.scimTokens.touch(token.id, now.toISOString(), new Date(now.getTime() - TOUCH_INTERVAL_MS).toISOString());
    return { token, source };
  }
}
