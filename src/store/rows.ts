import type { Insertable, Selectable } from 'kysely';
import type { AdminId, ApiKeyId, ApplicationId, DirectoryId, GroupId, OrgId, RadiusServerId, ScimTokenId, UserId } from '../core/ids.js';
import type {
  Administrator,
  ApiKey,
  Application,
  Directory,
  DirectoryType,
  JournalEntry,
  Organization,
  OrgSettings,
  RadiusServer,
  ScimToken,
  User,
  UserGroup,
  UserState,
} from '../core/model.js';
import { foldCase } from '../core/query.js';
import type { RoleName } from '../core/roles.js';
import type {
  AdministratorsTable,
  ApiKeysTable,
  ApplicationsTable,
  DirectoriesTable,
  JournalTable,
  OrganizationsTable,
  RadiusServersTable,
  ScimTokensTable,
  UserGroupsTable,
  UsersTable,
} from './schema.js';

const bit = (value: boolean): number => (value ? 1 : 0);
const json = (value: unknown): string => JSON.stringify(value);
const parse = <T>(text: string | null, fallback: T): T => (text ? (JSON.parse(text) as T) : fallback);

/** Settings as stored; groups added since an org was last saved read as their defaults. */
function settingsFromText(text: string): OrgSettings {
  const stored = parse(text, {} as Partial<OrgSettings>);
  return { ...stored, radius: { storeNtHashes: false, ...stored.radius }, mfa: { required: false, selfEnrollment: true, ...stored.mfa } } as OrgSettings;
}

export const orgFromRow = (r: Selectable<OrganizationsTable>): Organization => ({
  id: r.id as OrgId,
  displayName: r.display_name,
  logoUrl: r.logo_url,
  settings: settingsFromText(r.settings),
  created: r.created,
  updated: r.updated,
});

export const orgToRow = (o: Organization): Omit<Insertable<OrganizationsTable>, 'next_unix_id' | 'user_count'> => ({
  id: o.id,
  display_name: o.displayName,
  logo_url: o.logoUrl,
  settings: json(o.settings),
  created: o.created,
  updated: o.updated,
});

/** Every user column except the password hash, which is read only where it is checked. */
export const USER_COLUMNS = [
  'id', 'org_id', 'username', 'username_key', 'email', 'email_key', 'firstname', 'middlename', 'lastname',
  'displayname', 'employee_identifier', 'employee_type', 'job_title', 'department', 'company', 'cost_center',
  'location', 'manager_id', 'alternate_email', 'phone_numbers', 'addresses', 'attributes', 'unix_uid',
  'unix_guid', 'sudo', 'passwordless_sudo', 'ldap_binding_user', 'password_never_expires', 'externally_managed',
  'external_dn', 'external_source_type', 'description', 'state', 'account_locked', 'account_locked_date', 'locked_until',
  'bad_login_attempts', 'last_failed_login', 'password_date', 'password_expiration_date', 'mfa_required', 'mfa_exclusion', 'mfa_exclusion_until', 'created', 'updated',
] as const;

export type UserRow = Omit<Selectable<UsersTable>, 'password_hash'> & { password_set: number };

export const userFromRow = (r: UserRow): User => ({
  id: r.id as UserId,
  orgId: r.org_id as OrgId,
  username: r.username,
  email: r.email,
  firstname: r.firstname,
  middlename: r.middlename,
  lastname: r.lastname,
  displayname: r.displayname,
  employeeIdentifier: r.employee_identifier,
  employeeType: r.employee_type,
  jobTitle: r.job_title,
  department: r.department,
  company: r.company,
  costCenter: r.cost_center,
  location: r.location,
  manager: r.manager_id as UserId | null,
  alternateEmail: r.alternate_email,
  phoneNumbers: parse(r.phone_numbers, []),
  addresses: parse(r.addresses, []),
  attributes: parse(r.attributes, []),
  unixUid: r.unix_uid,
  unixGuid: r.unix_guid,
  sudo: r.sudo === 1,
  passwordlessSudo: r.passwordless_sudo === 1,
  ldapBindingUser: r.ldap_binding_user === 1,
  passwordNeverExpires: r.password_never_expires === 1,
  externallyManaged: r.externally_managed === 1,
  externalDn: r.external_dn,
  externalSourceType: r.external_source_type,
  description: r.description,
  state: r.state as UserState,
  accountLocked: r.account_locked === 1,
  accountLockedDate: r.account_locked_date,
  lockedUntil: r.locked_until,
  badLoginAttempts: r.bad_login_attempts,
  lastFailedLogin: r.last_failed_login,
  passwordSet: Number(r.password_set) === 1,
  passwordDate: r.password_date,
  passwordExpirationDate: r.password_expiration_date,
  mfaRequired: r.mfa_required === 1,
  mfaExclusion: r.mfa_exclusion === 1,
  mfaExclusionUntil: r.mfa_exclusion_until,
  created: r.created,
  updated: r.updated,
});

