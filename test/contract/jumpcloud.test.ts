/**
 * Contract test: every Roster endpoint that JumpCloud's API v1/v2 specs describe answers with the
 * status the spec gives, and a body that validates against the spec's schema for that path, method
 * and status. One test per (method, path, status).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorFor } from '../../src/app/cloud-connectors.js';
import { openTestApi, type Call, type TestApi } from '../support/api.js';
import { startGoogleEmulator, type GoogleEmulator } from '../support/google-emulator.js';
import { startGraphEmulator, type GraphEmulator } from '../support/graph-emulator.js';
import { fullUser, MISSING_ID, ok, samlApp, seed, uniq, type Fixtures, type Res } from './fixtures.js';
import {
  componentSchema,
  expectMatchesSchema,
  expectSpecResponse,
  loadSpec,
  normalizePath,
  operationOf,
  registeredRoutes,
  SPECS,
  successStatuses,
  type LoadedSpec,
  type SpecName,
} from './spec.js';

let t: TestApi;
let f: Fixtures;
const specs = {} as Record<SpecName, LoadedSpec>;

let google: GoogleEmulator;
let graph: GraphEmulator;

beforeAll(async () => {
  [specs.v1, specs.v2, t, google, graph] = await Promise.all([loadSpec('v1'), loadSpec('v2'), openTestApi(), startGoogleEmulator({ domain: 'contract.example' }), startGraphEmulator({ domain: 'contract365.example' })]);
  f = await seed(t);
  // The import lists read the suites through the real connectors, here against the emulators.
  t.core.cloudDirectories.useReader((connection) => connectorFor(connection).read(null));
  google.addUser({ primaryEmail: `import.me@${google.domain}`, givenName: 'Import', familyName: 'Me' });
  graph.admin.createUser({ userPrincipalName: `import.me@${graph.domain}`, displayName: 'Import Me', givenName: 'Import', surname: 'Me', accountEnabled: true });
});

afterAll(async () => {
  await t?.dispose();
  await google?.close();
  await graph?.close();
});

const call = (method: string, url: string, options?: Call): Promise<Res> => t.call(method, url, options);
const noKey: Call = { key: null };

interface Case {
  spec: SpecName;
  method: string;
  /** As written in the spec, without the server prefix. */
  path: string;
  status: number;
  run: () => Promise<Res>;
  /** That the fixtures really reached the response, so the schema saw filled-in data. */
  check?: (body: any) => void;
}

const v1 = (method: string, path: string, status: number, run: Case['run'], check?: Case['check']): Case => ({ spec: 'v1', method, path, status, run, ...(check ? { check } : {}) });
const v2 = (method: string, path: string, status: number, run: Case['run'], check?: Case['check']): Case => ({ spec: 'v2', method, path, status, run, ...(check ? { check } : {}) });

const nonEmpty = (list: unknown[]) => expect(list.length).toBeGreaterThan(0);
/** One AD domain for the Active Directory cases, made on first use. */
let adDomainMade: Promise<{ id: string }> | undefined;
const adDomain = () => (adDomainMade ??= call('POST', '/api/v2/activedirectories', { body: { domain: `${uniq('ad')}.example.test` } }).then((r) => ok(r, 201)));
const ids = (list: { id: string }[]) => list.map((x) => x.id);
/** One Google Workspace and one Microsoft 365 directory for their cases, made on first use, connected to the emulators. */
const cloudMade: Partial<Record<'gsuites' | 'office365s', Promise<{ id: string }>>> = {};
const cloudDirectory = (path: 'gsuites' | 'office365s') =>
  (cloudMade[path] ??= call('POST', `/api/v2/${path}`, {
    body:
      path === 'gsuites'
        ? { domain: google.domain, adminEmail: google.adminEmail, serviceAccountKey: google.serviceAccountKey, endpoints: { rootUrl: google.rootUrl, tokenUrl: google.tokenUrl } }
        : { domain: graph.domain, tenantId: graph.tenantId, clientId: graph.clientId, clientSecret: graph.clientSecret, endpoints: { authorityHost: graph.authorityHost, graphBaseUrl: graph.graphBaseUrl }, caCertificates: graph.ca },
  }).then((r) => ok(r, 201)));
