import type {
  AdminId,
  AgentId,
  SyncRunId,
  ApiKeyId,
  ApplicationId,
  DirectoryId,
  RadiusServerId,
  ScimTokenId,
  GroupId,
  OrgId,
  UserId,
} from './ids.js';
import type { RoleName } from './roles.js';

export const USER_STATES = ['STAGED', 'ACTIVATED', 'SUSPENDED'] as const;
export type UserState = (typeof USER_STATES)[number];

export interface PhoneNumber {
  id?: string;
  type?: string;
  number?: string;
}

export interface Address {
  id?: string;
  type?: string;
  poBox?: string;
  extendedAddress?: string;
  streetAddress?: string;
  locality?: string;
  region?: string;
  postalCode?: string;
  country?: string;
}

export interface CustomAttribute {
  name: string;
  value: string;
}

/** The editable profile of a user (JumpCloud's systemuser attributes). */
export interface UserProfile {
  username: string;
  email: string;
  firstname: string;
  middlename: string;
  lastname: string;
  displayname: string;
  employeeIdentifier: string | null;
  employeeType: string;
  jobTitle: string;
  department: string;
  company: string;
  costCenter: string;
  location: string;
  manager: UserId | null;
  alternateEmail: string;
  phoneNumbers: PhoneNumber[];
  addresses: Address[];
  attributes: CustomAttribute[];
  unixUid: number;
  unixGuid: number;
  sudo: boolean;
  passwordlessSudo: boolean;
  ldapBindingUser: boolean;
  passwordNeverExpires: boolean;
  externallyManaged: boolean;
  externalDn: string;
  externalSourceType: string;
  description: string;
  /** This user must pass a second factor at sign-in, whatever the org's policy (JumpCloud's enable_user_portal_multifactor). */
  mfaRequired: boolean;
  /** Exempt from the second-factor requirement: for good, or until `mfaExclusionUntil` (an enrollment period). */
  mfaExclusion: boolean;
  mfaExclusionUntil: string | null;
}

/** A user ("system user") as the core sees it. Credentials live apart, in `UserCredentials`. */
export interface User extends UserProfile {
  id: UserId;
  orgId: OrgId;
  state: UserState;
  accountLocked: boolean;
  accountLockedDate: string | null;
  /** When a lockout for failed logins lifts by itself; null for a lock an administrator set, which lasts until unlocked. */
  lockedUntil: string | null;
  badLoginAttempts: number;
  lastFailedLogin: string | null;
  passwordSet: boolean;
  passwordDate: string | null;
  passwordExpirationDate: string | null;
  created: string;
  updated: string;
}

export interface UserCredentials {
  passwordHash: string | null;
}

export interface UserGroup {
  id: GroupId;
  orgId: OrgId;
  name: string;
  description: string;
  email: string;
  /** Free-form graph attributes (posixGroups, sudo, radius, ldapGroups …). */
  attributes: Record<string, unknown>;
  membershipMethod: 'NOTSET' | 'STATIC';
  created: string;
  updated: string;
}

export type MemberType = 'user' | 'user_group';

export interface Membership {
  groupId: GroupId;
  memberType: MemberType;
  memberId: string;
}

export interface PasswordPolicy {
  minLength: number;
  needsLowercase: boolean;
  needsUppercase: boolean;
  needsNumeric: boolean;
  needsSymbolic: boolean;
  allowUsernameSubstring: boolean;
  /** Number of previous passwords that may not be reused; 0 turns the check off. */
  maxHistory: number;
  /** 0 means passwords never expire. */
  passwordExpirationInDays: number;
  /** 0 turns lockout off. */
  maxLoginAttempts: number;
  /** How long a lockout lasts; 0 means until an administrator unlocks the account. */
  lockoutTimeInSeconds: number;
  /** Failed attempts older than this stop counting. */
  resetLockoutCounterMinutes: number;
}

export interface OrgSettings {
  passwordPolicy: PasswordPolicy;
  newSystemUserStateDefaults: {
    manualEntry: 'STAGED' | 'ACTIVATED';
    csvImport: 'STAGED' | 'ACTIVATED';
  };
  radius: {
    /**
     * Keep an NT hash (MD4 of the UTF-16LE password) beside each password hash, sealed, so
     * PEAP-MSCHAPv2 and EAP-MSCHAPv2 work. Off by default: the NT hash is password-equivalent.
     */
    storeNtHashes: boolean;
  };
  /** Second factors at sign-in (single sign-on and the user portal). */
  mfa: MfaPolicy;
}

export interface MfaPolicy {
  /** Every user must pass a second factor at sign-in (a user can also be required one by one: `mfaRequired`). */
  required: boolean;
  /**
   * A user who must use a second factor but has none enrolls one at sign-in, right after the
   * password. Off: such users are refused until an administrator enrolls them.
   */
  selfEnrollment: boolean;
}

