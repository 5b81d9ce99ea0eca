import type { ErrorDetail } from './errors.js';
import type { Address, CustomAttribute, PhoneNumber, UserProfile, UserState } from './model.js';
import { USER_STATES } from './model.js';
import { parseTimestamp } from './query.js';
import type { UserId } from './ids.js';
import { isWellFormedId } from './ids.js';
import { foldCase } from './query.js';

/** What a front-end may set on a user. Absent keys are left alone on update. */
export interface UserInput {
  username?: string;
  email?: string;
  firstname?: string;
  middlename?: string;
  lastname?: string;
  displayname?: string;
  employeeIdentifier?: string | null;
  employeeType?: string;
  jobTitle?: string;
  department?: string;
  company?: string;
  costCenter?: string;
  location?: string;
  manager?: string | null;
  alternateEmail?: string;
  phoneNumbers?: PhoneNumber[];
  addresses?: Address[];
  attributes?: CustomAttribute[];
  unixUid?: number;
  unixGuid?: number;
  sudo?: boolean;
  passwordlessSudo?: boolean;
  ldapBindingUser?: boolean;
  passwordNeverExpires?: boolean;
  externallyManaged?: boolean;
  externalDn?: string;
  externalSourceType?: string;
  description?: string;
  state?: UserState;
  suspended?: boolean;
  accountLocked?: boolean;
  password?: string;
  passwordExpirationDate?: string | null;
  mfaRequired?: boolean;
  mfaExclusion?: boolean;
  /** The end of an exemption from the second-factor requirement; null for none (or, with mfaExclusion, for good). */
  mfaExclusionUntil?: string | null;
}

export type ProfilePatch = Partial<UserProfile>;

export interface CheckedUserInput {
  profile: ProfilePatch;
  state?: UserState;
  /** `suspended: false` without a state: a suspended user returns to ACTIVATED, others keep theirs. */
  unsuspend?: boolean;
  accountLocked?: boolean;
  password?: string;
  passwordExpirationDate?: string | null;
}

export const LIMITS = {
  username: 256,
  email: 254,
  text: 1024,
  employeeIdentifier: 256,
  listItems: 50,
  attributes: 200,
  attributeName: 256,
  maxUnixId: 2_147_483_647,
} as const;

