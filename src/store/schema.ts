import type { Generated } from 'kysely';

/** Row shapes. Booleans are 0/1 integers, times ISO-8601 UTC text, JSON text: identical on both engines. */
export interface OrganizationsTable {
  id: string;
  display_name: string;
  logo_url: string;
  settings: string;
  next_unix_id: number;
  /** Users in the org, kept in the transactions that add and remove them: unfiltered totals without COUNT(*). */
  user_count: number;
  created: string;
  updated: string;
}

export interface UsersTable {
  id: string;
  org_id: string;
  username: string;
  username_key: string;
  email: string;
  email_key: string;
  firstname: string;
  middlename: string;
  lastname: string;
  displayname: string;
  employee_identifier: string | null;
  employee_type: string;
  job_title: string;
  department: string;
  company: string;
  cost_center: string;
  location: string;
  manager_id: string | null;
  alternate_email: string;
  phone_numbers: string;
  addresses: string;
  attributes: string;
  unix_uid: number;
  unix_guid: number;
  sudo: number;
  passwordless_sudo: number;
  ldap_binding_user: number;
  password_never_expires: number;
  externally_managed: number;
  external_dn: string;
  external_source_type: string;
  mfa_required: number;
  mfa_exclusion: number;
  mfa_exclusion_until: string | null;
  description: string;
  state: string;
  account_locked: number;
  account_locked_date: string | null;
  locked_until: string | null;
  bad_login_attempts: number;
  last_failed_login: string | null;
  password_hash: string | null;
  password_date: string | null;
  password_expiration_date: string | null;
  created: string;
  updated: string;
}

export interface PasswordHistoryTable {
  id: Generated<number>;
  user_id: string;
  hash: string;
  created: string;
}

export interface UserGroupsTable {
  id: string;
  org_id: string;
  name: string;
  name_key: string;
  description: string;
  email: string;
  attributes: string;
  membership_method: string;
  created: string;
  updated: string;
}

export interface GroupMembersTable {
  org_id: string;
  group_id: string;
  member_type: string;
  member_id: string;
  created: string;
}

export interface AssociationsTable {
  org_id: string;
  subject_type: string;
  subject_id: string;
  resource_type: string;
  resource_id: string;
  attributes: string | null;
  created: string;
}

export interface AdministratorsTable {
  id: string;
  email: string;
  email_key: string;
  firstname: string;
  lastname: string;
  role_name: string;
  enable_multi_factor: number;
  suspended: number;
  password_hash: string | null;
  created: string;
  updated: string;
  /** The administrator's authenticator-app secret, sealed; null when none is set up. */
  totp_secret: string | null;
  /** When the secret was confirmed with a first code; null while pending. */
  totp_confirmed: string | null;
  /** The last 30-second step a code was accepted for: a code answers once. */
  totp_last_step: Generated<number>;
  failed_logins: Generated<number>;
  locked_until: string | null;
}

export interface AdminSessionsTable {
  /** SHA-256 of the session token, hex. */
  id: string;
  admin_id: string;
  created: string;
  last_seen: string;
  idle_expires: string;
  expires: string;
  mfa: string;
  ip: string;
  user_agent: string;
  revoked_at: string | null;
}

export interface AdminOrgsTable {
  admin_id: string;
  org_id: string;
  created: string;
}

