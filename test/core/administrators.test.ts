import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Context } from '../../src/core/context.js';
import { DirectoryError } from '../../src/core/errors.js';
import type { Administrator } from '../../src/core/model.js';
import { permissionsFor, type RoleName } from '../../src/core/roles.js';
import { openTestCore, type TestCore } from '../support/core.js';

async function fails(promise: Promise<unknown>, kind: DirectoryError['kind'], code: string) {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `expected ${code}`).toBeInstanceOf(DirectoryError);
  expect({ kind: (e as DirectoryError).kind, code: (e as DirectoryError).code }).toEqual({ kind, code });
}

describe('AdministratorService', () => {
  let t: TestCore;
  let n = 0;
  beforeEach(async () => {
    t = await openTestCore();
  });
  afterEach(() => t.dispose());

  const make = (roleName: RoleName, extra: Record<string, unknown> = {}) =>
    t.core.administrators.create(t.ctx, { email: `admin${n++}@example.test`, roleName, ...extra });
  /** The context an administrator's (full) API key would give. */
  const as = (admin: Administrator): Context => ({
    orgId: t.ctx.orgId,
    actor: { type: 'admin', id: admin.id },
    origin: 'api',
    role: admin.roleName,
    permissions: permissionsFor(admin.roleName, false),
    readOnlyKey: false,
    orgIds: admin.orgIds,
  });
  const roleOf = async (admin: Administrator) => (await t.core.administrators.get(t.ctx, admin.id)).roleName;

  describe('no role escalation', () => {
    it('an Administrator cannot create, promote to, edit or delete an Administrator with Billing', async () => {
      const top = await make('Administrator with Billing');
      const admin = await make('Administrator');
      const manager = await make('Manager');
      await fails(t.core.administrators.create(as(admin), { email: 'x@example.test', roleName: 'Administrator with Billing' }), 'forbidden', 'ROLE_ESCALATION');
      await fails(t.core.administrators.update(as(admin), manager.id, { roleName: 'Administrator with Billing' }), 'forbidden', 'ROLE_ESCALATION');
      await fails(t.core.administrators.update(as(admin), top.id, { firstname: 'Renamed' }), 'forbidden', 'ROLE_ESCALATION');
      await fails(t.core.administrators.update(as(admin), top.id, { suspended: true }), 'forbidden', 'ROLE_ESCALATION');
      await fails(t.core.administrators.delete(as(admin), top.id), 'forbidden', 'ROLE_ESCALATION');
      expect(await roleOf(manager)).toBe('Manager');
      expect((await t.core.administrators.get(t.ctx, top.id)).suspended).toBe(false);
    });

    it('an Administrator may grant roles within its own', async () => {
      await make('Administrator with Billing');
      const admin = await make('Administrator');
      const created = await t.core.administrators.create(as(admin), { email: 'helper@example.test', roleName: 'Help Desk' });
      await t.core.administrators.update(as(admin), created.id, { roleName: 'Manager' });
      expect(await roleOf(created)).toBe('Manager');
      await t.core.administrators.delete(as(admin), created.id);
      await fails(t.core.administrators.get(t.ctx, created.id), 'not_found', 'ADMINISTRATOR_NOT_FOUND');
    });

    it('roles without admins:write cannot manage administrators at all', async () => {
      await make('Administrator with Billing');
      const manager = await make('Manager');
      const helpDesk = await make('Help Desk');
      await fails(t.core.administrators.create(as(manager), { email: 'y@example.test', roleName: 'Read Only' }), 'forbidden', 'PERMISSION_DENIED');
      await fails(t.core.administrators.update(as(manager), helpDesk.id, { firstname: 'x' }), 'forbidden', 'PERMISSION_DENIED');
      await fails(t.core.administrators.delete(as(manager), helpDesk.id), 'forbidden', 'PERMISSION_DENIED');
    });

    it('anyone may edit their own name, but not their own role, suspension or password', async () => {
      await make('Administrator with Billing');
      const helpDesk = await make('Help Desk');
      const renamed = await t.core.administrators.update(as(helpDesk), helpDesk.id, { firstname: 'Hal', lastname: 'Desk' });
      expect(renamed).toMatchObject({ firstname: 'Hal', lastname: 'Desk', roleName: 'Help Desk' });
      await fails(t.core.administrators.update(as(helpDesk), helpDesk.id, { roleName: 'Administrator' }), 'forbidden', 'PERMISSION_DENIED');
      await fails(t.core.administrators.update(as(helpDesk), helpDesk.id, { suspended: true }), 'forbidden', 'PERMISSION_DENIED');
      await fails(t.core.administrators.update(as(helpDesk), helpDesk.id, { password: 'NewPassword123' }), 'forbidden', 'PERMISSION_DENIED');
      const readOnlyKey = { ...as(helpDesk), permissions: permissionsFor('Help Desk', true), readOnlyKey: true };
      await fails(t.core.administrators.update(readOnlyKey, helpDesk.id, { firstname: 'x' }), 'forbidden', 'API_KEY_READ_ONLY');
    });
  });

  describe('the last administrator who can manage administrators', () => {
    it('cannot be deleted, suspended or demoted', async () => {
      const top = await make('Administrator with Billing');
      await make('Read Only');
      await make('Manager');
      await fails(t.core.administrators.delete(t.ctx, top.id), 'conflict', 'LAST_ADMINISTRATOR');
      await fails(t.core.administrators.update(t.ctx, top.id, { suspended: true }), 'conflict', 'LAST_ADMINISTRATOR');
      await fails(t.core.administrators.update(t.ctx, top.id, { roleName: 'Manager' }), 'conflict', 'LAST_ADMINISTRATOR');
      await fails(t.core.administrators.update(as(top), top.id, { roleName: 'Read Only' }), 'conflict', 'LAST_ADMINISTRATOR');
      const after = await t.core.administrators.get(t.ctx, top.id);
      expect(after).toMatchObject({ roleName: 'Administrator with Billing', suspended: false });
      const ops = (await t.core.journal.list(t.ctx, 0, 100)).filter((e) => e.objectId === top.id).map((e) => e.operation);
      expect(ops).toEqual(['create']);
    });

    it('a suspended administrator does not count', async () => {
      const a = await make('Administrator');
      await make('Administrator', { suspended: true });
      await fails(t.core.administrators.update(t.ctx, a.id, { suspended: true }), 'conflict', 'LAST_ADMINISTRATOR');
    });

    it('can be changed once another active one exists', async () => {
      const top = await make('Administrator with Billing');
      const other = await make('Administrator');
      await t.core.administrators.update(t.ctx, top.id, { roleName: 'Read Only' });
      await fails(t.core.administrators.update(t.ctx, other.id, { suspended: true }), 'conflict', 'LAST_ADMINISTRATOR');
      await t.core.administrators.update(t.ctx, top.id, { roleName: 'Administrator' });
      await t.core.administrators.delete(t.ctx, other.id);
      expect((await t.core.administrators.list(t.ctx, { sort: [], page: { limit: 10, skip: 0 } })).total).toBe(1);
    });

    it('regression: in an org that has no such administrator yet, other administrators can still be edited', async () => {
      const readOnly = await make('Read Only');
      const renamed = await t.core.administrators.update(t.ctx, readOnly.id, { firstname: 'Rita' });
      expect(renamed.firstname).toBe('Rita');
      await t.core.administrators.update(t.ctx, readOnly.id, { suspended: true });
      await t.core.administrators.delete(t.ctx, readOnly.id);
    });
  });

  describe('input and uniqueness', () => {
    it('emails are unique ignoring case, across orgs', async () => {
      await make('Administrator', { email: 'Root@Example.test' });
      await fails(t.core.administrators.create(t.ctx, { email: 'root@EXAMPLE.test', roleName: 'Manager' }), 'conflict', 'ADMIN_EMAIL_TAKEN');
      const b = await make('Manager', { email: 'b@example.test' });
      await fails(t.core.administrators.update(t.ctx, b.id, { email: 'ROOT@example.test' }), 'conflict', 'ADMIN_EMAIL_TAKEN');
      const otherOrg = await t.core.organizations.create('Other');
      await fails(
        t.core.administrators.create({ ...t.ctx, orgId: otherOrg.id, orgIds: [otherOrg.id] }, { email: 'root@example.test', roleName: 'Manager' }),
        'conflict',
        'ADMIN_EMAIL_TAKEN',
      );
    });

    it('refuses bad input with details', async () => {
      const e = await t.core.administrators.create(t.ctx, { email: 'nope', roleName: 'Boss' }).catch((err: DirectoryError) => err);
      expect(e).toBeInstanceOf(DirectoryError);
      expect((e as DirectoryError).code).toBe('INVALID_INPUT');
      expect((e as DirectoryError).details.map((d) => d.field)).toEqual(['email', 'roleName']);
      const weak = await t.core.administrators.create(t.ctx, { email: 'w@example.test', roleName: 'Manager', password: 'short' }).catch((err: DirectoryError) => err);
      expect((weak as DirectoryError).details.map((d) => d.reason)).toContain('TOO_SHORT');
    });

    it('an administrator of another org is not found', async () => {
      const admin = await make('Manager');
      const otherOrg = await t.core.organizations.create('Other');
      const elsewhere = { ...t.ctx, orgId: otherOrg.id, orgIds: [otherOrg.id] };
      await fails(t.core.administrators.get(elsewhere, admin.id), 'not_found', 'ADMINISTRATOR_NOT_FOUND');
      await fails(t.core.administrators.update(elsewhere, admin.id, { firstname: 'x' }), 'not_found', 'ADMINISTRATOR_NOT_FOUND');
      await fails(t.core.administrators.delete(elsewhere, admin.id), 'not_found', 'ADMINISTRATOR_NOT_FOUND');
    });
  });
});
