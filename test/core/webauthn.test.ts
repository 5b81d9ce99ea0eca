import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { operatorContext } from '../../src/core/context.js';
import type { UserId } from '../../src/core/ids.js';
import type { User } from '../../src/core/model.js';
import type { RelyingParty } from '../../src/core/services/webauthn.js';
import { asRole, failure, openTestCore, type TestCore } from '../support/core.js';
import { describeEachStore } from '../support/stores.js';
import { SoftAuthenticator } from '../support/webauthn-authenticator.js';

const RP: RelyingParty = { id: 'roster.example', name: 'Roster', origin: 'https://roster.example' };
const b64url = (text: string) => Buffer.from(text).toString('base64url');

describeEachStore('WebAuthn credentials', (kind) => {
  let t: TestCore;
  let user: User;
  let key: SoftAuthenticator;
  beforeEach(async () => {
    t = await openTestCore(kind);
    user = await t.core.users.create(t.ctx, { username: 'ann', email: 'ann@example.com', firstname: 'Ann', lastname: 'Lee' });
    key = new SoftAuthenticator({ origin: RP.origin, rpId: RP.id });
  });
  afterEach(() => t.dispose());

  const webauthn = () => t.core.webauthn;

  /** Registers a credential of `authenticator` for `who`; its id. */
  async function register(who: User = user, authenticator = key, name?: string, backedUp = false): Promise<string> {
    t.clock.now = new Date(t.clock.now.getTime() + 1000);
    const { options, challenge } = await webauthn().registrationOptions(who.orgId, who.id, RP);
    const result = await webauthn().register(who.orgId, who.id, authenticator.create(options, { backedUp }), challenge, RP, name);
    if (!result.ok) throw new Error(result.message);
    return result.credential.id;
  }

  /** Everything a refusal must leave as it was: the stored rows and the journal. */
  async function snapshot() {
    const rows = await t.testStore.store.db.selectFrom('user_webauthn_credentials').selectAll().orderBy('id').execute();
    return { rows: rows.map((r) => ({ ...r, counter: Number(r.counter) })), head: await t.core.store.read.journal.head(t.ctx.orgId) };
  }

  describe('registration and sign-in', () => {
    it('offers options for the user, registers a key, lists it without key material, and signs in with it', async () => {
      const { options, challenge } = await webauthn().registrationOptions(t.ctx.orgId, user.id, RP);
      expect(options).toMatchObject({
        challenge,
        rp: { id: RP.id, name: RP.name },
        user: { id: b64url(user.id), name: 'ann', displayName: 'Ann Lee' },
        timeout: 300_000,
        attestation: 'none',
        excludeCredentials: [],
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      });
      expect(options.pubKeyCredParams.map((p) => p.alg)).toEqual([-7, -8, -257]);
      expect(challenge.length).toBeGreaterThanOrEqual(43);

      const result = await webauthn().register(t.ctx.orgId, user.id, key.create(options), challenge, RP);
      expect(result).toEqual({
        ok: true,
        credential: { id: key.credentials[0]!.id, name: 'Security key 1', created: expect.any(String), lastUsedAt: null, transports: ['usb'], deviceType: 'singleDevice', backedUp: false, aaguid: '00000000-0000-0000-0000-000000000000' },
      });
      const listed = await webauthn().list(t.ctx, user.id);
      expect(listed).toEqual([result.ok && result.credential]);
      const [row] = (await snapshot()).rows;
      expect(Object.keys(listed[0]!).sort()).toEqual(['aaguid', 'backedUp', 'created', 'deviceType', 'id', 'lastUsedAt', 'name', 'transports']);
      expect(JSON.stringify(listed)).not.toContain(row!.public_key);
      expect(await webauthn().hasCredentials(t.ctx.orgId, user.id)).toBe(true);

      // The journal: enrolled by the user, with the name only.
      const journal = await t.core.journal.list(t.ctx, 0, 100);
      const entry = journal.at(-1)!;
      expect(entry).toMatchObject({ objectType: 'user', objectId: user.id, operation: 'mfa_enroll', actorType: 'user', actorId: user.id, origin: 'portal', details: { credentialId: key.credentials[0]!.id }, changes: { webauthn: { before: null, after: 'Security key 1' } } });
      expect(JSON.stringify(journal)).not.toContain(row!.public_key);

      // A second registration excludes the first key.
      const again = await webauthn().registrationOptions(t.ctx.orgId, user.id, RP);
      expect(again.options.excludeCredentials).toEqual([{ id: key.credentials[0]!.id, type: 'public-key', transports: ['usb'] }]);
      expect(again.challenge).not.toBe(challenge);
      expect(() => key.create(again.options)).toThrow(/InvalidStateError/);

      // Sign-in with it.
      const auth = await webauthn().authenticationOptions(t.ctx.orgId, user.id, RP);
      expect(auth.options).toMatchObject({ rpId: RP.id, challenge: auth.challenge, userVerification: 'preferred', timeout: 300_000, allowCredentials: [{ id: key.credentials[0]!.id, type: 'public-key', transports: ['usb'] }] });
      const signed = await webauthn().authenticate(t.ctx.orgId, key.get(auth.options), auth.challenge, RP, { userId: user.id, requireUserVerification: false });
      expect(signed).toEqual({ ok: true, userId: user.id, credentialId: key.credentials[0]!.id, userVerified: true });
      const used = (await webauthn().list(t.ctx, user.id))[0]!;
      expect(used.lastUsedAt).toBe(t.clock.now.toISOString());
      expect((await snapshot()).rows[0]!.counter).toBe(1);

      // Without user verification, when the caller does not ask for it.
      const more = await webauthn().authenticationOptions(t.ctx.orgId, user.id, RP);
      expect(await webauthn().authenticate(t.ctx.orgId, key.get(more.options, { userVerified: false }), more.challenge, RP, { userId: user.id, requireUserVerification: false })).toMatchObject({ ok: true, userVerified: false });
      expect((await snapshot()).rows[0]!.counter).toBe(2);
    });

    it('signs in with a passkey alone: no credentials listed, user verification required, the user handle names the user', async () => {
      const id = await register(user, key, undefined, true);
      const other = await t.core.users.create(t.ctx, { username: 'bob', email: 'bob@example.com' });
      const bobsKey = new SoftAuthenticator({ origin: RP.origin, rpId: RP.id, counter: false });
      await register(other, bobsKey, undefined, true);
      expect((await webauthn().list(t.ctx, user.id))[0]).toMatchObject({ name: 'Passkey 1', deviceType: 'multiDevice', backedUp: true });

      const { options, challenge } = await webauthn().authenticationOptions(t.ctx.orgId, null, RP);
      expect(options.allowCredentials).toEqual([]);
      expect(options.userVerification).toBe('required');
      const response = key.get(options);
      expect(response.response.userHandle).toBe(b64url(user.id));
      expect(await webauthn().authenticate(t.ctx.orgId, response, challenge, RP, { requireUserVerification: true })).toEqual({ ok: true, userId: user.id, credentialId: id, userVerified: true });
      // A passkey without a counter signs in again and again.
      for (let i = 0; i < 3; i++) {
        expect(await webauthn().authenticate(t.ctx.orgId, bobsKey.get(options), challenge, RP, { requireUserVerification: true })).toMatchObject({ ok: true, userId: other.id });
      }

      const before = await snapshot();
      // No user handle, with no user named beforehand.
      expect(await webauthn().authenticate(t.ctx.orgId, key.get(options, { userHandle: null }), challenge, RP, { requireUserVerification: true })).toEqual({ ok: false, reason: 'INVALID_WEBAUTHN' });
      // A user handle naming someone else.
      expect(await webauthn().authenticate(t.ctx.orgId, key.get(options, { userHandle: b64url(other.id) }), challenge, RP, { requireUserVerification: true })).toEqual({ ok: false, reason: 'INVALID_WEBAUTHN' });
      expect(await webauthn().authenticate(t.ctx.orgId, key.get(options, { userHandle: b64url(other.id) }), challenge, RP, { userId: user.id, requireUserVerification: false })).toEqual({ ok: false, reason: 'INVALID_WEBAUTHN' });
      // No user verification: a passkey alone always needs it, whatever the caller asks.
      expect(await webauthn().authenticate(t.ctx.orgId, key.get(options, { userVerified: false }), challenge, RP, { requireUserVerification: true })).toEqual({ ok: false, reason: 'INVALID_WEBAUTHN' });
      expect(await webauthn().authenticate(t.ctx.orgId, key.get(options, { userVerified: false }), challenge, RP, { requireUserVerification: false })).toEqual({ ok: false, reason: 'INVALID_WEBAUTHN' });
      expect(await snapshot()).toEqual(before);
    });

    it('names keys: the given name trimmed to 64 characters on one line, else "Security key n" or "Passkey n"', async () => {
      await register(user, key, '  My   YubiKey\n ');
      await register(user, new SoftAuthenticator({ origin: RP.origin, rpId: RP.id }));
      await register(user, new SoftAuthenticator({ origin: RP.origin, rpId: RP.id }), 'x'.repeat(100));
      await register(user, new SoftAuthenticator({ origin: RP.origin, rpId: RP.id }), '   ');
      await register(user, new SoftAuthenticator({ origin: RP.origin, rpId: RP.id }), undefined, true);
      // One built into the device (Windows Hello, say) is a passkey too.
      t.clock.now = new Date(t.clock.now.getTime() + 1000);
      const { options, challenge } = await webauthn().registrationOptions(t.ctx.orgId, user.id, RP);
      const platform = { ...new SoftAuthenticator({ origin: RP.origin, rpId: RP.id }).create(options), authenticatorAttachment: 'platform' };
      expect(await webauthn().register(t.ctx.orgId, user.id, platform, challenge, RP, '\u202e\t')).toMatchObject({ ok: true, credential: { name: 'Passkey 2', deviceType: 'singleDevice' } });
      expect((await webauthn().list(t.ctx, user.id)).map((c) => c.name)).toEqual(['My   YubiKey', 'Security key 1', 'x'.repeat(64), 'Security key 2', 'Passkey 1', 'Passkey 2']);
    });
  });

  describe('refusals change nothing', () => {
    it('refuses registrations with a wrong challenge, origin, RP ID or type, malformed ones, and a key registered already', async () => {
      const { options, challenge } = await webauthn().registrationOptions(t.ctx.orgId, user.id, RP);
      const before = await snapshot();
      const refused = async (response: unknown, expected = challenge, rp = RP) => {
        const result = await webauthn().register(t.ctx.orgId, user.id, response, expected, rp);
        expect(result).toMatchObject({ ok: false, reason: 'INVALID_WEBAUTHN', message: expect.any(String) });
      };
      const fresh = () => new SoftAuthenticator({ origin: RP.origin, rpId: RP.id });
      await refused(fresh().create(options, { challenge: b64url('another challenge, not ours') }));
      await refused(fresh().create(options), (await webauthn().registrationOptions(t.ctx.orgId, user.id, RP)).challenge);
      await refused(fresh().create(options), '');
      await refused(fresh().create(options, { origin: 'https://evil.example' }));
      await refused(fresh().create(options, { origin: 'http://roster.example' }));
      await refused(fresh().create(options, { rpId: 'evil.example' }));
      await refused(fresh().create(options), challenge, { ...RP, id: 'other.example' });
      await refused(fresh().create(options, { type: 'webauthn.get' }));
      await refused(fresh().create(options, { userPresent: false }));
      await refused({ ...fresh().create(options), id: 'AAAA', rawId: 'AAAA' });
      await refused({ ...fresh().create(options), rawId: 'different' });
      for (const junk of [undefined, null, 'text', 42, [], {}, { id: 'x' }, { id: 'abc', rawId: 'abc', type: 'public-key', response: null }]) await refused(junk);
      expect(await snapshot()).toEqual(before);

      // Registered once; the same response again, for this user or another, is refused.
      const bob = await t.core.users.create(t.ctx, { username: 'bob', email: 'bob@example.com' });
      const response = key.create(options);
      expect((await webauthn().register(t.ctx.orgId, user.id, response, challenge, RP)).ok).toBe(true);
      const once = await snapshot();
      await refused(response);
      expect(await webauthn().register(t.ctx.orgId, bob.id, response, challenge, RP)).toMatchObject({ ok: false, reason: 'INVALID_WEBAUTHN' });
      expect(await snapshot()).toEqual(once);
    });

    it('refuses sign-ins with a wrong challenge, origin or RP ID, missing user verification, and malformed responses', async () => {
      await register();
      const { options, challenge } = await webauthn().authenticationOptions(t.ctx.orgId, user.id, RP);
      const before = await snapshot();
      const refused = async (response: unknown, expected = challenge, rp = RP, requireUserVerification = false) => {
        expect(await webauthn().authenticate(t.ctx.orgId, response, expected, rp, { userId: user.id, requireUserVerification })).toEqual({ ok: false, reason: 'INVALID_WEBAUTHN' });
      };
      await refused(key.get(options, { challenge: b64url('not the challenge we gave') }));
      await refused(key.get(options), (await webauthn().authenticationOptions(t.ctx.orgId, user.id, RP)).challenge);
      await refused(key.get(options), '');
      await refused(key.get(options, { origin: 'https://evil.example' }));
      await refused(key.get(options, { rpId: 'evil.example' }));
      await refused(key.get(options), challenge, { ...RP, id: 'other.example' });
      await refused(key.get(options), challenge, { ...RP, origin: 'https://other.example' });
      await refused(key.get(options, { type: 'webauthn.create' }));
      await refused(key.get(options, { userPresent: false }));
      await refused(key.get(options, { userVerified: false }), challenge, RP, true);
      const good = key.get(options);
      await refused({ ...good, response: { ...good.response, signature: key.get(options).response.signature } });
      await refused({ ...good, response: { ...good.response, clientDataJSON: key.get(options).response.clientDataJSON.slice(0, -4) } });
      for (const junk of [undefined, null, 'text', 42, [], {}, { ...good, type: 'other' }, { ...good, response: 'x' }, { ...good, response: { ...good.response, signature: 42 } }]) await refused(junk);
      expect(await snapshot()).toEqual(before);
      // The key itself is fine.
      expect((await webauthn().authenticate(t.ctx.orgId, key.get(options), challenge, RP, { userId: user.id, requireUserVerification: true })).ok).toBe(true);
    });

    it("refuses another user's credential, another org's and an unknown one", async () => {
      await register();
      const bob = await t.core.users.create(t.ctx, { username: 'bob', email: 'bob@example.com' });
      const otherOrg = await t.core.organizations.create('Other Org');
      const carol = await t.core.users.create(operatorContext(otherOrg.id), { username: 'carol', email: 'carol@example.com' });
      const carolsKey = new SoftAuthenticator({ origin: RP.origin, rpId: RP.id });
      await register(carol, carolsKey);
      const { options, challenge } = await webauthn().authenticationOptions(t.ctx.orgId, null, RP);
      const before = await snapshot();
      const unknown = (r: unknown) => ({ ok: false, reason: 'UNKNOWN_CREDENTIAL' }) as const;
      // Ann's key, for Bob.
      expect(await webauthn().authenticate(t.ctx.orgId, key.get(options, { userHandle: null }), challenge, RP, { userId: bob.id, requireUserVerification: false })).toEqual(unknown(0));
      // Carol's key (another org) here, with and without a user.
      expect(await webauthn().authenticate(t.ctx.orgId, carolsKey.get(options), challenge, RP, { requireUserVerification: true })).toEqual(unknown(0));
      expect(await webauthn().authenticate(t.ctx.orgId, carolsKey.get(options, { userHandle: null }), challenge, RP, { userId: user.id, requireUserVerification: false })).toEqual(unknown(0));
      // A key never registered.
      const stranger = new SoftAuthenticator({ origin: RP.origin, rpId: RP.id });
      stranger.create((await webauthn().registrationOptions(t.ctx.orgId, user.id, RP)).options, { ignoreExclude: true });
      expect(await webauthn().authenticate(t.ctx.orgId, stranger.get(options), challenge, RP, { requireUserVerification: true })).toEqual(unknown(0));
      expect(await webauthn().authenticate(t.ctx.orgId, stranger.get(options), challenge, RP, { userId: user.id, requireUserVerification: false })).toEqual(unknown(0));
      expect(await snapshot()).toEqual(before);
      // Carol's key works in her org.
      const hers = await webauthn().authenticationOptions(otherOrg.id, carol.id, RP);
      expect(await webauthn().authenticate(otherOrg.id, carolsKey.get(hers.options), hers.challenge, RP, { userId: carol.id, requireUserVerification: false })).toMatchObject({ ok: true, userId: carol.id });
    });

    it('refuses a signature counter that does not move forward as a clone, and of two uses of one assertion accepts one', async () => {
      await register();
      const { options, challenge } = await webauthn().authenticationOptions(t.ctx.orgId, user.id, RP);
      const use = (response: unknown) => webauthn().authenticate(t.ctx.orgId, response, challenge, RP, { userId: user.id, requireUserVerification: false });
      const clone = key.clone();
      expect((await use(key.get(options))).ok).toBe(true);
      expect((await use(key.get(options))).ok).toBe(true);
      const before = await snapshot();
      expect(before.rows[0]!.counter).toBe(2);
      // The clone's counter is behind; the same counter again; a counter of 0 after counting began.
      expect(await use(clone.get(options))).toEqual({ ok: false, reason: 'WEBAUTHN_CLONED' });
      expect(await use(key.get(options, { signCount: 2 }))).toEqual({ ok: false, reason: 'WEBAUTHN_CLONED' });
      expect(await use(key.get(options, { signCount: 0 }))).toEqual({ ok: false, reason: 'WEBAUTHN_CLONED' });
      // A replay of an accepted assertion.
      const assertion = key.get(options);
      expect((await use(assertion)).ok).toBe(true);
      const after = await snapshot();
      expect(after.rows[0]!.counter).toBe(3);
      expect(await use(assertion)).toEqual({ ok: false, reason: 'WEBAUTHN_CLONED' });
      expect(await snapshot()).toEqual(after);
      // The same assertion twice at once: one wins.
      const twice = key.get(options);
      const results = await Promise.all(Array.from({ length: 6 }, () => use(twice)));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok)).toEqual(Array(5).fill({ ok: false, reason: 'WEBAUTHN_CLONED' }));
      // A counter can jump forward, up to 2^32 - 1.
      expect((await use(key.get(options, { signCount: 4_294_967_295 }))).ok).toBe(true);
      expect((await snapshot()).rows[0]!.counter).toBe(4_294_967_295);
    });
  });

  describe('administration', () => {
    it('removes one key or all, journaled with names only; removed keys no longer sign in', async () => {
      const first = await register();
      const second = await register(user, new SoftAuthenticator({ origin: RP.origin, rpId: RP.id }), 'Backup key');
      const third = await register(user, new SoftAuthenticator({ origin: RP.origin, rpId: RP.id }), 'Laptop');
      expect(await webauthn().remove(t.ctx, user.id, second)).toBe(true);
      let journal = await t.core.journal.list(t.ctx, 0, 100);
      expect(journal.at(-1)).toMatchObject({ objectType: 'user', objectId: user.id, operation: 'mfa_reset', actorType: 'operator', details: { credentialId: second }, changes: { webauthn: { before: 'Backup key', after: null } } });
      const head = await t.core.store.read.journal.head(t.ctx.orgId);
      expect(await webauthn().remove(t.ctx, user.id, second)).toBe(false);
      expect(await webauthn().remove(t.ctx, user.id, 'no-such-credential')).toBe(false);
      // Another user's key is not removed through this user.
      const bob = await t.core.users.create(t.ctx, { username: 'bob', email: 'bob@example.com' });
      const bobs = await register(bob, new SoftAuthenticator({ origin: RP.origin, rpId: RP.id }));
      const headBob = await t.core.store.read.journal.head(t.ctx.orgId);
      expect(head).toBeLessThan(headBob);
      expect(await webauthn().remove(t.ctx, user.id, bobs)).toBe(false);
      expect(await t.core.store.read.journal.head(t.ctx.orgId)).toBe(headBob);
      expect((await webauthn().list(t.ctx, user.id)).map((c) => c.id)).toEqual([first, third]);

      expect(await webauthn().removeAll(t.ctx, user.id)).toBe(2);
      journal = await t.core.journal.list(t.ctx, 0, 100);
      expect(journal.at(-1)).toMatchObject({ operation: 'mfa_reset', changes: { webauthn: { before: ['Security key 1', 'Laptop'], after: null } } });
      const headAfter = await t.core.store.read.journal.head(t.ctx.orgId);
      expect(await webauthn().removeAll(t.ctx, user.id)).toBe(0);
      expect(await t.core.store.read.journal.head(t.ctx.orgId)).toBe(headAfter);
      expect(await webauthn().list(t.ctx, user.id)).toEqual([]);
      expect(await webauthn().hasCredentials(t.ctx.orgId, user.id)).toBe(false);
      expect(await webauthn().withCredentialsAmong(t.ctx, [user.id, bob.id])).toEqual(new Set([bob.id]));
      expect(await webauthn().withCredentialsAmong(t.ctx, [])).toEqual(new Set());

      const { options, challenge } = await webauthn().authenticationOptions(t.ctx.orgId, null, RP);
      expect(await webauthn().authenticate(t.ctx.orgId, key.get(options), challenge, RP, { requireUserVerification: true })).toEqual({ ok: false, reason: 'UNKNOWN_CREDENTIAL' });
    });

    it('deleting the user deletes their keys', async () => {
      await register();
      await t.core.users.delete(t.ctx, user.id);
      expect((await snapshot()).rows).toEqual([]);
    });

    it('needs users:read to list and users:write to remove; unknown users are 404', async () => {
      const id = await register();
      const readOnly = asRole(t.ctx, 'Read Only');
      expect(await webauthn().list(readOnly, user.id)).toHaveLength(1);
      expect(await webauthn().withCredentialsAmong(readOnly, [user.id])).toEqual(new Set([user.id]));
      expect((await failure(webauthn().remove(readOnly, user.id, id))).kind).toBe('forbidden');
      expect((await failure(webauthn().removeAll(readOnly, user.id))).kind).toBe('forbidden');
      expect((await failure(webauthn().remove(asRole(t.ctx, 'Administrator', true), user.id, id))).code).toBe('API_KEY_READ_ONLY');
      expect(await webauthn().list(t.ctx, user.id)).toHaveLength(1);
      const nobody = 'ffffffffffffffffffffffff';
      for (const call of [() => webauthn().list(t.ctx, nobody), () => webauthn().remove(t.ctx, nobody, id), () => webauthn().removeAll(t.ctx, nobody), () => webauthn().registrationOptions(t.ctx.orgId, nobody as UserId, RP)]) {
        expect((await failure(call())).code).toBe('USER_NOT_FOUND');
      }
      // Another org's context does not see this org's user.
      const otherOrg = await t.core.organizations.create('Other Org');
      expect((await failure(webauthn().list(operatorContext(otherOrg.id), user.id))).code).toBe('USER_NOT_FOUND');
    });
  });
});
