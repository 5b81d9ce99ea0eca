/**
 * The SCIM schemas Roster serves (RFC 7643 §4, §7, §8.7.1) and its discovery documents
 * (ServiceProviderConfig §5, ResourceType §6, Schema §7). The schemas list only what Roster stores,
 * so a client reading /Schemas learns what survives a round trip.
 *
 * | SCIM attribute                         | Roster field                                           |
 * |----------------------------------------|--------------------------------------------------------|
 * | id                                     | User.id / UserGroup.id                                 |
 * | externalId                             | the SCIM source's identity link (sync links), not a column |
 * | userName                               | username                                               |
 * | name.givenName, middleName, familyName | firstname, middlename, lastname                        |
 * | name.formatted                         | no column yet: the server keeps a written value or composes it from the parts (see below) |
 * | displayName                            | displayname                                            |
 * | title                                  | jobTitle                                               |
 * | userType                               | employeeType                                           |
 * | active                                 | state: true ⇔ ACTIVATED; false ⇔ SUSPENDED (STAGED reads false) |
 * | password                               | UserCredentials.passwordHash, through the password service |
 * | emails                                 | email and alternateEmail, see EMAILS                   |
 * | phoneNumbers.value, type               | phoneNumbers[].number, type; primary = first in the list |
 * | addresses.streetAddress … country, type| addresses[] fields of the same names; primary = first  |
 * | groups                                 | memberships, direct and through nested groups          |
 * | meta.created, lastModified             | created, updated                                       |
 * | meta.version (and the ETag)            | the sequence number of the resource's latest journal row |
 * | enterprise employeeNumber              | employeeIdentifier (unique in an org)                  |
 * | enterprise costCenter                  | costCenter                                             |
 * | enterprise organization                | company                                                |
 * | enterprise department                  | department                                             |
 * | enterprise manager.value               | manager (a UserId); displayName is the manager's displayname |
 * | Group displayName                      | UserGroup.name (unique in an org, case-insensitively)  |
 * | Group members (type User / Group)      | Membership (memberType user / user_group)              |
 *
 * Not offered because Roster has nowhere to keep them: nickName, profileUrl, preferredLanguage,
 * locale, timezone, name.honorific*, ims, photos, entitlements, roles, x509Certificates,
 * addresses.formatted, the display sub-attribute of emails and phoneNumbers, enterprise division.
 * name.formatted is offered although Roster has no column for it: Microsoft's conformance collection
 * (Entra ID's behaviour) PUTs one and expects the same value back.
 */

export type AttributeType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type Returned = 'always' | 'never' | 'default' | 'request';
export type Uniqueness = 'none' | 'server' | 'global';

/** One attribute's characteristics (RFC 7643 §2.2, §7). */
export interface AttributeDefinition {
  readonly name: string;
  readonly type: AttributeType;
  readonly multiValued: boolean;
  readonly description: string;
  readonly required: boolean;
  readonly canonicalValues?: readonly string[];
  readonly caseExact: boolean;
  readonly mutability: Mutability;
  readonly returned: Returned;
  readonly uniqueness: Uniqueness;
  readonly referenceTypes?: readonly string[];
  readonly subAttributes?: readonly AttributeDefinition[];
}

export interface SchemaDefinition {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly attributes: readonly AttributeDefinition[];
}

export const SCHEMA_URNS = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  enterpriseUser: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  serviceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
} as const;

export type ResourceTypeName = 'User' | 'Group';

type Characteristics = Partial<Omit<AttributeDefinition, 'name' | 'description'>>;

// RFC 7643 §2.2: the defaults of each characteristic.
const attr = (name: string, description: string, c: Characteristics = {}): AttributeDefinition => ({
  name,
  type: 'string',
  multiValued: false,
  description,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...c,
});

const complex = (name: string, description: string, subAttributes: AttributeDefinition[], c: Characteristics = {}) =>
  attr(name, description, { type: 'complex', subAttributes, ...c });

const readOnly = (name: string, description: string, c: Characteristics = {}) => attr(name, description, { mutability: 'readOnly', ...c });

// RFC 7643 §3.1: common to every resource. "Existing schema definitions MAY list common attributes",
// so the User and Group schemas list them, and clients learn from /Schemas that id is readOnly.
const ID = readOnly('id', 'Identifier of the resource, assigned by Roster.', {
  caseExact: true,
  returned: 'always',
  uniqueness: 'server',
});

