import { requirePermission, type Context } from '../context.js';
import { conflict, forbidden, invalid, notFound, type ErrorDetail } from '../errors.js';
import { ADMIN_FIELDS } from '../fields.js';
import { newId, type AdminId } from '../ids.js';
import { changesBetween, secretChange } from '../journal.js';
import type { Administrator } from '../model.js';
import { DEFAULT_PASSWORD_POLICY, hashPassword, passwordViolations } from '../passwords.js';
import type { Transaction } from '../ports.js';
import { ALL_ROWS, foldCase, type ListQuery, type ListResult } from '../query.js';
import { isRoleName, ROLE_NAMES, ROLE_PERMISSIONS, roleWithin, type RoleName } from '../roles.js';
import { checkedQuery, journal, type Deps } from './deps.js';

export interface AdministratorInput {
  email?: string;
  firstname?: string;
  lastname?: string;
  roleName?: string;
  enableMultiFactor?: boolean;
  suspended?: boolean;
  password?: string;
}

const EMAIL = /^[^\s@<>()[\],;:"]+@[^\s@<>()[\],;:"]+\.[^\s@<>()[\],;:"]+$/u;

function checkInput(input: AdministratorInput, creating: boolean): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const fail = (field: string, message: string) => errors.push({ field, reason: 'INVALID', message });
  if (input.email !== undefined || creating) {
    if (typeof input.email !== 'string' || input.email.length > 254 || !EMAIL.test(input.email.trim())) fail('email', 'email must be an address like name@example.com');
  }
  for (const field of ['firstname', 'lastname'] as const) {
    const v = input[field];
    if (v !== undefined && (typeof v !== 'string' || v.length > 1024)) fail(field, `${field} must be a string of at most 1024 characters`);
  }
  if (input.roleName !== undefined || creating) {
    if (!isRoleName(input.roleName)) fail('roleName', `roleName must be one of: ${ROLE_NAMES.join(', ')}`);
  }
  for (const field of ['enableMultiFactor', 'suspended'] as const) {
    if (input[field] !== undefined && typeof input[field] !== 'boolean') fail(field, `${field} must be true or false`);
  }
  if (input.password !== undefined) {
    if (typeof input.password !== 'string') fail('password', 'password must be a string');
    else errors.push(...passwordViolations({ ...DEFAULT_PASSWORD_POLICY, allowUsernameSubstring: true }, input.password));
  }
  return errors;
}

const adminNotFound = () => notFound('ADMINISTRATOR_NOT_FOUND', 'Administrator not found');

/** Administrators: identities apart from users, each with one role, linked to the orgs they manage. */
export class AdministratorService {
  constructor(private readonly deps: Deps) {}

  async list(ctx: Context, query: ListQuery): Promise<ListResult<Administrator>> {
    requirePermission(ctx, 'admins:read');
    return this.deps.store.read.admins.list(ctx.orgId, checkedQuery(query, ADMIN_FIELDS));
  }

  async get(ctx: Context, id: string): Promise<Administrator> {
    if (!(ctx.actor.type === 'admin' && ctx.actor.id === id)) requirePermission(ctx, 'admins:read');
    const admin = await this.deps.store.read.admins.findById(id as AdminId);
    if (!admin || !admin.orgIds.includes(ctx.orgId)) throw adminNotFound();
    return admin;
  }