export const userToRow = (u: User): Omit<Insertable<UsersTable>, 'password_hash'> => ({
  id: u.id,
  org_id: u.orgId,
  username: u.username,
  username_key: foldCase(u.username),
  email: u.email,
  email_key: foldCase(u.email),
  firstname: u.firstname,
  middlename: u.middlename,
  lastname: u.lastname,
  displayname: u.displayname,
  employee_identifier: u.employeeIdentifier || null,
  employee_type: u.employeeType,
  job_title: u.jobTitle,
  department: u.department,
  company: u.company,
  cost_center: u.costCenter,
  location: u.location,
  manager_id: u.manager,
  alternate_email: u.alternateEmail,
  phone_numbers: json(u.phoneNumbers),
  addresses: json(u.addresses),
  attributes: json(u.attributes),
  unix_uid: u.unixUid,
  unix_guid: u.unixGuid,
  sudo: bit(u.sudo),
  passwordless_sudo: bit(u.passwordlessSudo),
  ldap_binding_user: bit(u.ldapBindingUser),
  password_never_expires: bit(u.passwordNeverExpires),
  externally_managed: bit(u.externallyManaged),
  external_dn: u.externalDn,
  external_source_type: u.externalSourceType,
  description: u.description,
  state: u.state,
  account_locked: bit(u.accountLocked),
  account_locked_date: u.accountLockedDate,
  locked_until: u.lockedUntil,
  bad_login_attempts: u.badLoginAttempts,
  last_failed_login: u.lastFailedLogin,
  password_date: u.passwordDate,
  password_expiration_date: u.passwordExpirationDate,
  mfa_required: bit(u.mfaRequired),
  mfa_exclusion: bit(u.mfaExclusion),
  mfa_exclusion_until: u.mfaExclusionUntil,
  created: u.created,
  updated: u.updated,
});

export const groupFromRow = (r: Selectable<UserGroupsTable>): UserGroup => ({
  id: r.id as GroupId,
  orgId: r.org_id as OrgId,
  name: r.name,
  description: r.description,
  email: r.email,
  attributes: parse(r.attributes, {}),
  membershipMethod: r.membership_method as UserGroup['membershipMethod'],
  created: r.created,
  updated: r.updated,
});

export const groupToRow = (g: UserGroup): Insertable<UserGroupsTable> => ({
  id: g.id,
  org_id: g.orgId,
  name: g.name,
  name_key: foldCase(g.name),
  description: g.description,
  email: g.email,
  attributes: json(g.attributes),
  membership_method: g.membershipMethod,
  created: g.created,
  updated: g.updated,
});

export const ADMIN_COLUMNS = [
  'id', 'email', 'email_key', 'firstname', 'lastname', 'role_name', 'enable_multi_factor', 'suspended',
  'created', 'updated',
] as const;

export type AdminRow = Omit<Selectable<AdministratorsTable>, 'password_hash' | 'totp_secret' | 'totp_confirmed' | 'totp_last_step' | 'failed_logins' | 'locked_until'> & { password_set: number; totp_enrolled?: number };

export const adminFromRow = (r: AdminRow, orgIds: OrgId[]): Administrator => ({
  id: r.id as AdminId,
  email: r.email,
  firstname: r.firstname,
  lastname: r.lastname,
  roleName: r.role_name as RoleName,
  enableMultiFactor: r.enable_multi_factor === 1,
  suspended: r.suspended === 1,
  passwordSet: Number(r.password_set) === 1,
  ...(r.totp_enrolled !== undefined ? { totpEnrolled: Number(r.totp_enrolled) === 1 } : {}),
  created: r.created,
  updated: r.updated,
  orgIds,
});