const EXTERNAL_ID = attr('externalId', "The provisioning client's identifier for the resource.", { caseExact: true });

const META = complex(
  'meta',
  'Resource metadata.',
  [
    readOnly('resourceType', 'The name of the resource type.', { caseExact: true }),
    readOnly('created', 'When the resource was created.', { type: 'dateTime' }),
    readOnly('lastModified', 'When the resource was last changed.', { type: 'dateTime' }),
    readOnly('location', 'The URI of the resource.', { type: 'reference', referenceTypes: ['uri'], caseExact: true }),
    readOnly('version', 'The entity tag of the current version.', { caseExact: true }),
  ],
  { mutability: 'readOnly' },
);

const primary = (what: string, kept: string) =>
  attr('primary', `Whether this is the preferred ${what}; ${kept}.`, { type: 'boolean' });

/**
 * Roster has one primary email (`email`, required, unique in an org) and one `alternateEmail`.
 * The primary value (primary: true, else the first of type work, else the first) is `email`; one
 * other value is `alternateEmail`. On read, `email` comes back as { type: work, primary: true } and
 * `alternateEmail`, when set, as { type: other }. A third address has nowhere to go.
 */
const EMAILS = complex(
  'emails',
  'Email addresses: the primary one and at most one alternate.',
  [
    attr('value', 'An email address.'),
    attr('type', 'The kind of address.', { canonicalValues: ['work', 'home', 'other'] }),
    primary('email address', "it becomes the user's email, and one other the alternate"),
  ],
  // Roster cannot create a user without an email address.
  { multiValued: true, required: true },
);

const PHONE_NUMBERS = complex(
  'phoneNumbers',
  'Phone numbers.',
  [
    attr('value', 'A phone number.'),
    attr('type', 'The kind of phone number.', { canonicalValues: ['work', 'home', 'mobile', 'fax', 'pager', 'other'] }),
    primary('phone number', 'Roster keeps it first'),
  ],
  { multiValued: true },
);

// RFC 7643 §4.1.2 gives addresses a primary sub-attribute, though §8.7.1 leaves it out.
const ADDRESSES = complex(
  'addresses',
  'Physical mailing addresses.',
  [
    attr('streetAddress', 'The street address, which may span several lines.'),
    attr('locality', 'The city or locality.'),
    attr('region', 'The state or region.'),
    attr('postalCode', 'The postal code.'),
    attr('country', 'The country.'),
    attr('type', 'The kind of address.', { canonicalValues: ['work', 'home', 'other'] }),
    primary('address', 'Roster keeps it first'),
  ],
  { multiValued: true },
);

const GROUPS = complex(
  'groups',
  'The groups the user belongs to, directly or through nested groups. Change them through the Group resource.',
  [
    readOnly('value', 'The id of the group.'),
    // §8.7.1 lists User as well; only groups hold members in Roster.
    readOnly('$ref', 'The URI of the group.', { type: 'reference', referenceTypes: ['Group'] }),
    readOnly('display', 'The name of the group.'),
    readOnly('type', 'Whether the membership is direct or through a nested group.', { canonicalValues: ['direct', 'indirect'] }),
  ],
  { multiValued: true, mutability: 'readOnly' },
);

export const USER_SCHEMA: SchemaDefinition = {
  id: SCHEMA_URNS.user,
  name: 'User',
  // Microsoft's SCIM conformance collection checks that /Schemas mentions "User Account".
  description: 'User Account',
  attributes: [
    ID,
    EXTERNAL_ID,
    attr('userName', 'The name the user signs in with; unique in the organization.', { required: true, uniqueness: 'server' }),
    complex('name', "The components of the user's name.", [
      attr('formatted', 'The full name, formatted for display.'),
      attr('familyName', 'The family (last) name.'),
      attr('givenName', 'The given (first) name.'),
      attr('middleName', 'The middle name(s).'),
    ]),
    attr('displayName', 'The name of the user, suitable for display.'),
    attr('title', "The user's job title."),
    attr('userType', 'The relationship between the organization and the user, such as Employee or Contractor.'),
    attr('active', 'Whether the user is active; false suspends the user.', { type: 'boolean' }),
    attr('password', "The user's cleartext password, to set or reset it.", { mutability: 'writeOnly', returned: 'never' }),
    EMAILS,
    PHONE_NUMBERS,
    ADDRESSES,
    GROUPS,
    META,
  ],
};

