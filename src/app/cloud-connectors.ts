import type { CloudDirectoryConnection } from '../core/services/cloud-directories.js';
import type { RetryPolicy } from '../sync/retry.js';
import { connectionKey } from '../integrations/cloud-directory/worker.js';
import { googleWorkspaceConnector } from '../integrations/google-workspace/connector.js';
import { microsoft365Connector } from '../integrations/microsoft-365/connector.js';
import type { CloudConnector } from '../sync/cloud-connector.js';

/** The connector for a cloud directory's settings and credential. */
export function connectorFor(connection: CloudDirectoryConnection, options: { retry?: RetryPolicy } = {}): CloudConnector {
  const { settings, credential } = connection;
  const retry = options.retry ? { retry: options.retry } : {};
  if (settings.schema === 'google_workspace') {
    return googleWorkspaceConnector({
      serviceAccountKey: credential,
      adminEmail: settings.adminEmail,
      customer: settings.customer,
      domain: settings.domain,
      scope: settings.scope,
      queriesPerMinute: settings.queriesPerMinute,
      ...(settings.endpoints.rootUrl ? { rootUrl: settings.endpoints.rootUrl } : {}),
      ...(settings.endpoints.tokenUrl ? { tokenUrl: settings.endpoints.tokenUrl } : {}),
      ...retry,
    });
  }
  return microsoft365Connector({
    tenantId: settings.tenantId,
    clientId: settings.clientId,
    clientSecret: credential,
    domain: settings.domain,
    domainMap: settings.domainMap,
    usageLocation: settings.usageLocation,
    groupType: settings.groupType,
    scope: settings.scope,
    ...(settings.endpoints.authorityHost ? { authorityHost: settings.endpoints.authorityHost } : {}),
    ...(settings.endpoints.graphBaseUrl ? { graphBaseUrl: settings.endpoints.graphBaseUrl } : {}),
    ...(settings.caCertificates ? { ca: settings.caCertificates } : {}),
    ...retry,
  });
}

/**
 * Connectors kept per directory while its settings stay the same, so that the worker and password
 * changes share one client and its access token.
 */
export function cachedConnectors(make: (connection: CloudDirectoryConnection) => CloudConnector = (c) => connectorFor(c)): (connection: CloudDirectoryConnection) => CloudConnector {
  const cache = new Map<string, { key: string; connector: CloudConnector }>();
  return (connection) => {
    const key = connectionKey(connection);
    const hit = cache.get(connection.directory.id);
    if (hit?.key === key) return hit.connector;
    const connector = make(connection);
    cache.set(connection.directory.id, { key, connector });
    return connector;
  };
}
