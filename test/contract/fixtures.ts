/**
 * A small but realistic directory, made through the API, so that contract checks see filled-in
 * objects and non-empty arrays: users with phones, addresses, custom attributes and a manager;
 * a group nested in another; a SAML application; associations made directly and through groups.
 */
import { expect } from 'vitest';
import { operatorContext } from '../../src/core/context.js';
import type { OrgId } from '../../src/core/ids.js';
import type { RoleName } from '../../src/core/roles.js';
import type { TestApi } from '../support/api.js';

export type Res = Awaited<ReturnType<TestApi['call']>>;

export interface Fixtures {
  /** Manages ann. */
  maraId: string;
  /** Direct member of engineering, manager mara, LDAP access directly. */
  annId: string;
  /** Staged; member of backend, so of engineering through nesting. */
  bobId: string;
  engineeringId: string;
  /** Nested in engineering; associated with the LDAP server. */
  backendId: string;
  appId: string;
  ldapId: string;
  /** Associated with ann directly and with backend. */
  radiusId: string;
  readOnly: { adminId: string; key: string };
  commandRunner: { adminId: string; key: string };
}

/** A well-formed id that names nothing. */
export const MISSING_ID = 'ffffffffffffffffffffffff';

let serial = 0;
/** Unique per run, so cases that create objects never collide. */
export const uniq = (prefix: string): string => `${prefix}${Date.now().toString(36)}${(serial += 1).toString(36)}`;

export function ok(res: Res, status = 200): any {
  expect(res.statusCode, res.body).toBe(status);
  return status === 204 ? undefined : res.json();
}

export const PASSWORD = 'Correct-Horse-Battery-42';

export function fullUser(username: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    username,
    email: `${username}@acme.test`,
    firstname: 'Ann',
    middlename: 'Q',
    lastname: 'Example',
    displayname: 'Ann Q. Example',
    employeeIdentifier: `E-${username}`,
    employeeType: 'full-time',
    jobTitle: 'Site Reliability Engineer',
    department: 'Engineering',
    company: 'Acme',
    costCenter: 'CC-200',
    location: 'Lisbon',
    alternateEmail: `${username}.alt@example.test`,
    description: 'On call for the platform team',
    phoneNumbers: [
      { type: 'work', number: '+351 21 000 0002' },
      { type: 'mobile', number: '+351 91 000 0002' },
    ],
    addresses: [
      {
        type: 'work',
        poBox: '',
        extendedAddress: 'Floor 3',
        streetAddress: 'Avenida da Liberdade 1',
        locality: 'Lisboa',
        region: 'Lisboa',
        postalCode: '1250-096',
        country: 'PT',
      },
    ],
    attributes: [
      { name: 'shell', value: '/bin/zsh' },
      { name: 'team', value: 'platform' },
    ],
    sudo: true,
    password_never_expires: true,
    password: PASSWORD,
    ...extra,
  };
}

