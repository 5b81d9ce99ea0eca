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

/** A throwaway IdP key pair for the SAML fixture (Roster checks that an uploaded key matches its certificate). */
const IDP_CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIDETCCAfmgAwIBAgIUSRcvDVjdRB7+6HJITgDqV0fZnf8wDQYJKoZIhvcNAQEL
BQAwGDEWMBQGA1UEAwwNc3NvLmFjbWUudGVzdDAeFw0yNjExMjIxMDExNTlaFw0z
NjExMTkxMDExNTlaMBgxFjAUBgNVBAMMDXNzby5hY21lLnRlc3QwggEiMA0GCSqG
SIb3DQEBAQUAA4IBDwAwggEKAoIBAQCkwCgGYTMttwgENRqaDsEW6jxbqcgzuEig
m0X2ku3B5cUG/0Z/Ox5xXEBjehSaGNeLPdbMNqBa/iSFS3YEMfSfA77GCQdsIkVo
NCkPv0pOhVJzBIWHIMdJjVBbHy2F31yuk/aKU1bLo9fpDobQQMbMv4duIDNLDBLb
U+IhBIPrxfossME1bhTtqldxmG8+q5QVUE7pNLEeQaxjGy6suWhSqUkZ9gEf4HUd
Q/skzuddLjzwnME6Bo8dUCZyWXyC9+cDRDZ5zcoXcKbccv5uBXVI/TWvhS2zO0Uh
dXVn5DbxgziiKE8LD5fJduN21Voo9XORP8LSsBGCJXKGNYVc59oZAgMBAAGjUzBR
MB0GA1UdDgQWBBTliJKGYXKV6YH8xpQ3d6WE+E9TxjAfBgNVHSMEGDAWgBTliJKG
YXKV6YH8xpQ3d6WE+E9TxjAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUA
A4IBAQCCpIygyU1coG20fNVpbYCmduUf5U/DEvIeqIzhpwVwHKuryC7ObEe22WW2
RJkB72VnRcppmy+1yrbJRqR1NToTwLpnVkqR6KAO7xSyKekWUSsR42Hi52sP/vTL
fxwVyP0g+eG8QFYspZEKQRzsz7961F/7LIvmFR52gDW5xXzvHN5PfoUPvPnYy52P
5x+F877wL0MW7C36wlQSk/8TY6omVhPHgrtlyfKJYzq1W+e1/dlnTG23mNbsQ0Cj
j35w/qQU1OMrx2cX0w08wrbMi6ZCLRR3iONT9TugExJ7HFDIBcjNaOtWmebg+t1D
XQoG3Sbzo878IIoBJ5sW0h70hNIH
-----END CERTIFICATE-----`;
const IDP_PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCkwCgGYTMttwgE
NRqaDsEW6jxbqcgzuEigm0X2ku3B5cUG/0Z/Ox5xXEBjehSaGNeLPdbMNqBa/iSF
S3YEMfSfA77GCQdsIkVoNCkPv0pOhVJzBIWHIMdJjVBbHy2F31yuk/aKU1bLo9fp
DobQQMbMv4duIDNLDBLbU+IhBIPrxfossME1bhTtqldxmG8+q5QVUE7pNLEeQaxj
Gy6suWhSqUkZ9gEf4HUdQ/skzuddLjzwnME6Bo8dUCZyWXyC9+cDRDZ5zcoXcKbc
cv5uBXVI/TWvhS2zO0UhdXVn5DbxgziiKE8LD5fJduN21Voo9XORP8LSsBGCJXKG
NYVc59oZAgMBAAECggEACNok9xLJ7oQ4c2FsaH1adUy9/tQvOaLb5CVJARKr9mXO
Ia4dr5W8Rlhal/27QFG4DcyTegLauDOSQByUiW0rDlA5M+gln0hyykKN4kFjpgxr
0wTvLRo0cF3zb1yhfuFILZPYWgkC+jYiJ8JBZCHW4gbN1BD5hegZgJy6jbjxuFKj
cdBtIobcxE8HUx0mF17KLWe22nq2q8gO6Hx3H45kSkfE+7FguZu1sAbU1C0WksEF
/7PdWVLHHgYSdt1Szj5HWdisLPrA+dDhmPqmWteECa8bVd7CC5/2BfbsMvbI7uzr
iKIfaHxum9ysXDmXczps4YMJsGKRtBODM5Bo09MnwQKBgQDbYiDGbQy5lkGBGaG3
VS2OThcZUtaW8RKnrm15cKw1IOxUf2o9/USYjdo47Y3+kPXAMsUVyuBvViELZ3bX
ecTOohPF9pfjekDsDh25R+cvnO1JN/dFVSo3FNb8Pj/RplfqXcZTTlRrVMQWgdPF
JOItTdk79VRYFlyzRuzP0h6bbQKBgQDAP6q2bJXAgLfEcvk/e8wJvQFCnFxGGYBw
vxiOdbamZhPcaNdvv+ZCplk3xVCbQ0iezyeo7Kr8uhvHzlFRUT0oRH7O5u97di5q
UDSOIL90yo+0RZQeFsWePhVAtRsMkpIqrT2hZmAfWTi+7vOM6S95Wf3ltQPx7zvb
6NkcXvlB3QKBgDMh9PeqtRuQfOYFPl8HuF2Br/qUBzYZLDru+c8jRs//Q3YSWIXo
QRO5hFJedAkQamcIrkz9A0CP95W74MQqOofa2Pb8GbzIYtdiFuV3b9f2IIw/Qh/j
0LoT3mPecmt/9N/ISZBjImP91tJUIjLB/QGIMoi6DpWVaLfUYR+zHrUlAoGAVrlh
zUFWnKx0Oc6T2auC87Gra90VUxoV8saB0WIQryfFNdylsueie9aG0L3WCvRjQiC5
B18cEz3xYkUUMdav/AZKHhPXXJ6HebYMv0DOnWTzRqNMmfYz15qyA6qvNRC5lz7n
WnPQUNPy4U7x11Mp81hBTOpHiVAedKmppz7AupECgYA81QDTcdroHfWDKLHC5BKh
nZdOdvRpGJFUmaNnauISyG/wtNuBZ5dNqBZ73x8mZC4v2bF1z0rlEiNDax372yB/
Iowsg+XbjrgiHyp8Zd57+JlJ+NV8/IqJtM9fcPqJmu9+G/q3x/O3ScBgzD2g9TGW
WNVaigtsp/kZ7vcbseq4rg==
-----END PRIVATE KEY-----`;

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
      idpCertificate: { ...field('IdP Certificate', IDP_CERTIFICATE, 4), type: 'file' },
      idpPrivateKey: { ...field('IdP Private Key', IDP_PRIVATE_KEY, 5), type: 'file' },
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
