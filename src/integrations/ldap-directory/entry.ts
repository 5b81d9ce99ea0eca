import type { Entry } from 'ldapts';
import type { AdObject } from '../active-directory/agent.js';
import { attributesOf } from './connection.js';
import { LdapDirectoryError } from './errors.js';

/** Object classes that make an entry a user and a group (RFC 4519, RFC 2798, RFC 2307/2307bis). */
export const USER_CLASSES = ['inetOrgPerson', 'posixAccount', 'person', 'account'];
export const GROUP_CLASSES = ['groupOfNames', 'groupOfUniqueNames', 'posixGroup'];

const USER_LOWER = new Set(USER_CLASSES.map((c) => c.toLowerCase()));
const GROUP_LOWER = new Set(GROUP_CLASSES.map((c) => c.toLowerCase()));

/** Operational attributes slapd, 389-ds and FreeIPA return only when named. */
export const ANCHOR_ATTRIBUTES = ['objectClass', 'entryUUID'];
/** Lock conventions: 389-ds/FreeIPA nsAccountLock, OpenLDAP ppolicy pwdAccountLockedTime, RFC 2307 shadowExpire. */
export const LOCK_ATTRIBUTES = ['nsAccountLock', 'pwdAccountLockedTime', 'shadowExpire'];
export const MEMBER_ATTRIBUTES = ['member', 'uniqueMember', 'memberUid'];
export const GROUP_ATTRIBUTES = ['cn', 'description'];

export type EntryKind = 'user' | 'group' | 'other';

/** A directory entry as read, before it becomes an AdObject. */
export interface RawEntry {
  dn: string;
  attributes: Record<string, string[]>;
}

export const rawOf = (entry: Entry): RawEntry => ({ dn: entry.dn, attributes: attributesOf(entry) });

/** A group when it has a group class (an rfc2307bis entry may be a posixGroup and a groupOfNames); else a user when it has a user class. */
export function kindOf(entry: RawEntry): EntryKind {
  const classes = (entry.attributes.objectclass ?? []).map((c) => c.toLowerCase());
  if (classes.some((c) => GROUP_LOWER.has(c))) return 'group';
  if (classes.some((c) => USER_LOWER.has(c))) return 'user';
  return 'other';
}

/** The member DNs of a group: member (groupOfNames) and uniqueMember (groupOfUniqueNames) without its optional uid suffix. */
export function memberDnsOf(entry: RawEntry): string[] {
  // RFC 4517 §3.3.21 NameAndOptionalUID: dn [ "#" BitString ], BitString = "'" *binary-digit "'B".
  const unique = (entry.attributes.uniquemember ?? []).map((v) => v.replace(/#'[01]*'B$/, ''));
  return [...(entry.attributes.member ?? []), ...unique].map((dn) => dn.trim()).filter((dn) => dn !== '');
}

export const memberUidsOf = (entry: RawEntry): string[] => (entry.attributes.memberuid ?? []).map((uid) => uid.trim()).filter((uid) => uid !== '');

const DAY_MS = 86_400_000;

/**
 * Whether the account is locked or disabled by the usual conventions: nsAccountLock TRUE
 * (389-ds, FreeIPA); pwdAccountLockedTime present (OpenLDAP ppolicy, draft-behera-ldap-password-policy
 * §5.3.3); shadowExpire reached, in days since 1970 (shadow(5); shadow-utils treats 0 and below as
 * no expiry and the account as expired from that day on).
 */
export function isDisabled(attributes: Record<string, string[]>, now = Date.now()): boolean {
  if ((attributes.nsaccountlock ?? []).some((v) => v.trim().toLowerCase() === 'true')) return true;
  if ((attributes.pwdaccountlockedtime ?? []).length > 0) return true;
  const expire = Number(attributes.shadowexpire?.[0]);
  return Number.isInteger(expire) && expire > 0 && Math.floor(now / DAY_MS) >= expire;
}

/** A user entry as the agent reads it: the requested attributes (uid and cn always), its lock state. */
export function userObject(entry: RawEntry, userAttributes: string[], now = Date.now()): AdObject {
  const attributes: Record<string, string[]> = {};
  for (const name of new Set([...userAttributes.map((n) => n.toLowerCase()), 'uid', 'cn'])) {
    const values = entry.attributes[name];
    if (values) attributes[name] = values;
  }
  return { ...anchorOf(entry), attributes, disabled: isDisabled(entry.attributes, now) };
}

/** A group entry as the agent reads it: cn, description, and `member` as the DNs of its in-scope members. */
export function groupObject(entry: RawEntry, members: string[]): AdObject {
  const attributes: Record<string, string[]> = {};
  for (const name of ['cn', 'description']) {
    const values = entry.attributes[name];
    if (values) attributes[name] = values;
  }
  attributes.member = members;
  return { ...anchorOf(entry), attributes };
}

/** entryUUID (RFC 4530) anchors the object: it survives renames and moves. */
function anchorOf(entry: RawEntry): Pick<AdObject, 'dn' | 'objectGuid' | 'objectClass' | 'deleted'> {
  const uuid = entry.attributes.entryuuid?.[0];
  if (!uuid) throw new LdapDirectoryError('stop', `${entry.dn} has no entryUUID: the directory must maintain it (RFC 4530; on 389-ds enable the entryUUID plugin)`);
  return {
    dn: entry.dn,
    objectGuid: uuid.toLowerCase(),
    objectClass: entry.attributes.objectclass ?? [],
    deleted: false,
  };
}