  async create(ctx: Context, input: AdministratorInput): Promise<Administrator> {
    requirePermission(ctx, 'admins:write');
    const errors = checkInput(input, true);
    if (errors.length > 0) throw invalid('INVALID_INPUT', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
    const role = input.roleName as RoleName;
    assertGrantable(ctx, role);
    const hash = input.password ? await hashPassword(input.password) : null;
    const now = this.deps.clock().toISOString();
    const admin: Administrator = {
      id: newId<AdminId>(),
      email: input.email!.trim(),
      firstname: input.firstname ?? '',
      lastname: input.lastname ?? '',
      roleName: role,
      enableMultiFactor: input.enableMultiFactor ?? false,
      suspended: input.suspended ?? false,
      passwordSet: hash !== null,
      created: now,
      updated: now,
      orgIds: [ctx.orgId],
    };
    return this.deps.store.transaction(async (tx) => {
      if (await tx.admins.findByEmail(admin.email)) {
        throw conflict('ADMIN_EMAIL_TAKEN', 'An administrator with this email already exists', [{ field: 'email', reason: 'ADMIN_EMAIL_TAKEN', message: 'is taken' }]);
      }
      await tx.admins.insert(admin, hash);
      await tx.admins.linkOrg(admin.id, ctx.orgId);
      const changes = changesBetween(null, admin, ['updated', 'orgIds']);
      if (hash) changes.password = secretChange();
      journal(tx, ctx, { objectType: 'administrator', objectId: admin.id, operation: 'create', changes });
      return admin;
    });
  }

  async update(ctx: Context, id: string, input: AdministratorInput): Promise<Administrator> {
    const self = ctx.actor.type === 'admin' && ctx.actor.id === id;
    // Multi-factor is a requirement set on an administrator, not a preference they may turn off themselves.
    const privileged = input.roleName !== undefined || input.suspended !== undefined || input.password !== undefined || input.enableMultiFactor !== undefined;
    if (!self || privileged) requirePermission(ctx, 'admins:write');
    else if (ctx.readOnlyKey) throw forbidden('API_KEY_READ_ONLY', 'This API key is read-only; it cannot make changes');
    const errors = checkInput(input, false);
    if (errors.length > 0) throw invalid('INVALID_INPUT', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
    const hash = input.password ? await hashPassword(input.password) : undefined;
    return this.deps.store.transaction(async (tx) => {
      const current = await tx.admins.findById(id as AdminId);
      if (!current || !current.orgIds.includes(ctx.orgId)) throw adminNotFound();
      await lockAdministrators(tx, current.orgIds);
      const before = await tx.admins.findById(current.id, { forUpdate: true });
      if (!before || !before.orgIds.includes(ctx.orgId)) throw adminNotFound();
      if (!self) assertGrantable(ctx, before.roleName);
      if (input.roleName !== undefined) assertGrantable(ctx, input.roleName as RoleName);
      const after: Administrator = {
        ...before,
        email: input.email?.trim() ?? before.email,
        firstname: input.firstname ?? before.firstname,
        lastname: input.lastname ?? before.lastname,
        roleName: (input.roleName as RoleName | undefined) ?? before.roleName,
        enableMultiFactor: input.enableMultiFactor ?? before.enableMultiFactor,
        suspended: input.suspended ?? before.suspended,
        passwordSet: before.passwordSet || hash !== undefined,
        updated: this.deps.clock().toISOString(),
      };
      if (foldCase(after.email) !== foldCase(before.email)) {
        const other = await tx.admins.findByEmail(after.email);
        if (other && other.admin.id !== after.id) throw conflict('ADMIN_EMAIL_TAKEN', 'An administrator with this email already exists');
      }
      await tx.admins.update(after);
      if (hash) await tx.admins.setPasswordHash(after.id, hash);
      // A suspension or a new password ends the administrator's portal sessions.
      if (hash || (after.suspended && !before.suspended)) await tx.adminSessions.revokeAdmin(after.id, after.updated);
      // A new password set for a locked-out administrator is also their unlock.
      if (hash) await tx.adminSessions.setFailures(after.id, 0, null);
      await assertAnAdministratorRemains(tx, before, after);
      const changes = changesBetween(before, after, ['updated', 'orgIds']);
      if (hash) changes.password = secretChange();
      journal(tx, ctx, { objectType: 'administrator', objectId: after.id, operation: 'update', changes });
      return after;
    });
  }

  /** Gives an existing administrator (of another org) access to the context's org. */
  async link(ctx: Context, email: string): Promise<Administrator> {
    requirePermission(ctx, 'admins:write');
    return this.deps.store.transaction(async (tx) => {
      const found = await tx.admins.findByEmail(email);
      if (!found) throw adminNotFound();
      assertGrantable(ctx, found.admin.roleName);
      if (found.admin.orgIds.includes(ctx.orgId)) return found.admin;
      await tx.admins.linkOrg(found.admin.id, ctx.orgId);
      const after = { ...found.admin, orgIds: [...found.admin.orgIds, ctx.orgId] };
      journal(tx, ctx, { objectType: 'administrator', objectId: after.id, operation: 'update', changes: { orgIds: { before: found.admin.orgIds, after: after.orgIds } } });
      return after;
    });
  }

  async delete(ctx: Context, id: string): Promise<Administrator> {
    requirePermission(ctx, 'admins:write');
    return this.deps.store.transaction(async (tx) => {
      const current = await tx.admins.findById(id as AdminId);
      if (!current || !current.orgIds.includes(ctx.orgId)) throw adminNotFound();
      await lockAdministrators(tx, current.orgIds);
      const admin = await tx.admins.findById(current.id, { forUpdate: true });
      if (!admin || !admin.orgIds.includes(ctx.orgId)) throw adminNotFound();
      assertGrantable(ctx, admin.roleName);
      await tx.admins.delete(admin.id);
      await assertAnAdministratorRemains(tx, admin, null);
      journal(tx, ctx, { objectType: 'administrator', objectId: admin.id, operation: 'delete', changes: changesBetween(admin, null, ['updated', 'orgIds']) });
      return admin;
    });
  }
}

/** No one hands out, or changes someone holding, more rights than they have themselves. */
function assertGrantable(ctx: Context, role: RoleName) {
  if (ctx.role !== null && !roleWithin(ctx.role, role)) {
    throw forbidden('ROLE_ESCALATION', `The role ${ctx.role} cannot grant or manage the role ${role}`);
  }
}

const managesAdministrators = (a: Administrator) => !a.suspended && ROLE_PERMISSIONS[a.roleName].includes('admins:write');

/** Serialises changes to the administrators of these orgs, so two demotions cannot both pass the check. */
async function lockAdministrators(tx: Transaction, orgIds: readonly string[]) {
  for (const orgId of [...orgIds].sort()) await tx.lock(`roster:administrators:${orgId}`);
}

/**
 * Every org keeps an active administrator who can manage administrators: a change that takes away
 * such an administrator (`changed` null for a delete) must leave another in each org the
 * administrator manages (role and suspension hold in all of them). Other changes pass, so an org
 * that has none yet can still be administered. Callers hold lockAdministrators.
 */
async function assertAnAdministratorRemains(tx: Transaction, before: Administrator, changed: Administrator | null) {
  if (!managesAdministrators(before) || (changed && managesAdministrators(changed))) return;
  for (const orgId of before.orgIds) {
    const admins = await tx.admins.list(orgId, { sort: [], page: ALL_ROWS });
    if (!admins.items.some(managesAdministrators)) {
      throw conflict(
        'LAST_ADMINISTRATOR',
        changed
          ? 'This change would leave an organization without an active administrator who can manage administrators'
          : 'The last active administrator who can manage administrators cannot be removed',
      );
    }
  }
}
