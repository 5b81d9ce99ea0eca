/** Every unique key in the schema, with what its violation means to a caller. */
export interface UniqueKey {
  name: string;
  table: string;
  columns: string[];
  code: string;
  field: string;
  message: string;
  /** The migration that creates the key, when not the initial one. */
  migration?: string;
}

export const UNIQUE_KEYS: readonly UniqueKey[] = [
  {
    name: 'users_username_key',
    table: 'users',
    columns: ['org_id', 'username_key'],
    code: 'USERNAME_TAKEN',
    field: 'username',
    message: 'A user with this username already exists',
  },
  {
    name: 'users_email_key',
    table: 'users',
    columns: ['org_id', 'email_key'],
    code: 'EMAIL_TAKEN',
    field: 'email',
    message: 'A user with this email already exists',
  },
  {
    name: 'users_employee_identifier_key',
    table: 'users',
    columns: ['org_id', 'employee_identifier'],
    code: 'EMPLOYEE_IDENTIFIER_TAKEN',
    field: 'employeeIdentifier',
    message: 'A user with this employeeIdentifier already exists',
  },
  {
    name: 'users_unix_uid_key',
    table: 'users',
    columns: ['org_id', 'unix_uid'],
    code: 'UNIX_UID_TAKEN',
    field: 'unix_uid',
    message: 'A user with this unix_uid already exists',
  },
  {
    name: 'user_groups_name_key',
    table: 'user_groups',
    columns: ['org_id', 'name_key'],
    code: 'GROUP_NAME_TAKEN',
    field: 'name',
    message: 'A user group with this name already exists',
  },
  {
    name: 'administrators_email_key',
    table: 'administrators',
    columns: ['email_key'],
    code: 'ADMIN_EMAIL_TAKEN',
    field: 'email',
    message: 'An administrator with this email already exists',
  },
  {
    name: 'api_keys_secret_hash_key',
    table: 'api_keys',
    columns: ['secret_hash'],
    code: 'API_KEY_COLLISION',
    field: 'key',
    message: 'API key collision; try again',
  },
  {
    name: 'radius_servers_name_key',
    table: 'radius_servers',
    columns: ['org_id', 'name_key'],
    code: 'RADIUS_SERVER_NAME_TAKEN',
    field: 'name',
    message: 'A RADIUS server with this name already exists',
    migration: '003-radius',
  },
  {
    name: 'identity_links_external_key',
    table: 'identity_links',
    columns: ['directory_id', 'object_type', 'external_id'],
    code: 'EXTERNAL_ID_TAKEN',
    field: 'externalId',
    message: 'Another object of this directory already has this external id',
    migration: '006-identity-links',
  },
];

/** The unique keys a migration creates. */
export const uniqueKeysOf = (migration: string): UniqueKey[] => UNIQUE_KEYS.filter((k) => (k.migration ?? '001-initial') === migration);
