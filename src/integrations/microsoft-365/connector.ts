import { DEFAULT_RETRY, type RetryPolicy } from '../../sync/retry.js';
import type { CloudConnector } from '../../sync/cloud-connector.js';
import { applyOp, setPassword } from './apply.js';
import { createGraph } from './graph-client.js';
import { readTenant } from './read.js';

/** How Roster reaches a Microsoft 365 / Entra ID tenant: an app registration with a client secret (client-credentials flow). */
export interface Microsoft365Connection {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The verified domain user principal names get, and per email domain another one (Roster email domain → tenant domain). */
  domain: string;
  domainMap: Record<string, string>;
  /** ISO 3166 two-letter code, set on users Roster creates. */
  usageLocation: string | null;
  /** For groups Roster creates. */
  groupType: 'security' | 'microsoft365';
  /** Import only the transitive members of this group (then every read is full), or everyone. */
  scope: { groupId: string | null };
  /** National clouds and tests: where to get tokens and reach Graph. Defaults: https://login.microsoftonline.com, https://graph.microsoft.com */
  authorityHost?: string;
  graphBaseUrl?: string;
  /** Extra CA certificates (PEM) to trust, e.g. a TLS-inspecting proxy. Verification is never disabled. */
  ca?: string;
  retry?: RetryPolicy;
  timeoutMs?: number;
}

const TIMEOUT_MS = 30_000;

/**
 * Microsoft 365 through Microsoft Graph v1.0, with Microsoft's client (@microsoft/microsoft-graph-client)
 * and @azure/identity's ClientSecretCredential. Reads with users/delta and groups/delta; writes
 * users, groups and memberships. Every call goes through withRetry (429 and 5xx, honouring
 * Retry-After); the SDK's own retry handler is left out of the chain.
 */
export function microsoft365Connector(c: Microsoft365Connection): CloudConnector {
  const graph = createGraph({
    tenantId: c.tenantId,
    clientId: c.clientId,
    clientSecret: c.clientSecret,
    authorityHost: c.authorityHost,
    graphBaseUrl: c.graphBaseUrl,
    ca: c.ca,
    retry: c.retry ?? DEFAULT_RETRY,
    timeoutMs: c.timeoutMs ?? TIMEOUT_MS,
  });
  const settings = { domain: c.domain, domainMap: c.domainMap, usageLocation: c.usageLocation, groupType: c.groupType };
  return {
    read: (cursor) => readTenant(graph, c.scope.groupId, cursor),
    apply: (op, options) => applyOp(graph, settings, op, options),
    setPassword: (externalId, password) => setPassword(graph, externalId, password),
  };
}
