import { requirePermission, type Context } from '../context.js';
import { invalid } from '../errors.js';
import { JOURNAL_FIELDS } from '../fields.js';
import type { JournalEntry } from '../model.js';
import { checkFilter, type Filter } from '../query.js';
import type { Deps } from './deps.js';

export const MAX_JOURNAL_PAGE = 1000;

export class JournalService {
  constructor(private readonly deps: Deps) {}

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
