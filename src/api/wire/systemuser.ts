import { Type, type Static } from 'typebox';
import type { User } from '../../core/model.js';
import type { UserInput } from '../../core/user-input.js';
import type { FieldNames } from '../list-params.js';
import { NullableString } from './common.js';

/** JumpCloud systemuser wire names → core field names, for filter, sort and search. */
export const SYSTEMUSER_FIELDS: FieldNames = {
  _id: 'id',
  id: 'id',
  username: 'username',
  email: 'email',
  firstname: 'firstname',
  middlename: 'middlename',
  lastname: 'lastname',
  displayname: 'displayname',
  employeeIdentifier: 'employeeIdentifier',
  employeeType: 'employeeType',
  jobTitle: 'jobTitle',
  department: 'department',
  company: 'company',
  costCenter: 'costCenter',
  location: 'location',
  manager: 'manager',
  alternateEmail: 'alternateEmail',
  description: 'description',
  unix_uid: 'unixUid',
  unix_guid: 'unixGuid',
  sudo: 'sudo',
  passwordless_sudo: 'passwordlessSudo',
  ldap_binding_user: 'ldapBindingUser',
  password_never_expires: 'passwordNeverExpires',
  externally_managed: 'externallyManaged',
  external_source_type: 'externalSourceType',
  state: 'state',
  suspended: 'suspended',
  activated: 'activated',
  account_locked: 'accountLocked',
  password_expiration_date: 'passwordExpirationDate',
  enable_user_portal_multifactor: 'mfaRequired',
  password_date: 'passwordDate',
  created: 'created',
  updated: 'updated',
};

const text = (max = 1024) => Type.Optional(Type.String({ maxLength: max }));
const flag = () => Type.Optional(Type.Boolean());

const PhoneNumber = Type.Object(
  { id: Type.Optional(Type.String()), type: text(), number: text() },
  { additionalProperties: true },
);
const Address = Type.Object(
  {
    id: Type.Optional(Type.String()),
    type: text(),
    poBox: text(),
    extendedAddress: text(),
    streetAddress: text(),
    locality: text(),
    region: text(),
    postalCode: text(),
    country: text(),
  },
  { additionalProperties: true },
);
const Attribute = Type.Object({ name: Type.String({ maxLength: 256 }), value: Type.String({ maxLength: 1024 }) }, { additionalProperties: true });

const profileProperties = {
  username: text(),
  email: text(),
  firstname: text(),
  middlename: text(),
  lastname: text(),
  displayname: text(),
  employeeIdentifier: text(256),
  employeeType: text(),
  jobTitle: text(),
  department: text(),
  company: text(),
  costCenter: text(),
  location: text(),
  manager: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
  alternateEmail: text(),
  description: text(),
  phoneNumbers: Type.Optional(Type.Array(PhoneNumber, { maxItems: 50 })),
  addresses: Type.Optional(Type.Array(Address, { maxItems: 50 })),
  attributes: Type.Optional(Type.Array(Attribute, { maxItems: 200 })),
  unix_uid: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647 })),
  unix_guid: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647 })),
  sudo: flag(),
  passwordless_sudo: flag(),
  ldap_binding_user: flag(),
  password_never_expires: flag(),
  externally_managed: flag(),
  external_dn: text(),
  external_source_type: text(),
  state: Type.Optional(Type.Union([Type.Literal('STAGED'), Type.Literal('ACTIVATED'), Type.Literal('SUSPENDED')])),
  suspended: flag(),
  account_locked: flag(),
  password: Type.Optional(Type.String({ maxLength: 256, description: 'Checked against the password policy; stored only as an argon2id hash' })),
  password_expiration_date: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
  enable_user_portal_multifactor: Type.Optional(Type.Boolean({ description: 'Sign-in asks this user for a second factor, whatever the organization\'s policy' })),
  mfa: Type.Optional(
    Type.Object(
      {
        exclusion: flag(),
        exclusionUntil: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
        exclusionDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
      },
      { additionalProperties: true, description: 'An exemption from the MFA policy: for good, or until exclusionUntil (an enrollment period)' },
    ),
  ),
};

