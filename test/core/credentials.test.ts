import { generate } from 'otplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { operatorContext, type Context } from '../../src/core/context.js';
import type { User } from '../../src/core/model.js';
import { ntHash } from '../../src/core/nt-hash.js';
import type { RoleName } from '../../src/core/roles.js';
import { asRole as withRole, failure, openTestCore, type TestCore } from '../support/core.js';
import { describeEachStore } from '../support/stores.js';

const PASSWORD = 'CorrectHorse42x';
/** The start of a 30-second step, as a time: step 58_000_000 began on 2025-02-27. */
const STEP = 58_000_000;
const atStep = (step: number, seconds = 0) => new Date((step * 30 + seconds) * 1000);

describeEachStore('CredentialService', (kind) => {
  let t: TestCore;
  let user: User;
  beforeEach(async () => {
    t = await openTestCore(kind);
    t.clock.now = atStep(STEP, 10);
    user = await t.core.users.create(t.ctx, { username: 'ann.smith', email: 'ann@example.com' });
  });
  afterEach(() => t.dispose());

  const journal = () => t.core.journal.list(t.ctx, 0, 1000);
  const codeAt = (secret: string, step: number) => generate({ secret, epoch: step * 30 });
  const asRole = (role: RoleName): Context => withRole(t.ctx, role);
  /** Enrolled and confirmed with the code of STEP - 1, as a user whose phone runs a little late. */
  const enrolled = async () => {
    const { secret } = await t.core.credentials.enrollTotp(t.ctx, user.id);
    await t.core.credentials.confirmTotp(t.ctx, user.id, await codeAt(secret, STEP - 1));
    return secret;
  };
  const check = (code: string) => t.core.credentials.checkTotp(t.ctx.orgId, user.id, code);

  describe('TOTP', () => {
    it('enrolls with a base32 secret and an otpauth URI labelled with the username; the journal never holds the secret', async () => {
      const { secret, otpauthUri } = await t.core.credentials.enrollTotp(t.ctx, user.id);
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      const uri = new URL(otpauthUri);
      expect(`${uri.protocol}//${uri.host}`).toBe('otpauth://totp');
      expect(decodeURIComponent(uri.pathname)).toBe('/Roster:ann.smith');
      expect(uri.searchParams.get('secret')).toBe(secret);
      expect(uri.searchParams.get('issuer')).toBe('Roster');
      expect(await t.core.credentials.totpStatus(t.ctx, user.id)).toEqual({ enrolled: true, confirmed: false, enrolledAt: t.clock.now.toISOString() });
      expect(await t.core.credentials.totpConfirmed(t.ctx.orgId, user.id)).toBe(false);
      const entries = await journal();
      expect(entries.at(-1)).toMatchObject({ objectType: 'user', objectId: user.id, operation: 'mfa_enroll', changes: { totp: { before: null, after: 'pending' } } });
      expect(JSON.stringify(entries)).not.toContain(secret);
    });

    it('confirms with the first good code; a wrong code is INVALID_TOTP; a second confirmation is a conflict', async () => {
      const { secret } = await t.core.credentials.enrollTotp(t.ctx, user.id);
      for (const bad of ['000000', '12345', 'abcdef', await codeAt(secret, STEP - 2), await codeAt(secret, STEP + 2)]) {
        const e = await failure(t.core.credentials.confirmTotp(t.ctx, user.id, bad));
        expect([e.kind, e.code]).toEqual(['invalid', 'INVALID_TOTP']);
      }
      expect(await t.core.credentials.totpConfirmed(t.ctx.orgId, user.id)).toBe(false);
      const status = await t.core.credentials.confirmTotp(t.ctx, user.id, await codeAt(secret, STEP));
      expect(status).toEqual({ enrolled: true, confirmed: true, enrolledAt: t.clock.now.toISOString() });
      expect(await t.core.credentials.totpConfirmed(t.ctx.orgId, user.id)).toBe(true);
      expect((await journal()).at(-1)).toMatchObject({ operation: 'mfa_enroll', changes: { totp: { before: 'pending', after: 'confirmed' } } });
      const again = await failure(t.core.credentials.confirmTotp(t.ctx, user.id, await codeAt(secret, STEP + 1)));
      expect([again.kind, again.code]).toEqual(['conflict', 'TOTP_ALREADY_CONFIRMED']);
    });

    it('confirmation needs an enrollment and a user of this org', async () => {
      expect((await failure(t.core.credentials.confirmTotp(t.ctx, user.id, '123456'))).code).toBe('TOTP_NOT_ENROLLED');
      expect((await failure(t.core.credentials.enrollTotp(t.ctx, 'ffffffffffffffffffffffff'))).code).toBe('USER_NOT_FOUND');
      const other = operatorContext((await t.core.organizations.create('Other')).id);
      for (const attempt of [
        () => t.core.credentials.enrollTotp(other, user.id),
        () => t.core.credentials.totpStatus(other, user.id),
        () => t.core.credentials.resetTotp(other, user.id),
        () => t.core.credentials.deleteNtHash(other, user.id),
      ]) {
        expect((await failure(attempt())).code).toBe('USER_NOT_FOUND');
      }
    });

    it('checks codes of the current step and one either side, each once; older steps are replays', async () => {
      expect(await check('123456')).toBe('not_enrolled');
      const secret = await enrolled();
      // The confirming code (STEP - 1) is spent already.
      expect(await check(await codeAt(secret, STEP - 1))).toBe('replayed');
      expect(await check(await codeAt(secret, STEP - 2))).toBe('invalid');
      expect(await check(await codeAt(secret, STEP + 2))).toBe('invalid');
      expect(await check('abcdef')).toBe('invalid');
      expect(await check('12345')).toBe('invalid');
      expect(await check('')).toBe('invalid');
      expect(await check(await codeAt(secret, STEP))).toBe('ok');
      expect(await check(await codeAt(secret, STEP))).toBe('replayed');
      expect(await check(await codeAt(secret, STEP + 1))).toBe('ok');
      // Accepting STEP + 1 spends every earlier step.
      t.clock.now = atStep(STEP + 1, 5);
      expect(await check(await codeAt(secret, STEP))).toBe('replayed');
      t.clock.now = atStep(STEP + 2, 29);
      expect(await check(await codeAt(secret, STEP + 2))).toBe('ok');
    });

    it('of two requests with the same code at once, exactly one succeeds', async () => {
      const secret = await enrolled();
      const code = await codeAt(secret, STEP);
      const results = await Promise.all([check(code), check(code), check(code)]);
      expect(results.filter((r) => r === 'ok')).toHaveLength(1);
      expect(results.filter((r) => r === 'replayed')).toHaveLength(2);
    });

    it('an unconfirmed enrollment is not enrolled for checks; re-enrolling replaces a confirmed one', async () => {
      const { secret } = await t.core.credentials.enrollTotp(t.ctx, user.id);
      expect(await check(await codeAt(secret, STEP))).toBe('not_enrolled');
      await t.core.credentials.confirmTotp(t.ctx, user.id, await codeAt(secret, STEP));
      const { secret: fresh } = await t.core.credentials.enrollTotp(t.ctx, user.id);
      expect(fresh).not.toBe(secret);
      expect(await t.core.credentials.totpConfirmed(t.ctx.orgId, user.id)).toBe(false);
      expect((await journal()).at(-1)).toMatchObject({ operation: 'mfa_enroll', changes: { totp: { before: 'confirmed', after: 'pending' } } });
    });

    it('reset removes the enrollment, journaled as mfa_reset; a second reset finds nothing', async () => {
      const secret = await enrolled();
      expect(await t.core.credentials.resetTotp(t.ctx, user.id)).toBe(true);
      expect((await journal()).at(-1)).toMatchObject({ objectId: user.id, operation: 'mfa_reset', changes: { totp: { before: 'confirmed', after: null } } });
      expect(await t.core.credentials.resetTotp(t.ctx, user.id)).toBe(false);
      expect(await t.core.credentials.totpStatus(t.ctx, user.id)).toEqual({ enrolled: false, confirmed: false, enrolledAt: null });
      expect(await check(await codeAt(secret, STEP + 1))).toBe('not_enrolled');
      expect(JSON.stringify(await journal())).not.toContain(secret);
    });

    it('deleting the user deletes their TOTP', async () => {
      await enrolled();
      await t.core.users.delete(t.ctx, user.id);
      expect(await t.core.credentials.totpConfirmed(t.ctx.orgId, user.id)).toBe(false);
      expect(await check('123456')).toBe('not_enrolled');
    });

    it('reading the state needs users:read; enrolling and resetting need users:write', async () => {
      await enrolled();
      expect((await t.core.credentials.totpStatus(asRole('Read Only'), user.id)).confirmed).toBe(true);
      expect(await t.core.credentials.totpConfirmedAmong(asRole('Read Only'), [user.id])).toEqual(new Set([user.id]));
      expect((await failure(t.core.credentials.resetTotp(asRole('Read Only'), user.id))).kind).toBe('forbidden');
      expect((await failure(t.core.credentials.enrollTotp(asRole('Read Only'), user.id))).kind).toBe('forbidden');
      expect((await failure(t.core.credentials.totpStatus(asRole('Command Runner'), user.id))).kind).toBe('forbidden');
      expect(await t.core.credentials.resetTotp(asRole('Help Desk'), user.id)).toBe(true);
    });
  });

  describe('NT hashes', () => {
    const keep = (on: boolean) => t.core.organizations.update(t.ctx, t.ctx.orgId, { radius: { storeNtHashes: on } });
    const ntHashOf = (u: User) => t.core.credentials.ntHashOf(t.ctx.orgId, u.id);
    const count = () => t.testStore.store.read.credentials.countNtHashes(t.ctx.orgId);

    it('are off by default: no password set writes one', async () => {
      expect((await t.core.organizations.get(t.ctx, t.ctx.orgId)).settings.radius).toEqual({ storeNtHashes: false });
      const u = await t.core.users.create(t.ctx, { username: 'pw', email: 'pw@example.com', password: PASSWORD });
      await t.core.users.update(t.ctx, u.id, { password: 'SecondHorse42x' });
      await t.core.users.setPassword(t.ctx, u, 'ThirdHorse42x');
      await t.core.userImport.import(t.ctx, () => [{ line: 2, input: { username: 'imp', email: 'imp@example.com', password: PASSWORD } }]);
      await t.core.credentials.captureNtHash(t.ctx.orgId, u.id, 'ThirdHorse42x');
      expect(await count()).toBe(0);
    });

    it('when on, every password set writes the sealed NT hash of the new password', async () => {
      await keep(true);
      const u = await t.core.users.create(t.ctx, { username: 'pw', email: 'pw@example.com', password: PASSWORD });
      expect(await ntHashOf(u)).toEqual(ntHash(PASSWORD));
      expect((await ntHashOf(u))!.length).toBe(16);
      await t.core.users.update(t.ctx, u.id, { password: 'SecondHorse42x' });
      expect(await ntHashOf(u)).toEqual(ntHash('SecondHorse42x'));
      await t.core.users.setPassword(t.ctx, u, 'ThirdHorse42x');
      expect(await ntHashOf(u)).toEqual(ntHash('ThirdHorse42x'));
      await t.core.users.update(t.ctx, u.id, { jobTitle: 'no password here' });
      expect(await ntHashOf(u)).toEqual(ntHash('ThirdHorse42x'));
      expect(await ntHashOf(user)).toBeUndefined();

      const report = await t.core.userImport.import(t.ctx, () => [
        { line: 2, input: { username: 'imp1', email: 'imp1@example.com', password: 'ImportedHorse42x' } },
        { line: 3, input: { username: 'imp2', email: 'imp2@example.com' } },
      ]);
      expect(report.created).toBe(2);
      const imp1 = (await t.core.users.list(t.ctx, { filter: { kind: 'compare', field: 'username', op: 'eq', value: 'imp1' }, sort: [], page: { limit: 1, skip: 0 } })).items[0]!;
      expect(await ntHashOf(imp1)).toEqual(ntHash('ImportedHorse42x'));
      expect(await count()).toBe(2);

      const stored = await t.testStore.store.read.credentials.findNtHash(t.ctx.orgId, u.id);
      expect(stored).toMatch(/^enc:v1:/);
      expect(stored).not.toContain(ntHash('ThirdHorse42x').toString('hex'));
      expect(JSON.stringify(await journal())).not.toContain(ntHash('ThirdHorse42x').toString('hex'));
    });

    it('turning them off deletes every NT hash of the org, journaled with the settings change', async () => {
      await keep(true);
      const other = operatorContext((await t.core.organizations.create('Other')).id);
      await t.core.organizations.update(other, other.orgId, { radius: { storeNtHashes: true } });
      const theirs = await t.core.users.create(other, { username: 'theirs', email: 'theirs@example.com', password: PASSWORD });
      await t.core.users.create(t.ctx, { username: 'a', email: 'a@example.com', password: PASSWORD });
      await t.core.users.create(t.ctx, { username: 'b', email: 'b@example.com', password: PASSWORD });
      expect(await count()).toBe(2);
      const org = await keep(false);
      expect(org.settings.radius.storeNtHashes).toBe(false);
      expect(await count()).toBe(0);
      expect((await journal()).at(-1)).toMatchObject({
        objectType: 'organization',
        operation: 'update',
        changes: { settings: expect.any(Object), ntHashes: { before: 2, after: 0 } },
      });
      expect(await t.core.credentials.ntHashOf(other.orgId, theirs.id)).toEqual(ntHash(PASSWORD));
      // Turning off what is already off deletes nothing and journals nothing.
      const head = (await journal()).length;
      await keep(false);
      expect((await journal()).length).toBe(head);
    });

    it('refuses a setting that is not a boolean or not a RADIUS setting', async () => {
      const e = await failure(t.core.organizations.update(t.ctx, t.ctx.orgId, { radius: { storeNtHashes: 'yes' as unknown as boolean } }));
      expect(e.details.map((d) => d.field)).toEqual(['radius.storeNtHashes']);
      const unknown = await failure(t.core.organizations.update(t.ctx, t.ctx.orgId, { radius: { storeLmHashes: true } as never }));
      expect(unknown.details.map((d) => d.field)).toEqual(['radius.storeLmHashes']);
    });

    it('captureNtHash fills in a missing hash after a good login, only when on, and never overwrites one', async () => {
      const u = await t.core.users.create(t.ctx, { username: 'old', email: 'old@example.com', password: PASSWORD });
      await t.core.credentials.captureNtHash(t.ctx.orgId, u.id, PASSWORD);
      expect(await ntHashOf(u)).toBeUndefined();
      await keep(true);
      await t.core.credentials.captureNtHash(t.ctx.orgId, u.id, PASSWORD);
      expect(await ntHashOf(u)).toEqual(ntHash(PASSWORD));
      await t.core.credentials.captureNtHash(t.ctx.orgId, u.id, 'SomethingElse42x');
      expect(await ntHashOf(u)).toEqual(ntHash(PASSWORD));
      await t.core.credentials.captureNtHash(t.ctx.orgId, 'ffffffffffffffffffffffff' as User['id'], PASSWORD);
      expect(await count()).toBe(1);
    });

    it('an administrator deletes one, journaled without the hash; deleting the user deletes it too', async () => {
      await keep(true);
      const u = await t.core.users.create(t.ctx, { username: 'del', email: 'del@example.com', password: PASSWORD });
      expect(await t.core.credentials.deleteNtHash(t.ctx, u.id)).toBe(true);
      expect((await journal()).at(-1)).toMatchObject({ objectId: u.id, operation: 'update', changes: { ntHash: { before: '[REDACTED]', after: null } } });
      expect(await t.core.credentials.deleteNtHash(t.ctx, u.id)).toBe(false);
      expect((await failure(t.core.credentials.deleteNtHash(asRole('Read Only'), u.id))).kind).toBe('forbidden');
      await t.core.users.update(t.ctx, u.id, { password: 'SecondHorse42x' });
      expect(await ntHashOf(u)).toEqual(ntHash('SecondHorse42x'));
      await t.core.users.delete(t.ctx, u.id);
      expect(await ntHashOf(u)).toBeUndefined();
      expect(await count()).toBe(0);
    });
  });
});
