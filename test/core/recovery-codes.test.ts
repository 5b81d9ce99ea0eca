import { afterEach, beforeEach, expect, it } from 'vitest';
import type { User } from '../../src/core/model.js';
import { normalizeRecoveryCode } from '../../src/core/services/recovery-codes.js';
import { asRole, failure, openTestCore, type TestCore } from '../support/core.js';
import { describeEachStore } from '../support/stores.js';

describeEachStore('Recovery codes', (kind) => {
  let t: TestCore;
  let user: User;
  beforeEach(async () => {
    t = await openTestCore(kind);
    user = await t.core.users.create(t.ctx, { username: 'ann', email: 'ann@example.com' });
  });
  afterEach(() => t.dispose());

  it('generates ten distinct codes shown once, keeps only digests, and journals the change without them', async () => {
    const codes = await t.core.recoveryCodes.generate(t.ctx, user.id);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    expect(await t.core.recoveryCodes.status(t.ctx, user.id)).toEqual({ total: 10, remaining: 10, created: expect.any(String) });
    const stored = await t.testStore.store.db.selectFrom('user_recovery_codes').selectAll().execute();
    expect(JSON.stringify(stored)).not.toContain(codes[0]!.replace('-', ''));
    const journal = await t.core.journal.list(t.ctx, 0, 100);
    expect(journal.at(-1)).toMatchObject({ objectType: 'user', objectId: user.id, operation: 'mfa_enroll', changes: { recoveryCodes: { before: null, after: 10 } } });
    expect(JSON.stringify(journal)).not.toContain(codes[0]);
  });

  it('accepts each code once, as typed by a person (case, spaces, dashes, O for 0), and no other', async () => {
    const codes = await t.core.recoveryCodes.generate(t.ctx, user.id);
    const typed = ` ${codes[0]!.toLowerCase().replace('-', ' ').replace(/0/g, 'o')} `;
    expect(await t.core.recoveryCodes.consume(t.ctx.orgId, user.id, typed)).toBe(true);
    expect(await t.core.recoveryCodes.consume(t.ctx.orgId, user.id, codes[0]!)).toBe(false);
    expect(await t.core.recoveryCodes.consume(t.ctx.orgId, user.id, 'ZZZZZ-ZZZZZ')).toBe(false);
    expect(await t.core.recoveryCodes.consume(t.ctx.orgId, user.id, '123456')).toBe(false);
    expect((await t.core.recoveryCodes.status(t.ctx, user.id)).remaining).toBe(9);
    // Another user's code is not this user's.
    const other = await t.core.users.create(t.ctx, { username: 'bob', email: 'bob@example.com' });
    const theirs = await t.core.recoveryCodes.generate(t.ctx, other.id);
    expect(await t.core.recoveryCodes.consume(t.ctx.orgId, user.id, theirs[0]!)).toBe(false);
    // A new set replaces the old one.
    const fresh = await t.core.recoveryCodes.generate(t.ctx, user.id);
    expect(await t.core.recoveryCodes.consume(t.ctx.orgId, user.id, codes[1]!)).toBe(false);
    expect(await t.core.recoveryCodes.consume(t.ctx.orgId, user.id, fresh[1]!)).toBe(true);
    expect(await t.core.recoveryCodes.remove(t.ctx, user.id)).toBe(true);
    expect(await t.core.recoveryCodes.remove(t.ctx, user.id)).toBe(false);
    expect(await t.core.recoveryCodes.consume(t.ctx.orgId, user.id, fresh[2]!)).toBe(false);
    expect(normalizeRecoveryCode('abcde-fghjk')).toBe('ABCDEFGHJK');
    expect(normalizeRecoveryCode('abcde-fghju')).toBeUndefined();
  });

  it('needs users:write to generate or remove, users:read to see the count', async () => {
    expect((await failure(t.core.recoveryCodes.generate(asRole(t.ctx, 'Read Only'), user.id))).kind).toBe('forbidden');
    expect(await t.core.recoveryCodes.status(asRole(t.ctx, 'Read Only'), user.id)).toEqual({ total: 0, remaining: 0, created: null });
    expect((await failure(t.core.recoveryCodes.generate(t.ctx, 'ffffffffffffffffffffffff'))).code).toBe('USER_NOT_FOUND');
  });
});