/** POST /systemusers body (JumpCloud's systemuserputpost). Unknown fields are ignored. */
export const SystemUserCreateSchema = Type.Object(
  { ...profileProperties, username: Type.String({ maxLength: 1024 }), email: Type.String({ maxLength: 1024 }) },
  { additionalProperties: true },
);

/** PUT /systemusers/{id} body (JumpCloud's systemuserput): only the fields given change. */
export const SystemUserUpdateSchema = Type.Object(profileProperties, { additionalProperties: true });

export type SystemUserBody = Static<typeof SystemUserUpdateSchema>;

/** JumpCloud's systemuserreturn. */
export const SystemUserSchema = Type.Object(
  {
    _id: Type.String(),
    id: Type.Optional(Type.String()),
    organization: Type.Optional(Type.String()),
    username: Type.Optional(Type.String()),
    email: Type.Optional(Type.String()),
    firstname: Type.Optional(Type.String()),
    middlename: Type.Optional(Type.String()),
    lastname: Type.Optional(Type.String()),
    displayname: Type.Optional(Type.String()),
    employeeIdentifier: Type.Optional(Type.String()),
    employeeType: Type.Optional(Type.String()),
    jobTitle: Type.Optional(Type.String()),
    department: Type.Optional(Type.String()),
    company: Type.Optional(Type.String()),
    costCenter: Type.Optional(Type.String()),
    location: Type.Optional(Type.String()),
    manager: Type.Optional(Type.String()),
    alternateEmail: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    phoneNumbers: Type.Optional(Type.Array(PhoneNumber)),
    addresses: Type.Optional(Type.Array(Address)),
    attributes: Type.Optional(Type.Array(Attribute)),
    unix_uid: Type.Optional(Type.Integer()),
    unix_guid: Type.Optional(Type.Integer()),
    sudo: flag(),
    passwordless_sudo: flag(),
    ldap_binding_user: flag(),
    password_never_expires: flag(),
    externally_managed: flag(),
    external_dn: Type.Optional(Type.String()),
    external_source_type: Type.Optional(Type.String()),
    state: Type.Optional(Type.String()),
    suspended: flag(),
    activated: flag(),
    account_locked: flag(),
    account_locked_date: Type.Optional(NullableString()),
    badLoginAttempts: Type.Optional(Type.Integer()),
    password_date: Type.Optional(NullableString()),
    password_expiration_date: Type.Optional(NullableString()),
    password_expired: flag(),
    totp_enabled: flag(),
    enable_user_portal_multifactor: flag(),
    allow_public_key: flag(),
    samba_service_user: flag(),
    ssh_keys: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
    mfa: Type.Optional(Type.Object({ configured: flag(), exclusion: flag(), exclusionUntil: Type.Optional(Type.String()) })),
    mfaEnrollment: Type.Optional(
      Type.Object({ overallStatus: Type.String(), totpStatus: Type.String(), webAuthnStatus: Type.String(), pushStatus: Type.String() }),
    ),
    created: Type.Optional(Type.String()),
    updated: Type.Optional(Type.String({ description: 'Roster: time of the last change' })),
  },
  { $id: 'SystemUser' },
);

export type SystemUserWire = Static<typeof SystemUserSchema>;

