import { X509Certificate } from 'node:crypto';
import { requirePermission, type Context } from '../context.js';
import { conflict, invalid, notFound, type ErrorDetail } from '../errors.js';
import { RADIUS_SERVER_FIELDS } from '../fields.js';
import { newId, type RadiusServerId } from '../ids.js';
import { changesBetween, REDACTED, secretChange } from '../journal.js';
import { PASSWORD_EXPIRATION_ACTIONS, RADIUS_MFA_MODES, type RadiusServer } from '../model.js';
import { parseNetworkSources, rangeOf, rangesOverlap } from '../network-ranges.js';
import type { Transaction } from '../ports.js';
import type { ListQuery, ListResult } from '../query.js';
import { checkedQuery, dissociateResource, journal, type Deps } from './deps.js';

export interface RadiusServerInput {
  name?: string;
  /** One address or CIDR range, several separated by commas, or a list of them. */
  networkSourceIp?: string | string[];
  /** Write-only: sealed at rest, never returned, journaled only as changed. */
  sharedSecret?: string;
  mfa?: string;
  userPasswordExpirationAction?: string;
  /** Only REMOVE: a locked user is always rejected. */
  userLockoutAction?: string;
  tagNames?: string[];
  /** EAP-TLS: users sign in with certificates from `caCert`'s CAs. */
  userCertEnabled?: boolean;
  /** PEM CA certificates for EAP-TLS; "" or null removes them. */
  caCert?: string | null;
}

/** A server as the RADIUS front-end serves it: with its shared secret in the clear. */
export interface ServedRadiusServer {
  server: RadiusServer;
  sharedSecret: Buffer;
}

/** RFC 2865 §3 asks for shared secrets of at least 16 octets. */
export const SHARED_SECRET_LENGTH = { min: 16, max: 128 } as const;
const MAX_NAME = 256;
const MAX_TAGS = 100;

const serverNotFound = () => notFound('RADIUS_SERVER_NOT_FOUND', 'RADIUS server not found');
const secretContext = (id: RadiusServerId) => `radius_server:${id}:sharedSecret`;

/** An enumerated setting, accepted in any case and stored as JumpCloud spells it. */
function oneOf<T extends string>(value: unknown, allowed: readonly T[]): T | undefined {
  if (typeof value !== 'string') return undefined;
  return allowed.find((a) => a === value.trim().toUpperCase());
}

interface Checked {
  changes: Partial<Pick<RadiusServer, 'name' | 'networkSourceIps' | 'mfa' | 'userPasswordExpirationAction' | 'tagNames' | 'userCertEnabled' | 'caCert'>>;
  sharedSecret?: string;
}

function checkInput(input: RadiusServerInput, creating: boolean): Checked {
  const errors: ErrorDetail[] = [];
  const fail = (field: string, reason: string, message: string) => errors.push({ field, reason, message });
  const out: Checked = { changes: {} };

  if (input.name !== undefined || creating) {
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (name === '') fail('name', 'REQUIRED', 'name is required');
    else if (name.length > MAX_NAME) fail('name', 'TOO_LONG', `name must be at most ${MAX_NAME} characters`);
    else out.changes.name = name;
  }
  if (input.networkSourceIp !== undefined || creating) {
    const ranges = parseNetworkSources(input.networkSourceIp ?? '');
    if (!ranges.ok) fail('networkSourceIp', 'INVALID_NETWORK_SOURCE', `networkSourceIp: ${ranges.error}`);
    else out.changes.networkSourceIps = ranges.value.map((r) => r.text);
  }
  if (input.sharedSecret !== undefined || creating) {
    const length = typeof input.sharedSecret === 'string' ? [...input.sharedSecret].length : 0;
    if (length < SHARED_SECRET_LENGTH.min || length > SHARED_SECRET_LENGTH.max) {
      fail('sharedSecret', 'INVALID_SHARED_SECRET', `sharedSecret is required and must be ${SHARED_SECRET_LENGTH.min} to ${SHARED_SECRET_LENGTH.max} characters`);
    } else out.sharedSecret = input.sharedSecret!;
  }
  if (input.mfa !== undefined) {
    const mfa = oneOf(input.mfa, RADIUS_MFA_MODES);
    if (!mfa) fail('mfa', 'INVALID', `mfa must be one of ${RADIUS_MFA_MODES.join(', ')}`);
    else out.changes.mfa = mfa;
  }
  if (input.userPasswordExpirationAction !== undefined) {
    const action = oneOf(input.userPasswordExpirationAction, PASSWORD_EXPIRATION_ACTIONS);
    if (!action) fail('userPasswordExpirationAction', 'INVALID', 'userPasswordExpirationAction must be REMOVE (reject users whose password expired) or MAINTAIN');
    else out.changes.userPasswordExpirationAction = action;
  }
  if (input.userLockoutAction !== undefined && oneOf(input.userLockoutAction, ['REMOVE']) === undefined) {
    fail('userLockoutAction', 'UNSUPPORTED', 'userLockoutAction can only be REMOVE: Roster always rejects locked users');
  }
  if (input.tagNames !== undefined) {
    const tags = Array.isArray(input.tagNames) ? input.tagNames : [];
    if (!Array.isArray(input.tagNames) || tags.length > MAX_TAGS || tags.some((t) => typeof t !== 'string' || t.trim() === '' || t.length > MAX_NAME)) {
      fail('tagNames', 'INVALID', `tagNames must be a list of at most ${MAX_TAGS} non-empty names`);
    } else out.changes.tagNames = [...new Set(tags.map((t) => t.trim()))];
  }
  if (input.userCertEnabled !== undefined) {
    if (typeof input.userCertEnabled !== 'boolean') fail('userCertEnabled', 'INVALID', 'userCertEnabled must be true or false');
    else out.changes.userCertEnabled = input.userCertEnabled;
  }
  if (input.caCert !== undefined) {
    const checked = checkCaCertificates(input.caCert);
    if (!checked.ok) fail('caCert', 'INVALID_CA_CERT', `caCert: ${checked.error}`);
    else out.changes.caCert = checked.pem;
  }
  if (errors.length > 0) throw invalid('INVALID_INPUT', errors.map((e) => e.message).join('; '), errors);
  return out;
}

