import { requirePermission, type Actor, type Context, type Origin } from '../context.js';
import type { OrgId } from '../ids.js';
import { invalid } from '../errors.js';
import { JOURNAL_FIELDS } from '../fields.js';
import type { JournalEntry, JournalEntryInput } from '../model.js';
import { checkFilter, type Filter } from '../query.js';
import type { Deps } from './deps.js';

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
