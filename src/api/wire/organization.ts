import { Type } from 'typebox';
import type { Organization, PasswordPolicy } from '../../core/model.js';
import type { OrganizationInput } from '../../core/services/organizations.js';
import type { FieldNames } from '../list-params.js';

export const ORGANIZATION_FIELDS: FieldNames = { _id: 'id', id: 'id', displayName: 'displayName', created: 'created' };

/**
 * JumpCloud's passwordPolicy pairs each setting with an enable flag; Roster stores 0 for "off".
 * A disabled setting is omitted, since JumpCloud's schema gives the values minimums.
 */
const TOGGLES = [
  ['minLength', 'enableMinLength'],
  ['maxHistory', 'enableMaxHistory'],
  ['passwordExpirationInDays', 'enablePasswordExpirationInDays'],
  ['maxLoginAttempts', 'enableMaxLoginAttempts'],
  ['lockoutTimeInSeconds', 'enableLockoutTimeInSeconds'],
  ['resetLockoutCounterMinutes', 'enableResetLockoutCounter'],
] as const;

const FLAGS = ['needsLowercase', 'needsUppercase', 'needsNumeric', 'needsSymbolic', 'allowUsernameSubstring'] as const;

export function toWirePolicy(p: PasswordPolicy): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  for (const flag of FLAGS) out[flag] = p[flag];
  for (const [key, enable] of TOGGLES) {
    out[enable] = p[key] > 0;
    if (p[key] > 0) out[key] = p[key];
  }
  return out;
}

export function fromWirePolicy(wire: Record<string, unknown>): Partial<PasswordPolicy> {
  const out: Record<string, unknown> = {};
  for (const flag of FLAGS) if (wire[flag] !== undefined) out[flag] = wire[flag];
  for (const [key, enable] of TOGGLES) {
    if (wire[enable] === false) out[key] = key === 'minLength' ? 1 : key === 'resetLockoutCounterMinutes' ? 1 : 0;
    else if (wire[key] !== undefined) out[key] = wire[key];
  }
  return out as Partial<PasswordPolicy>;
}

const RADIUS_SETTINGS_NOTE =
  'Roster extension. storeNtHashes keeps a sealed NT hash of every password set from now on (and of each password at its next successful login), ' +
  'which PEAP-MSCHAPv2 needs; it is password-equivalent, so it is off by default, and turning it off deletes every NT hash of the organization.';

const MFA_SETTINGS_NOTE =
  'Roster extension. required: every user must pass a second factor (an authenticator app, a security key or passkey) at sign-in; ' +
  "users can also be required one by one (enable_user_portal_multifactor) or exempted (mfa.exclusion). selfEnrollment: a user who must " +
  'use a second factor but has none sets one up at sign-in, right after the password; when false such users are refused until an administrator enrolls them.';

export const OrganizationSchema = Type.Object(
  {
    _id: Type.String(),
    displayName: Type.String(),
    logoUrl: Type.String(),
    created: Type.String(),
    settings: Type.Object({
      passwordPolicy: Type.Record(Type.String(), Type.Union([Type.Integer(), Type.Boolean()])),
      newSystemUserStateDefaults: Type.Object({ manualEntry: Type.String(), csvImport: Type.String() }),
      radius: Type.Object({ storeNtHashes: Type.Boolean() }, { description: RADIUS_SETTINGS_NOTE }),
      mfa: Type.Object({ required: Type.Boolean(), selfEnrollment: Type.Boolean() }, { description: MFA_SETTINGS_NOTE }),
    }),
  },
  { $id: 'Organization' },
);

export const OrganizationWriteSchema = Type.Object(
  {
    displayName: Type.Optional(Type.String({ maxLength: 256 })),
    logoUrl: Type.Optional(Type.String({ maxLength: 2048 })),
    settings: Type.Optional(
      Type.Object(
        {
          passwordPolicy: Type.Optional(Type.Record(Type.String(), Type.Union([Type.Integer(), Type.Boolean()]))),
          newSystemUserStateDefaults: Type.Optional(
            Type.Object({ manualEntry: Type.Optional(Type.String()), csvImport: Type.Optional(Type.String()) }, { additionalProperties: true }),
          ),
          radius: Type.Optional(Type.Object({ storeNtHashes: Type.Optional(Type.Boolean()) }, { additionalProperties: true, description: RADIUS_SETTINGS_NOTE })),
          mfa: Type.Optional(
            Type.Object({ required: Type.Optional(Type.Boolean()), selfEnrollment: Type.Optional(Type.Boolean()) }, { additionalProperties: true, description: MFA_SETTINGS_NOTE }),
          ),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: true },
);

export const toOrganization = (o: Organization) => ({
  _id: o.id,
  displayName: o.displayName,
  logoUrl: o.logoUrl,
  created: o.created,
  settings: {
    passwordPolicy: toWirePolicy(o.settings.passwordPolicy),
    newSystemUserStateDefaults: o.settings.newSystemUserStateDefaults,
    radius: { storeNtHashes: o.settings.radius.storeNtHashes },
    mfa: { required: o.settings.mfa.required, selfEnrollment: o.settings.mfa.selfEnrollment },
  },
});

export function toOrganizationInput(body: {
  displayName?: string;
  logoUrl?: string;
  settings?: {
    passwordPolicy?: Record<string, unknown>;
    newSystemUserStateDefaults?: Record<string, unknown>;
    radius?: Record<string, unknown>;
    mfa?: Record<string, unknown>;
  };
}): OrganizationInput {
  const input: OrganizationInput = {};
  if (body.displayName !== undefined) input.displayName = body.displayName;
  if (body.logoUrl !== undefined) input.logoUrl = body.logoUrl;
  if (body.settings?.passwordPolicy) input.passwordPolicy = fromWirePolicy(body.settings.passwordPolicy);
  if (body.settings?.newSystemUserStateDefaults) {
    input.newSystemUserStateDefaults = body.settings.newSystemUserStateDefaults as OrganizationInput['newSystemUserStateDefaults'];
  }
  if (body.settings?.radius) input.radius = body.settings.radius as OrganizationInput['radius'];
  if (body.settings?.mfa) input.mfa = body.settings.mfa as OrganizationInput['mfa'];
  return input;
}
