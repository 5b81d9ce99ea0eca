import { describe, expect, it } from 'vitest';
import {
  ENTERPRISE_USER_SCHEMA,
  GROUP_SCHEMA,
  SCHEMA_URNS,
  USER_SCHEMA,
  attributeDefinition,
  isCaseExact,
  isReadOnly,
  mutability,
  resourceTypes,
  schemas,
  serviceProviderConfig,
  type AttributeDefinition,
  type SchemaDefinition,
} from './schemas.js';

const BASE = 'https://host/scim/v2';
const LIMITS = { maxOperations: 100, maxPayloadSize: 1_048_576, maxResults: 200 };

const META_PATHS = [
  'meta',
  'meta.resourceType',
  'meta.created',
  'meta.lastModified',
  'meta.location',
  'meta.version',
];

const USER_PATHS = [
  'id',
  'externalId',
  'userName',
  'name',
  'name.formatted',
  'name.familyName',
  'name.givenName',
  'name.middleName',
  'displayName',
  'title',
  'userType',
  'active',
  'password',
  'emails',
  'emails.value',
  'emails.type',
  'emails.primary',
  'phoneNumbers',
  'phoneNumbers.value',
  'phoneNumbers.type',
  'phoneNumbers.primary',
  'addresses',
  'addresses.streetAddress',
  'addresses.locality',
  'addresses.region',
  'addresses.postalCode',
  'addresses.country',
  'addresses.type',
  'addresses.primary',
  'groups',
  'groups.value',
  'groups.$ref',
  'groups.display',
  'groups.type',
  ...META_PATHS,
];

const ENTERPRISE_PATHS = [
  'employeeNumber',
  'costCenter',
  'organization',
  'department',
  'manager',
  'manager.value',
  'manager.$ref',
  'manager.displayName',
];

const GROUP_PATHS = [
  'id',
  'externalId',
  'displayName',
  'members',
  'members.value',
  'members.$ref',
  'members.display',
  'members.type',
  ...META_PATHS,
];

function pathsOf(schema: SchemaDefinition): string[] {
  return schema.attributes.flatMap((a) => [a.name, ...(a.subAttributes ?? []).map((s) => `${a.name}.${s.name}`)]);
}

function def(resource: string, path: string): AttributeDefinition {
  const d = attributeDefinition(resource, path);
  if (!d) throw new Error(`no definition for ${resource} ${path}`);
  return d;
}

const enterprise = (path: string) => `${SCHEMA_URNS.enterpriseUser}:${path}`;

describe('the schemas list what Roster stores, nothing more', () => {
  it.each([
    ['User', USER_SCHEMA, USER_PATHS],
    ['EnterpriseUser', ENTERPRISE_USER_SCHEMA, ENTERPRISE_PATHS],
    ['Group', GROUP_SCHEMA, GROUP_PATHS],
  ] as const)('%s', (_, schema, paths) => {
    expect(pathsOf(schema)).toEqual(paths);
  });

  it.each(['nickName', 'profileUrl', 'preferredLanguage', 'locale', 'timezone', 'ims', 'photos', 'entitlements', 'roles', 'x509Certificates'])(
    'User has no %s',
    (path) => {
      expect(attributeDefinition('User', path)).toBeUndefined();
    },
  );

  it.each(['name.honorificPrefix', 'name.honorificSuffix', 'emails.display', 'phoneNumbers.display', 'addresses.formatted'])(
    'User has no %s',
    (path) => {
      expect(attributeDefinition('User', path)).toBeUndefined();
    },
  );

  it('the enterprise extension has no division', () => {
    expect(attributeDefinition('User', enterprise('division'))).toBeUndefined();
  });
});

