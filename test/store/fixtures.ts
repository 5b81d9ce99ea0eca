import { emptyProfile } from '../../src/core/services/users.js';
import { expect } from 'vitest';
import { DirectoryError } from '../../src/core/errors.js';
import { newId, type AdminId, type ApiKeyId, type ApplicationId, type DirectoryId, type GroupId, type OrgId, type RadiusServerId, type UserId } from '../../src/core/ids.js';
import type { Administrator, ApiKey, Application, Directory, Organization, RadiusServer, User, UserGroup } from '../../src/core/model.js';
import type { Store } from '../../src/core/ports.js';
import { DEFAULT_SETTINGS } from '../../src/core/services/organizations.js';

/** Plain objects for driving the Store port directly, without the core services. */

const T0 = '2024-01-01T00:00:00.000Z';

export function makeOrg(overrides: Partial<Organization> = {}): Organization {
  return {
    id: newId<OrgId>(),
    displayName: 'Org',
    logoUrl: '',
    settings: structuredClone(DEFAULT_SETTINGS),
    created: T0,
    updated: T0,
    ...overrides,
  };
}

let uidSeed = 20_000;

export function makeUser(orgId: OrgId, overrides: Partial<User> = {}): User {
  const uid = uidSeed++;
  const username = overrides.username ?? `user${uid}`;
  return {
    id: newId<UserId>(),
    orgId,
    username,
    email: `${username}.${uid}@example.com`,
    ...emptyProfile(),
    unixUid: uid,
    unixGuid: uid,
    state: 'ACTIVATED',
    accountLocked: false,
    lockedUntil: null,
    accountLockedDate: null,
    badLoginAttempts: 0,
    lastFailedLogin: null,
    passwordSet: false,
    passwordDate: null,
    passwordExpirationDate: null,
    created: T0,
    updated: T0,
    ...overrides,
  };
}

export function makeGroup(orgId: OrgId, overrides: Partial<UserGroup> = {}): UserGroup {
  return {
    id: newId<GroupId>(),
    orgId,
    name: `group-${newId()}`,
    description: '',
    email: '',
    attributes: {},
    membershipMethod: 'STATIC',
    created: T0,
    updated: T0,
    ...overrides,
  };
}

export function makeAdmin(orgIds: OrgId[], overrides: Partial<Administrator> = {}): Administrator {
  return {
    id: newId<AdminId>(),
    email: `admin-${newId()}@example.com`,
    firstname: '',
    lastname: '',
    roleName: 'Administrator',
    enableMultiFactor: false,
    suspended: false,
    passwordSet: false,
    totpEnrolled: false,
    created: T0,
    updated: T0,
    orgIds,
    ...overrides,
  };
}

export function makeApiKey(adminId: AdminId, overrides: Partial<ApiKey> = {}): ApiKey {
  return {
    id: newId<ApiKeyId>(),
    adminId,
    name: 'key',
    prefix: 'rst_abcdef',
    readOnly: false,
    expiresAt: null,
    created: T0,
    lastUsedAt: null,
    revokedAt: null,
    ...overrides,
  };
}

export function makeApplication(orgId: OrgId, overrides: Partial<Application> = {}): Application {
  return {
    id: newId<ApplicationId>(),
    orgId,
    name: 'app',
    displayName: 'App',
    displayLabel: 'App',
    ssoUrl: '',
    learnMore: '',
    color: '',
    logoUrl: '',
    active: true,
    beta: false,
    config: {},
    sso: {},
    created: T0,
    updated: T0,
    ...overrides,
  };
}

export function makeDirectory(orgId: OrgId, overrides: Partial<Directory> = {}): Directory {
  return {
    id: newId<DirectoryId>(),
    orgId,
    type: 'ldap_server',
    name: 'LDAP',
    config: {},
    created: T0,
    updated: T0,
    ...overrides,
  };
}

export function makeRadiusServer(orgId: OrgId, overrides: Partial<RadiusServer> = {}): RadiusServer {
  return {
    id: newId<RadiusServerId>(),
    orgId,
    name: `radius-${newId()}`,
    networkSourceIps: ['192.0.2.1'],
    mfa: 'DISABLED',
    userCertEnabled: false,
    caCert: null,
    userPasswordExpirationAction: 'REMOVE',
    tagNames: [],
    created: T0,
    updated: T0,
    ...overrides,
  };
}

/** A fresh organization in the store, so each test works on data of its own. */
export async function newOrg(store: Store, overrides: Partial<Organization> = {}): Promise<Organization> {
  const org = makeOrg(overrides);
  await store.transaction((tx) => tx.orgs.insert(org));
  return org;
}

export async function insertUsers(store: Store, ...users: User[]): Promise<void> {
  await store.transaction((tx) => tx.users.insert(users));
}

/** Resolves to the error `promise` rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected the promise to reject');
}

/** Asserts a core conflict error with this code. */
export async function expectConflict(promise: Promise<unknown>, code: string): Promise<void> {
  const e = await rejection(promise);
  expect(e).toBeInstanceOf(DirectoryError);
  expect((e as DirectoryError).kind).toBe('conflict');
  expect((e as DirectoryError).code).toBe(code);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