export const adminToRow = (a: Administrator): Omit<Insertable<AdministratorsTable>, 'password_hash'> => ({
  id: a.id,
  email: a.email,
  email_key: foldCase(a.email),
  firstname: a.firstname,
  lastname: a.lastname,
  role_name: a.roleName,
  enable_multi_factor: bit(a.enableMultiFactor),
  suspended: bit(a.suspended),
  created: a.created,
  updated: a.updated,
});

export const apiKeyFromRow = (r: Selectable<ApiKeysTable>): ApiKey => ({
  id: r.id as ApiKeyId,
  adminId: r.admin_id as AdminId,
  name: r.name,
  prefix: r.prefix,
  readOnly: r.read_only === 1,
  expiresAt: r.expires_at,
  created: r.created,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

export const scimTokenFromRow = (r: Selectable<ScimTokensTable>): ScimToken => ({
  id: r.id as ScimTokenId,
  orgId: r.org_id as OrgId,
  directoryId: r.directory_id as DirectoryId,
  name: r.name,
  prefix: r.prefix,
  expiresAt: r.expires_at,
  created: r.created,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

export const applicationFromRow = (r: Selectable<ApplicationsTable>): Application => ({
  id: r.id as ApplicationId,
  orgId: r.org_id as OrgId,
  name: r.name,
  displayName: r.display_name,
  displayLabel: r.display_label,
  ssoUrl: r.sso_url,
  learnMore: r.learn_more,
  color: r.color,
  logoUrl: r.logo_url,
  active: r.active === 1,
  beta: r.beta === 1,
  config: parse(r.config, {}),
  sso: parse(r.sso, {}),
  created: r.created,
  updated: r.updated,
});

export const applicationToRow = (a: Application): Insertable<ApplicationsTable> => ({
  id: a.id,
  org_id: a.orgId,
  name: a.name,
  display_name: a.displayName,
  display_label: a.displayLabel,
  sso_url: a.ssoUrl,
  learn_more: a.learnMore,
  color: a.color,
  logo_url: a.logoUrl,
  active: bit(a.active),
  beta: bit(a.beta),
  config: json(a.config),
  sso: json(a.sso),
  created: a.created,
  updated: a.updated,
});

export const directoryFromRow = (r: Selectable<DirectoriesTable>): Directory => ({
  id: r.id as DirectoryId,
  orgId: r.org_id as OrgId,
  type: r.type as DirectoryType,
  name: r.name,
  config: parse(r.config, {}),
  created: r.created,
  updated: r.updated,
});

export const directoryToRow = (d: Directory): Insertable<DirectoriesTable> => ({
  id: d.id,
  org_id: d.orgId,
  type: d.type,
  name: d.name,
  config: json(d.config),
  created: d.created,
  updated: d.updated,
});

export const radiusServerFromRow = (r: Omit<Selectable<RadiusServersTable>, 'shared_secret' | 'name_key'>): RadiusServer => ({
  id: r.id as RadiusServerId,
  orgId: r.org_id as OrgId,
  name: r.name,
  networkSourceIps: parse(r.network_source_ips, []),
  mfa: r.mfa as RadiusServer['mfa'],
  userPasswordExpirationAction: r.user_password_expiration_action as RadiusServer['userPasswordExpirationAction'],
  tagNames: parse(r.tag_names, []),
  userCertEnabled: r.user_cert_enabled === 1,
  caCert: r.ca_cert,
  created: r.created,
  updated: r.updated,
});

export const radiusServerToRow = (s: RadiusServer): Omit<Insertable<RadiusServersTable>, 'shared_secret'> => ({
  id: s.id,
  org_id: s.orgId,
  name: s.name,
  name_key: foldCase(s.name),
  network_source_ips: json(s.networkSourceIps),
  mfa: s.mfa,
  user_password_expiration_action: s.userPasswordExpirationAction,
  tag_names: json(s.tagNames),
  user_cert_enabled: bit(s.userCertEnabled),
  ca_cert: s.caCert,
  created: s.created,
  updated: s.updated,
});

export const journalFromRow = (r: Selectable<JournalTable>): JournalEntry => ({
  seq: Number(r.seq),
  orgId: r.org_id as OrgId,
  at: r.at,
  objectType: r.object_type as JournalEntry['objectType'],
  objectId: r.object_id,
  operation: r.operation as JournalEntry['operation'],
  changes: parse(r.changes, {}),
  actorType: r.actor_type,
  actorId: r.actor_id,
  apiKeyId: r.api_key_id,
  origin: r.origin,
  details: r.details === null ? null : parse(r.details, {}),
});