export interface ApiKeysTable {
  id: string;
  admin_id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  read_only: number;
  expires_at: string | null;
  created: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface ScimTokensTable {
  id: string;
  org_id: string;
  directory_id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  expires_at: string | null;
  created: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface ApplicationsTable {
  id: string;
  org_id: string;
  name: string;
  display_name: string;
  display_label: string;
  sso_url: string;
  learn_more: string;
  color: string;
  logo_url: string;
  active: number;
  beta: number;
  config: string;
  sso: string;
  created: string;
  updated: string;
}

export interface DirectoriesTable {
  id: string;
  org_id: string;
  type: string;
  name: string;
  config: string;
  created: string;
  updated: string;
}

export interface RadiusServersTable {
  id: string;
  org_id: string;
  name: string;
  name_key: string;
  /** JSON array of normalized addresses and CIDR ranges. */
  network_source_ips: string;
  mfa: string;
  user_password_expiration_action: string;
  tag_names: string;
  user_cert_enabled: number;
  /** PEM CA certificates for EAP-TLS (public, not sealed). */
  ca_cert: string | null;
  /** Sealed with the master key; read only by the RADIUS front-end. */
  shared_secret: string;
  created: string;
  updated: string;
}

export interface UserTotpTable {
  org_id: string;
  user_id: string;
  /** The base32 TOTP secret, sealed. */
  secret: string;
  confirmed: number;
  last_used_step: number;
  created: string;
  updated: string;
}

export interface UserNtHashesTable {
  org_id: string;
  user_id: string;
  /** The NT hash as hex, sealed. */
  hash: string;
  created: string;
}

export interface JournalTable {
  seq: Generated<number>;
  org_id: string;
  at: string;
  object_type: string;
  object_id: string;
  operation: string;
  changes: string;
  actor_type: string;
  actor_id: string | null;
  api_key_id: string | null;
  origin: string;
  details: string | null;
}

export interface ProvisioningTargetsTable {
  application_id: string;
  org_id: string;
  enabled: number;
  /** ProvisioningConfig as JSON; no secret in it. */
  config: string;
  /** The application's SCIM bearer token, sealed. */
  token: string | null;
  status: string;
  cursor: number | string;
  counters: string;
  last_run_at: string | null;
  last_success_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  reconciled_at: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  created: string;
  updated: string;
}

export interface ProvisionedObjectsTable {
  application_id: string;
  org_id: string;
  object_type: string;
  local_id: string;
  remote_id: string | null;
  name: string;
  state: string;
  digest: string;
  written: string | null;
  written_at: string | null;
  error: string | null;
  error_at: string | null;
  attempts: number;
}

export interface UserRecoveryCodesTable {
  org_id: string;
  user_id: string;
  /** SHA-256 of the normalized code, hex. */
  digest: string;
  created: string;
  used_at: string | null;
}

export interface UserWebauthnCredentialsTable {
  /** The credential id, base64url; unique across every organization. */
  id: string;
  org_id: string;
  user_id: string;
  /** The credential's COSE public key, base64url. */
  public_key: string;
  /** The authenticator's signature counter at the last use (0 when it keeps none). */
  counter: number;
  /** JSON array of transports ("usb", "nfc", "internal", …). */
  transports: string;
  device_type: string;
  backed_up: number;
  aaguid: string;
  name: string;
  created: string;
  last_used_at: string | null;
}

export interface UserSessionsTable {
  /** SHA-256 of the session token, hex. */
  id: string;
  org_id: string;
  user_id: string;
  created: string;
  last_seen: string;
  idle_expires: string;
  expires: string;
  mfa: string;
  ip: string;
  user_agent: string;
  revoked_at: string | null;
}

export interface OidcClientsTable {
  client_id: string;
  org_id: string;
  application_id: string;
  /** JSON: redirect URIs, grant types, token endpoint auth method. */
  settings: string;
  sealed_secret: string | null;
  secret_updated: string | null;
  created: string;
  updated: string;
}

/** What node-oidc-provider persists, one row per (model, id); the payload is JSON. */
export interface OidcStateTable {
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  expires_at: string | null;
  consumed_at: string | null;
}

/** The OIDC provider's signing keys (private JWKs) and cookie keys, sealed. */
export interface OidcKeysTable {
  id: string;
  /** sig or cookie. */
  use: string;
  sealed: string;
  created: string;
  /** When the key starts signing (null only before migration 013 filled it in). */
  activates: string | null;
  /** When the key leaves the JWKS and is deleted; null until it is replaced. */
  retires: string | null;
}

/** SAML AuthnRequest IDs seen per issuer, until `expires` (ISO 8601). */
export interface SamlReplayTable {
  issuer: string;
  message_id: string;
  expires: string;
}

/** `(directory, kind, local id) ↔ external id`, unique both ways within a directory and kind. */
export interface IdentityLinksTable {
  org_id: string;
  directory_id: string;
  /** user or user_group. */
  object_type: string;
  local_id: string;
  external_id: string;
  created: string;
  updated: string;
  /** JSON: what the directory last held of the object (directory sync). */
  known: string | null;
  password_authority: string | null;
}

/** Installation-wide facts, such as the check value that proves the master key is the right one. */
export interface MetaTable {
  key: string;
  value: string;
}

export interface DirectoryAgentsTable {
  id: string;
  org_id: string;
  directory_id: string;
  state: string;
  connect_key_digest: string | null;
  connect_key_expires: string | null;
  credential_digest: string | null;
  hostname: string;
  version: string;
  source_ip: string;
  contact_at: string | null;
  created: string;
  updated: string;
}

export interface DirectorySyncStateTable {
  directory_id: string;
  org_id: string;
  import_cursor: string | null;
  full_import_wanted: number;
  dry_run_wanted: number;
  writer_agent_id: string | null;
  writer_until: string | null;
  last_import_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  updated: string;
}

export interface DirectoryAgentTasksTable {
  id: string;
  org_id: string;
  directory_id: string;
  kind: string;
  /** Sealed JSON. */
  payload: string;
  /** pending, taken, done */
  state: string;
  agent_id: string | null;
  /** JSON, once done. */
  result: string | null;
  created: string;
  expires: string;
}

export interface DirectorySyncRunsTable {
  id: string;
  org_id: string;
  directory_id: string;
  agent_id: string | null;
  kind: string;
  mode: string;
  dry_run: number;
  status: string;
  started: string;
  finished: string | null;
  /** JSON object of counts. */
  counts: string;
  /** JSON array of plan items. */
  plan: string;
  error: string | null;
}

export interface DirectoryRemovalsTable {
  org_id: string;
  directory_id: string;
  kind: string;
  local_id: string;
  removed_at: string;
  delete_after: string | null;
}

export interface Database {
  meta: MetaTable;
  organizations: OrganizationsTable;
  users: UsersTable;
  password_history: PasswordHistoryTable;
  user_groups: UserGroupsTable;
  group_members: GroupMembersTable;
  associations: AssociationsTable;
  administrators: AdministratorsTable;
  admin_orgs: AdminOrgsTable;
  admin_sessions: AdminSessionsTable;
  api_keys: ApiKeysTable;
  scim_tokens: ScimTokensTable;
  applications: ApplicationsTable;
  directories: DirectoriesTable;
  radius_servers: RadiusServersTable;
  user_totp: UserTotpTable;
  user_nt_hashes: UserNtHashesTable;
  journal: JournalTable;
  identity_links: IdentityLinksTable;
  provisioning_targets: ProvisioningTargetsTable;
  provisioned_objects: ProvisionedObjectsTable;
  user_sessions: UserSessionsTable;
  user_recovery_codes: UserRecoveryCodesTable;
  user_webauthn_credentials: UserWebauthnCredentialsTable;
  oidc_clients: OidcClientsTable;
  oidc_state: OidcStateTable;
  oidc_keys: OidcKeysTable;
  saml_replay: SamlReplayTable;
  directory_agents: DirectoryAgentsTable;
  directory_sync_state: DirectorySyncStateTable;
  directory_sync_runs: DirectorySyncRunsTable;
  directory_agent_tasks: DirectoryAgentTasksTable;
  directory_removals: DirectoryRemovalsTable;
}
