/** The API's shapes the Applications and RADIUS pages use (docs/api.md, src/api/wire/*). */

export interface Application {
  _id: string;
  name: string;
  displayName?: string;
  displayLabel?: string;
  ssoUrl?: string;
  learnMore?: string;
  color?: string;
  logo?: { url: string; color: string };
  active?: boolean;
  beta?: boolean;
  config?: Record<string, unknown>;
  sso?: { type?: string; idpCertExpirationAt?: string; [key: string]: unknown };
  organization?: string;
  created?: string;
}

export type SsoType = 'saml' | 'oidc' | 'none';

export const ssoTypeOf = (app: Pick<Application, 'sso'>): SsoType => {
  const t = typeof app.sso?.type === 'string' ? app.sso.type.toLowerCase() : '';
  return t === 'saml' ? 'saml' : t === 'oidc' ? 'oidc' : 'none';
};

export const SSO_LABELS: Record<SsoType, string> = { saml: 'SAML 2.0', oidc: 'OpenID Connect', none: 'No single sign-on' };

export const appLabel = (app: Pick<Application, 'displayLabel' | 'displayName' | 'name'>) => app.displayLabel || app.displayName || app.name;

export interface SamlInfo {
  idpEntityId: string;
  spEntityId: string;
  acsUrls: string[];
  metadataUrl: string;
  ssoUrl: string;
  startUrl: string;
  certificates: { use: 'signing' | 'next'; certificate: string; fingerprintSha256: string; notBefore: string; notAfter: string }[];
}

export interface OidcClient {
  clientId: string;
  applicationId: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: string[];
  tokenEndpointAuthMethod: string;
  hasSecret: boolean;
  secretUpdated: string | null;
  clientSecret?: string;
  created: string;
  updated: string;
}

export const OIDC_GRANT_TYPES = [
  { value: 'authorization_code', label: 'Authorization code', hint: 'Users sign in through the browser (the usual choice).' },
  { value: 'refresh_token', label: 'Refresh token', hint: 'The application keeps users signed in; needs authorization code.' },
  { value: 'client_credentials', label: 'Client credentials', hint: 'The application calls APIs as itself, without a user; confidential clients only.' },
];

export const OIDC_AUTH_METHODS = [
  { value: 'client_secret_basic', label: 'Confidential: client secret in the Authorization header (client_secret_basic)' },
  { value: 'client_secret_post', label: 'Confidential: client secret in the request body (client_secret_post)' },
  { value: 'none', label: 'Public: no secret, PKCE required (browser and mobile apps)' },
];

export interface Provisioning {
  applicationId: string;
  enabled: boolean;
  baseUrl: string;
  deprovision: string;
  groups: boolean;
  roleMappings: { groupId: string; role: string }[];
  patch: string;
  memberPatch: string;
  bulk: string;
  matchBy: string;
  concurrency: number;
  reconcileMinutes: number;
  hasToken: boolean;
  status: 'disabled' | 'idle' | 'running' | 'error';
  cursor: number;
  counters: Record<string, number>;
  lastRunAt: string | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  reconciledAt: string | null;
  updated: string;
}

export interface ProvisionedObject {
  type: 'user' | 'group';
  id: string;
  remoteId: string | null;
  name: string;
  state: 'active' | 'inactive' | 'deleted';
  written: Record<string, unknown> | null;
  writtenAt: string | null;
  error: string | null;
  errorAt: string | null;
  attempts: number;
}

export interface ProvisioningPlan {
  seq: number;
  enabled: boolean;
  summary: Record<string, Record<string, number>>;
  operations: { type: 'user' | 'group'; id: string; name: string; action: string; reason: string; remoteId?: string; attributes?: unknown; members?: { add: string[]; remove: string[] } }[];
}

export interface ProvisioningRun {
  seq: number;
  counters: Record<string, number>;
  errors: { kind: 'user' | 'group'; localId: string; name: string; message: string }[];
  stopped?: string;
  durationMs: number;
  status: Provisioning['status'];
}

export interface RadiusServer {
  _id: string;
  name: string;
  networkSourceIp: string;
  organization?: string;
  mfa: 'DISABLED' | 'ENABLED' | 'REQUIRED' | 'ALWAYS';
  userLockoutAction: string;
  userPasswordExpirationAction: 'REMOVE' | 'MAINTAIN';
  tagNames: string[];
  authIdp?: string;
  userPasswordEnabled?: boolean;
  userCertEnabled: boolean;
  caCert: string;
  deviceCertEnabled?: boolean;
  created?: string;
  updated?: string;
}

export const RADIUS_MFA = [
  { value: 'DISABLED', label: 'Off: password only' },
  { value: 'ENABLED', label: 'When enrolled: users with an authenticator app add a code' },
  { value: 'REQUIRED', label: 'Required: every user adds a code; users without an app are rejected' },
  { value: 'ALWAYS', label: 'Always: as required' },
];

export const RADIUS_EXPIRATION = [
  { value: 'REMOVE', label: 'Reject users whose password has expired' },
  { value: 'MAINTAIN', label: 'Still accept users whose password has expired' },
];

/** Shared secrets: RFC 2865 asks for at least 16 octets; Roster takes 16 to 128 characters. */
export const SHARED_SECRET = { min: 16, max: 128 };