export const ENTERPRISE_USER_SCHEMA: SchemaDefinition = {
  id: SCHEMA_URNS.enterpriseUser,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    // Roster refuses a second user with the same employee identifier in an org.
    attr('employeeNumber', 'The identifier the organization assigned to the person.', { uniqueness: 'server' }),
    attr('costCenter', 'The cost center.'),
    attr('organization', 'The organization (company) name.'),
    attr('department', 'The department.'),
    complex('manager', "The user's manager, another User.", [
      attr('value', 'The id of the manager.'),
      attr('$ref', 'The URI of the manager.', { type: 'reference', referenceTypes: ['User'] }),
      readOnly('displayName', 'The display name of the manager.'),
    ]),
  ],
};

export const GROUP_SCHEMA: SchemaDefinition = {
  id: SCHEMA_URNS.group,
  name: 'Group',
  description: 'Group',
  attributes: [
    ID,
    EXTERNAL_ID,
    // §4.2 makes displayName REQUIRED (§8.7.1 says false); Roster needs a group name, unique in an org.
    attr('displayName', 'The name of the group; unique in the organization.', { required: true, uniqueness: 'server' }),
    complex(
      'members',
      'The members of the group: users and nested groups.',
      [
        attr('value', 'The id of the member.', { mutability: 'immutable' }),
        attr('$ref', 'The URI of the member.', { type: 'reference', referenceTypes: ['User', 'Group'], mutability: 'immutable' }),
        // Not in §8.7.1; Roster fills it from the member's name and ignores what a client sends.
        readOnly('display', 'The name of the member.'),
        attr('type', 'The kind of member.', { canonicalValues: ['User', 'Group'], mutability: 'immutable' }),
      ],
      { multiValued: true },
    ),
    META,
  ],
};

/** The enterprise extension as one complex attribute, for a body key or PATCH path naming the whole extension. */
const ENTERPRISE_EXTENSION = complex(SCHEMA_URNS.enterpriseUser, ENTERPRISE_USER_SCHEMA.description, [...ENTERPRISE_USER_SCHEMA.attributes]);

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

const ALL_SCHEMAS = deepFreeze([USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA]);
deepFreeze(ENTERPRISE_EXTENSION);

interface IndexedSchema {
  urn: string;
  byPath: Map<string, AttributeDefinition>;
}

function indexSchema(schema: SchemaDefinition): IndexedSchema {
  const byPath = new Map<string, AttributeDefinition>();
  for (const a of schema.attributes) {
    const key = a.name.toLowerCase();
    byPath.set(key, a);
    for (const sub of a.subAttributes ?? []) byPath.set(`${key}.${sub.name.toLowerCase()}`, sub);
  }
  return { urn: schema.id.toLowerCase(), byPath };
}

const [USER_INDEX, ENTERPRISE_INDEX, GROUP_INDEX] = ALL_SCHEMAS.map(indexSchema) as [IndexedSchema, IndexedSchema, IndexedSchema];

/** The schemas a name stands for, the one that unqualified paths resolve against first. */
function schemasFor(schemaOrResource: string): IndexedSchema[] {
  switch (schemaOrResource.toLowerCase()) {
    case 'user':
      return [USER_INDEX, ENTERPRISE_INDEX];
    case 'group':
      return [GROUP_INDEX];
    case USER_INDEX.urn:
      return [USER_INDEX];
    case ENTERPRISE_INDEX.urn:
      return [ENTERPRISE_INDEX];
    case GROUP_INDEX.urn:
      return [GROUP_INDEX];
    default:
      return [];
  }
}

/**
 * The definition of an attribute path, `attr` or `attr.sub`, optionally qualified with a schema URN
 * (`urn:…:enterprise:2.0:User:manager.value`); case-insensitive. `schemaOrResource` is a resource type
 * (User covers the core and enterprise schemas) or one schema's URN. Undefined for what Roster does
 * not offer. Value filters (`emails[type eq "work"]`) must be taken out of the path first.
 */
export function attributeDefinition(schemaOrResource: string, path: string): AttributeDefinition | undefined {
  const candidates = schemasFor(schemaOrResource);
  const lower = path.toLowerCase();
  // RFC 7644 §3.10: an unqualified name belongs to the core schema. Match whole URNs: "2.0" has a dot.
  for (const schema of candidates) {
    if (lower === schema.urn) return schema === ENTERPRISE_INDEX ? ENTERPRISE_EXTENSION : undefined;
    if (lower.startsWith(`${schema.urn}:`)) return schema.byPath.get(lower.slice(schema.urn.length + 1));
  }
  return candidates[0]?.byPath.get(lower);
}

