import { randomInt } from 'node:crypto';

/** The user properties read (users/delta, transitiveMembers), in Graph's spelling. */
export const USER_SELECT = [
  'id',
  'userPrincipalName',
  'mail',
  'givenName',
  'surname',
  'displayName',
  'jobTitle',
  'department',
  'companyName',
  'officeLocation',
  'employeeId',
  'usageLocation',
  'mailNickname',
  'accountEnabled',
].join(',');

export const GROUP_SELECT = ['id', 'displayName', 'description', 'mailNickname', 'groupTypes', 'securityEnabled', 'mailEnabled'].join(',');

/** Normalized (lowercase) attribute → the Graph user property Roster writes. */
const WRITABLE: Record<string, string> = {
  givenname: 'givenName',
  surname: 'surname',
  displayname: 'displayName',
  mail: 'mail',
  jobtitle: 'jobTitle',
  department: 'department',
  companyname: 'companyName',
  officelocation: 'officeLocation',
  employeeid: 'employeeId',
  usagelocation: 'usageLocation',
};

/** Read only: renames are out of scope, and the nickname and principal name are set once, at creation. */
const READ_ONLY = new Set(['username', 'userprincipalname', 'mailnickname']);

export interface GraphUser {
  id: string;
  userPrincipalName?: string | null;
  mail?: string | null;
  givenName?: string | null;
  surname?: string | null;
  displayName?: string | null;
  jobTitle?: string | null;
  department?: string | null;
  companyName?: string | null;
  officeLocation?: string | null;
  employeeId?: string | null;
  usageLocation?: string | null;
  mailNickname?: string | null;
  accountEnabled?: boolean | null;
}

export interface GraphGroup {
  id: string;
  displayName?: string | null;
  description?: string | null;
  mailNickname?: string | null;
  groupTypes?: string[] | null;
  securityEnabled?: boolean | null;
  mailEnabled?: boolean | null;
}

const put = (out: Record<string, string[]>, key: string, value: string | null | undefined) => {
  if (typeof value === 'string' && value !== '') out[key] = [value];
};

/** A Graph user's attributes under their normalized names; empty ones are left out. */
export function userAttributes(u: GraphUser): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const upn = u.userPrincipalName ?? '';
  put(out, 'username', upn.includes('@') ? upn.slice(0, upn.lastIndexOf('@')) : upn);
  put(out, 'userprincipalname', upn);
  for (const [name, property] of Object.entries(WRITABLE)) put(out, name, (u as unknown as Record<string, string | null | undefined>)[property]);
  put(out, 'mailnickname', u.mailNickname);
  return out;
}

export function groupAttributes(g: GraphGroup): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  put(out, 'name', g.displayName);
  put(out, 'description', g.description);
  put(out, 'mailnickname', g.mailNickname);
  return out;
}

/** Security groups and Microsoft 365 groups; distribution lists (mail-enabled, neither) are not imported. */
export const isImportedGroup = (g: Pick<GraphGroup, 'groupTypes' | 'securityEnabled'>): boolean => g.securityEnabled === true || (g.groupTypes ?? []).includes('Unified');

/** Normalized attribute changes as a Graph PATCH body (null clears); read-only and unknown names are skipped. */
export function userPatch(changes: Record<string, string | null>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(changes)) {
    const property = WRITABLE[name];
    if (!property || READ_ONLY.has(name)) continue;
    // displayName is required: clearing it is not something Graph takes.
    if (property === 'displayName' && (value === null || value === '')) continue;
    out[property] = value === '' ? null : value;
  }
  return out;
}

/** A create's optional properties: the given, non-empty ones. */
export function userCreateProperties(attributes: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, property] of Object.entries(WRITABLE)) {
    const value = attributes[name];
    if (value !== undefined && value !== '') out[property] = value;
  }
  return out;
}

/**
 * A mailNickname from a name: ASCII letters, digits, `.`, `_` and `-` (Graph refuses
 * `@ () \ [] " ; : <> ,` and spaces), accents dropped, at most 64 characters.
 */
export function mailNicknameOf(name: string, fallback = 'roster'): string {
  const ascii = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const cleaned = ascii
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 64)
    .replace(/[-.]+$/, '');
  return cleaned || fallback;
}

/** The tenant domain for a user's email domain (`domainMap`), else the default verified domain. */
export function domainFor(mail: string | undefined, domain: string, domainMap: Record<string, string>): string {
  const at = mail?.lastIndexOf('@') ?? -1;
  if (!mail || at < 0) return domain;
  const emailDomain = mail.slice(at + 1).toLowerCase();
  for (const [from, to] of Object.entries(domainMap)) if (from.toLowerCase() === emailDomain) return to;
  return domain;
}

const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const DIGITS = '23456789';
const SYMBOLS = '!#$%&*+-=?@^_~';

/** A random password meeting Entra's complexity (8–256 characters, 3 of 4 classes): 24 characters, all four classes. */
export function randomPassword(length = 24): string {
  const all = LOWER + UPPER + DIGITS + SYMBOLS;
  const chars = [LOWER, UPPER, DIGITS, SYMBOLS].map((set) => set[randomInt(set.length)]!);
  while (chars.length < length) chars.push(all[randomInt(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