const MAX_CA_PEM = 64 * 1024;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** PEM CA certificates, each parsed and required to be a CA, normalized to the certificates alone; null for none. */
function checkCaCertificates(value: unknown): { ok: true; pem: string | null } | { ok: false; error: string } {
  const error = (message: string) => ({ ok: false as const, error: message });
  if (value === null || value === '') return { ok: true, pem: null };
  if (typeof value !== 'string') return error('must be PEM text');
  if (value.length > MAX_CA_PEM) return error(`must be at most ${MAX_CA_PEM / 1024} KiB`);
  const blocks = value.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) return error('no PEM certificate (-----BEGIN CERTIFICATE-----) found');
  for (const [i, pem] of blocks.entries()) {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(pem);
    } catch {
      return error(`certificate ${i + 1} cannot be parsed`);
    }
    if (!certificate.ca) return error(`certificate ${i + 1} (${certificate.subject.replace(/\n/g, ', ')}) is not a CA certificate`);
  }
  return { ok: true, pem: blocks.join('\n') + '\n' };
}

/** EAP-TLS needs CAs to check users' certificates against. */
function assertCertificateSetting(server: RadiusServer): void {
  if (server.userCertEnabled && !server.caCert) {
    throw invalid('INVALID_INPUT', 'userCertEnabled needs caCert: the CA certificates that issue users\' certificates', [
      { field: 'caCert', reason: 'REQUIRED', message: 'is required when userCertEnabled is true' },
    ]);
  }
}

/**
 * The front-end picks a server by the source address of a request, so no address may belong to
 * two servers, in this org or any other. Runs under the `radius_servers` lock: two writers cannot
 * both pass the check with overlapping ranges.
 */
async function assertRangesFree(tx: Transaction, server: RadiusServer): Promise<void> {
  await tx.lock('radius_servers');
  const mine = server.networkSourceIps.map(rangeOf);
  for (const { server: other } of await tx.radiusServers.all()) {
    if (other.id === server.id) continue;
    for (const theirs of other.networkSourceIps.map(rangeOf)) {
      const clash = mine.find((r) => rangesOverlap(r, theirs));
      if (!clash) continue;
      const owner = other.orgId === server.orgId ? `RADIUS server "${other.name}"` : 'a RADIUS server of another organization';
      throw conflict('NETWORK_SOURCE_IN_USE', `networkSourceIp ${clash.text} overlaps ${theirs.text}, which ${owner} uses`, [
        { field: 'networkSourceIp', reason: 'NETWORK_SOURCE_IN_USE', message: `${clash.text} overlaps ${theirs.text}` },
      ]);
    }
  }
}

/** RADIUS servers: the networks that send Access-Requests, each with its shared secret. */
export class RadiusServerService {
  constructor(private readonly deps: Deps) {}

