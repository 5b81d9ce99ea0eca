import { operatorContext } from '../context.js';
import { newId, type AdminId, type ApiKeyId } from '../ids.js';
import { changesBetween, secretChange } from '../journal.js';
import type { Administrator, ApiKey, Organization } from '../model.js';
import { hashPassword } from '../passwords.js';
import { API_KEY_PREFIX, digestSecret, newApiKeySecret, randomPassword } from '../secrets.js';
import { journal, type Deps } from './deps.js';
import type { OrganizationService } from './organizations.js';

export interface FirstRun {
  org: Organization;
  admin: Administrator;
  password: string;
  apiKey: string;
}

/**
 * On an empty store, creates the first organization and an Administrator with Billing with a
 * random password and an API key, each shown once. Safe when several processes start at once:
 * the check and the creation happen under one lock.
 */
export async function bootstrap(
  deps: Deps,
  orgs: OrganizationService,
  options: { orgName: string; adminEmail: string },
): Promise<FirstRun | null> {
  if ((await deps.store.read.orgs.count()) > 0) return null;
  const password = randomPassword();
  const hash = await hashPassword(password);
  const secret = newApiKeySecret();
  return deps.store.transaction(async (tx) => {
    await tx.lock('roster:bootstrap');
    if ((await tx.orgs.count()) > 0) return null;
    const org = await orgs.create(options.orgName, tx);
    const now = deps.clock().toISOString();
    const admin: Administrator = {
      id: newId<AdminId>(),
      email: options.adminEmail,
      firstname: '',
      lastname: '',
      roleName: 'Administrator with Billing',
      enableMultiFactor: false,
      suspended: false,
      passwordSet: true,
      created: now,
      updated: now,
      orgIds: [org.id],
    };
    const key: ApiKey = {
      id: newId<ApiKeyId>(),
      adminId: admin.id,
      name: 'first run',
      prefix: secret.slice(0, API_KEY_PREFIX.length + 6),
      readOnly: false,
      expiresAt: null,
      created: now,
      lastUsedAt: null,
      revokedAt: null,
    };
    await tx.admins.insert(admin, hash);
    await tx.admins.linkOrg(admin.id, org.id);
    await tx.apiKeys.insert(key, digestSecret(secret));
    const ctx = operatorContext(org.id, 'system');
    journal(
      tx,
      ctx,
      { objectType: 'administrator', objectId: admin.id, operation: 'create', changes: { ...changesBetween(null, admin, ['updated', 'orgIds']), password: secretChange() } },
      { objectType: 'api_key', objectId: key.id, operation: 'create', changes: changesBetween(null, key) },
    );
    return { org, admin, password, apiKey: secret };
  });
}