/** Whether values of the attribute compare case-sensitively in filters and uniqueness; false when unknown. */
export function isCaseExact(schemaOrResource: string, path: string): boolean {
  return attributeDefinition(schemaOrResource, path)?.caseExact ?? false;
}

export function mutability(schemaOrResource: string, path: string): Mutability | undefined {
  return attributeDefinition(schemaOrResource, path)?.mutability;
}

/** RFC 7644 §3.5.2: a PATCH that targets a readOnly attribute fails with 400 mutability. */
export function isReadOnly(schemaOrResource: string, path: string): boolean {
  return mutability(schemaOrResource, path) === 'readOnly';
}

export interface ResourceMeta {
  resourceType: string;
  location: string;
}

export interface AuthenticationScheme {
  type: string;
  name: string;
  description: string;
  specUri: string;
  primary: boolean;
}

/** RFC 7643 §5. */
export interface ServiceProviderConfig {
  schemas: string[];
  patch: { supported: boolean };
  bulk: { supported: boolean; maxOperations: number; maxPayloadSize: number };
  filter: { supported: boolean; maxResults: number };
  changePassword: { supported: boolean };
  sort: { supported: boolean };
  etag: { supported: boolean };
  authenticationSchemes: AuthenticationScheme[];
  meta: ResourceMeta;
}

export interface ServiceProviderLimits {
  maxOperations: number;
  maxPayloadSize: number;
  maxResults: number;
}

/** What the server promises in /ServiceProviderConfig: operations and bytes (any request body) per request, resources per page. */
export const SCIM_LIMITS: ServiceProviderLimits = Object.freeze({ maxOperations: 1000, maxPayloadSize: 1024 * 1024, maxResults: 1000 });

/** RFC 7643 §6. */
export interface ResourceTypeResource {
  schemas: string[];
  id: ResourceTypeName;
  name: ResourceTypeName;
  endpoint: string;
  description: string;
  schema: string;
  schemaExtensions?: { schema: string; required: boolean }[];
  meta: ResourceMeta;
}

/** RFC 7643 §7. */
export interface SchemaResource extends SchemaDefinition {
  schemas: string[];
  meta: ResourceMeta;
}

const trimSlash = (baseUrl: string) => baseUrl.replace(/\/+$/, '');

// documentationUri is OPTIONAL (§5) and left out: Roster's SCIM guide has no public address.
export function serviceProviderConfig(baseUrl: string, limits: ServiceProviderLimits): ServiceProviderConfig {
  return {
    schemas: [SCHEMA_URNS.serviceProviderConfig],
    patch: { supported: true },
    bulk: { supported: true, maxOperations: limits.maxOperations, maxPayloadSize: limits.maxPayloadSize },
    filter: { supported: true, maxResults: limits.maxResults },
    changePassword: { supported: true },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'Authentication scheme using the OAuth Bearer Token Standard',
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${trimSlash(baseUrl)}/ServiceProviderConfig` },
  };
}

/** User first: Entra ID's tests read ResourceTypes[0].endpoint and expect /Users. */
export function resourceTypes(baseUrl: string): ResourceTypeResource[] {
  const base = trimSlash(baseUrl);
  const meta = (id: ResourceTypeName): ResourceMeta => ({ resourceType: 'ResourceType', location: `${base}/ResourceTypes/${id}` });
  return [
    {
      schemas: [SCHEMA_URNS.resourceType],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: USER_SCHEMA.description,
      schema: SCHEMA_URNS.user,
      schemaExtensions: [{ schema: SCHEMA_URNS.enterpriseUser, required: false }],
      meta: meta('User'),
    },
    {
      schemas: [SCHEMA_URNS.resourceType],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: GROUP_SCHEMA.description,
      schema: SCHEMA_URNS.group,
      meta: meta('Group'),
    },
  ];
}

export function schemas(baseUrl: string): SchemaResource[] {
  const base = trimSlash(baseUrl);
  return ALL_SCHEMAS.map((s) => ({
    schemas: [SCHEMA_URNS.schema],
    ...s,
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${s.id}` },
  }));
}
