/**
 * Random and mutated WebAuthn responses against the core: registrations and sign-ins (with a user
 * named beforehand and with a passkey alone) made by a software authenticator, then bent — bytes
 * flipped, cut or added in authenticatorData, clientDataJSON, the signature and the attestation;
 * fields replaced by random JSON, removed, or made huge; clientDataJSON rewritten; ids swapped —
 * and wholly random JSON. No input may throw; every answer is a refusal unless the response is
 * still genuinely valid; and a refusal leaves the stored credentials, their counters and the
 * journal as they were.
 *
 * Reproduce a run with WEBAUTHN_FUZZ_SEED=<seed>; WEBAUTHN_FUZZ_INPUTS sets how many responses of
 * each ceremony each store gets.
 */
import { createHash } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { User } from '../../src/core/model.js';
import type { RelyingParty, WebAuthnAuthentication, WebAuthnRegistration } from '../../src/core/services/webauthn.js';
import { openTestCore, type TestCore } from '../support/core.js';
import { XorShift } from '../support/random.js';
import { describeEachStore } from '../support/stores.js';
import { SoftAuthenticator } from '../support/webauthn-authenticator.js';

const SEED = Number(process.env.WEBAUTHN_FUZZ_SEED ?? 0x57eba117) >>> 0;
const INPUTS = Number(process.env.WEBAUTHN_FUZZ_INPUTS ?? 2000);
const RP: RelyingParty = { id: 'roster.example', name: 'Roster', origin: 'https://roster.example' };
const REFUSALS = new Set(['INVALID_WEBAUTHN', 'UNKNOWN_CREDENTIAL', 'WEBAUTHN_CLONED']);

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const bytes = (b64: string) => Buffer.from(b64, 'base64url');
const b64url = (data: Uint8Array) => Buffer.from(data).toString('base64url');

const WEIRD = ['', ' ', '\u0000', '\uD800', '😀', 'é', '"', '\\', '=', '==', '===', '+/', 'AAAA', 'AA==', 'public-key', 'webauthn.get', 'webauthn.create', RP.origin, RP.id, '__proto__', 'constructor', 'null', '{}', '[]'];

function randomString(random: XorShift): string {
  switch (random.int(6)) {
    case 0:
      return random.pick(WEIRD);
    case 1:
      return b64url(Buffer.from(Array.from({ length: random.int(80) }, () => random.int(256))));
    case 2:
      return random.pick(['A', 'x', '-', '_', '=', '\u00ff']).repeat(random.pick([1_000, 70_000, 1_100_000]));
    case 3:
      return Array.from({ length: random.int(40) }, () => String.fromCharCode(random.int(0x10000))).join('');
    default:
      return `v${random.int(1000)}`;
  }
}

function randomJson(random: XorShift, depth = 0): unknown {
  switch (random.int(depth > 2 ? 5 : 8)) {
    case 0:
    case 1:
      return randomString(random);
    case 2:
      return random.pick([0, -1, 1.5, 42, 1e308, -0, 2 ** 32, Number.MAX_SAFE_INTEGER + 2]);
    case 3:
      return random.chance(0.5);
    case 4:
      return null;
    case 5:
    case 6: {
      const out: Json = {};
      for (let i = random.int(5); i > 0; i--) {
        out[random.pick(['id', 'rawId', 'type', 'response', 'clientDataJSON', 'authenticatorData', 'signature', 'userHandle', 'attestationObject', 'transports', 'clientExtensionResults', '__proto__', 'x'])] = randomJson(random, depth + 1);
      }
      return out;
    }
    default:
      return Array.from({ length: random.int(4) }, () => randomJson(random, depth + 1));
  }
}

/** The base64url fields of a response, as paths. */
function binaryPaths(response: Json): string[][] {
  const inner = isObject(response.response) ? response.response : {};
  return [['id'], ['rawId'], ...Object.keys(inner).filter((k) => typeof inner[k] === 'string').map((k) => ['response', k])];
}

function allPaths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.keys(value).flatMap((k) => [[...prefix, k], ...allPaths((value as Json)[k], [...prefix, k])]);
}

function getAt(target: Json, path: string[]): unknown {
  return path.reduce<unknown>((node, key) => (typeof node === 'object' && node !== null ? (node as Json)[key] : undefined), target);
}

function setAt(target: Json, path: string[], value: unknown): void {
  const parent = getAt(target, path.slice(0, -1));
  if (typeof parent === 'object' && parent !== null) (parent as Json)[path.at(-1)!] = value;
}

