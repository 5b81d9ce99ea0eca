import type { admin_directory_v1 } from '@googleapis/admin';
import type { ExportOp, ExportOutcome } from '../../core/services/directory-export.js';
import { isSyncError, type SyncError } from '../../sync/errors.js';
import { mapPool } from '../../sync/pool.js';
import type { DirectoryClient } from './client.js';

type Op<K extends ExportOp['op']> = Extract<ExportOp, { op: K }>;

/** Membership changes of one group in flight at once. */
const MEMBER_WRITES_IN_FLIGHT = 4;

/** A group email's local part from its name: lowercase letters, digits, `.`, `_` and `-`, never empty. */
export function groupSlug(name: string, fallback: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/([._-])[._-]+/g, '$1')
    .replace(/^[._-]+|[._-]+$/g, '')
    .slice(0, 60)
    .replace(/[._-]+$/, '');
  return slug || `group-${fallback.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 12) || 'roster'}`;
}

/** groups.insert; a 409 means a group of that email exists (or our insert's answer was lost): it is taken over. */
export async function createGroup(client: DirectoryClient, domain: string, op: Op<'create_group'>): Promise<ExportOutcome> {
  const email = op.attributes.email || `${groupSlug(op.name, op.localId)}@${domain}`;
  const body: admin_directory_v1.Schema$Group = { email, name: op.name, ...(op.attributes.description ? { description: op.attributes.description } : {}) };
  try {
    const created = await client.call(() => client.api.groups.insert({ requestBody: body }));
    return { op, ok: true, externalId: created.id ?? undefined };
  } catch (e) {
    if (!isSyncError(e, 'conflict')) throw e;
  }
  let existing: admin_directory_v1.Schema$Group;
  try {
    existing = await client.call(() => client.api.groups.get({ groupKey: email }));
  } catch (e) {
    if (!isSyncError(e, 'not_found')) throw e;
    return { op, ok: false, error: `${email} is taken by something other than a group (a user account or an alias)` };
  }
  const patch: admin_directory_v1.Schema$Group = {};
  if (existing.name !== op.name) patch.name = op.name;
  if (op.attributes.description && existing.description !== op.attributes.description) patch.description = op.attributes.description;
  if (Object.keys(patch).length > 0) await client.call(() => client.api.groups.patch({ groupKey: existing.id!, requestBody: patch }));
  return { op, ok: true, externalId: existing.id ?? undefined };
}

/**
 * groups.patch of the name and description (the email is the group's address: not renamed), then
 * members.insert and members.delete, each already-done answer (409 on insert, 404 on delete) as
 * good as done. Members are user or group ids alike.
 */
export async function updateGroup(client: DirectoryClient, op: Op<'update_group'>): Promise<ExportOutcome> {
  const groupKey = op.externalId;
  const patch: admin_directory_v1.Schema$Group = {};
  if (typeof op.changes.name === 'string' && op.changes.name !== '') patch.name = op.changes.name;
  if ('description' in op.changes) patch.description = op.changes.description ?? '';
  const gone = (e: SyncError): ExportOutcome => ({ op, ok: false, gone: true, error: e.message });
  try {
    if (Object.keys(patch).length > 0) await client.call(() => client.api.groups.patch({ groupKey, requestBody: patch }));
  } catch (e) {
    if (isSyncError(e, 'not_found')) return gone(e);
    throw e;
  }
  const writes = [...op.add.map((id) => ({ add: true, id })), ...op.remove.map((id) => ({ add: false, id }))];
  const results = await mapPool(writes, MEMBER_WRITES_IN_FLIGHT, async ({ add, id }) => {
    try {
      if (add) await client.call(() => client.api.members.insert({ groupKey, requestBody: { id, role: 'MEMBER' } }));
      else await client.call(() => client.api.members.delete({ groupKey, memberKey: id }));
    } catch (e) {
      if (add && isSyncError(e, 'conflict')) return;
      if (!add && isSyncError(e, 'not_found')) return;
      throw e;
    }
  });
  const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [{ write: writes[i]!, error: r.reason as unknown }] : []));
  if (failures.length === 0) return { op, ok: true };
  const stop = failures.find((f) => isSyncError(f.error, 'stop'));
  if (stop) throw stop.error;
  // A 404 on a member write is the group's or the member's: which one, the group tells.
  if (failures.some((f) => isSyncError(f.error, 'not_found'))) {
    try {
      await client.call(() => client.api.groups.get({ groupKey }));
    } catch (e) {
      if (isSyncError(e, 'not_found')) return gone(e);
      throw e;
    }
  }
  const reasons = failures.map((f) => `${f.write.add ? 'adding' : 'removing'} ${f.write.id}: ${f.error instanceof Error ? f.error.message : String(f.error)}`);
  return { op, ok: false, error: reasons.join('; ') };
}