export interface Organization {
  id: OrgId;
  displayName: string;
  logoUrl: string;
  settings: OrgSettings;
  created: string;
  updated: string;
}

export interface Administrator {
  id: AdminId;
  email: string;
  firstname: string;
  lastname: string;
  roleName: RoleName;
  enableMultiFactor: boolean;
  suspended: boolean;
  passwordSet: boolean;
  /** Whether the administrator has confirmed an authenticator app for the admin portal (as read from the store). */
  totpEnrolled?: boolean;
  created: string;
  updated: string;
  orgIds: OrgId[];
}

export interface ApiKey {
  id: ApiKeyId;
  adminId: AdminId;
  name: string;
  /** The first characters of the key, enough to recognise it in a list. */
  prefix: string;
  readOnly: boolean;
  expiresAt: string | null;
  created: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface Application {
  id: ApplicationId;
  orgId: OrgId;
  name: string;
  displayName: string;
  displayLabel: string;
  ssoUrl: string;
  learnMore: string;
  color: string;
  logoUrl: string;
  active: boolean;
  beta: boolean;
  /** Application configuration; values under keys named in SECRET_CONFIG_KEYS are sealed at rest. */
  config: Record<string, unknown>;
  sso: Record<string, unknown>;
  created: string;
  updated: string;
}

export const DIRECTORY_TYPES = [
  'ldap_server',
  'active_directory',
  'g_suite',
  'office_365',
  'workday',
  /** A SCIM source: an HR system or identity provider that pushes users and groups into Roster. */
  'scim',
] as const;
export type DirectoryType = (typeof DIRECTORY_TYPES)[number];

export interface Directory {
  id: DirectoryId;
  orgId: OrgId;
  type: DirectoryType;
  name: string;
  config: Record<string, unknown>;
  created: string;
  updated: string;
}

/** Kinds of resource a user or group can be associated with (JumpCloud's association types). */
export const RESOURCE_TYPES = [
  'application',
  'ldap_server',
  'radius_server',
  'active_directory',
  'g_suite',
  'office_365',
  'system',
  'system_group',
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];
export type SubjectType = MemberType;

export interface Association {
  subjectType: SubjectType;
  subjectId: string;
  resourceType: ResourceType;
  resourceId: string;
  attributes: Record<string, unknown> | null;
}

export interface GraphRef {
  type: SubjectType | ResourceType;
  id: string;
}

/** One edge of a path through the directory graph. */
export interface GraphEdge {
  from: GraphRef;
  to: GraphRef;
  attributes: Record<string, unknown> | null;
}

/** An object reached through the graph, with every path that reaches it. */
export interface Reached {
  ref: GraphRef;
  paths: GraphEdge[][];
}

export type JournalOperation =
  | 'create'
  | 'update'
  | 'delete'
  | 'member_add'
  | 'member_remove'
  | 'associate'
  | 'dissociate'
  | 'password_set'
  | 'login_failed'
  | 'lock'
  | 'unlock'
  | 'ldap_bind'
  | 'ldap_search'
  | 'radius_auth'
  | 'radius_accounting'
  | 'mfa_enroll'
  | 'mfa_reset'
  /** An outbound provisioning run that wrote to an application or failed. */
  | 'provisioning_run'
  /** A user's sign-in (single sign-on, the user portal), succeeded or refused. */
  | 'sign_in'
  | 'sign_out'
  /** A directory sync run (an import from a directory, or an export to it) that applied changes or failed. */
  | 'sync_run'
  /** Both Roster and a two-way directory changed an attribute: the newer change won; the row keeps the loser. */
  | 'sync_conflict';

export type JournalObjectType =
  | 'organization'
  | 'user'
  | 'user_group'
  | 'administrator'
  | 'api_key'
  | 'application'
  | 'directory'
  | 'radius_server'
  | 'scim_token'
  | 'association'
  | 'directory_agent';

export interface AttributeChange {
  before: unknown;
  after: unknown;
}

export interface JournalEntryInput {
  objectType: JournalObjectType;
  objectId: string;
  operation: JournalOperation;
  changes: Record<string, AttributeChange>;
  /** What an event (a bind, a search) carries besides changes: result, reason, client, filter. */
  details?: Record<string, unknown> | null;
}

export interface JournalEntry extends JournalEntryInput {
  seq: number;
  orgId: OrgId;
  at: string;
  actorType: string;
  actorId: string | null;
  apiKeyId: string | null;
  origin: string;
  details: Record<string, unknown> | null;
}

/** How a RADIUS server asks for a second factor (JumpCloud's values). */
export const RADIUS_MFA_MODES = ['DISABLED', 'ENABLED', 'REQUIRED', 'ALWAYS'] as const;
export type RadiusMfa = (typeof RADIUS_MFA_MODES)[number];

export const PASSWORD_EXPIRATION_ACTIONS = ['REMOVE', 'MAINTAIN'] as const;

/**
 * A RADIUS server: the network (access points, VPN concentrators) that sends Access-Requests to
 * Roster from the given addresses, with one shared secret. The secret is kept apart, sealed.
 */
export interface RadiusServer {
  id: RadiusServerId;
  orgId: OrgId;
  name: string;
  /** Client addresses, each an IPv4 or IPv6 address or CIDR range, normalized ("10.0.0.0/8"). */
  networkSourceIps: string[];
  /**
   * DISABLED: password only. ENABLED: users with a confirmed TOTP must give a code.
   * REQUIRED and ALWAYS: every user must give a code; users without TOTP are rejected.
   */
  mfa: RadiusMfa;
  /** REMOVE (the default) rejects a user whose password has expired; MAINTAIN still accepts them. */
  userPasswordExpirationAction: (typeof PASSWORD_EXPIRATION_ACTIONS)[number];
  tagNames: string[];
  /** EAP-TLS: users may sign in with a certificate issued by one of `caCert`'s CAs. */
  userCertEnabled: boolean;
  /** PEM certificates of the CAs that issue users' certificates for EAP-TLS; null when none. */
  caCert: string | null;
  created: string;
  updated: string;
}

/** A user's TOTP second factor, as the core sees it (the secret stays sealed in the store). */
export interface TotpEnrollment {
  userId: UserId;
  orgId: OrgId;
  /** False between enrollment and the first code the user proves they can produce. */
  confirmed: boolean;
  /** The last 30-second time step a code was accepted for; codes for it or earlier are replays. */
  lastUsedStep: number;
  created: string;
  updated: string;
}

/**
 * A bearer token a SCIM source presents (RFC 6750). Only the SHA-256 digest of the token is
 * stored; the token itself is shown once, when it is issued.
 */
export interface ScimToken {
  id: ScimTokenId;
  orgId: OrgId;
  /** The SCIM source (a directory of type scim) the token speaks for. */
  directoryId: DirectoryId;
  name: string;
  /** The first characters of the token, enough to recognise it in a list. */
  prefix: string;
  expiresAt: string | null;
  created: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** What Roster does in an application when a user loses access or is deleted. */
export const DEPROVISION_ACTIONS = ['deactivate', 'delete'] as const;
/**
 * How group membership changes are sent: `filter` removes with `members[value eq "…"]` paths
 * (RFC 7644), `value` with a `members` path and the values to remove (as some apps require),
 * `replace` sends the whole member list.
 */
export const MEMBER_PATCH_MODES = ['filter', 'value', 'replace'] as const;
export const PATCH_MODES = ['auto', 'never'] as const;
export const BULK_MODES = ['auto', 'never'] as const;
export const MATCH_ATTRIBUTES = ['userName', 'externalId'] as const;

/** An application's outbound SCIM provisioning settings (the bearer token is kept apart, sealed). */
export interface ProvisioningConfig {
  enabled: boolean;
  /** The application's SCIM base URL, such as `https://app.example.com/scim/v2`. */
  baseUrl: string;
  deprovision: (typeof DEPROVISION_ACTIONS)[number];
  /** Push the groups associated with the application, with their members. */
  groups: boolean;
  /** Each user gets, in the SCIM `roles` attribute, the roles of the groups they belong to. */
  roleMappings: { groupId: string; role: string }[];
  /** `auto` uses PATCH when the application's ServiceProviderConfig says it supports it. */
  patch: (typeof PATCH_MODES)[number];
  memberPatch: (typeof MEMBER_PATCH_MODES)[number];
  /** `auto` sends new users in Bulk requests when the application's ServiceProviderConfig offers Bulk. */
  bulk: (typeof BULK_MODES)[number];
  /** How an account that already exists in the application is recognised. */
  matchBy: (typeof MATCH_ATTRIBUTES)[number];
  /** Requests in flight at once. */
  concurrency: number;
  /** How often the application's accounts are read back and compared, in minutes. */
  reconcileMinutes: number;
}

export const PROVISIONING_STATUSES = ['disabled', 'idle', 'running', 'error'] as const;

/** An application's provisioning: its settings and how the last runs went. */
export interface ProvisioningTarget {
  applicationId: ApplicationId;
  orgId: OrgId;
  config: ProvisioningConfig;
  /** Whether a bearer token is set (the token itself is never returned). */
  hasToken: boolean;
  status: (typeof PROVISIONING_STATUSES)[number];
  /** The journal position the application has converged to. */
  cursor: number;
  /** What the last run did: created, updated, deactivated, deleted, failed… */
  counters: Record<string, number>;
  lastRunAt: string | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  reconciledAt: string | null;
  created: string;
  updated: string;
}

export type ProvisionedKind = 'user' | 'group';
export const PROVISIONED_STATES = ['active', 'inactive', 'deleted'] as const;

/** What Roster wrote to an application for one user or group, and where it lives there. */
export interface ProvisionedObject {
  applicationId: ApplicationId;
  orgId: OrgId;
  objectType: ProvisionedKind;
  localId: string;
  /** The object's id in the application; null until it exists there. */
  remoteId: string | null;
  /** userName or displayName as last written. */
  name: string;
  state: (typeof PROVISIONED_STATES)[number];
  /** Digest of the payload last written, to tell when it must be written again. */
  digest: string;
  written: Record<string, unknown> | null;
  writtenAt: string | null;
  error: string | null;
  errorAt: string | null;
  attempts: number;
}

export const DEFAULT_PROVISIONING_CONFIG: ProvisioningConfig = {
  enabled: false,
  baseUrl: '',
  deprovision: 'deactivate',
  groups: true,
  roleMappings: [],
  patch: 'auto',
  memberPatch: 'filter',
  bulk: 'auto',
  matchBy: 'userName',
  concurrency: 8,
  reconcileMinutes: 60,
};

/** A user's sign-in session (single sign-on, the user portal); the token itself is never stored. */
export interface UserSession {
  /** SHA-256 of the token, hex: what the store keys the session by. */
  id: string;
  orgId: OrgId;
  userId: UserId;
  created: string;
  lastSeen: string;
  /** When the session ends if unused (idle timeout), moved forward as it is used. */
  idleExpires: string;
  /** When the session ends whatever happens (absolute timeout). */
  expires: string;
  /** The second factor the sign-in passed ('' for none, 'totp'). */
  mfa: string;
  ip: string;
  userAgent: string;
  revokedAt: string | null;
}

/** An administrator's admin-portal session, kept as the digest of its token. */
export interface AdminSession {
  id: string;
  adminId: AdminId;
  created: string;
  lastSeen: string;
  idleExpires: string;
  expires: string;
  /** The second factor the sign-in passed ('' for none, 'totp'). */
  mfa: string;
  ip: string;
  userAgent: string;
  revokedAt: string | null;
}

/** A directory agent (`roster agent`): registered with a one-time connect key, then known by its own credential. */
export interface DirectoryAgent {
  id: AgentId;
  orgId: OrgId;
  directoryId: DirectoryId;
  /** unsealed: made, waiting for the agent to register with its connect key; active: registered; inactive: its credential revoked. */
  state: 'unsealed' | 'active' | 'inactive';
  connectKeyExpires: string | null;
  hostname: string;
  version: string;
  sourceIp: string;
  contactAt: string | null;
  created: string;
  updated: string;
}

/** Where a directory's sync stands: the import cursor, and which agent may write now. */
export interface DirectorySyncState {
  directoryId: DirectoryId;
  orgId: OrgId;
  /** The source's own change cursor (an AD DirSync cookie), opaque; advanced with the changes it covers. */
  importCursor: string | null;
  /** The next import must read the whole scope (the first run, a changed scope, an administrator's request). */
  fullImportWanted: boolean;
  /** An administrator asked for a plan: the next contact reads the whole scope and applies nothing. */
  dryRunWanted: boolean;
  writerAgentId: AgentId | null;
  writerUntil: string | null;
  lastImportAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  updated: string;
}

export type SyncAction = 'create' | 'update' | 'suspend' | 'unsuspend' | 'delete' | 'link' | 'member_add' | 'member_remove' | 'skip' | 'conflict' | 'failed';

/** One step of a sync plan: what happens to one object, attribute by attribute, and why. */
export interface SyncPlanItem {
  action: SyncAction;
  kind: 'user' | 'user_group';
  externalId: string;
  localId?: string;
  /** The object's name (a username or group name), for people reading the plan. */
  name: string;
  changes?: Record<string, AttributeChange>;
  /** For memberships: the member (kind:external id or local id). */
  member?: string;
  reason?: string;
  /** Held back by a safety check (the delete threshold, an empty source): planned, not applied. */
  held?: boolean;
}

export interface DirectorySyncRun {
  id: SyncRunId;
  orgId: OrgId;
  directoryId: DirectoryId;
  agentId: AgentId | null;
  /** import: the directory → Roster; export: Roster → the directory. */
  kind: 'import' | 'export';
  mode: 'full' | 'incremental';
  dryRun: boolean;
  status: 'running' | 'succeeded' | 'failed' | 'held';
  started: string;
  finished: string | null;
  counts: Record<string, number>;
  plan: SyncPlanItem[];
  error: string | null;
}