const cloudCases = (path: 'gsuites' | 'office365s', param: string, builtIn: string): Case[] => {
  const dir = () => cloudDirectory(path);
  const rule = async () => ok(await call('POST', `/api/v2/${path}/${(await dir()).id}/translationrules`, { body: { builtIn, direction: 'export' } }), 201);
  const ruleMade: { rule?: Promise<{ id: string }> } = {};
  const oneRule = () => (ruleMade.rule ??= rule());
  const associated = async () => {
    const d = await dir();
    await call('POST', `/api/v2/${path}/${d.id}/associations`, { body: { op: 'add', type: 'user_group', id: f.backendId } });
    return d;
  };
  return [
    v2('GET', `/${path}/{${path === 'gsuites' ? 'id' : param}}`, 200, async () => call('GET', `/api/v2/${path}/${(await dir()).id}`), (b) => expect(b.groupsEnabled).toBe(true)),
    v2('PATCH', `/${path}/{${path === 'gsuites' ? 'id' : param}}`, 200, async () => call('PATCH', `/api/v2/${path}/${(await dir()).id}`, { body: { name: 'Renamed' } }), (b) => expect(b.name).toBe('Renamed')),
    v2('POST', `/${path}/{${param}}/associations`, 204, async () => call('POST', `/api/v2/${path}/${(await dir()).id}/associations`, { body: { op: 'add', type: 'user_group', id: f.backendId } })),
    v2('GET', `/${path}/{${param}}/associations`, 200, async () => call('GET', `/api/v2/${path}/${(await associated()).id}/associations?targets=user_group`), (b) => expect(targets(b)).toEqual([f.backendId])),
    v2('GET', `/${path}/{${param}}/users`, 200, async () => call('GET', `/api/v2/${path}/${(await associated()).id}/users?limit=100`), (b) => (expect(ids(b)).toEqual(expect.arrayContaining([f.bobId])), someIndirect(b))),
    v2('GET', `/${path}/{${param}}/usergroups`, 200, async () => call('GET', `/api/v2/${path}/${(await associated()).id}/usergroups`), (b) => expect(ids(b)).toEqual(expect.arrayContaining([f.backendId]))),
    v2('POST', `/${path}/{${param}}/translationrules`, 201, async () => {
      const d = await dir();
      const made = ok(await call('POST', `/api/v2/${path}/${d.id}/translationrules`, { body: { builtIn: path === 'gsuites' ? 'user_primary_organization_department' : 'user_department', direction: 'export' } }), 201);
      await call('DELETE', `/api/v2/${path}/${d.id}/translationrules/${made.id}`);
      return call('POST', `/api/v2/${path}/${d.id}/translationrules`, { body: { builtIn: path === 'gsuites' ? 'user_primary_organization_department' : 'user_department', direction: 'export' } });
    }, (b) => expect(b.direction).toBe('export')),
    v2('GET', `/${path}/{${param}}/translationrules`, 200, async () => (await oneRule(), call('GET', `/api/v2/${path}/${(await dir()).id}/translationrules`)), nonEmpty),
    v2('GET', `/${path}/{${param}}/translationrules/{id}`, 200, async () => call('GET', `/api/v2/${path}/${(await dir()).id}/translationrules/${(await oneRule()).id}`), (b) => expect(b.builtIn).toBe(builtIn)),
    v2('DELETE', `/${path}/{${param}}/translationrules/{id}`, 204, async () => {
      const d = await dir();
      const made = ok(await call('POST', `/api/v2/${path}/${d.id}/translationrules`, { body: { builtIn: path === 'gsuites' ? 'user_primary_organization_cost_center' : 'user_office_location', direction: 'export' } }), 201);
      return call('DELETE', `/api/v2/${path}/${d.id}/translationrules/${made.id}`);
    }),
    v2('GET', `/${path}/{${param}}/import/users`, 200, async () => call('GET', `/api/v2/${path}/${(await dir()).id}/import/users`), (b) => expect(b.users.length).toBeGreaterThan(0)),
  ];
};
/** Graph results reached through a group carry paths of two edges or more. */
const someIndirect = (list: { paths: unknown[][] }[]) => expect(list.some((r) => r.paths.some((p) => p.length >= 2))).toBe(true);
const richUsers = (users: any[]) => {
  expect(users.some((u) => u.phoneNumbers?.length > 0 && u.addresses?.length > 0 && u.attributes?.length > 0)).toBe(true);
  expect(users.some((u) => typeof u.manager === 'string')).toBe(true);
};
const newUser = async () => ok(await call('POST', '/api/systemusers', { body: fullUser(uniq('u')) }));
const newGroup = async () => ok(await call('POST', '/api/v2/usergroups', { body: { name: uniq('g') } }), 201);
const newApp = async () => ok(await call('POST', '/api/applications', { body: samlApp(uniq('app')) }));
let radiusRange = 0;
/** A RADIUS server whose addresses no other server uses. */
const newRadius = () => ({ name: uniq('radius'), networkSourceIp: `198.18.${(radiusRange += 1)}.0/24`, sharedSecret: 'contract-shared-secret' });
/** The ids a list of connections points to. */
const targets = (list: { to: { id: string } }[]) => list.map((c) => c.to.id);

