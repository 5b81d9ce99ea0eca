import { requirePermission, type Context } from '../context.js';
import { conflict, invalid, notFound } from '../errors.js';
import type { DirectoryId, GroupId, UserId } from '../ids.js';
import type { AttributeChange } from '../model.js';
import type { IdentityLink, KnownObject, LinkedKind, Transaction } from '../ports.js';
import { adSettings } from './active-directory.js';
import { journal, type Deps } from './deps.js';

/** A change to an object's identity link to one directory. */
export interface LinkChange {
  directoryId: DirectoryId;
  /** The directory's id for the object; null removes the link. */
  externalId: string | null;
  /** What the directory holds of the object (a directory sync), kept with a new link. */
  known?: KnownObject;
  /**
   * When another object of the kind holds `externalId` in the directory: `conflict` (the default)
   * refuses with EXTERNAL_ID_TAKEN; `take_over` moves the link here and unlinks the other object,
   * which is journaled.
   */
  onTaken?: 'conflict' | 'take_over';
}

export const MAX_EXTERNAL_ID_LENGTH = 1024;
/** Directories Roster syncs with (AD through its agent, the cloud suites directly). */
const SYNCED = new Set<string>(['active_directory', 'g_suite', 'office_365']);
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The journal's name for an object's external id in one directory: `externalIds.<directory id>`. */
export const externalIdKey = (directoryId: string) => `externalIds.${directoryId}`;

const readPermission = (kind: LinkedKind) => (kind === 'user' ? 'users:read' : 'groups:read');
const writePermission = (kind: LinkedKind) => (kind === 'user' ? 'users:write' : 'groups:write');

function checkExternalId(externalId: string): void {
  if (typeof externalId !== 'string' || externalId === '' || externalId.length > MAX_EXTERNAL_ID_LENGTH || CONTROL.test(externalId)) {
    throw invalid('INVALID_EXTERNAL_ID', `An external id is 1 to ${MAX_EXTERNAL_ID_LENGTH} characters without control characters`, [
      { field: 'externalId', reason: 'INVALID', message: `must be 1 to ${MAX_EXTERNAL_ID_LENGTH} characters without control characters` },
    ]);
  }
}

/**
 * Applies a link change inside a writer's transaction, after the object is written (or before it
 * is deleted). Returns the change for the object's own journal row, empty when the link stays as
 * it was; an object that loses its link to a take-over gets a journal row of its own.
 */
export async function applyLinkChange(tx: Transaction, ctx: Context, kind: LinkedKind, localId: string, change: LinkChange, at: string): Promise<Record<string, AttributeChange>> {
  const { directoryId, externalId } = change;
  if (externalId !== null) checkExternalId(externalId);
  const [current] = await tx.identityLinks.findByLocalIds(ctx.orgId, directoryId, kind, [localId]);
  const before = current?.externalId ?? null;
  if (before === externalId) return {};
  const key = externalIdKey(directoryId);
  if (externalId === null) {
    await tx.identityLinks.delete(ctx.orgId, directoryId, kind, localId);
    return { [key]: { before, after: null } };
  }
  const directory = await tx.directories.findById(ctx.orgId, directoryId);
  if (!directory) throw notFound('DIRECTORY_NOT_FOUND', 'Directory not found');
  const [holder] = await tx.identityLinks.findByExternalIds(ctx.orgId, directoryId, kind, [externalId]);
  if (holder && holder.localId !== localId) {
    if (change.onTaken !== 'take_over') {
      throw conflict('EXTERNAL_ID_TAKEN', `Another ${kind === 'user' ? 'user' : 'group'} of this directory already has the external id ${externalId}`, [
        { field: 'externalId', reason: 'EXTERNAL_ID_TAKEN', message: 'is taken' },
      ]);
    }
    await tx.identityLinks.delete(ctx.orgId, directoryId, kind, holder.localId);
    journal(tx, ctx, { objectType: kind, objectId: holder.localId, operation: 'update', changes: { [key]: { before: externalId, after: null } } });
  }
  await tx.identityLinks.put({ orgId: ctx.orgId, directoryId, kind, localId, externalId, created: current?.created ?? at, updated: at, ...(change.known ? { known: change.known } : {}) });
  return { [key]: { before, after: externalId } };
}

