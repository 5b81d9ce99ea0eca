/**
 * Random and mutated PATCH and Bulk bodies over HTTP (app.inject). Every answer must be a
 * well-formed SCIM response with a 2xx or 4xx status, never a 500; an error must leave the
 * directory as it was (the journal does not move, the target reads the same).
 *
 * Reproduce a run with SCIM_BODY_FUZZ_SEED=<seed>; SCIM_BODY_FUZZ_INPUTS sets how many PATCH
 * bodies each store gets (Bulk bodies: a quarter as many).
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openTestScim, type TestScim } from '../support/scim.js';
import { BULK_REQUEST, ENTERPRISE, ERROR_SCHEMA, journalHead, PATCH_OP, scim } from '../support/scim-requests.js';
import { describeEachStore } from '../support/stores.js';
import { XorShift } from '../support/random.js';

const SEED = Number(process.env.SCIM_BODY_FUZZ_SEED ?? 0x5c1b0d1e) >>> 0;
const INPUTS = Number(process.env.SCIM_BODY_FUZZ_INPUTS ?? 2000);
const SCIM_TYPES = new Set(['invalidFilter', 'invalidSyntax', 'invalidPath', 'noTarget', 'invalidValue', 'mutability', 'tooMany', 'sensitive', 'invalidVers', 'uniqueness']);

const OPS: unknown[] = ['add', 'replace', 'remove', 'Add', 'Replace', 'Remove', 'REPLACE', 'move', 'copy', '', 5, null, true];
const KEYS = ['value', 'type', 'primary', 'display', 'givenName', 'familyName', 'formatted', 'department', 'manager', 'employeeNumber', 'title', 'displayName', 'userName', 'active', 'emails', 'members', 'name', '$ref', 'id', 'meta', 'schemas', 'nickName', '', 'constructor', '__proto__'];

interface Context {
  userIds: string[];
  groupIds: string[];
}

function paths(ctx: Context): string[] {
  const someone = ctx.userIds[0]!;
  return [
    'title', 'Title', 'displayName', 'userName', 'userType', 'active', 'name', 'name.givenName', 'NAME.FAMILYNAME', 'name.formatted',
    'emails', 'emails.value', 'emails.type', 'emails[type eq "work"].value', 'emails[type eq "other"]', 'emails[type eq "work" and primary eq true].value',
    'emails[value co "@"]', 'phoneNumbers', 'phoneNumbers[type eq "mobile"].value', 'addresses', 'addresses[type eq "work"].locality', 'addresses.country',
    ENTERPRISE, `${ENTERPRISE}:department`, `${ENTERPRISE}:manager`, `${ENTERPRISE}:manager.value`, `${ENTERPRISE}:employeeNumber`, `${ENTERPRISE}:costCenter`,
    'urn:ietf:params:scim:schemas:core:2.0:User:title', 'urn:ietf:params:scim:schemas:core:2.0:Group:displayName',
    'members', 'members.value', `members[value eq "${someone}"]`, 'members[type eq "Group"]', 'members[value eq "nobody"].display',
    'id', 'meta', 'meta.lastModified', 'groups', 'externalId', 'schemas', 'nickName', 'x.y.z', 'emails[', 'emails[type eq "work"].value.x',
    'urn:foo:bar', 'urn:', '', ' ', '$ref', 'emails]', 'name..givenName', 'a b',
  ];
}

function text(random: XorShift, ctx: Context): string {
  switch (random.int(12)) {
    case 0:
      return '';
    case 1:
      return random.pick(['True', 'False', 'true', 'yes']);
    case 2:
      return `fuzz${random.int(50)}@example.com`;
    case 3:
      return random.pick(ctx.userIds);
    case 4:
      return random.pick(ctx.groupIds);
    case 5:
      return 'ffffffffffffffffffffffff';
    case 6:
      return 'x'.repeat(random.int(3000));
    case 7:
      return random.pick(['é', '😀', '\u0000', '\n', '"', '\\', '\uD800', 'Ω≈ç√']);
    case 8:
      return random.pick(['work', 'other', 'home', 'mobile', 'User', 'Group']);
    default:
      return `v${random.int(1000)}`;
  }
}

function value(random: XorShift, ctx: Context, depth = 0): unknown {
  switch (random.int(depth > 2 ? 5 : 9)) {
    case 0:
    case 1:
      return text(random, ctx);
    case 2:
      return random.pick([0, -1, 1.5, 42, 1e308, -0, Number.MAX_SAFE_INTEGER + 2]);
    case 3:
      return random.chance(0.5);
    case 4:
      return null;
    case 5:
    case 6: {
      const out: Record<string, unknown> = {};
      for (let i = random.int(4); i > 0; i--) out[random.pick(KEYS)] = value(random, ctx, depth + 1);
      if (random.chance(0.4)) out.value = random.chance(0.7) ? random.pick([...ctx.userIds, ...ctx.groupIds]) : text(random, ctx);
      return out;
    }
    default:
      return Array.from({ length: random.int(4) }, () => value(random, ctx, depth + 1));
  }
}

/** An operation a provisioning client could send, so that many bodies reach the store. */
function plausible(random: XorShift, ctx: Context, group: boolean): Record<string, unknown> {
  const word = () => random.pick(['Ada', 'Sales', 'R&D', 'Ops', 'Zoë', `w${random.int(100)}`]);
  if (group) {
    const member = random.pick([...ctx.userIds, ctx.groupIds[1]!]);
    return random.pick([
      { op: 'add', path: 'members', value: [{ value: member }] },
      { op: 'Add', path: 'members', value: { value: member } },
      { op: 'remove', path: `members[value eq "${member}"]` },
      { op: 'Remove', path: 'members', value: [{ value: member }] },
      { op: 'replace', path: 'displayName', value: `Fuzzed ${word()}` },
      { op: 'replace', path: 'members', value: [{ value: random.pick(ctx.userIds) }] },
    ]);
  }
  return random.pick([
    { op: 'replace', path: 'title', value: word() },
    { op: 'Replace', path: 'displayName', value: word() },
    { op: 'replace', path: 'name.givenName', value: word() },
    { op: 'add', path: 'emails[type eq "other"].value', value: `alt${random.int(20)}@example.com` },
    { op: 'replace', path: 'active', value: random.pick([true, false, 'True', 'False']) },
    { op: 'replace', path: `${ENTERPRISE}:department`, value: word() },
    { op: 'remove', path: 'title' },
    { op: 'add', path: 'phoneNumbers', value: [{ value: `+1 555 01${random.int(10)}`, type: 'mobile' }] },
    { op: 'replace', value: { title: word(), 'name.familyName': word() } },
    { op: 'remove', path: 'phoneNumbers[type eq "mobile"]' },
  ]);
}

