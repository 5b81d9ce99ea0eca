import type {
  AdminId,
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
  | 'mfa_reset';

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
  | 'association';

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