  async list(ctx: Context, query: ListQuery): Promise<ListResult<RadiusServer>> {
    requirePermission(ctx, 'radius:read');
    return this.deps.store.read.radiusServers.list(ctx.orgId, checkedQuery(query, RADIUS_SERVER_FIELDS));
  }

  async get(ctx: Context, id: string): Promise<RadiusServer> {
    requirePermission(ctx, 'radius:read');
    const server = await this.deps.store.read.radiusServers.findById(ctx.orgId, id as RadiusServerId);
    if (!server) throw serverNotFound();
    return server;
  }

  async create(ctx: Context, input: RadiusServerInput): Promise<RadiusServer> {
    requirePermission(ctx, 'radius:write');
    const { changes, sharedSecret } = checkInput(input, true);
    const now = this.deps.clock().toISOString();
    const server: RadiusServer = {
      id: newId<RadiusServerId>(),
      orgId: ctx.orgId,
      name: changes.name!,
      networkSourceIps: changes.networkSourceIps!,
      mfa: changes.mfa ?? 'DISABLED',
      userPasswordExpirationAction: changes.userPasswordExpirationAction ?? 'REMOVE',
      tagNames: changes.tagNames ?? [],
      userCertEnabled: changes.userCertEnabled ?? false,
      caCert: changes.caCert ?? null,
      created: now,
      updated: now,
    };
    assertCertificateSetting(server);
    return this.deps.store.transaction(async (tx) => {
      await assertRangesFree(tx, server);
      await tx.radiusServers.insert(server, this.deps.secrets.seal(sharedSecret!, secretContext(server.id)));
      const journaled = { ...changesBetween(null, server), sharedSecret: { before: null, after: REDACTED } };
      journal(tx, ctx, { objectType: 'radius_server', objectId: server.id, operation: 'create', changes: journaled });
      return server;
    });
  }

  /** Changes the fields given; a new sharedSecret replaces the old one. */
  async update(ctx: Context, id: string, input: RadiusServerInput): Promise<RadiusServer> {
    requirePermission(ctx, 'radius:write');
    const { changes, sharedSecret } = checkInput(input, false);
    return this.deps.store.transaction(async (tx) => {
      const before = await tx.radiusServers.findById(ctx.orgId, id as RadiusServerId, { forUpdate: true });
      if (!before) throw serverNotFound();
      const after: RadiusServer = { ...before, ...changes, updated: this.deps.clock().toISOString() };
      assertCertificateSetting(after);
      if (changes.networkSourceIps) await assertRangesFree(tx, after);
      const sealed = sharedSecret === undefined ? undefined : this.deps.secrets.seal(sharedSecret, secretContext(after.id));
      await tx.radiusServers.update(after, sealed);
      const journaled = changesBetween(before, after);
      if (sealed) journaled.sharedSecret = secretChange();
      journal(tx, ctx, { objectType: 'radius_server', objectId: after.id, operation: 'update', changes: journaled });
      return after;
    });
  }

  /** Deletes the server and its associations. */
  async delete(ctx: Context, id: string): Promise<RadiusServer> {
    requirePermission(ctx, 'radius:write');
    return this.deps.store.transaction(async (tx) => {
      const server = await tx.radiusServers.findById(ctx.orgId, id as RadiusServerId, { forUpdate: true });
      if (!server) throw serverNotFound();
      await dissociateResource(tx, ctx, 'radius_server', server.id);
      await tx.radiusServers.delete(ctx.orgId, server.id);
      const journaled = { ...changesBetween(server, null), sharedSecret: { before: REDACTED, after: null } };
      journal(tx, ctx, { objectType: 'radius_server', objectId: server.id, operation: 'delete', changes: journaled });
      return server;
    });
  }

  /**
   * System: every server of every org with its shared secret, for the RADIUS front-end. The
   * version is read first, so it is never newer than the servers returned: a change in between
   * shows as a new version at the next poll.
   */
  async serving(): Promise<{ version: string; servers: ServedRadiusServer[] }> {
    const repos = this.deps.store.read;
    const version = await repos.radiusServers.version();
    const servers = (await repos.radiusServers.all()).map(({ server, sealedSecret }) => ({
      server,
      sharedSecret: Buffer.from(this.deps.secrets.open(sealedSecret, secretContext(server.id)), 'utf8'),
    }));
    return { version, servers };
  }

  /** System: changes whenever a server of any org is created, changed or deleted. */
  version(): Promise<string> {
    return this.deps.store.read.radiusServers.version();
  }
}
