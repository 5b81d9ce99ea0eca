/** Everything an administrator can be allowed to do. A read-only API key keeps only `*:read`. */
export const PERMISSIONS = {
  'users:read': 'List and read users, their groups and their access',
  'users:write': 'Create and edit users, set their passwords, enroll and reset their TOTP, lock, unlock and expire them',
  'users:delete': 'Delete users',
  'groups:read': 'List and read user groups and their members',
  'groups:write': 'Create, edit and delete user groups; add and remove members',
  'applications:read': 'List and read applications',
  'applications:write': 'Create, edit and delete applications',
  'directories:read': 'List and read directories (LDAP service, AD domains, cloud directories)',
  'directories:write': 'Configure directories',
  'radius:read': 'List and read RADIUS servers (never their shared secrets)',
  'radius:write': 'Create, edit and delete RADIUS servers and set their shared secrets',
  'associations:write': 'Grant and remove access: associate users and groups with resources',
  'admins:read': 'List and read administrators',
  'admins:write': 'Create, edit and remove administrators and their roles',
  'organization:read': 'Read organization settings, including the password policy',
  'organization:write': 'Change organization settings, including the password policy',
  'journal:read': 'Read the change journal (audit log and change feed)',
  'apikeys:read': 'List one\'s own API keys',
  'apikeys:write': 'Create and revoke one\'s own API keys',
  'billing:read': 'Read billing information',
  'billing:write': 'Manage billing',
  'commands:read': 'Read commands and their results',
  'commands:run': 'Run commands on systems',
} as const;

export type Permission = keyof typeof PERMISSIONS;

export const ROLE_NAMES = [
  'Administrator with Billing',
  'Administrator',
  'Manager',
  'Help Desk',
  'Read Only',
  'Command Runner',
  'Command Runner with Billing',
] as const;

export type RoleName = (typeof ROLE_NAMES)[number];

const ALL = Object.keys(PERMISSIONS) as Permission[];
const READ = ALL.filter((p) => p.endsWith(':read'));
const without = (list: Permission[], ...drop: Permission[]) => list.filter((p) => !drop.includes(p));
const OWN_KEYS: Permission[] = ['apikeys:read', 'apikeys:write'];
const COMMANDS: Permission[] = ['commands:read', 'commands:run'];
const BILLING: Permission[] = ['billing:read', 'billing:write'];

/** Role → permissions. docs/roles.md is checked against this table by a test. */
export const ROLE_PERMISSIONS: Readonly<Record<RoleName, readonly Permission[]>> = {
  'Administrator with Billing': ALL,
  Administrator: without(ALL, ...BILLING),
  Manager: without(ALL, ...BILLING, 'admins:write', 'organization:write'),
  'Help Desk': [
    'users:read',
    'users:write',
    'groups:read',
    'groups:write',
    'applications:read',
    'directories:read',
    'radius:read',
    'organization:read',
    'journal:read',
    'commands:read',
    ...OWN_KEYS,
  ],
  'Read Only': [...without(READ, 'billing:read'), 'apikeys:write'],
  'Command Runner': [...COMMANDS, ...OWN_KEYS],
  'Command Runner with Billing': [...COMMANDS, ...BILLING, ...OWN_KEYS],
};

export const isRoleName = (value: unknown): value is RoleName =>
  typeof value === 'string' && (ROLE_NAMES as readonly string[]).includes(value);

export function permissionsFor(role: RoleName, readOnly: boolean): ReadonlySet<Permission> {
  const granted = ROLE_PERMISSIONS[role];
  return new Set(readOnly ? granted.filter((p) => p.endsWith(':read')) : granted);
}

/** Whether `holder` may hand `candidate` to someone: never beyond what the holder has. */
export const roleWithin = (holder: RoleName, candidate: RoleName): boolean =>
  ROLE_PERMISSIONS[candidate].every((p) => ROLE_PERMISSIONS[holder].includes(p));
