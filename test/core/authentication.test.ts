import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PasswordPolicy, User } from '../../src/core/model.js';
import { openTestCore, type TestCore } from '../support/core.js';

const PASSWORD = 'CorrectHorse42x';
const WRONG = 'WrongHorse42x';
const T0 = new Date('2025-03-01T12:00:00.000Z');

describe('AuthenticationService', () => {
  let t: TestCore;
  beforeEach(async () => {
    t = await openTestCore();
    t.clock.now = new Date(T0);
    await policy({ maxLoginAttempts: 3, lockoutTimeInSeconds: 300, resetLockoutCounterMinutes: 10 });
  });
  afterEach(() => t.dispose());

  const policy = (p: Partial<PasswordPolicy>) => t.core.organizations.update(t.ctx, t.ctx.orgId, { passwordPolicy: p });
  const later = (ms: number) => (t.clock.now = new Date(t.clock.now.getTime() + ms));
  const login = (username: string, password: string, origin: 'ldap' | 'radius' | 'sso' | 'portal' = 'ldap') =>
    t.core.authentication.verify(t.ctx.orgId, username, password, origin);
  const reload = (u: User) => t.core.users.get(t.ctx, u.id);
  const newUser = (extra: Record<string, unknown> = {}) =>
    t.core.users.create(t.ctx, { username: 'ada', email: 'ada@example.com', password: PASSWORD, ...extra });
  const journalOps = async (u: User) => (await t.core.journal.list(t.ctx, 0, 1000)).filter((e) => e.objectId === u.id).map((e) => e.operation);

  it('the right password logs in, whatever the case of the username', async () => {
    const u = await newUser();
    expect(await login('ada', PASSWORD)).toEqual({ ok: true, user: u });
    expect((await login('ADA', PASSWORD)).ok).toBe(true);
  });

  it('locks after maxLoginAttempts failures, then refuses even the right password', async () => {
    const u = await newUser();
    expect(await login('ada', WRONG)).toMatchObject({ ok: false, reason: 'INVALID_CREDENTIALS' });
    expect(await login('ada', WRONG)).toMatchObject({ ok: false, reason: 'INVALID_CREDENTIALS' });
    expect((await reload(u)).badLoginAttempts).toBe(2);
    expect(await login('ada', WRONG)).toMatchObject({ ok: false, reason: 'ACCOUNT_LOCKED' });
    expect(await login('ada', PASSWORD)).toMatchObject({ ok: false, reason: 'ACCOUNT_LOCKED' });
    const locked = await reload(u);
    expect(locked).toMatchObject({ accountLocked: true, accountLockedDate: T0.toISOString(), badLoginAttempts: 3, lastFailedLogin: T0.toISOString() });
    expect(await journalOps(u)).toEqual(['create', 'login_failed', 'login_failed', 'lock']);
  });

  it('one counter covers every login path', async () => {
    await newUser();
    await login('ada', WRONG, 'ldap');
    await login('ada', WRONG, 'radius');
    expect(await login('ada', WRONG, 'sso')).toMatchObject({ reason: 'ACCOUNT_LOCKED' });
    expect(await login('ada', PASSWORD, 'portal')).toMatchObject({ reason: 'ACCOUNT_LOCKED' });
    const origins = (await t.core.journal.list(t.ctx, 0, 100)).filter((e) => e.operation !== 'create').map((e) => e.origin);
    expect(origins.slice(-3)).toEqual(['ldap', 'radius', 'sso']);
  });

  it('failures older than resetLockoutCounterMinutes stop counting', async () => {
    const u = await newUser();
    await login('ada', WRONG);
    await login('ada', WRONG);
    later(10 * 60_000 + 1);
    expect(await login('ada', WRONG)).toMatchObject({ reason: 'INVALID_CREDENTIALS' });
    expect((await reload(u)).badLoginAttempts).toBe(1);
    await login('ada', WRONG);
    expect(await login('ada', WRONG)).toMatchObject({ reason: 'ACCOUNT_LOCKED' });
  });

  it('a failure exactly resetLockoutCounterMinutes after the last one still counts', async () => {
    await newUser();
    await login('ada', WRONG);
    await login('ada', WRONG);
    later(10 * 60_000);
    expect(await login('ada', WRONG)).toMatchObject({ reason: 'ACCOUNT_LOCKED' });
  });

  it('a successful login clears the counter', async () => {
    const u = await newUser();
    await login('ada', WRONG);
    await login('ada', WRONG);
    expect((await login('ada', PASSWORD)).ok).toBe(true);
    expect((await reload(u)).badLoginAttempts).toBe(0);
    await login('ada', WRONG);
    expect(await login('ada', WRONG)).toMatchObject({ reason: 'INVALID_CREDENTIALS' });
  });

  it('the lockout lifts after lockoutTimeInSeconds, and the counter starts again', async () => {
    const u = await newUser();
    for (let i = 0; i < 3; i++) await login('ada', WRONG);
    later(299_999);
    expect(await login('ada', PASSWORD)).toMatchObject({ reason: 'ACCOUNT_LOCKED' });
    later(1);
    expect((await login('ada', PASSWORD)).ok).toBe(true);
    expect(await reload(u)).toMatchObject({ accountLocked: false, accountLockedDate: null, badLoginAttempts: 0 });
    expect((await journalOps(u)).slice(-1)).toEqual(['unlock']);
    expect(await login('ada', WRONG)).toMatchObject({ reason: 'INVALID_CREDENTIALS' });
    expect((await reload(u)).badLoginAttempts).toBe(1);
  });

  it('a wrong password once the lockout has expired counts afresh instead of relocking', async () => {
    await newUser();
    for (let i = 0; i < 3; i++) await login('ada', WRONG);
    later(300_000);
    expect(await login('ada', WRONG)).toMatchObject({ reason: 'INVALID_CREDENTIALS' });
  });

  it('with lockoutTimeInSeconds 0 the lock lasts until an administrator unlocks', async () => {
    await policy({ lockoutTimeInSeconds: 0 });
    const u = await newUser();
    for (let i = 0; i < 3; i++) await login('ada', WRONG);
    later(365 * 86_400_000);
    expect(await login('ada', PASSWORD)).toMatchObject({ reason: 'ACCOUNT_LOCKED' });
    const unlocked = await t.core.users.unlock(t.ctx, u.id);
    expect(unlocked).toMatchObject({ accountLocked: false, accountLockedDate: null, badLoginAttempts: 0 });
    expect((await login('ada', PASSWORD)).ok).toBe(true);
  });

  it('a lock set by an administrator does not lift by itself', async () => {
    // Regression: a manual lock used to expire after lockoutTimeInSeconds like a policy lockout.
    const u = await newUser();
    await t.core.users.update(t.ctx, u.id, { accountLocked: true });
    expect((await reload(u)).lockedUntil).toBeNull();
    later(30 * 86_400_000);
    expect(await login('ada', PASSWORD)).toMatchObject({ ok: false, reason: 'ACCOUNT_LOCKED' });
    await t.core.users.unlock(t.ctx, u.id);
    expect((await login('ada', PASSWORD)).ok).toBe(true);
  });

  it('a policy lockout records when it lifts', async () => {
    const u = await newUser();
    for (let i = 0; i < 3; i++) await login('ada', WRONG);
    expect((await reload(u)).lockedUntil).toBe(new Date(T0.getTime() + 300_000).toISOString());
  });

  it('an administrator unlock clears lock and counter at once', async () => {
    const u = await newUser();
    for (let i = 0; i < 3; i++) await login('ada', WRONG);
    await t.core.users.unlock(t.ctx, u.id);
    expect(await reload(u)).toMatchObject({ accountLocked: false, badLoginAttempts: 0 });
    await login('ada', WRONG);
    await login('ada', WRONG);
    expect((await login('ada', PASSWORD)).ok).toBe(true);
  });

  it('maxLoginAttempts 0 never locks', async () => {
    await policy({ maxLoginAttempts: 0 });
    const u = await newUser();
    for (let i = 0; i < 6; i++) expect(await login('ada', WRONG)).toMatchObject({ reason: 'INVALID_CREDENTIALS' });
    expect((await reload(u)).accountLocked).toBe(false);
    expect((await login('ada', PASSWORD)).ok).toBe(true);
  });

  it('suspended and staged users are told apart only after the right password', async () => {
    const s = await newUser({ state: 'SUSPENDED' });
    expect(await login('ada', PASSWORD)).toMatchObject({ ok: false, reason: 'SUSPENDED' });
    expect(await login('ada', WRONG)).toMatchObject({ ok: false, reason: 'INVALID_CREDENTIALS' });
    await t.core.users.create(t.ctx, { username: 'staged', email: 'staged@example.com', password: PASSWORD, state: 'STAGED' });
    expect(await login('staged', PASSWORD)).toMatchObject({ ok: false, reason: 'NOT_ACTIVATED' });
    expect(await login('staged', WRONG)).toMatchObject({ ok: false, reason: 'INVALID_CREDENTIALS' });
    expect((await reload(s)).state).toBe('SUSPENDED');
  });

  it('an expired password is reported after the right password only', async () => {
    const u = await newUser();
    await t.core.users.expire(t.ctx, u.id);
    expect(await login('ada', PASSWORD)).toMatchObject({ ok: false, reason: 'PASSWORD_EXPIRED' });
    expect(await login('ada', WRONG)).toMatchObject({ ok: false, reason: 'INVALID_CREDENTIALS' });
  });

  it('passwords expire passwordExpirationInDays after they are set', async () => {
    await policy({ passwordExpirationInDays: 30 });
    await newUser();
    later(30 * 86_400_000 - 1);
    expect((await login('ada', PASSWORD)).ok).toBe(true);
    later(1);
    expect(await login('ada', PASSWORD)).toMatchObject({ reason: 'PASSWORD_EXPIRED' });
    await t.core.users.create(t.ctx, { username: 'never', email: 'never@example.com', password: PASSWORD, passwordNeverExpires: true });
    expect((await login('never', PASSWORD)).ok).toBe(true);
  });

  it('an unknown user or a user without a password gets INVALID_CREDENTIALS', async () => {
    const missing = await login('nobody', PASSWORD);
    expect(missing).toEqual({ ok: false, reason: 'INVALID_CREDENTIALS' });
    const u = await t.core.users.create(t.ctx, { username: 'nopass', email: 'nopass@example.com' });
    expect(await login('nopass', '')).toMatchObject({ ok: false, reason: 'INVALID_CREDENTIALS' });
    expect(await login('nopass', PASSWORD)).toMatchObject({ ok: false, reason: 'INVALID_CREDENTIALS' });
    expect((await reload(u)).badLoginAttempts).toBe(2);
  });

  it('an unknown user costs a password verification, like a known one', async () => {
    await newUser();
    const time = async (name: string) => {
      const start = performance.now();
      await login(name, WRONG);
      return performance.now() - start;
    };
    await time('nobody');
    const missing = Math.min(await time('nobody'), await time('nobody2'));
    // An argon2id verification takes milliseconds; a lookup alone would take far less.
    expect(missing).toBeGreaterThan(2);
  });

  it('changePassword needs the old password, and works when it has expired', async () => {
    const u = await newUser();
    const wrong = await t.core.authentication.changePassword(t.ctx.orgId, 'ada', WRONG, 'NewHorse42xyz', 'portal');
    expect(wrong).toMatchObject({ ok: false, reason: 'INVALID_CREDENTIALS' });
    expect((await reload(u)).badLoginAttempts).toBe(1);
    await t.core.users.expire(t.ctx, u.id);
    later(1000);
    const changed = await t.core.authentication.changePassword(t.ctx.orgId, 'ada', PASSWORD, 'NewHorse42xyz', 'portal');
    expect(changed.ok).toBe(true);
    expect((await login('ada', 'NewHorse42xyz')).ok).toBe(true);
    expect((await login('ada', PASSWORD)).ok).toBe(false);
    const entry = (await t.core.journal.list(t.ctx, 0, 100)).find((e) => e.operation === 'password_set')!;
    expect(entry).toMatchObject({ actorType: 'user', actorId: u.id, origin: 'portal' });
  });
});
