import { createHash } from 'node:crypto';
import type { LdapConnection } from './connection.js';
import { isSyncError, SyncError } from '../../sync/errors.js';

/** RFC 4533 LDAP Content Synchronization: advertised by slapd when the syncprov overlay runs. */
export const SYNC_REQUEST_CONTROL = '1.3.6.1.4.1.4203.1.9.1.1';

/**
 * syncprov's contextCSN of the base entry: it moves on every add, modify, rename and delete in the
 * database. Only trusted when the server advertises syncprov: `slapadd -w` also writes a contextCSN,
 * which nothing updates afterwards. Undefined when there is none.
 */
export async function contextCsn(ldap: LdapConnection, base: string, supportedControls: string[]): Promise<string | undefined> {
  if (!supportedControls.includes(SYNC_REQUEST_CONTROL)) return undefined;
  try {
    const [entry] = await ldap.search({ base, scope: 'base', filter: '(objectClass=*)', attributes: ['contextCSN'] });
    const values = Object.entries(entry ?? {}).find(([name]) => name.toLowerCase() === 'contextcsn')?.[1];
    const csns = (Array.isArray(values) ? values : values === undefined ? [] : [values]).map(String);
    // One value per serverID in multi-provider replication.
    return csns.length > 0 ? `contextCSN:${csns.sort().join(';')}` : undefined;
  } catch (e) {
    if (isSyncError(e, 'not_found')) return undefined;
    throw e;
  }
}

/**
 * Without contextCSN: a digest of every entry under the base. The greatest entryCSN alone misses a
 * delete (the entry takes its CSN with it) and a change replicated with an older CSN, so the mark
 * is the count of entries, the greatest CSN, and an order-free digest (XOR of per-entry hashes) of
 * each entry's DN and entryCSN; modifyTimestamp stands in for servers without entryCSN.
 */
export async function scanMark(ldap: LdapConnection, base: string): Promise<string> {
  let count = 0;
  let max = '';
  let stamped = 0;
  const digest = Buffer.alloc(32);
  for await (const page of ldap.pages({ base, scope: 'sub', filter: '(objectClass=*)', attributes: ['entryCSN', 'modifyTimestamp'] })) {
    for (const entry of page) {
      count++;
      const csn = valueOf(entry, 'entrycsn') ?? valueOf(entry, 'modifytimestamp');
      if (csn !== undefined) stamped++;
      if (csn !== undefined && csn > max) max = csn;
      const hash = createHash('sha256').update(`${entry.dn.toLowerCase()}\0${csn ?? ''}`).digest();
      for (let i = 0; i < digest.length; i++) digest[i] = digest[i]! ^ hash[i]!;
    }
  }
  if (count === 0) throw new SyncError('not_found', `${base} does not exist or the bind account cannot read anything under it`);
  if (stamped === 0) throw new SyncError('stop', `the entries under ${base} carry neither entryCSN nor modifyTimestamp: changes cannot be detected`);
  return `scan:${count}:${max}:${digest.toString('base64url')}`;
}

function valueOf(entry: Record<string, unknown>, lowerName: string): string | undefined {
  const value = Object.entries(entry).find(([name]) => name.toLowerCase() === lowerName)?.[1];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : String(first);
}