function deleteAt(target: Json, path: string[]): void {
  const parent = getAt(target, path.slice(0, -1));
  if (typeof parent === 'object' && parent !== null) delete (parent as Json)[path.at(-1)!];
}

function changeBytes(random: XorShift, data: Buffer): Buffer {
  switch (random.int(4)) {
    case 0: {
      const out = Buffer.from(data);
      if (out.length === 0) return Buffer.from([random.int(256)]);
      for (let i = 1 + random.int(3); i > 0; i--) {
        const at = random.int(out.length);
        out[at] = out[at]! ^ (1 + random.int(255));
      }
      return out;
    }
    case 1:
      return data.subarray(0, random.int(data.length));
    case 2:
      return Buffer.concat([data, Buffer.from(Array.from({ length: 1 + random.int(64) }, () => random.int(256)))]);
    default:
      return data.subarray(1 + random.int(Math.max(1, data.length - 1)));
  }
}

/** Bends one thing about `response`; a description for failures. */
function mutateOnce(random: XorShift, response: Json, otherIds: readonly string[]): string {
  const inner = isObject(response.response) ? response.response : undefined;
  switch (random.int(10)) {
    case 0:
    case 1:
    case 2: {
      const path = random.pick(binaryPaths(response));
      const value = getAt(response, path);
      if (typeof value !== 'string') return 'nothing';
      const changed = b64url(changeBytes(random, bytes(value)));
      setAt(response, path, changed);
      // Keep id and rawId together half the time, so the change reaches the lookup.
      if (path[0] === 'id' && random.chance(0.5)) response.rawId = changed;
      return `bytes of ${path.join('.')}`;
    }
    case 3: {
      // Special bytes of authenticatorData: the RP ID hash, the flags, the counter.
      const field = typeof inner?.authenticatorData === 'string' ? 'authenticatorData' : undefined;
      if (!field || !inner) return 'nothing';
      const data = bytes(inner[field] as string);
      const at = random.pick([0, 31, 32, 32, 32, 33, 36]);
      if (at < data.length) data[at] = data[at]! ^ (at === 32 ? random.pick([0x01, 0x04, 0x08, 0x10, 0x40, 0x80, 0x05]) : 1 + random.int(255));
      inner[field] = b64url(data);
      return `authenticatorData byte ${at}`;
    }
    case 4: {
      if (typeof inner?.clientDataJSON !== 'string') return 'nothing';
      let data: Json = {};
      try {
        const parsed: unknown = JSON.parse(bytes(inner.clientDataJSON).toString('utf8'));
        if (isObject(parsed)) data = parsed;
      } catch {
        // Bent already: start from nothing.
      }
      const key = random.pick(['type', 'challenge', 'origin', 'crossOrigin', 'tokenBinding', 'topOrigin']);
      let text: string;
      switch (random.int(4)) {
        case 0:
          delete data[key];
          text = JSON.stringify(data);
          break;
        case 1:
          data[key] = randomJson(random);
          text = JSON.stringify(data);
          break;
        case 2:
          data[key] = random.pick([true, 'present', { status: 'present' }, RP.origin.toUpperCase(), `${RP.origin}/`, `${RP.origin}:443`, 'webauthn.get', 'webauthn.create']);
          text = JSON.stringify(data);
          break;
        default:
          text = random.pick(['null', '[]', '"x"', '1e999', '{', '', '{"type":"webauthn.get"}', JSON.stringify(data).slice(0, -1)]);
      }
      inner.clientDataJSON = Buffer.from(text).toString('base64url');
      return `clientDataJSON.${key}`;
    }
    case 5: {
      const path = random.pick([...allPaths(response), ['response']]);
      setAt(response, path, randomJson(random));
      return `replaced ${path.join('.')}`;
    }
    case 6: {
      const path = random.pick([...allPaths(response), ['response']]);
      deleteAt(response, path);
      return `removed ${path.join('.')}`;
    }
    case 7: {
      const path = random.pick([...allPaths(response), ['id']]);
      setAt(response, path, random.pick(['A', '-', '='])!.repeat(random.pick([2_000, 70_000, 2_000_000])));
      return `huge ${path.join('.')}`;
    }
    case 8: {
      const id = random.pick(otherIds);
      response.id = id;
      response.rawId = id;
      return 'another id';
    }
    default: {
      if (!inner) return 'nothing';
      const handle = random.pick([b64url(Buffer.from('ffffffffffffffffffffffff')), '', 'AAAA', null, 42]);
      inner.userHandle = handle;
      return `userHandle ${String(handle).slice(0, 30)}`;
    }
  }
}