const CASES: Case[] = [
  // ── v1 systemusers ──
  v1('GET', '/systemusers', 200, () => call('GET', '/api/systemusers?limit=100'), (b) => (expect(b.totalCount).toBeGreaterThanOrEqual(3), richUsers(b.results))),
  v1('GET', '/systemusers', 401, () => call('GET', '/api/systemusers', noKey)),
  v1('POST', '/systemusers', 200, () => call('POST', '/api/systemusers', { body: fullUser(uniq('new'), { manager: f.maraId }) }), (b) => richUsers([b])),
  v1('POST', '/systemusers', 400, () => call('POST', '/api/systemusers', { body: { username: uniq('noemail') } }), (b) => nonEmpty(b.details)),
  v1('POST', '/systemusers', 401, () => call('POST', '/api/systemusers', { ...noKey, body: fullUser(uniq('nokey')) })),
  v1('GET', '/systemusers/{id}', 200, () => call('GET', `/api/systemusers/${f.annId}`), (b) => (richUsers([b]), expect(b.activated).toBe(true))),
  v1('GET', '/systemusers/{id}', 401, () => call('GET', `/api/systemusers/${f.annId}`, noKey)),
  v1('PUT', '/systemusers/{id}', 200, () => call('PUT', `/api/systemusers/${f.annId}`, { body: { jobTitle: 'Staff SRE', phoneNumbers: [{ type: 'home', number: '+351 21 999 0000' }] } }), (b) => richUsers([b])),
  v1('PUT', '/systemusers/{id}', 400, () => call('PUT', `/api/systemusers/${f.annId}`, { body: { unix_uid: 0 } }), (b) => nonEmpty(b.details)),
  v1('PUT', '/systemusers/{id}', 401, () => call('PUT', `/api/systemusers/${f.annId}`, { ...noKey, body: { jobTitle: 'x' } })),
  v1('DELETE', '/systemusers/{id}', 200, async () => call('DELETE', `/api/systemusers/${(await newUser())._id}`)),
  v1('DELETE', '/systemusers/{id}', 401, () => call('DELETE', `/api/systemusers/${f.annId}`, noKey)),
  v1('DELETE', '/systemusers/{id}', 409, () => call('DELETE', `/api/systemusers/${f.maraId}`)),
  v1('POST', '/search/systemusers', 200, () => call('POST', '/api/search/systemusers', { body: { filter: [{ department: 'Engineering' }] } }), (b) => (expect(b.totalCount).toBeGreaterThanOrEqual(3), richUsers(b.results))),
  v1('POST', '/search/systemusers', 401, () => call('POST', '/api/search/systemusers', { ...noKey, body: {} })),
  ...(['unlock', 'expire', 'state/activate', 'resetmfa'] as const).flatMap((action) => [
    v1('POST', `/systemusers/{id}/${action}`, 200, async () => call('POST', `/api/systemusers/${(await newUser())._id}/${action}`)),
    v1('POST', `/systemusers/{id}/${action}`, 401, () => call('POST', `/api/systemusers/${f.bobId}/${action}`, noKey)),
    v1('POST', `/systemusers/{id}/${action}`, 403, () => call('POST', `/api/systemusers/${f.bobId}/${action}`, { key: f.readOnly.key })),
    v1('POST', `/systemusers/{id}/${action}`, 404, () => call('POST', `/api/systemusers/${MISSING_ID}/${action}`)),
  ]),
  // ── v1 administrators (PUT is the one /users operation the spec gives) ──
  v1('PUT', '/users/{id}', 200, () => call('PUT', `/api/users/${f.readOnly.adminId}`, { body: { firstname: 'Rita', lastname: 'Reader' } }), (b) => expect(b.firstname).toBe('Rita')),
  v1('PUT', '/users/{id}', 400, () => call('PUT', `/api/users/${f.readOnly.adminId}`, { body: { roleName: 'Overlord' } })),
  v1('PUT', '/users/{id}', 401, () => call('PUT', `/api/users/${f.readOnly.adminId}`, { ...noKey, body: { firstname: 'x' } })),
  v1('PUT', '/users/{id}', 403, () => call('PUT', `/api/users/${t.adminId}`, { key: f.readOnly.key, body: { roleName: 'Read Only' } })),
  v1('PUT', '/users/{id}', 404, () => call('PUT', `/api/users/${MISSING_ID}`, { body: { firstname: 'x' } })),
  // ── v1 applications ──
  v1('GET', '/applications', 200, () => call('GET', '/api/applications'), (b) => (nonEmpty(b.results), expect(b.results[0].config.acsUrl.value).toMatch(/^https:/))),
  v1('POST', '/applications', 200, () => call('POST', '/api/applications', { body: samlApp(uniq('app')) }), (b) => expect(b.config.idpPrivateKey.value).toBe('[REDACTED]')),
  v1('POST', '/applications', 400, () => call('POST', '/api/applications', { body: { name: uniq('app'), color: 'plaid' } })),
  v1('GET', '/applications/{id}', 200, () => call('GET', `/api/applications/${f.appId}`), (b) => expect(b.config.constantAttributes.value).toHaveLength(1)),
  v1('PUT', '/applications/{id}', 200, () => call('PUT', `/api/applications/${f.appId}`, { body: { displayLabel: 'Team wiki', color: '#3E8696' } })),
  v1('PUT', '/applications/{id}', 400, () => call('PUT', `/api/applications/${f.appId}`, { body: { color: 'plaid' } })),
  v1('DELETE', '/applications/{id}', 200, async () => call('DELETE', `/api/applications/${ok(await call('POST', '/api/applications', { body: samlApp(uniq('gone')) }))._id}`)),
  // ── v1 RADIUS servers ──
  v1('GET', '/radiusservers', 200, () => call('GET', '/api/radiusservers'), (b) => (nonEmpty(b.results), expect(b.results[0]).not.toHaveProperty('sharedSecret'))),
  v1('POST', '/radiusservers', 200, () => call('POST', '/api/radiusservers', { body: newRadius() }), (b) => expect(b).not.toHaveProperty('sharedSecret')),
  v1('GET', '/radiusservers/{id}', 200, () => call('GET', `/api/radiusservers/${f.radiusId}`), (b) => expect(b.networkSourceIp).toBe('192.0.2.0/24,2001:db8::/32')),
  v1('PUT', '/radiusservers/{id}', 200, () => call('PUT', `/api/radiusservers/${f.radiusId}`, { body: { userPasswordExpirationAction: 'MAINTAIN', tagNames: ['wifi', 'hq'] } })),
  v1('DELETE', '/radiusservers/{id}', 200, async () => call('DELETE', `/api/radiusservers/${ok(await call('POST', '/api/radiusservers', { body: newRadius() }))._id}`)),
  // ── v1 organizations ──
  v1('GET', '/organizations', 200, () => call('GET', '/api/organizations'), (b) => nonEmpty(b.results)),
  v1('GET', '/organizations/{id}', 200, () => call('GET', `/api/organizations/${t.orgId}`), (b) => expect(Object.keys(b.settings.passwordPolicy).length).toBeGreaterThan(5)),
  v1('GET', '/organizations/{id}', 401, () => call('GET', `/api/organizations/${t.orgId}`, noKey)),
  v1('GET', '/organizations/{id}', 403, () => call('GET', `/api/organizations/${t.orgId}`, { key: f.commandRunner.key })),
  v1('PUT', '/organizations/{id}', 200, () => call('PUT', `/api/organizations/${t.orgId}`, { body: { settings: { passwordPolicy: { enablePasswordExpirationInDays: true, passwordExpirationInDays: 90 } } } })),
  v1('PUT', '/organizations/{id}', 400, () => call('PUT', `/api/organizations/${t.orgId}`, { body: { settings: { passwordPolicy: { minLength: 'long' } } } })),
  v1('PUT', '/organizations/{id}', 401, () => call('PUT', `/api/organizations/${t.orgId}`, { ...noKey, body: { displayName: 'x' } })),

  // ── v2 user groups ──
  v2('GET', '/usergroups', 200, () => call('GET', '/api/v2/usergroups?limit=100'), (b) => expect(b.some((g: any) => g.attributes?.posixGroups?.length > 0)).toBe(true)),
  v2('GET', '/usergroups', 400, () => call('GET', '/api/v2/usergroups?filter=name:bogus:x')),
  v2('POST', '/usergroups', 201, () => call('POST', '/api/v2/usergroups', { body: { name: uniq('g'), description: 'new', attributes: { sudo: { enabled: true, withoutPassword: false } } } })),
  v2('GET', '/usergroups/{id}', 200, () => call('GET', `/api/v2/usergroups/${f.engineeringId}`), (b) => expect(b.attributes.radius.reply).toHaveLength(1)),
  v2('PUT', '/usergroups/{id}', 200, () => call('PUT', `/api/v2/usergroups/${f.backendId}`, { body: { name: 'backend', description: 'Server side, APIs' } })),
  v2('DELETE', '/usergroups/{id}', 200, async () => call('DELETE', `/api/v2/usergroups/${(await newGroup()).id}`)),
  v2('GET', '/usergroups/{group_id}/members', 200, () => call('GET', `/api/v2/usergroups/${f.engineeringId}/members`), (b) => expect(targets(b).sort()).toEqual([f.annId, f.backendId].sort())),
  v2('POST', '/usergroups/{group_id}/members', 204, async () => call('POST', `/api/v2/usergroups/${(await newGroup()).id}/members`, { body: { op: 'add', type: 'user', id: f.maraId } })),
  v2('GET', '/usergroups/{group_id}/membership', 200, () => call('GET', `/api/v2/usergroups/${f.engineeringId}/membership`), (b) => (expect(ids(b)).toEqual(expect.arrayContaining([f.annId, f.bobId])), someIndirect(b))),
  v2('GET', '/usergroups/{group_id}/associations', 200, () => call('GET', `/api/v2/usergroups/${f.engineeringId}/associations?targets=application`), (b) => expect(targets(b)).toEqual([f.appId])),
  v2('POST', '/usergroups/{group_id}/associations', 204, async () => call('POST', `/api/v2/usergroups/${(await newGroup()).id}/associations`, { body: { op: 'add', type: 'application', id: (await newApp())._id } })),
  v2('GET', '/usergroups/{group_id}/applications', 200, () => call('GET', `/api/v2/usergroups/${f.engineeringId}/applications`), (b) => expect(ids(b)).toEqual([f.appId])),
  v2('GET', '/usergroups/{group_id}/directories', 200, () => call('GET', `/api/v2/usergroups/${f.backendId}/directories`), (b) => expect(ids(b)).toEqual([f.ldapId])),
  v2('GET', '/usergroups/{group_id}/ldapservers', 200, () => call('GET', `/api/v2/usergroups/${f.backendId}/ldapservers`), (b) => expect(ids(b)).toEqual([f.ldapId])),
  // ── v2 users ──
  v2('GET', '/users/{user_id}/memberof', 200, () => call('GET', `/api/v2/users/${f.bobId}/memberof`), (b) => (expect(ids(b).sort()).toEqual([f.engineeringId, f.backendId].sort()), someIndirect(b))),
  v2('GET', '/users/{user_id}/associations', 200, () => call('GET', `/api/v2/users/${f.annId}/associations?targets=ldap_server`), (b) => expect(targets(b)).toEqual([f.ldapId])),
  v2('POST', '/users/{user_id}/associations', 204, async () => call('POST', `/api/v2/users/${(await newUser())._id}/associations`, { body: { op: 'add', type: 'application', id: (await newApp())._id } })),
  v2('GET', '/users/{user_id}/applications', 200, () => call('GET', `/api/v2/users/${f.bobId}/applications`), (b) => (expect(ids(b)).toEqual([f.appId]), someIndirect(b))),
  v2('GET', '/users/{user_id}/directories', 200, () => call('GET', `/api/v2/users/${f.annId}/directories`), (b) => expect(ids(b)).toEqual([f.ldapId])),
  v2('GET', '/users/{user_id}/ldapservers', 200, () => call('GET', `/api/v2/users/${f.bobId}/ldapservers`), (b) => (expect(ids(b)).toEqual([f.ldapId]), someIndirect(b))),
  // ── v2 applications ──
  v2('GET', '/applications/{application_id}/associations', 200, () => call('GET', `/api/v2/applications/${f.appId}/associations?targets=user&targets=user_group`), (b) => expect(targets(b)).toEqual(expect.arrayContaining([f.maraId, f.engineeringId]))),
  v2('POST', '/applications/{application_id}/associations', 204, async () => call('POST', `/api/v2/applications/${(await newApp())._id}/associations`, { body: { op: 'add', type: 'user', id: (await newUser())._id } })),
  v2('GET', '/applications/{application_id}/users', 200, () => call('GET', `/api/v2/applications/${f.appId}/users?limit=100`), (b) => (expect(ids(b)).toEqual(expect.arrayContaining([f.maraId, f.annId, f.bobId])), someIndirect(b))),
  v2('GET', '/applications/{application_id}/usergroups', 200, () => call('GET', `/api/v2/applications/${f.appId}/usergroups`), (b) => expect(ids(b)).toEqual(expect.arrayContaining([f.engineeringId, f.backendId]))),
  // ── v2 RADIUS servers ──
  v2('GET', '/radiusservers/{radiusserver_id}/associations', 200, () => call('GET', `/api/v2/radiusservers/${f.radiusId}/associations?targets=user&targets=user_group`), (b) => expect(targets(b).sort()).toEqual([f.annId, f.backendId].sort())),
  v2('POST', '/radiusservers/{radiusserver_id}/associations', 204, async () => call('POST', `/api/v2/radiusservers/${f.radiusId}/associations`, { body: { op: 'add', type: 'user', id: (await newUser())._id } })),
  v2('GET', '/radiusservers/{radiusserver_id}/users', 200, () => call('GET', `/api/v2/radiusservers/${f.radiusId}/users?limit=100`), (b) => (expect(ids(b)).toEqual(expect.arrayContaining([f.annId, f.bobId])), someIndirect(b))),
  v2('GET', '/radiusservers/{radiusserver_id}/usergroups', 200, () => call('GET', `/api/v2/radiusservers/${f.radiusId}/usergroups`), (b) => expect(ids(b)).toEqual([f.backendId])),
  v2('GET', '/users/{user_id}/radiusservers', 200, () => call('GET', `/api/v2/users/${f.bobId}/radiusservers`), (b) => (expect(ids(b)).toEqual([f.radiusId]), someIndirect(b))),
  v2('GET', '/usergroups/{group_id}/radiusservers', 200, () => call('GET', `/api/v2/usergroups/${f.backendId}/radiusservers`), (b) => expect(ids(b)).toEqual([f.radiusId])),
  // ── v2 directories and the LDAP server ──
  v2('GET', '/directories', 200, () => call('GET', '/api/v2/directories'), nonEmpty),
  v2('GET', '/directories', 401, () => call('GET', '/api/v2/directories', noKey)),
  v2('GET', '/ldapservers', 200, () => call('GET', '/api/v2/ldapservers'), nonEmpty),
  v2('GET', '/ldapservers/{id}', 200, () => call('GET', `/api/v2/ldapservers/${f.ldapId}`)),
  v2('PATCH', '/ldapservers/{id}', 200, () => call('PATCH', `/api/v2/ldapservers/${f.ldapId}`, { body: { userLockoutAction: 'remove', userPasswordExpirationAction: 'disable' } }), (b) => expect(b.userLockoutAction).toBe('remove')),
  v2('PATCH', '/ldapservers/{id}', 400, () => call('PATCH', `/api/v2/ldapservers/${f.ldapId}`, { body: { userLockoutAction: 'explode' } })),
  v2('GET', '/ldapservers/{ldapserver_id}/associations', 200, () => call('GET', `/api/v2/ldapservers/${f.ldapId}/associations?targets=user&targets=user_group`), (b) => expect(targets(b)).toEqual(expect.arrayContaining([f.annId, f.backendId]))),
  v2('POST', '/ldapservers/{ldapserver_id}/associations', 204, async () => call('POST', `/api/v2/ldapservers/${f.ldapId}/associations`, { body: { op: 'add', type: 'user', id: (await newUser())._id } })),
  v2('GET', '/ldapservers/{ldapserver_id}/users', 200, () => call('GET', `/api/v2/ldapservers/${f.ldapId}/users?limit=100`), (b) => (expect(ids(b)).toEqual(expect.arrayContaining([f.annId, f.bobId])), someIndirect(b))),
  v2('GET', '/ldapservers/{ldapserver_id}/usergroups', 200, () => call('GET', `/api/v2/ldapservers/${f.ldapId}/usergroups`), (b) => expect(ids(b)).toEqual(expect.arrayContaining([f.backendId]))),
  // ── v2 Active Directory ──
  v2('GET', '/activedirectories', 200, async () => (await adDomain(), call('GET', '/api/v2/activedirectories')), nonEmpty),
  v2('POST', '/activedirectories', 201, () => call('POST', '/api/v2/activedirectories', { body: { domain: `${uniq('corp')}.example.test` } }), (b) => expect(b.domain).toMatch(/example\.test$/)),
  v2('GET', '/activedirectories/{id}', 200, async () => call('GET', `/api/v2/activedirectories/${(await adDomain()).id}`), (b) => expect(b.configuration).toBe('ad_authoritative')),
  v2('DELETE', '/activedirectories/{id}', 200, async () => call('DELETE', `/api/v2/activedirectories/${ok(await call('POST', '/api/v2/activedirectories', { body: { domain: `${uniq('gone')}.example.test` } }), 201).id}`)),
  v2('GET', '/activedirectories/{activedirectory_id}/agents', 200, async () => {
    const domain = await adDomain();
    await call('POST', `/api/v2/activedirectories/${domain.id}/agents`, { body: {} });
    return call('GET', `/api/v2/activedirectories/${domain.id}/agents`);
  }, nonEmpty),
  v2('POST', '/activedirectories/{activedirectory_id}/agents', 201, async () => call('POST', `/api/v2/activedirectories/${(await adDomain()).id}/agents`, { body: {} }), (b) => expect(b.connectKey).toMatch(/^rck_/)),
  v2('GET', '/activedirectories/{activedirectory_id}/agents/{agent_id}', 200, async () => {
    const domain = await adDomain();
    const agent = ok(await call('POST', `/api/v2/activedirectories/${domain.id}/agents`, { body: {} }), 201);
    return call('GET', `/api/v2/activedirectories/${domain.id}/agents/${agent.id}`);
  }, (b) => expect(b.state).toBe('unsealed')),
  v2('DELETE', '/activedirectories/{activedirectory_id}/agents/{agent_id}', 204, async () => {
    const domain = await adDomain();
    const agent = ok(await call('POST', `/api/v2/activedirectories/${domain.id}/agents`, { body: {} }), 201);
    return call('DELETE', `/api/v2/activedirectories/${domain.id}/agents/${agent.id}`);
  }),
  v2('POST', '/activedirectories/{activedirectory_id}/associations', 204, async () => call('POST', `/api/v2/activedirectories/${(await adDomain()).id}/associations`, { body: { op: 'add', type: 'user_group', id: f.backendId } })),
  v2('GET', '/activedirectories/{activedirectory_id}/associations', 200, async () => {
    const domain = await adDomain();
    await call('POST', `/api/v2/activedirectories/${domain.id}/associations`, { body: { op: 'add', type: 'user_group', id: f.backendId } });
    return call('GET', `/api/v2/activedirectories/${domain.id}/associations?targets=user_group`);
  }, (b) => expect(targets(b)).toEqual([f.backendId])),
  v2('GET', '/activedirectories/{activedirectory_id}/users', 200, async () => {
    const domain = await adDomain();
    await call('POST', `/api/v2/activedirectories/${domain.id}/associations`, { body: { op: 'add', type: 'user_group', id: f.backendId } });
    return call('GET', `/api/v2/activedirectories/${domain.id}/users?limit=100`);
  }, (b) => (expect(ids(b)).toEqual(expect.arrayContaining([f.bobId])), someIndirect(b))),
  v2('GET', '/activedirectories/{activedirectory_id}/usergroups', 200, async () => {
    const domain = await adDomain();
    await call('POST', `/api/v2/activedirectories/${domain.id}/associations`, { body: { op: 'add', type: 'user_group', id: f.backendId } });
    return call('GET', `/api/v2/activedirectories/${domain.id}/usergroups`);
  }, (b) => expect(ids(b)).toEqual(expect.arrayContaining([f.backendId]))),
  ...cloudCases('gsuites', 'gsuite_id', 'user_primary_organization_title'),
  ...cloudCases('office365s', 'office365_id', 'user_job_title'),
];