function operation(random: XorShift, ctx: Context, group: boolean): unknown {
  if (random.chance(0.6)) return plausible(random, ctx, group);
  if (random.chance(0.03)) return value(random, ctx);
  const op: Record<string, unknown> = {};
  if (!random.chance(0.03)) op[random.pick(['op', 'op', 'op', 'OP', 'Op'])] = random.pick(OPS);
  if (!random.chance(0.15)) op[random.pick(['path', 'path', 'PATH'])] = random.chance(0.95) ? random.pick(paths(ctx)) : value(random, ctx);
  if (!random.chance(0.1)) op[random.pick(['value', 'value', 'Value'])] = value(random, ctx);
  return op;
}

function patchBody(random: XorShift, ctx: Context, group = random.chance(0.5)): unknown {
  const body: Record<string, unknown> = {};
  if (!random.chance(0.05)) body.schemas = random.chance(0.95) ? [PATCH_OP] : random.pick([[], PATCH_OP, ['urn:x'], [PATCH_OP.toUpperCase()], 5]);
  if (!random.chance(0.03)) body[random.pick(['Operations', 'Operations', 'operations'])] = random.chance(0.97) ? Array.from({ length: 1 + random.int(4) }, () => operation(random, ctx, group)) : value(random, ctx);
  return body;
}

function userBody(random: XorShift, ctx: Context, n: number): unknown {
  const body: Record<string, unknown> = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `bulk${n}`, emails: [{ value: `bulk${n}@example.com` }] };
  for (let i = random.int(3); i > 0; i--) body[random.pick([...KEYS, ENTERPRISE])] = value(random, ctx);
  return body;
}

function groupBody(random: XorShift, ctx: Context, n: number, bulkIds: string[]): unknown {
  const members = Array.from({ length: random.int(3) }, () => ({
    value: random.chance(0.5) ? `bulkId:${random.pick(bulkIds)}` : random.pick([...ctx.userIds, ...ctx.groupIds, 'nobody']),
    ...(random.chance(0.3) ? { type: random.pick(['User', 'Group']) } : {}),
  }));
  return { displayName: random.chance(0.9) ? `Bulk group ${n}` : value(random, ctx), members: random.chance(0.95) ? members : value(random, ctx) };
}

