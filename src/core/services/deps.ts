import type { Context } from '../context.js';
import { invalid } from '../errors.js';
import { RESOURCE_TYPES, type Association, type JournalEntryInput, type ResourceType, type SubjectType } from '../model.js';
import type { Store, Transaction } from '../ports.js';
import { checkFilter, checkSort, parseTimestamp, type FieldCatalog, type ListQuery } from '../query.js';
import type { SecretBox } from '../secrets.js';

/** What every core service is built from. */
export interface Deps {
  store: Store;
  secrets: SecretBox;
  clock: () => Date;
}

export function journal(tx: Transaction, ctx: Context, ...entries: JournalEntryInput[]): void {
  const nonEmpty = entries.filter((e) => e.operation !== 'update' || Object.keys(e.changes).length > 0);
  if (nonEmpty.length > 0) tx.record({ orgId: ctx.orgId, actor: ctx.actor, origin: ctx.origin }, nonEmpty);
}

/** The journal row for an association change: keyed by the resource, so a resource's consumers can follow it. */
export function associationEntry(a: Association, operation: 'associate' | 'dissociate' | 'update', before?: Association): JournalEntryInput {
  const view = (x: Association) => ({ type: x.subjectType, id: x.subjectId, attributes: x.attributes });
  return {
    objectType: 'association',
    objectId: a.resourceId,
    operation,
    changes: {
      [a.resourceType]:
        operation === 'associate'
          ? { before: null, after: view(a) }
          : operation === 'dissociate'
            ? { before: view(a), after: null }
            : { before: view(before ?? a), after: view(a) },
    },
  };
}

/** An optional expiry (of a key or token): null when absent, else an ISO 8601 time in the future. */
export function checkExpiry(value: unknown, now: Date): string | null {
  if (value === undefined || value === null) return null;
  const parsed = parseTimestamp(String(value));
  if (!parsed.ok) throw invalid('INVALID_INPUT', `expiresAt: ${parsed.error}`);
  if (Date.parse(parsed.value) <= now.getTime()) throw invalid('INVALID_INPUT', 'expiresAt must be in the future');
  return parsed.value;
}

/** A list query checked against a field catalog: unknown fields and bad values become 400s. */
export function checkedQuery(query: ListQuery, catalog: FieldCatalog): ListQuery {
  const filter = query.filter ? checkFilter(query.filter, catalog) : undefined;
  if (filter && !filter.ok) throw invalid('INVALID_FILTER', filter.error);
  const sort = checkSort(query.sort, catalog);
  if (!sort.ok) throw invalid('INVALID_SORT', sort.error);
  return { ...query, filter: filter?.value, sort: sort.value };
}

/** Removes every association of a user or group that is going away, journaling each. */
export async function dissociateAll(tx: Transaction, ctx: Context, subjectType: SubjectType, subjectId: string): Promise<void> {
  for (const a of await tx.associations.ofSubjects(ctx.orgId, subjectType, [subjectId], RESOURCE_TYPES)) {
    await tx.associations.remove(ctx.orgId, a);
    journal(tx, ctx, associationEntry(a, 'dissociate'));
  }
}

/** Removes every association of a resource that is going away, journaling each. */
export async function dissociateResource(tx: Transaction, ctx: Context, resourceType: ResourceType, resourceId: string): Promise<void> {
  for (const a of await tx.associations.ofResource(ctx.orgId, resourceType, resourceId, ['user', 'user_group'])) {
    await tx.associations.remove(ctx.orgId, a);
    journal(tx, ctx, associationEntry(a, 'dissociate'));
  }
}