describe('JumpCloud contract: responses match the v1 and v2 specs', () => {
  for (const c of CASES) {
    it(`${c.method} ${SPECS[c.spec].prefix}${c.path} → ${c.status}`, async () => {
      const spec = specs[c.spec];
      const op = operationOf(spec, c.method, c.path);
      if (c.status < 300) expect(successStatuses(op), `success status of ${op.operationId}`).toContain(String(c.status));
      const body = expectSpecResponse(spec, c.method, c.path, c.status, await c.run());
      c.check?.(body);
    });
  }
});

describe('JumpCloud contract: endpoints the specs name without an operation, checked against their schemas by hand', () => {
  const userList = () => ({ type: 'object', required: ['totalCount', 'results'], properties: { totalCount: { type: 'integer' }, results: { type: 'array', items: componentSchema(specs.v1, 'userreturn') } } });

  it('GET /api/users → 200 is {totalCount, results: userreturn[]}', async () => {
    const res = await call('GET', '/api/users?limit=100');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.results.length).toBeGreaterThanOrEqual(3);
    expectMatchesSchema(specs.v1, userList(), body, 'GET /api/users vs {totalCount, results: userreturn[]}');
  });

  it('GET /api/users/{id} → 200 is a userreturn', async () => {
    const res = await call('GET', `/api/users/${f.readOnly.adminId}`);
    expect(res.statusCode, res.body).toBe(200);
    expectMatchesSchema(specs.v1, componentSchema(specs.v1, 'userreturn'), res.json(), 'GET /api/users/{id} vs userreturn');
  });

  it('GET /api/v2/usergroups/{group_id}/memberof → 200 is GraphObjectWithPaths[], as /users/{user_id}/memberof', async () => {
    const res = await call('GET', `/api/v2/usergroups/${f.backendId}/memberof`);
    expect(res.statusCode, res.body).toBe(200);
    expect(ids(res.json())).toEqual([f.engineeringId]);
    expectMatchesSchema(specs.v2, { type: 'array', items: componentSchema(specs.v2, 'GraphObjectWithPaths') }, res.json(), 'GET /usergroups/{group_id}/memberof vs GraphObjectWithPaths[]');
  });
});