function mutate(random: XorShift, response: Json, otherIds: readonly string[]): { value: unknown; what: string } {
  if (random.chance(0.08)) {
    const value = randomJson(random);
    return { value, what: `random ${JSON.stringify(value)?.slice(0, 80)}` };
  }
  const changes: string[] = [];
  for (let i = random.chance(0.25) ? 2 + random.int(2) : 1; i > 0; i--) changes.push(mutateOnce(random, response, otherIds));
  // Now and then through JSON text, so that __proto__ arrives as an own key.
  if (random.chance(0.05)) return { value: JSON.parse(JSON.stringify(response).replace('{', '{"__proto__":{"id":"x"},')), what: `${changes.join(', ')} +__proto__` };
  return { value: response, what: changes.join(', ') };
}

const sameBytes = (a: unknown, b: unknown) => typeof a === 'string' && typeof b === 'string' && bytes(a).equals(bytes(b));

describeEachStore('WebAuthn responses, fuzzed', (kind) => {
  let t: TestCore;
  let ann: User;
  let bob: User;
  beforeEach(async () => {
    t = await openTestCore(kind);
    ann = await t.core.users.create(t.ctx, { username: 'ann', email: 'ann@example.com' });
    bob = await t.core.users.create(t.ctx, { username: 'bob', email: 'bob@example.com' });
  });
  afterEach(() => t.dispose());

  async function state() {
    const rows = await t.testStore.store.db.selectFrom('user_webauthn_credentials').selectAll().orderBy('id').execute();
    return { rows: rows.map((r) => ({ ...r, counter: Number(r.counter) })), head: await t.core.store.read.journal.head(t.ctx.orgId) };
  }

  async function enroll(user: User, key: SoftAuthenticator): Promise<string> {
    const { options, challenge } = await t.core.webauthn.registrationOptions(t.ctx.orgId, user.id, RP);
    const result = await t.core.webauthn.register(t.ctx.orgId, user.id, key.create(options, { ignoreExclude: true }), challenge, RP);
    if (!result.ok) throw new Error(result.message);
    return result.credential.id;
  }

  it(`refuses ${INPUTS} bent sign-ins without throwing or changing anything, accepting only genuine ones`, { timeout: 600_000 }, async () => {
    const random = new XorShift(SEED);
    const key = new SoftAuthenticator({ origin: RP.origin, rpId: RP.id });
    const mine = await enroll(ann, key);
    const spare = await enroll(ann, key);
    const bobs = await enroll(bob, new SoftAuthenticator({ origin: RP.origin, rpId: RP.id }));
    const otherIds = [spare, bobs, mine.slice(1), `${mine}=`, 'AAAA', ''];
    const withUser = await t.core.webauthn.authenticationOptions(t.ctx.orgId, ann.id, RP);
    const passkey = await t.core.webauthn.authenticationOptions(t.ctx.orgId, null, RP);
    let accepted = 0;
    const reasons = new Map<string, number>();
    for (let i = 0; i < INPUTS; i++) {
      const alone = i % 2 === 1;
      const { options, challenge } = alone ? passkey : withUser;
      const base = key.get(options, { credentialId: mine, userHandle: alone || random.chance(0.5) ? b64url(Buffer.from(ann.id)) : null }) as unknown as Json;
      const { value, what } = mutate(random, clone(base), otherIds);
      const label = `#${i} (${alone ? 'passkey' : 'user'}): ${what}`;
      const before = await state();
      let result: WebAuthnAuthentication;
      try {
        result = await t.core.webauthn.authenticate(t.ctx.orgId, value, challenge, RP, alone ? { requireUserVerification: true } : { userId: ann.id, requireUserVerification: false });
      } catch (e) {
        throw new Error(`${label} threw ${(e as Error).stack}`);
      }
      if (result.ok) {
        // Genuine only: the signed parts are the authenticator's own, for the credential it used.
        const v = value as Json;
        const r = v.response as Json;
        const b = base.response as Json;
        expect(v.id, label).toBe(mine);
        for (const field of ['clientDataJSON', 'authenticatorData', 'signature']) expect(sameBytes(r[field], b[field]), `${label}: ${field}`).toBe(true);
        if (alone || (r.userHandle !== undefined && r.userHandle !== null)) expect(sameBytes(r.userHandle, b64url(Buffer.from(ann.id))), label).toBe(true);
        expect(result, label).toEqual({ ok: true, userId: ann.id, credentialId: mine, userVerified: true });
        accepted++;
      } else {
        expect(REFUSALS.has(result.reason), `${label}: ${result.reason}`).toBe(true);
        reasons.set(result.reason, (reasons.get(result.reason) ?? 0) + 1);
        expect(Object.keys(result).sort(), label).toEqual(['ok', 'reason']);
        expect(await state(), label).toEqual(before);
      }
    }
    // The key still works; the counters are the authenticator's last accepted ones.
    const last = await t.core.webauthn.authenticate(t.ctx.orgId, key.get(withUser.options, { credentialId: mine }), withUser.challenge, RP, { userId: ann.id, requireUserVerification: true });
    expect(last).toMatchObject({ ok: true, userId: ann.id });
    // Some bends are harmless (a user handle dropped, extension results removed); most are not.
    expect(accepted).toBeLessThan(INPUTS / 4);
    expect(reasons.get('INVALID_WEBAUTHN')).toBeGreaterThan(INPUTS / 2);
    expect(reasons.get('UNKNOWN_CREDENTIAL')).toBeGreaterThan(0);
  });

  it(`refuses ${INPUTS} bent registrations without throwing or changing anything, accepting only genuine ones`, { timeout: 600_000 }, async () => {
    const random = new XorShift(SEED ^ 0x5a5a5a5a);
    const existing = await enroll(bob, new SoftAuthenticator({ origin: RP.origin, rpId: RP.id }));
    const { options, challenge } = await t.core.webauthn.registrationOptions(t.ctx.orgId, ann.id, RP);
    const rpIdHash = createHash('sha256').update(RP.id).digest();
    let accepted = 0;
    for (let i = 0; i < INPUTS; i++) {
      const key = new SoftAuthenticator({ origin: RP.origin, rpId: RP.id });
      const base = key.create(options, { backedUp: random.chance(0.3) }) as unknown as Json;
      const { value, what } = mutate(random, clone(base), [existing, 'AAAA']);
      const label = `#${i}: ${what}`;
      const before = await state();
      let result: WebAuthnRegistration;
      try {
        result = await t.core.webauthn.register(t.ctx.orgId, ann.id, value, challenge, RP, random.chance(0.1) ? randomString(random) : undefined);
      } catch (e) {
        throw new Error(`${label} threw ${(e as Error).stack}`);
      }
      const after = await state();
      if (result.ok) {
        // Genuine only: our challenge, origin and type; our RP ID with the user present; the
        // credential id the authenticator attested, new, for Ann.
        const r = (value as Json).response as Json;
        const clientData = JSON.parse(bytes(r.clientDataJSON as string).toString('utf8')) as Json;
        expect([clientData.type, clientData.challenge, clientData.origin], label).toEqual(['webauthn.create', challenge, RP.origin]);
        expect(clientData.crossOrigin === undefined || clientData.crossOrigin === false, label).toBe(true);
        const attestation = isoCBOR.decodeFirst<Map<string, unknown>>(new Uint8Array(bytes(r.attestationObject as string)));
        const authData = Buffer.from(attestation.get('authData') as Uint8Array);
        expect(authData.subarray(0, 32).equals(rpIdHash), label).toBe(true);
        expect(authData[32]! & 0x41, label).toBe(0x41);
        const credentialId = authData.subarray(55, 55 + authData.readUInt16BE(53)).toString('base64url');
        expect([result.credential.id, (value as Json).id], label).toEqual([credentialId, credentialId]);
        expect(before.rows.some((row) => row.id === credentialId), label).toBe(false);
        expect(after.rows.length, label).toBe(before.rows.length + 1);
        expect(after.rows.find((row) => row.id === credentialId)?.user_id, label).toBe(ann.id);
        expect(result.credential.name.length, label).toBeGreaterThan(0);
        expect([...result.credential.name].length, label).toBeLessThanOrEqual(64);
        expect(after.head, label).toBe(before.head + 1);
        accepted++;
      } else {
        expect(result.reason, label).toBe('INVALID_WEBAUTHN');
        expect(typeof result.message, label).toBe('string');
        expect(after, label).toEqual(before);
      }
    }
    // "none" attestation signs nothing: bends of the AAGUID, flags or key bytes still register.
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(INPUTS / 2);
  });
});