describe('attributeDefinition', () => {
  describe.each([
    ['User', USER_PATHS, SCHEMA_URNS.user],
    ['Group', GROUP_PATHS, SCHEMA_URNS.group],
  ] as const)('%s core paths', (resource, paths, urn) => {
    it.each(paths)('%s', (path) => {
      const d = def(resource, path);
      expect(d.name).toBe(path.split('.').at(-1));
      expect(attributeDefinition(resource, path.toLowerCase())).toBe(d);
      expect(attributeDefinition(resource, path.toUpperCase())).toBe(d);
      expect(attributeDefinition(resource.toLowerCase(), path)).toBe(d);
      expect(attributeDefinition(resource, `${urn}:${path}`)).toBe(d);
      expect(attributeDefinition(resource, `${urn}:${path}`.toLowerCase())).toBe(d);
      expect(attributeDefinition(urn, path)).toBe(d);
      expect(attributeDefinition(urn.toLowerCase(), `${urn}:${path}`.toLowerCase())).toBe(d);
    });
  });

  describe('enterprise extension paths on User', () => {
    it.each(ENTERPRISE_PATHS)('%s', (path) => {
      const d = def('User', enterprise(path));
      expect(d.name).toBe(path.split('.').at(-1));
      expect(attributeDefinition('User', enterprise(path).toLowerCase())).toBe(d);
      expect(attributeDefinition('user', enterprise(path).toUpperCase())).toBe(d);
      expect(attributeDefinition(SCHEMA_URNS.enterpriseUser, path)).toBe(d);
      expect(attributeDefinition(SCHEMA_URNS.enterpriseUser.toLowerCase(), enterprise(path).toLowerCase())).toBe(d);
    });
  });

  it('resolves the lowercased forms the server passes', () => {
    expect(def('User', 'name.familyname').name).toBe('familyName');
    expect(def('User', 'emails.value').name).toBe('value');
    expect(def('User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeenumber').name).toBe('employeeNumber');
    expect(def('User', 'urn:ietf:params:scim:schemas:core:2.0:user:name.givenname').name).toBe('givenName');
  });

  it('an unqualified path belongs to the core schema (RFC 7644 §3.10)', () => {
    expect(attributeDefinition('User', 'employeeNumber')).toBeUndefined();
    expect(attributeDefinition('User', 'manager.value')).toBeUndefined();
  });

  it('the enterprise URN alone names the whole extension', () => {
    const d = def('User', SCHEMA_URNS.enterpriseUser.toLowerCase());
    expect(d).toMatchObject({ type: 'complex', multiValued: false, mutability: 'readWrite' });
    expect(d.subAttributes?.map((s) => s.name)).toEqual(['employeeNumber', 'costCenter', 'organization', 'department', 'manager']);
    expect(attributeDefinition('User', SCHEMA_URNS.user)).toBeUndefined();
    expect(attributeDefinition('Group', SCHEMA_URNS.enterpriseUser)).toBeUndefined();
  });

  it.each([
    ['User', 'adreses'],
    ['User', 'name.nickname'],
    ['User', 'name.familyName.x'],
    ['User', ''],
    ['User', 'userName.'],
    ['User', 'emails[type eq "work"].value'],
    ['User', `${SCHEMA_URNS.group}:displayName`],
    ['User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:'],
    ['User', 'urn:ietf:params:scim:schemas:extension:other:2.0:User:department'],
    ['Group', 'userName'],
    ['Group', 'members.primary'],
    ['Group', `${SCHEMA_URNS.user}:displayName`],
    [SCHEMA_URNS.user, enterprise('department')],
    [SCHEMA_URNS.enterpriseUser, 'userName'],
    ['Users', 'userName'],
    ['ServiceProviderConfig', 'patch'],
  ])('%s %s is unknown', (resource, path) => {
    expect(attributeDefinition(resource, path)).toBeUndefined();
  });

  it('definitions are frozen, so no caller can change what /Schemas serves', () => {
    const d = def('User', 'userName');
    expect(Object.isFrozen(d)).toBe(true);
    expect(Object.isFrozen(def('User', 'emails').subAttributes)).toBe(true);
    expect(Object.isFrozen(USER_SCHEMA.attributes)).toBe(true);
  });
});