/** Forgets an object's link to a directory (a sync found its object gone), journaled on the object while it exists. */
export async function forgetLink(tx: Transaction, ctx: Context, directoryId: DirectoryId, kind: LinkedKind, localId: string): Promise<void> {
  const changes = await applyLinkChange(tx, ctx, kind, localId, { directoryId, externalId: null }, '');
  if (Object.keys(changes).length === 0) return;
  const there = kind === 'user' ? await tx.users.findById(ctx.orgId, localId as UserId) : await tx.groups.findById(ctx.orgId, localId as GroupId);
  if (there) journal(tx, ctx, { objectType: kind, objectId: localId, operation: 'update', changes });
}

/**
 * Inside the transaction that deletes an object: removes its links to every directory. Returns
 * the changes for the object's delete row.
 */
export async function removeAllLinks(tx: Transaction, ctx: Context, kind: LinkedKind, localId: string): Promise<Record<string, AttributeChange>> {
  const links = await tx.identityLinks.ofObject(ctx.orgId, kind, localId);
  if (links.length === 0) return {};
  // A user deleted in Roster whose account Roster writes to as the authority (AD or a cloud
  // directory, Roster authoritative) keeps its link until that account is disabled or deleted: it
  // must not stay enabled, unmanaged. (In two-way, deleting in Roster leaves the directory alone.)
  const tombstones: IdentityLink[] = [];
  if (kind === 'user') {
    for (const link of links) {
      const directory = await tx.directories.findById(ctx.orgId, link.directoryId);
      if (directory && SYNCED.has(directory.type) && adSettings(directory).configuration === 'roster_authoritative') tombstones.push(link);
    }
  }
  await tx.identityLinks.deleteOfObject(ctx.orgId, kind, localId);
  for (const link of tombstones) await tx.identityLinks.put({ ...link, known: { ...(link.known ?? { attributes: {} }), deletedInRoster: true } });
  return Object.fromEntries(links.map((l) => [externalIdKey(l.directoryId), { before: l.externalId, after: null }]));
}

/**
 * Identity links (DESIGN.md, Sync): how users and groups are known in the directories that feed
 * Roster, `(directory, kind, local id) ↔ external id`, unique both ways. Writers of users and
 * groups change a link in the same transaction as the object (UserService, GroupService take a
 * LinkChange); `set` changes one on its own.
 */
export class IdentityLinkService {
  constructor(private readonly deps: Deps) {}

  /** The external ids of these objects in the directory, by local id (objects without a link are absent). */
  async externalIds(ctx: Context, directoryId: DirectoryId, kind: LinkedKind, localIds: readonly string[]): Promise<Map<string, string>> {
    requirePermission(ctx, readPermission(kind));
    const links = await this.deps.store.read.identityLinks.findByLocalIds(ctx.orgId, directoryId, kind, unique(localIds));
    return new Map(links.map((l) => [l.localId, l.externalId]));
  }

  /** The objects linked to these external ids in the directory, by external id (unknown ones are absent). */
  async localIds(ctx: Context, directoryId: DirectoryId, kind: LinkedKind, externalIds: readonly string[]): Promise<Map<string, string>> {
    requirePermission(ctx, readPermission(kind));
    const links = await this.deps.store.read.identityLinks.findByExternalIds(ctx.orgId, directoryId, kind, unique(externalIds));
    return new Map(links.map((l) => [l.externalId, l.localId]));
  }

  /** Links an existing object to the directory (or unlinks it, with null), journaled as an update of the object. */
  async set(ctx: Context, kind: LinkedKind, localId: string, change: LinkChange): Promise<void> {
    requirePermission(ctx, writePermission(kind));
    await this.deps.store.transaction(async (tx) => {
      const exists =
        kind === 'user'
          ? await tx.users.findById(ctx.orgId, localId as UserId, { forUpdate: true })
          : await tx.groups.findById(ctx.orgId, localId as GroupId, { forUpdate: true });
      if (!exists) throw notFound(kind === 'user' ? 'USER_NOT_FOUND' : 'USER_GROUP_NOT_FOUND', kind === 'user' ? 'User not found' : 'User group not found');
      const changes = await applyLinkChange(tx, ctx, kind, localId, change, this.deps.clock().toISOString());
      journal(tx, ctx, { objectType: kind, objectId: localId, operation: 'update', changes });
    });
  }
}

const unique = (values: readonly string[]) => [...new Set(values)];
