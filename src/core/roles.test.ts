import { describe, expect, it } from 'vitest';
import { isRoleName, PERMISSIONS, permissionsFor, ROLE_NAMES, ROLE_PERMISSIONS, roleWithin, type Permission, type RoleName } from './roles.js';

const ALL = Object.keys(PERMISSIONS) as Permission[];

describe('permissionsFor', () => {
  it.each(ROLE_NAMES)('%s: a read-only key keeps exactly the role\'s :read permissions', (role) => {
    const full = permissionsFor(role, false);
    const readOnly = permissionsFor(role, true);
    expect([...full].sort()).toEqual([...ROLE_PERMISSIONS[role]].sort());
    expect([...readOnly].sort()).toEqual([...full].filter((p) => p.endsWith(':read')).sort());
    for (const p of readOnly) expect(p.endsWith(':read')).toBe(true);
  });

  it('a read-only key of the top role can read everything and change nothing', () => {
    const readOnly = permissionsFor('Administrator with Billing', true);
    expect([...readOnly].sort()).toEqual(ALL.filter((p) => p.endsWith(':read')).sort());
    for (const p of ['users:write', 'users:delete', 'admins:write', 'apikeys:write', 'commands:run'] as const) expect(readOnly.has(p)).toBe(false);
  });

  it('roles differ where JumpCloud says they do', () => {
    expect(permissionsFor('Administrator with Billing', false).has('billing:write')).toBe(true);
    expect(permissionsFor('Administrator', false).has('billing:read')).toBe(false);
    expect(permissionsFor('Administrator', false).has('admins:write')).toBe(true);
    expect(permissionsFor('Manager', false).has('admins:write')).toBe(false);
    expect(permissionsFor('Manager', false).has('users:delete')).toBe(true);
    expect(permissionsFor('Help Desk', false).has('users:delete')).toBe(false);
    expect(permissionsFor('Help Desk', false).has('associations:write')).toBe(false);
    expect(permissionsFor('Read Only', false).has('users:write')).toBe(false);
    expect(permissionsFor('Command Runner', false).has('users:read')).toBe(false);
    expect(permissionsFor('Command Runner', false).has('commands:run')).toBe(true);
  });

  it('every role grants only known permissions, without duplicates', () => {
    for (const role of ROLE_NAMES) {
      const list = ROLE_PERMISSIONS[role];
      expect(new Set(list).size, role).toBe(list.length);
      for (const p of list) expect(ALL, role).toContain(p);
    }
  });
});

describe('roleWithin', () => {
  it('is reflexive', () => {
    for (const role of ROLE_NAMES) expect(roleWithin(role, role)).toBe(true);
  });

  it('the top role holds every other role', () => {
    for (const role of ROLE_NAMES) expect(roleWithin('Administrator with Billing', role)).toBe(true);
  });

  it('no one grants what they lack', () => {
    expect(roleWithin('Administrator', 'Administrator with Billing')).toBe(false);
    expect(roleWithin('Manager', 'Administrator')).toBe(false);
    expect(roleWithin('Help Desk', 'Manager')).toBe(false);
    expect(roleWithin('Read Only', 'Help Desk')).toBe(false);
    expect(roleWithin('Command Runner', 'Command Runner with Billing')).toBe(false);
    expect(roleWithin('Command Runner with Billing', 'Command Runner')).toBe(true);
    expect(roleWithin('Administrator', 'Manager')).toBe(true);
    expect(roleWithin('Manager', 'Help Desk')).toBe(true);
  });

  it('matches the permission tables for every pair', () => {
    const has = (h: RoleName, p: Permission) => ROLE_PERMISSIONS[h].includes(p);
    for (const holder of ROLE_NAMES) {
      for (const candidate of ROLE_NAMES) {
        const expected = ROLE_PERMISSIONS[candidate].every((p) => has(holder, p));
        expect(roleWithin(holder, candidate), `${holder} ⊇ ${candidate}`).toBe(expected);
        if (holder !== candidate && roleWithin(holder, candidate) && roleWithin(candidate, holder)) {
          expect([...ROLE_PERMISSIONS[holder]].sort()).toEqual([...ROLE_PERMISSIONS[candidate]].sort());
        }
      }
    }
  });
});

describe('isRoleName', () => {
  it('accepts the role names exactly', () => {
    for (const role of ROLE_NAMES) expect(isRoleName(role)).toBe(true);
    for (const v of ['administrator', 'Admin', '', null, 1, undefined]) expect(isRoleName(v)).toBe(false);
  });
});
