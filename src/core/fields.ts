import { PASSWORD_EXPIRATION_ACTIONS, RADIUS_MFA_MODES, USER_STATES } from './model.js';
import type { FieldCatalog } from './query.js';
import { ROLE_NAMES } from './roles.js';

const text = { type: 'string' } as const;
const ci = { type: 'ci' } as const;
const bool = { type: 'boolean' } as const;
const date = { type: 'date' } as const;
const id = { type: 'id' } as const;
const int = { type: 'integer' } as const;

/** Fields of a user that can be filtered and sorted on, in the core's names. */
export const USER_FIELDS: FieldCatalog = {
  id,
  username: ci,
  email: ci,
  firstname: text,
  middlename: text,
  lastname: text,
  displayname: text,
  employeeIdentifier: text,
  employeeType: text,
  jobTitle: text,
  department: text,
  company: text,
  costCenter: text,
  location: text,
  manager: id,
  alternateEmail: text,
  description: text,
  unixUid: int,
  unixGuid: int,
  sudo: bool,
  passwordlessSudo: bool,
  ldapBindingUser: bool,
  passwordNeverExpires: bool,
  externallyManaged: bool,
  externalSourceType: text,
  mfaRequired: bool,
  state: { type: 'enum', values: USER_STATES },
  suspended: bool,
  activated: bool,
  accountLocked: bool,
  passwordExpirationDate: date,
  passwordDate: date,
  created: date,
  updated: date,
};

export const GROUP_FIELDS: FieldCatalog = {
  id,
  name: ci,
  description: text,
  email: text,
  created: date,
  updated: date,
};

export const ADMIN_FIELDS: FieldCatalog = {
  id,
  email: ci,
  firstname: text,
  lastname: text,
  roleName: { type: 'enum', values: ROLE_NAMES },
  suspended: bool,
  created: date,
};

export const APPLICATION_FIELDS: FieldCatalog = {
  id,
  name: text,
  displayName: text,
  displayLabel: text,
  ssoUrl: text,
  active: bool,
  created: date,
};

export const DIRECTORY_FIELDS: FieldCatalog = {
  id,
  name: text,
  type: text,
  created: date,
};

export const RADIUS_SERVER_FIELDS: FieldCatalog = {
  id,
  name: ci,
  mfa: { type: 'enum', values: RADIUS_MFA_MODES },
  userPasswordExpirationAction: { type: 'enum', values: PASSWORD_EXPIRATION_ACTIONS },
  created: date,
  updated: date,
};

export const ORGANIZATION_FIELDS: FieldCatalog = {
  id,
  displayName: text,
  created: date,
};

export const JOURNAL_FIELDS: FieldCatalog = {
  seq: int,
  objectType: text,
  objectId: id,
  operation: text,
  origin: text,
  actorType: text,
  actorId: id,
  at: date,
};
