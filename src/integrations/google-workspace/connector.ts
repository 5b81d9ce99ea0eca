import type { ExportOp, ExportOutcome } from '../../core/services/directory-export.js';
import { asSyncError } from '../../sync/errors.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../../sync/retry.js';
import type { ApplyOptions, CloudConnector } from '../../sync/cloud-connector.js';
import { directoryClient, type DirectoryClient } from './client.js';
import { readDirectory } from './read.js';
import { createGroup, updateGroup } from './write-groups.js';
import { createUser, deleteUser, setUserPassword, updateUser } from './write-users.js';

/** How Roster reaches a Google Workspace: a service account with domain-wide delegation, impersonating a super admin. */
export interface GoogleWorkspaceConnection {
  /** The service account's JSON key file contents. */
  serviceAccountKey: string;
  /** The super admin impersonated (the domain-wide delegation subject). */
  adminEmail: string;
  /** `my_customer` (the admin's own account) or a customer id. */
  customer: string;
  /** The primary domain, where emails of accounts and groups without one are made. */
  domain: string;
  scope: { orgUnitPath: string | null; groupEmail: string | null; importGroups: boolean };
  /** The API root; default https://admin.googleapis.com/. */
  rootUrl?: string;
  /** The OAuth 2.0 token endpoint; default Google's. */
  tokenUrl?: string;
  retry?: RetryPolicy;
  /** Per request; default 30 s. */
  timeoutMs?: number;
  /** The Directory API quota to pace calls under; default Google's, 2,400 queries per minute per user. */
  queriesPerMinute?: number;
}

export const GOOGLE_DEFAULT_QUERIES_PER_MINUTE = 2400;

/** Google Workspace through the Admin SDK Directory API and Google's client library (@googleapis/admin, google-auth-library). */
export function googleWorkspaceConnector(c: GoogleWorkspaceConnection): CloudConnector {
  let client: DirectoryClient | undefined;
  // Built on first use: a key that cannot be read stops the run that uses it, not whoever builds connectors.
  const connect = (): DirectoryClient =>
    (client ??= directoryClient({
      serviceAccountKey: c.serviceAccountKey,
      adminEmail: c.adminEmail,
      rootUrl: c.rootUrl,
      tokenUrl: c.tokenUrl,
      timeoutMs: c.timeoutMs ?? 30_000,
      queriesPerMinute: c.queriesPerMinute ?? GOOGLE_DEFAULT_QUERIES_PER_MINUTE,
      retry: c.retry ?? DEFAULT_RETRY,
    }));
  const customer = c.customer || 'my_customer';

  const carryOut = (api: DirectoryClient, op: ExportOp, options: ApplyOptions): Promise<ExportOutcome> => {
    switch (op.op) {
      case 'create_user':
        return createUser(api, c.domain, op, options);
      case 'update_user':
        return updateUser(api, op);
      case 'delete_user':
        return deleteUser(api, op);
      case 'create_group':
        return createGroup(api, c.domain, op);
      case 'update_group':
        return updateGroup(api, op);
    }
  };

  return {
    read: async () => readDirectory(connect(), { customer, ...c.scope }),

    async apply(op, options = {}) {
      try {
        return await carryOut(connect(), op, options);
      } catch (e) {
        const error = asSyncError(e);
        if (error.kind === 'stop') throw error;
        return { op, ok: false, error: error.message };
      }
    },

    setPassword: async (externalId, password) => setUserPassword(connect(), externalId, password),
  };
}