/** `factors`: which second factors the user has (a confirmed TOTP, a security key or passkey). */
export function toSystemUser(u: User, now: Date, factors: { totp?: boolean; webauthn?: boolean } = {}): SystemUserWire {
  const totp = factors.totp === true;
  const webauthn = factors.webauthn === true;
  const status = (yes: boolean) => (yes ? 'ENROLLED' : 'NOT_ENROLLED');
  return {
    _id: u.id,
    id: u.id,
    organization: u.orgId,
    username: u.username,
    email: u.email,
    firstname: u.firstname,
    middlename: u.middlename,
    lastname: u.lastname,
    displayname: u.displayname,
    employeeIdentifier: u.employeeIdentifier ?? '',
    employeeType: u.employeeType,
    jobTitle: u.jobTitle,
    department: u.department,
    company: u.company,
    costCenter: u.costCenter,
    location: u.location,
    ...(u.manager ? { manager: u.manager } : {}),
    alternateEmail: u.alternateEmail,
    description: u.description,
    phoneNumbers: u.phoneNumbers,
    addresses: u.addresses,
    attributes: u.attributes,
    unix_uid: u.unixUid,
    unix_guid: u.unixGuid,
    sudo: u.sudo,
    passwordless_sudo: u.passwordlessSudo,
    ldap_binding_user: u.ldapBindingUser,
    password_never_expires: u.passwordNeverExpires,
    externally_managed: u.externallyManaged,
    external_dn: u.externalDn,
    external_source_type: u.externalSourceType,
    state: u.state,
    suspended: u.state === 'SUSPENDED',
    activated: u.passwordSet,
    account_locked: u.accountLocked,
    account_locked_date: u.accountLockedDate,
    badLoginAttempts: u.badLoginAttempts,
    password_date: u.passwordDate,
    password_expiration_date: u.passwordExpirationDate,
    password_expired: u.passwordExpirationDate !== null && Date.parse(u.passwordExpirationDate) <= now.getTime(),
    totp_enabled: totp,
    enable_user_portal_multifactor: u.mfaRequired,
    allow_public_key: true,
    samba_service_user: false,
    ssh_keys: [],
    mfa: { configured: totp || webauthn, exclusion: u.mfaExclusion, ...(u.mfaExclusionUntil ? { exclusionUntil: u.mfaExclusionUntil } : {}) },
    mfaEnrollment: { overallStatus: status(totp || webauthn), totpStatus: status(totp), webAuthnStatus: status(webauthn), pushStatus: 'NOT_ENROLLED' },
    created: u.created,
    updated: u.updated,
  };
}

/** A systemuser body → core input; absent fields stay absent. */
export function toUserInput(body: SystemUserBody, now = new Date()): UserInput {
  const input: UserInput = {};
  const copy = <K extends keyof UserInput>(key: K, value: unknown) => {
    if (value !== undefined) input[key] = value as UserInput[K];
  };
  copy('username', body.username);
  copy('email', body.email);
  copy('firstname', body.firstname);
  copy('middlename', body.middlename);
  copy('lastname', body.lastname);
  copy('displayname', body.displayname);
  copy('employeeIdentifier', body.employeeIdentifier);
  copy('employeeType', body.employeeType);
  copy('jobTitle', body.jobTitle);
  copy('department', body.department);
  copy('company', body.company);
  copy('costCenter', body.costCenter);
  copy('location', body.location);
  copy('manager', body.manager);
  copy('alternateEmail', body.alternateEmail);
  copy('description', body.description);
  copy('phoneNumbers', body.phoneNumbers);
  copy('addresses', body.addresses);
  copy('attributes', body.attributes);
  copy('unixUid', body.unix_uid);
  copy('unixGuid', body.unix_guid);
  copy('sudo', body.sudo);
  copy('passwordlessSudo', body.passwordless_sudo);
  copy('ldapBindingUser', body.ldap_binding_user);
  copy('passwordNeverExpires', body.password_never_expires);
  copy('externallyManaged', body.externally_managed);
  copy('externalDn', body.external_dn);
  copy('externalSourceType', body.external_source_type);
  copy('state', body.state);
  copy('suspended', body.suspended);
  copy('accountLocked', body.account_locked);
  copy('password', body.password);
  copy('passwordExpirationDate', body.password_expiration_date);
  copy('mfaRequired', body.enable_user_portal_multifactor);
  if (body.mfa) {
    copy('mfaExclusion', body.mfa.exclusion);
    if (body.mfa.exclusionDays !== undefined) input.mfaExclusionUntil = new Date(now.getTime() + body.mfa.exclusionDays * 86_400_000).toISOString();
    else copy('mfaExclusionUntil', body.mfa.exclusionUntil);
  }
  return input;
}
