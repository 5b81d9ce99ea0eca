import type { OrgId, UserId } from '../ids.js';
import { ntHash } from '../nt-hash.js';
import type { Transaction } from '../ports.js';
import type { SecretBox } from '../secrets.js';

/** Binds a sealed NT hash to its user, so it cannot be moved to another row. */
const sealContext = (orgId: OrgId, userId: UserId) => `nt_hash:${orgId}:${userId}`;

export const sealNtHash = (secrets: SecretBox, orgId: OrgId, userId: UserId, password: string): string =>
  secrets.seal(ntHash(password).toString('hex'), sealContext(orgId, userId));

export const openNtHash = (secrets: SecretBox, orgId: OrgId, userId: UserId, sealed: string): Buffer =>
  Buffer.from(secrets.open(sealed, sealContext(orgId, userId)), 'hex');

/**
 * Whether the org keeps NT hashes, read with its row locked until `tx` ends. Turning the setting
 * off deletes every hash under the same lock, so a hash written after this read cannot outlive
 * the setting.
 */
export async function keepsNtHashes(tx: Transaction, orgId: OrgId): Promise<boolean> {
  const org = await tx.orgs.findById(orgId, { forUpdate: true });
  return org?.settings.radius.storeNtHashes === true;
}

/** Writes the NT hash beside a password hash that `tx` sets, when the org keeps NT hashes. */
export async function recordNtHash(tx: Transaction, secrets: SecretBox, orgId: OrgId, userId: UserId, password: string, at: string): Promise<void> {
  if (await keepsNtHashes(tx, orgId)) await tx.credentials.putNtHash(orgId, userId, sealNtHash(secrets, orgId, userId, password), at);
}
