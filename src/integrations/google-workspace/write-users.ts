import { randomBytes } from 'node:crypto';
import type { admin_directory_v1 } from '@googleapis/admin';
import type { ExportOp, ExportOutcome } from '../../core/services/directory-export.js';
import { isSyncError } from '../../sync/errors.js';
import type { ApplyOptions } from '../../sync/cloud-connector.js';
import { needsCurrentUser, newUser, READ_ONLY_ATTRIBUTES, userPatch } from './attributes.js';
import type { DirectoryClient } from './client.js';

type GoogleUser = admin_directory_v1.Schema$User;
type Op<K extends ExportOp['op']> = Extract<ExportOp, { op: K }>;

/** A password nobody knows (Google accepts 8 to 100 characters), for an account whose real one Roster sets later. */
const randomPassword = () => randomBytes(24).toString('base64url');

const isPrivileged = (u: GoogleUser) => u.isAdmin === true || u.isDelegatedAdmin === true;

/**
 * users.insert. A 409 means the account exists: an unlinked account of that email, or our own
 * insert whose answer was lost and was retried. Either way it is taken over (patched with the
 * op's attributes, and the password if given; its state kept) unless it is an administrator.
 */
export async function createUser(client: DirectoryClient, domain: string, op: Op<'create_user'>, options: ApplyOptions): Promise<ExportOutcome> {
  const primaryEmail = op.attributes.primaryemail || `${op.name}@${domain}`;
  const body: GoogleUser = {
    ...newUser(op.attributes, primaryEmail, op.name),
    password: options.password ?? randomPassword(),
    suspended: op.disabled,
    orgUnitPath: op.parentDn || '/',
  };
  try {
    const created = await client.call(() => client.api.users.insert({ requestBody: body }));
    return { op, ok: true, externalId: created.id ?? undefined, disabled: op.disabled, passwordSet: options.password !== undefined };
  } catch (e) {
    if (!isSyncError(e, 'conflict')) throw e;
  }
  let existing: GoogleUser;
  try {
    existing = await client.call(() => client.api.users.get({ userKey: primaryEmail, projection: 'full' }));
  } catch (e) {
    if (!isSyncError(e, 'not_found')) throw e;
    return { op, ok: false, error: `${primaryEmail} is taken by something other than a user account (a group or an alias)` };
  }
  if (existing.primaryEmail?.toLowerCase() !== primaryEmail.toLowerCase()) return { op, ok: false, error: `${primaryEmail} is an alias of ${existing.primaryEmail ?? 'another account'}` };
  if (isPrivileged(existing)) return { op, ok: false, error: 'an account with that email exists and is an administrator: never managed' };
  const patch: GoogleUser = userPatch(op.attributes, existing);
  delete patch.primaryEmail;
  if (options.password !== undefined) patch.password = options.password;
  const patched = await client.call(() => client.api.users.patch({ userKey: existing.id!, requestBody: patch }));
  return { op, ok: true, externalId: patched.id ?? existing.id ?? undefined, disabled: patched.suspended === true, passwordSet: options.password !== undefined };
}

/** users.patch of the changed attributes (read first when a repeated field must be merged) and of the suspended state. */
export async function updateUser(client: DirectoryClient, op: Op<'update_user'>): Promise<ExportOutcome> {
  const changes = Object.fromEntries(Object.entries(op.changes).filter(([k]) => !READ_ONLY_ATTRIBUTES.has(k)));
  try {
    const current = needsCurrentUser(changes) ? await client.call(() => client.api.users.get({ userKey: op.externalId, projection: 'full' })) : undefined;
    const body = userPatch(changes, current);
    if (op.disabled !== undefined) body.suspended = op.disabled;
    if (Object.keys(body).length > 0) await client.call(() => client.api.users.patch({ userKey: op.externalId, requestBody: body }));
    return { op, ok: true };
  } catch (e) {
    if (!isSyncError(e, 'not_found')) throw e;
    // A user deleted in Roster whose account is gone already: as good as disabled.
    if (op.deletedInRoster) return { op, ok: true, gone: true };
    return { op, ok: false, gone: true, error: e.message };
  }
}

/** users.delete; an account gone already counts as deleted. */
export async function deleteUser(client: DirectoryClient, op: Op<'delete_user'>): Promise<ExportOutcome> {
  try {
    await client.call(() => client.api.users.delete({ userKey: op.externalId }));
  } catch (e) {
    if (!isSyncError(e, 'not_found')) throw e;
  }
  return { op, ok: true, deleted: true };
}

/** users.patch of the password alone: Google's refusal ("Invalid Password") is a bad_request carrying its message, a missing account not_found. */
export async function setUserPassword(client: DirectoryClient, externalId: string, password: string): Promise<void> {
  await client.call(() => client.api.users.patch({ userKey: externalId, requestBody: { password } }));
}