const USERNAME = /^[\p{L}\p{N}][\p{L}\p{N}\p{M}._@+'-]*$/u;
const EMAIL = /^[^\s@<>()[\],;:"]+@[^\s@<>()[\],;:"]+\.[^\s@<>()[\],;:"]+$/u;
const ATTRIBUTE_NAME = /^[\p{L}\p{N}_.-]+$/u;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

const TEXT_FIELDS = [
  'firstname', 'middlename', 'lastname', 'displayname', 'employeeType', 'jobTitle', 'department', 'company',
  'costCenter', 'location', 'externalDn', 'externalSourceType', 'description',
] as const;

const FLAG_FIELDS = ['sudo', 'passwordlessSudo', 'ldapBindingUser', 'passwordNeverExpires', 'externallyManaged', 'mfaRequired', 'mfaExclusion'] as const;

const PHONE_KEYS = ['id', 'type', 'number'] as const;
const ADDRESS_KEYS = ['id', 'type', 'poBox', 'extendedAddress', 'streetAddress', 'locality', 'region', 'postalCode', 'country'] as const;

const clean = (value: string) => value.normalize('NFC');

/**
 * Validates and normalises user input. Front-ends check shapes first (JSON schema, CSV columns);
 * this is the rule book they share, so every path that writes a user enforces the same limits.
 */
export function checkUserInput(input: UserInput, mode: 'create' | 'update'): { value: CheckedUserInput; errors: ErrorDetail[] } {
  const errors: ErrorDetail[] = [];
  const fail = (field: string, reason: string, message: string) => errors.push({ field, reason, message });
  const profile: ProfilePatch = {};
  const out: CheckedUserInput = { profile };

  const text = (field: string, value: unknown, max: number): string | undefined => {
    if (typeof value !== 'string') {
      fail(field, 'NOT_A_STRING', `${field} must be a string`);
      return undefined;
    }
    const v = clean(value);
    if ([...v].length > max) fail(field, 'TOO_LONG', `${field} must be at most ${max} characters`);
    else if (CONTROL.test(v)) fail(field, 'CONTROL_CHARACTER', `${field} must not contain control characters`);
    else return v;
    return undefined;
  };

  if (input.username !== undefined) {
    const v = text('username', input.username, LIMITS.username)?.trim();
    if (v !== undefined) {
      if (v === '') fail('username', 'REQUIRED', 'username must not be empty');
      else if (!USERNAME.test(v)) {
        fail('username', 'INVALID_USERNAME', 'username may contain letters, digits and . _ @ + \' - and must start with a letter or digit');
      } else if (v !== v.normalize('NFKC')) {
        // Protocols compare names after compatibility normalization (LDAP, RFC 4518): "ａｄａ" would be "ada".
        fail('username', 'INVALID_USERNAME', `username must not use compatibility forms such as full-width letters; write ${v.normalize('NFKC')}`);
      } else profile.username = v;
    }
  } else if (mode === 'create') fail('username', 'REQUIRED', 'username is required');

  if (input.email !== undefined) {
    const v = text('email', input.email, LIMITS.email)?.trim();
    if (v !== undefined) {
      if (!EMAIL.test(v)) fail('email', 'INVALID_EMAIL', 'email must be an address like name@example.com');
      else profile.email = v;
    }
  } else if (mode === 'create') fail('email', 'REQUIRED', 'email is required');

  for (const field of TEXT_FIELDS) {
    const raw = input[field];
    if (raw === undefined) continue;
    const v = text(field, raw ?? '', LIMITS.text);
    if (v !== undefined) profile[field] = v;
  }

  if (input.alternateEmail !== undefined) {
    const v = text('alternateEmail', input.alternateEmail ?? '', LIMITS.email)?.trim();
    if (v !== undefined) {
      if (v !== '' && !EMAIL.test(v)) fail('alternateEmail', 'INVALID_EMAIL', 'alternateEmail must be an address like name@example.com');
      else profile.alternateEmail = v;
    }
  }

  if (input.employeeIdentifier !== undefined) {
    const v = input.employeeIdentifier === null ? '' : text('employeeIdentifier', input.employeeIdentifier, LIMITS.employeeIdentifier)?.trim();
    if (v !== undefined) profile.employeeIdentifier = v === '' ? null : v;
  }

  if (input.manager !== undefined) {
    const v = input.manager === null || input.manager === '' ? null : input.manager;
    if (v !== null && (typeof v !== 'string' || !isWellFormedId(v))) fail('manager', 'INVALID_ID', 'manager must be the id of a user');
    else profile.manager = v as UserId | null;
  }

  for (const field of FLAG_FIELDS) {
    const v = input[field];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') fail(field, 'NOT_A_BOOLEAN', `${field} must be true or false`);
    else profile[field] = v;
  }

  for (const field of ['unixUid', 'unixGuid'] as const) {
    const v = input[field];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > LIMITS.maxUnixId) {
      fail(field, 'OUT_OF_RANGE', `${field} must be an integer from 1 to ${LIMITS.maxUnixId}`);
    } else profile[field] = v;
  }

  const list = <T>(field: string, value: unknown, max: number, each: (item: Record<string, unknown>, i: number) => T | undefined): T[] | undefined => {
    if (!Array.isArray(value)) {
      fail(field, 'NOT_A_LIST', `${field} must be a list`);
      return undefined;
    }
    if (value.length > max) {
      fail(field, 'TOO_MANY', `${field} may hold at most ${max} entries`);
      return undefined;
    }
    const items: T[] = [];
    value.forEach((item, i) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        fail(`${field}[${i}]`, 'NOT_AN_OBJECT', `${field}[${i}] must be an object`);
        return;
      }
      const v = each(item as Record<string, unknown>, i);
      if (v !== undefined) items.push(v);
    });
    return items;
  };

  const record = <K extends string>(field: string, item: Record<string, unknown>, keys: readonly K[]) => {
    const out: Partial<Record<K, string>> = {};
    for (const key of keys) {
      if (item[key] === undefined || item[key] === null) continue;
      const v = text(`${field}.${key}`, item[key], LIMITS.text);
      if (v !== undefined) out[key] = v;
    }
    return out;
  };

  if (input.phoneNumbers !== undefined) {
    const v = list('phoneNumbers', input.phoneNumbers, LIMITS.listItems, (item, i) => record(`phoneNumbers[${i}]`, item, PHONE_KEYS));
    if (v) profile.phoneNumbers = v;
  }
  if (input.addresses !== undefined) {
    const v = list('addresses', input.addresses, LIMITS.listItems, (item, i) => record(`addresses[${i}]`, item, ADDRESS_KEYS));
    if (v) profile.addresses = v;
  }
  if (input.attributes !== undefined) {
    const seen = new Set<string>();
    const v = list('attributes', input.attributes, LIMITS.attributes, (item, i): CustomAttribute | undefined => {
      const name = text(`attributes[${i}].name`, item.name, LIMITS.attributeName);
      const value = text(`attributes[${i}].value`, item.value ?? '', LIMITS.text);
      if (name === undefined || value === undefined) return undefined;
      if (!ATTRIBUTE_NAME.test(name)) {
        fail(`attributes[${i}].name`, 'INVALID_NAME', 'attribute names may contain letters, digits, _ . and -');
        return undefined;
      }
      if (seen.has(foldCase(name))) {
        fail(`attributes[${i}].name`, 'DUPLICATE', `attribute ${name} appears twice`);
        return undefined;
      }
      seen.add(foldCase(name));
      return { name, value };
    });
    if (v) profile.attributes = v;
  }

  if (input.state !== undefined) {
    if (!(USER_STATES as readonly string[]).includes(input.state)) fail('state', 'INVALID_STATE', `state must be one of ${USER_STATES.join(', ')}`);
    else out.state = input.state;
  }
  if (input.suspended !== undefined) {
    if (typeof input.suspended !== 'boolean') fail('suspended', 'NOT_A_BOOLEAN', 'suspended must be true or false');
    else if (out.state !== undefined && (out.state === 'SUSPENDED') !== input.suspended) {
      fail('suspended', 'CONTRADICTS_STATE', 'suspended contradicts state');
    } else if (input.suspended) out.state = 'SUSPENDED';
    else if (out.state === undefined) out.unsuspend = true;
  }
  if (input.accountLocked !== undefined) {
    if (typeof input.accountLocked !== 'boolean') fail('accountLocked', 'NOT_A_BOOLEAN', 'account_locked must be true or false');
    else out.accountLocked = input.accountLocked;
  }
  if (input.password !== undefined) {
    if (typeof input.password !== 'string' || input.password === '') fail('password', 'REQUIRED', 'password must be a non-empty string');
    else out.password = input.password;
  }
  if (input.passwordExpirationDate !== undefined) {
    if (input.passwordExpirationDate === null || input.passwordExpirationDate === '') out.passwordExpirationDate = null;
    else {
      const p = parseTimestamp(String(input.passwordExpirationDate));
      if (!p.ok) fail('passwordExpirationDate', 'INVALID_DATE', p.error);
      else out.passwordExpirationDate = p.value;
    }
  }
  if (input.mfaExclusionUntil !== undefined) {
    if (input.mfaExclusionUntil === null || input.mfaExclusionUntil === '') profile.mfaExclusionUntil = null;
    else {
      const p = parseTimestamp(String(input.mfaExclusionUntil));
      if (!p.ok) fail('mfaExclusionUntil', 'INVALID_DATE', p.error);
      else profile.mfaExclusionUntil = p.value;
    }
  }
  return { value: out, errors };
}
