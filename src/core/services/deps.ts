import type { Context } from '../context.js';
import type { Association, JournalEntryInput } from '../model.js';
import type { Store, Transaction } from '../ports.js';
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
