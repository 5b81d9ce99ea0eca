import { requirePermission, type Actor, type Context, type Origin } from '../context.js';
import type { OrgId } from '../ids.js';
import { conflict, invalid } from '../errors.js';
import { JOURNAL_FIELDS } from '../fields.js';
import type { JournalEntry, JournalEntryInput } from '../model.js';
import { checkFilter, type Filter } from '../query.js';
import type { Transaction } from '../ports.js';
import type { Deps } from './deps.js';

/** Objects whose version (the sequence number of their latest journal row) front-ends show as an entity tag. */
export type VersionedObject = 'user' | 'user_group';

/**
 * Refuses a write when the object's version is not `expected` (RFC 7232 If-Match): called inside
 * the writing transaction, after the object's row is locked, so no change can slip in between.
 */
export async function assertVersion(tx: Transaction, ctx: Context, objectType: VersionedObject, objectId: string, expected: number | undefined): Promise<void> {
  if (expected === undefined) return;
  const current = (await tx.journal.versions(ctx.orgId, objectType, [objectId])).get(objectId) ?? 0;
  if (current !== expected) throw conflict('VERSION_MISMATCH', `The ${objectType === 'user' ? 'user' : 'group'} has changed since version ${expected}; it is at version ${current}`);
}

export const MAX_JOURNAL_PAGE = 1000;

export class JournalService {
  constructor(private readonly deps: Deps) {}

  /**
   * Appends events (a bind, a search) that change nothing, in one transaction. Front-ends batch
   * them so that event volume does not cost a write per request.
   */
  async recordEvents(orgId: OrgId, origin: Origin, events: readonly { actor: Actor; entry: JournalEntryInput }[]): Promise<void> {
    if (events.length === 0) return;
    await this.deps.store.transaction(async (tx) => {
      for (const e of events) tx.record({ orgId, actor: e.actor, origin }, [e.entry]);
    });
  }

  /**
   * The org's latest sequence number, read by a principal that reads objects of this type: a
   * version above it belongs to a change made after it was read.
   */
  async head(ctx: Context, objectType: VersionedObject): Promise<number> {
    requirePermission(ctx, objectType === 'user' ? 'users:read' : 'groups:read');
    return this.deps.store.read.journal.head(ctx.orgId);
  }

  /** The current version of each object; objects without a journal row in the org are left out. */
  async versions(ctx: Context, objectType: VersionedObject, ids: readonly string[]): Promise<Map<string, number>> {
    requirePermission(ctx, objectType === 'user' ? 'users:read' : 'groups:read');
    return ids.length === 0 ? new Map() : this.deps.store.read.journal.versions(ctx.orgId, objectType, ids);
  }

  /** Entries after `since` in sequence order: the audit log and the change feed. */
  async list(ctx: Context, since: number, limit: number, filter?: Filter): Promise<JournalEntry[]> {
    requirePermission(ctx, 'journal:read');
    if (!Number.isInteger(since) || since < 0) throw invalid('INVALID_CURSOR', 'since must be a sequence number, 0 or more');
    const checked = filter ? checkFilter(filter, JOURNAL_FIELDS) : undefined;
    if (checked && !checked.ok) throw invalid('INVALID_FILTER', checked.error);
    return this.deps.store.read.journal.list(ctx.orgId, {
      since,
      limit: Math.min(Math.max(limit, 1), MAX_JOURNAL_PAGE),
      filter: checked?.value,
    });
  }
}