function bulkBody(random: XorShift, ctx: Context, serial: () => number): unknown {
  const bulkIds = ['a', 'b', 'c', 'd'];
  const ops = Array.from({ length: 1 + random.int(6) }, () => {
    const method = random.pick(['POST', 'POST', 'PUT', 'PATCH', 'PATCH', 'DELETE', 'post', 'GET', 5]);
    const type = random.pick(['Users', 'Groups']);
    const id = random.pick([...(type === 'Users' ? ctx.userIds : ctx.groupIds), `bulkId:${random.pick(bulkIds)}`, 'ffffffffffffffffffffffff']);
    const path = random.chance(0.9) ? (String(method).toUpperCase() === 'POST' ? `/${type}` : `/${type}/${id}`) : random.pick(['/Users/', '/Nothing', 'Users', '', '/Groups/a/b', '/Users/%zz']);
    const n = serial();
    const data =
      String(method).toUpperCase() === 'PATCH' ? patchBody(random, ctx) : type === 'Users' ? userBody(random, ctx, n) : groupBody(random, ctx, n, bulkIds);
    const op: Record<string, unknown> = { method, path };
    if (!random.chance(0.1)) op.bulkId = random.chance(0.9) ? random.pick(bulkIds) : value(random, ctx);
    if (!random.chance(0.05)) op.data = data;
    if (random.chance(0.1)) op.version = random.pick(['W/"1"', '*', 'garbage', 5]);
    return op;
  });
  return { schemas: random.chance(0.97) ? [BULK_REQUEST] : ['urn:x'], ...(random.chance(0.2) ? { failOnErrors: random.pick([1, 2, 0, -1, 'x', 1.5]) } : {}), Operations: ops };
}

/** The JSON text of a body, sometimes damaged: a character changed, dropped or added, or the text cut short. */
function serialize(random: XorShift, body: unknown): string {
  let json = JSON.stringify(body) ?? 'null';
  if (!random.chance(0.15)) return json;
  for (let i = 1 + random.int(3); i > 0; i--) {
    const at = random.int(json.length + 1);
    switch (random.int(4)) {
      case 0:
        json = json.slice(0, at) + random.pick(['"', '{', '}', '[', ']', ',', ':', '\\', ' ', 'x', '0', '\u0000']) + json.slice(at + 1);
        break;
      case 1:
        json = json.slice(0, at) + json.slice(at + 1);
        break;
      case 2:
        json = json.slice(0, at) + random.pick(['"', ',', 'null', '{}', '[]', '"x":1,']) + json.slice(at);
        break;
      default:
        json = json.slice(0, at);
    }
  }
  return json;
}

function expectWellFormedError(res: LightMyRequestResponse, what: string): void {
  const body = res.json();
  expect(body.schemas, what).toEqual([ERROR_SCHEMA]);
  expect(body.status, what).toBe(String(res.statusCode));
  expect(typeof body.detail, what).toBe('string');
  if (body.scimType !== undefined) expect(SCIM_TYPES.has(body.scimType), what).toBe(true);
}

function expectScimAnswer(res: LightMyRequestResponse, what: string): void {
  expect(res.statusCode, `${what} → ${res.body}`).toBeGreaterThanOrEqual(200);
  expect(res.statusCode, `${what} → ${res.body}`).toBeLessThan(500);
  if (res.body !== '') expect(res.headers['content-type'], what).toMatch(/^application\/scim\+json/);
  if (res.statusCode >= 400) expectWellFormedError(res, what);
}