describe('JumpCloud contract: the checks themselves', () => {
  const fake = (status: number, body: unknown) => ({ statusCode: status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) });

  it('accepts null where the spec says nullable, and rejects it where it does not', () => {
    expectSpecResponse(specs.v1, 'GET', '/systemusers/{id}', 200, fake(200, { _id: 'a', password_date: null, account_locked_date: null }));
    expect(() => expectSpecResponse(specs.v1, 'GET', '/systemusers/{id}', 200, fake(200, { _id: 'a', email: null }))).toThrow(/\/email/);
  });

  it('rejects a wrong type deep inside a body', () => {
    const bad = { totalCount: 1, results: [{ _id: 'a', addresses: [{ postalCode: 1250 }] }] };
    expect(() => expectSpecResponse(specs.v1, 'GET', '/systemusers', 200, fake(200, bad))).toThrow(/\/results\/0\/addresses\/0\/postalCode/);
    expect(() => expectSpecResponse(specs.v2, 'GET', '/usergroups/{group_id}/membership', 200, fake(200, [{ id: 'a', type: 'nobody', paths: [] }]))).toThrow(/\/0\/type/);
  });

  it('rejects an undocumented status, a wrong status and a malformed date-time', () => {
    expect(() => expectSpecResponse(specs.v1, 'GET', '/systemusers/{id}', 404, fake(404, {}))).toThrow(/documents no 404/);
    expect(() => expectSpecResponse(specs.v2, 'POST', '/usergroups', 201, fake(200, { id: 'a' }))).toThrow();
    expect(() => expectMatchesSchema(specs.v1, componentSchema(specs.v1, 'userreturn'), { created: 'yesterday' }, 'userreturn')).toThrow(/\/created/);
  });

  it('covers every Roster route that the JumpCloud specs describe', () => {
    const routes = registeredRoutes(t.app, '/api/');
    expect(routes.length).toBeGreaterThan(40);
    const untested: string[] = [];
    for (const r of routes) {
      const name: SpecName = r.path.startsWith('/api/v2/') ? 'v2' : 'v1';
      const rel = r.path.slice(SPECS[name].prefix.length);
      const described = [...specs[name].operations.values()].some((o) => o.method.toUpperCase() === r.method && normalizePath(o.path) === rel);
      const tested = CASES.some((c) => c.spec === name && c.method === r.method && normalizePath(c.path) === rel && c.status < 300);
      if (described && !tested) untested.push(`${r.method} ${r.path}`);
    }
    expect(untested).toEqual([]);
  });
});