/** A SAML application configured the way JumpCloud's catalogue shapes it: each setting an object with a value. */
export function samlApp(name: string): Record<string, unknown> {
  const field = (label: string, value: string, position: number) => ({
    type: 'text',
    label,
    value,
    position,
    required: true,
    visible: true,
    readOnly: false,
    toggle: '',
    options: '',
    tooltip: { template: `The ${label} of the service provider`, variables: {} },
  });
  return {
    name,
    displayName: 'Acme Wiki',
    displayLabel: 'Wiki',
    ssoUrl: 'https://sso.acme.test/saml2/wiki',
    learnMore: 'https://wiki.acme.test/help/sso',
    color: '#006CAC',
    logo: { url: 'https://wiki.acme.test/logo.png' },
    active: true,
    beta: false,
    config: {
      acsUrl: field('ACS URL', 'https://wiki.acme.test/saml/acs', 1),
      spEntityId: field('SP Entity ID', 'https://wiki.acme.test/saml/metadata', 2),
      idpEntityId: field('IdP Entity ID', 'https://sso.acme.test/wiki', 3),
      idpCertificate: { ...field('IdP Certificate', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----', 4), type: 'file' },
      idpPrivateKey: { ...field('IdP Private Key', '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----', 5), type: 'file' },
      constantAttributes: {
        type: 'list',
        label: 'Constant attributes',
        position: 6,
        mutable: true,
        required: false,
        visible: true,
        readOnly: false,
        value: [{ name: 'tenant', value: 'acme', required: false, visible: true, readOnly: false }],
      },
      databaseAttributes: { position: 7 },
    },
    sso: { type: 'saml', jit: false, hidden: false, beta: false },
  };
}

async function adminWithKey(t: TestApi, roleName: RoleName): Promise<{ adminId: string; key: string }> {
  const ctx = operatorContext(t.orgId as OrgId);
  const admin = await t.core.administrators.create(ctx, { email: `${uniq('admin')}@acme.test`, firstname: roleName, lastname: 'Admin', roleName });
  const issued = await t.core.apiKeys.issue(ctx, admin.id, { name: 'contract test' });
  return { adminId: admin.id, key: issued.secret };
}

export async function seed(t: TestApi): Promise<Fixtures> {
  const mara = ok(
    await t.call('POST', '/api/systemusers', {
      body: fullUser('mara.lopez', { firstname: 'Mara', lastname: 'Lopez', displayname: 'Mara Lopez', jobTitle: 'VP Engineering', attributes: [{ name: 'badge', value: '1001' }] }),
    }),
  );
  const ann = ok(await t.call('POST', '/api/systemusers', { body: fullUser('ann.example', { manager: mara._id, unix_uid: 10001, unix_guid: 10001 }) }));
  const bob = ok(
    await t.call('POST', '/api/systemusers', {
      body: { username: 'bob.staged', email: 'bob.staged@acme.test', firstname: 'Bob', lastname: 'Staged', department: 'Engineering', state: 'STAGED' },
    }),
  );
  const groupAttributes = {
    posixGroups: [{ id: 5100, name: 'engineering' }],
    sudo: { enabled: false, withoutPassword: false },
    ldapGroups: [{ name: 'engineering' }],
    radius: { reply: [{ name: 'Session-Timeout', value: '3600' }] },
    sambaEnabled: false,
  };
  const engineering = ok(
    await t.call('POST', '/api/v2/usergroups', { body: { name: 'engineering', description: 'Everyone who builds things', email: 'eng@acme.test', attributes: groupAttributes } }),
    201,
  );
  const backend = ok(await t.call('POST', '/api/v2/usergroups', { body: { name: 'backend', description: 'Server side', attributes: { ldapGroups: [{ name: 'backend' }] } } }), 201);
  const member = (groupId: string, type: string, id: string) => t.call('POST', `/api/v2/usergroups/${groupId}/members`, { body: { op: 'add', type, id } });
  ok(await member(engineering.id, 'user', ann._id), 204);
  ok(await member(backend.id, 'user', bob._id), 204);
  ok(await member(engineering.id, 'user_group', backend.id), 204);

  const app = ok(await t.call('POST', '/api/applications', { body: samlApp('acme-wiki') }));
  const grantApp = (type: string, id: string) => t.call('POST', `/api/v2/applications/${app._id}/associations`, { body: { op: 'add', type, id } });
  ok(await grantApp('user_group', engineering.id), 204);
  ok(await grantApp('user', mara._id), 204);

  const ldap = ok(await t.call('GET', '/api/v2/ldapservers'))[0];
  expect(ldap?.id, 'the bootstrapped LDAP server').toBeTypeOf('string');
  const grantLdap = (type: string, id: string) => t.call('POST', `/api/v2/ldapservers/${ldap.id}/associations`, { body: { op: 'add', type, id } });
  ok(await grantLdap('user', ann._id), 204);
  ok(await grantLdap('user_group', backend.id), 204);

  const radius = ok(
    await t.call('POST', '/api/radiusservers', {
      body: { name: 'office-wifi', networkSourceIp: '192.0.2.0/24, 2001:db8::/32', sharedSecret: 'contract-shared-secret', mfa: 'ENABLED', tagNames: ['wifi'] },
    }),
  );
  const grantRadius = (type: string, id: string) => t.call('POST', `/api/v2/radiusservers/${radius._id}/associations`, { body: { op: 'add', type, id } });
  ok(await grantRadius('user', ann._id), 204);
  ok(await grantRadius('user_group', backend.id), 204);

  return {
    maraId: mara._id,
    annId: ann._id,
    bobId: bob._id,
    engineeringId: engineering.id,
    backendId: backend.id,
    appId: app._id,
    ldapId: ldap.id,
    radiusId: radius._id,
    readOnly: await adminWithKey(t, 'Read Only'),
    commandRunner: await adminWithKey(t, 'Command Runner'),
  };
}