describe('characteristics (RFC 7643 §3.1, §4, §8.7.1)', () => {
  it('id: readOnly, returned always, caseExact', () => {
    for (const resource of ['User', 'Group']) {
      expect(def(resource, 'id')).toMatchObject({ type: 'string', mutability: 'readOnly', returned: 'always', caseExact: true, required: false });
    }
  });

  it('externalId: readWrite, caseExact', () => {
    expect(def('User', 'externalId')).toMatchObject({ mutability: 'readWrite', caseExact: true, returned: 'default' });
  });

  it('userName: required, unique in the server, case-insensitive', () => {
    expect(def('User', 'userName')).toMatchObject({ required: true, uniqueness: 'server', caseExact: false, mutability: 'readWrite' });
  });

  it('password: writeOnly, never returned', () => {
    expect(def('User', 'password')).toMatchObject({ type: 'string', mutability: 'writeOnly', returned: 'never' });
  });

  it('active is a boolean', () => {
    expect(def('User', 'active')).toMatchObject({ type: 'boolean', multiValued: false, mutability: 'readWrite' });
  });

  it('name is a single complex attribute of strings', () => {
    expect(def('User', 'name')).toMatchObject({ type: 'complex', multiValued: false });
    for (const sub of def('User', 'name').subAttributes ?? []) expect(sub).toMatchObject({ type: 'string', mutability: 'readWrite' });
  });

  it('emails: multi-valued complex, required because Roster needs an email', () => {
    expect(def('User', 'emails')).toMatchObject({ type: 'complex', multiValued: true, required: true });
    expect(def('User', 'emails.type').canonicalValues).toEqual(['work', 'home', 'other']);
    expect(def('User', 'emails.primary').type).toBe('boolean');
  });

  it('phoneNumbers and addresses: multi-valued with RFC canonical types', () => {
    expect(def('User', 'phoneNumbers').multiValued).toBe(true);
    expect(def('User', 'phoneNumbers.type').canonicalValues).toEqual(['work', 'home', 'mobile', 'fax', 'pager', 'other']);
    expect(def('User', 'addresses').multiValued).toBe(true);
    expect(def('User', 'addresses.type').canonicalValues).toEqual(['work', 'home', 'other']);
  });

  it('groups: readOnly, multi-valued, every sub-attribute readOnly', () => {
    expect(def('User', 'groups')).toMatchObject({ type: 'complex', multiValued: true, mutability: 'readOnly' });
    for (const sub of def('User', 'groups').subAttributes ?? []) expect(sub.mutability).toBe('readOnly');
    expect(def('User', 'groups.type').canonicalValues).toEqual(['direct', 'indirect']);
    expect(def('User', 'groups.$ref')).toMatchObject({ type: 'reference', referenceTypes: ['Group'] });
  });

  it('meta: readOnly, every sub-attribute readOnly', () => {
    for (const resource of ['User', 'Group']) {
      expect(def(resource, 'meta')).toMatchObject({ type: 'complex', mutability: 'readOnly' });
      for (const sub of def(resource, 'meta').subAttributes ?? []) expect(sub.mutability).toBe('readOnly');
    }
    expect(def('User', 'meta.created').type).toBe('dateTime');
    expect(def('User', 'meta.lastModified').type).toBe('dateTime');
    expect(def('User', 'meta.location')).toMatchObject({ type: 'reference', referenceTypes: ['uri'] });
  });

  it('enterprise: employeeNumber unique in the server; manager.displayName readOnly', () => {
    expect(def('User', enterprise('employeeNumber'))).toMatchObject({ type: 'string', uniqueness: 'server' });
    expect(def('User', enterprise('manager'))).toMatchObject({ type: 'complex', multiValued: false, mutability: 'readWrite' });
    expect(def('User', enterprise('manager.value')).mutability).toBe('readWrite');
    expect(def('User', enterprise('manager.$ref'))).toMatchObject({ type: 'reference', referenceTypes: ['User'] });
    expect(def('User', enterprise('manager.displayName')).mutability).toBe('readOnly');
  });

  it('Group: displayName required and unique; members immutable references to Users and Groups', () => {
    expect(def('Group', 'displayName')).toMatchObject({ required: true, uniqueness: 'server', caseExact: false });
    expect(def('Group', 'members')).toMatchObject({ type: 'complex', multiValued: true, mutability: 'readWrite' });
    expect(def('Group', 'members.value').mutability).toBe('immutable');
    expect(def('Group', 'members.$ref')).toMatchObject({ type: 'reference', referenceTypes: ['User', 'Group'], mutability: 'immutable' });
    expect(def('Group', 'members.type')).toMatchObject({ canonicalValues: ['User', 'Group'], mutability: 'immutable' });
    expect(def('Group', 'members.display').mutability).toBe('readOnly');
  });

  it('every attribute carries every characteristic, sub-attributes one level deep', () => {
    const all = [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA].flatMap((s) => s.attributes);
    for (const a of all) {
      for (const x of [a, ...(a.subAttributes ?? [])]) {
        expect(Object.keys(x)).toEqual(expect.arrayContaining(['name', 'type', 'multiValued', 'description', 'required', 'caseExact', 'mutability', 'returned', 'uniqueness']));
        expect(x.description).not.toBe('');
        if (x.type === 'reference') expect(x.referenceTypes?.length).toBeGreaterThan(0);
        expect(x.subAttributes !== undefined).toBe(x.type === 'complex');
        if (x !== a) expect(x.type).not.toBe('complex');
      }
    }
  });
});