describeEachStore('SCIM PATCH and Bulk bodies, fuzzed', (kind) => {
  let t: TestScim;
  const ctx: Context = { userIds: [], groupIds: [] };
  const inputs = kind === 'sqlite' ? INPUTS : Math.ceil(INPUTS / 3);
  beforeAll(async () => {
    t = await openTestScim(kind);
    for (const name of ['pat', 'quinn', 'rae']) ctx.userIds.push((await t.core.users.create(t.ctx, { username: name, email: `${name}@example.com`, firstname: name })).id);
    ctx.groupIds.push((await t.core.groups.create(t.ctx, { name: 'Fuzzed' }, [{ type: 'user', id: ctx.userIds[0]! }, { type: 'user', id: ctx.userIds[1]! }])).id);
    ctx.groupIds.push((await t.core.groups.create(t.ctx, { name: 'Nested' }, [{ type: 'user_group', id: ctx.groupIds[0]! }])).id);
  });
  afterAll(() => t?.dispose());

  it(`answers ${inputs} random PATCH bodies with SCIM responses, changing nothing on an error`, { timeout: 300_000 }, async () => {
    const random = new XorShift(SEED);
    console.log(`SCIM body fuzz seed: ${SEED} (SCIM_BODY_FUZZ_SEED=${SEED} reproduces this run)`);
    const statuses = new Map<number, number>();
    for (let i = 0; i < inputs; i++) {
      const onGroup = random.chance(0.4);
      const id = onGroup ? ctx.groupIds[0]! : ctx.userIds[0]!;
      const url = `/scim/v2/${onGroup ? 'Groups' : 'Users'}/${id}`;
      const payload = serialize(random, patchBody(random, ctx, onGroup));
      const head = await journalHead(t);
      const before = onGroup ? await t.core.groups.members(t.ctx, id, { limit: 1000, skip: 0 }) : await t.core.users.get(t.ctx, id);
      const res = await scim(t, 'PATCH', url, payload);
      const what = `#${i} PATCH ${url} ${payload.slice(0, 500)}`;
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      expectScimAnswer(res, what);
      if (res.statusCode >= 400) {
        expect(await journalHead(t), what).toBe(head);
        expect(onGroup ? await t.core.groups.members(t.ctx, id, { limit: 1000, skip: 0 }) : await t.core.users.get(t.ctx, id), what).toEqual(before);
      } else if (res.statusCode === 200) {
        expect(res.json().id, what).toBe(id);
      } else {
        expect(res.statusCode, what).toBe(204);
        expect(res.body, what).toBe('');
      }
    }
    console.log(`SCIM PATCH fuzz [${kind}]: ${[...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`);
    // The run must reach the store, not only the parsers.
    expect((statuses.get(200) ?? 0) + (statuses.get(204) ?? 0)).toBeGreaterThan(inputs / 10);
  });

  it(`answers ${Math.ceil(inputs / 4)} random Bulk bodies with SCIM responses, changing nothing when every operation fails`, { timeout: 300_000 }, async () => {
    const random = new XorShift(SEED ^ 0xb01c);
    let n = 0;
    const serial = () => n++;
    const outcomes = new Map<string, number>();
    for (let i = 0; i < Math.ceil(inputs / 4); i++) {
      const payload = serialize(random, bulkBody(random, ctx, serial));
      const head = await journalHead(t);
      const res = await scim(t, 'POST', '/scim/v2/Bulk', payload);
      const what = `#${i} Bulk ${payload.slice(0, 800)}`;
      expectScimAnswer(res, what);
      if (res.statusCode >= 400) {
        outcomes.set(String(res.statusCode), (outcomes.get(String(res.statusCode)) ?? 0) + 1);
        expect(await journalHead(t), what).toBe(head);
        continue;
      }
      expect(res.statusCode, what).toBe(200);
      const body = res.json();
      expect(body.schemas, what).toEqual(['urn:ietf:params:scim:api:messages:2.0:BulkResponse']);
      expect(Array.isArray(body.Operations), what).toBe(true);
      for (const op of body.Operations as { status: string; response?: unknown; location?: string }[]) {
        const status = Number(op.status);
        outcomes.set(`op ${op.status}`, (outcomes.get(`op ${op.status}`) ?? 0) + 1);
        expect(Number.isInteger(status) && status >= 200 && status < 500, `${what} → ${JSON.stringify(op)}`).toBe(true);
        if (status >= 400) {
          const error = op.response as { schemas: unknown; status: unknown; detail: unknown; scimType?: string };
          expect(error.schemas, what).toEqual([ERROR_SCHEMA]);
          expect(error.status, what).toBe(op.status);
          expect(typeof error.detail, what).toBe('string');
          if (error.scimType !== undefined) expect(SCIM_TYPES.has(error.scimType), what).toBe(true);
        }
      }
      if ((body.Operations as { status: string }[]).every((op) => Number(op.status) >= 400)) expect(await journalHead(t), what).toBe(head);
    }
    console.log(`SCIM Bulk fuzz [${kind}]: ${[...outcomes].sort().map(([s, c]) => `${s}×${c}`).join(' ')}`);
    expect(outcomes.get('op 201') ?? 0).toBeGreaterThan(0);
  });
});