describe('helpers', () => {
  it.each([
    ['User', 'id', true],
    ['User', 'ID', true],
    ['User', 'externalId', true],
    ['User', 'userName', false],
    ['User', 'emails.value', false],
    ['User', 'meta.location', true],
    ['Group', 'id', true],
    ['Group', 'displayName', false],
    ['User', 'nickName', false],
  ])('isCaseExact(%s, %s) is %s', (resource, path, expected) => {
    expect(isCaseExact(resource, path)).toBe(expected);
  });

  it.each([
    ['User', 'id', 'readOnly'],
    ['User', 'meta.created', 'readOnly'],
    ['User', 'groups', 'readOnly'],
    ['User', 'groups.display', 'readOnly'],
    ['User', 'password', 'writeOnly'],
    ['User', 'userName', 'readWrite'],
    ['User', enterprise('manager.displayName'), 'readOnly'],
    ['User', enterprise('department'), 'readWrite'],
    ['Group', 'members.value', 'immutable'],
    ['Group', 'members.display', 'readOnly'],
    ['User', 'nickName', undefined],
  ])('mutability(%s, %s) is %s', (resource, path, expected) => {
    expect(mutability(resource, path)).toBe(expected);
    expect(isReadOnly(resource, path)).toBe(expected === 'readOnly');
  });
});

describe('serviceProviderConfig', () => {
  const config = serviceProviderConfig(`${BASE}/`, LIMITS);

  it('has the ServiceProviderConfig schema and meta', () => {
    expect(config.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig']);
    expect(config.meta).toEqual({ resourceType: 'ServiceProviderConfig', location: `${BASE}/ServiceProviderConfig` });
  });

  it('says what is supported, with the limits given', () => {
    expect(config).toMatchObject({
      patch: { supported: true },
      bulk: { supported: true, maxOperations: 100, maxPayloadSize: 1_048_576 },
      filter: { supported: true, maxResults: 200 },
      changePassword: { supported: true },
      sort: { supported: true },
      etag: { supported: true },
    });
  });

  it('offers one primary OAuth bearer token scheme', () => {
    expect(config.authenticationSchemes).toEqual([
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'Authentication scheme using the OAuth Bearer Token Standard',
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
        primary: true,
      },
    ]);
  });
});

describe('resourceTypes', () => {
  const types = resourceTypes(BASE);

  it('User comes first, at /Users (Entra ID reads ResourceTypes[0].endpoint)', () => {
    expect(types[0]?.endpoint).toBe('/Users');
    expect(types.map((t) => t.id)).toEqual(['User', 'Group']);
  });

  it('each has the ResourceType schema and its own meta', () => {
    for (const t of types) {
      expect(t.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:ResourceType']);
      expect(t.meta).toEqual({ resourceType: 'ResourceType', location: `${BASE}/ResourceTypes/${t.id}` });
    }
  });

  it('User has the core schema and the optional enterprise extension; Group has none', () => {
    expect(types[0]).toMatchObject({
      name: 'User',
      schema: 'urn:ietf:params:scim:schemas:core:2.0:User',
      schemaExtensions: [{ schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', required: false }],
    });
    expect(types[1]).toMatchObject({ name: 'Group', endpoint: '/Groups', schema: 'urn:ietf:params:scim:schemas:core:2.0:Group' });
    expect(types[1]?.schemaExtensions).toBeUndefined();
  });
});

describe('schemas', () => {
  const list = schemas(`${BASE}//`);

  it('serves the three schemas, each a Schema resource with its location', () => {
    expect(list.map((s) => s.id)).toEqual([
      'urn:ietf:params:scim:schemas:core:2.0:User',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      'urn:ietf:params:scim:schemas:core:2.0:Group',
    ]);
    for (const s of list) {
      expect(s.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:Schema']);
      expect(s.meta).toEqual({ resourceType: 'Schema', location: `${BASE}/Schemas/${s.id}` });
      expect(s.attributes.length).toBeGreaterThan(0);
    }
  });

  it('names and descriptions, "User Account" for User as Microsoft\'s conformance tests expect', () => {
    expect(list.map((s) => [s.name, s.description])).toEqual([
      ['User', 'User Account'],
      ['EnterpriseUser', 'Enterprise User'],
      ['Group', 'Group'],
    ]);
    expect(JSON.stringify(list)).toContain('User Account');
  });

  it('the served attributes are the definitions the lookups use', () => {
    expect(list[0]?.attributes).toBe(USER_SCHEMA.attributes);
    expect(JSON.parse(JSON.stringify(list[2]))).toMatchObject({ attributes: JSON.parse(JSON.stringify(GROUP_SCHEMA.attributes)) });
  });
});
