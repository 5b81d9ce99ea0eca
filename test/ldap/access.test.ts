import type { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipLdapUtils, sorted, startLdapRoster, strongPassword, type LdapRoster } from '../support/ldap.js';

/**
 * Who may bind and what they see, as changed through the API while clients stay connected: every
 * change must show at the very next LDAP request. Each test owns the users whose state it changes.
 */

const skipTools = skipLdapUtils();

/** The `lock` policy used here: three failed logins lock an account for 15 minutes. */
const MAX_LOGIN_ATTEMPTS = 3;

describe.skipIf(skipTools)('LDAP access as the directory changes', () => {
  let r: LdapRoster;
  const pw: Record<string, string> = {};
  const ids: Record<string, string> = {};
  let binder: { dn: string; password: string };
  let dn: (username: string) => string;
  let session: Client;

  const user = async (username: string, extra: Record<string, unknown> = {}) => {
    pw[username] = strongPassword();
    ids[username] = await r.createUser({ username, password: pw[username], ...extra });
    return ids[username]!;
  };
  const whoami = (username: string, password = pw[username]!) => r.ldapwhoami('ldaps', dn(username), password);
  /** Users the binding user's long-lived ldapts session sees right now. */
  const visibleUsers = async () =>
    sorted((await session.search(r.usersDn, { scope: 'one', attributes: ['uid'] })).searchEntries.map((e) => String(e.uid)));

  beforeAll(async () => {
    r = await startLdapRoster();
    dn = r.userDn;
    await r.setPasswordPolicy({ enableMaxLoginAttempts: true, maxLoginAttempts: MAX_LOGIN_ATTEMPTS });
    ids.staff = await r.createGroup('staff', 8001);
    ids.newcomers = await r.createGroup('newcomers', 8002);
    await r.connect('user_group', ids.staff);

    await user('binder', { ldap_binding_user: true });
    await r.connect('user', ids.binder!);
    binder = { dn: dn('binder'), password: pw.binder! };
    for (const name of ['carol', 'dave', 'erin', 'frank', 'gina', 'hank', 'kim', 'lee', 'nina']) await r.addMember(ids.staff, 'user', await user(name));
    await user('ivy');
    await r.connect('user', ids.ivy!);
    await user('late');

    session = r.client('ldaps');
    await session.bind(binder.dn, binder.password);
  });

  afterAll(async () => {
    await session?.unbind().catch(() => undefined);
    await r?.stop();
  });

  describe('connection to the LDAP directory', () => {
    it('exposes a user connected through a nested group at the very next request, and hides him once the nesting is gone', async () => {
      expect(await visibleUsers()).not.toContain('late');
      expect((await whoami('late')).code).toBe(49);

      await r.addMember(ids.newcomers!, 'user', ids.late!);
      expect((await whoami('late')).code).toBe(49); // newcomers is not connected (yet)
      expect(await visibleUsers()).not.toContain('late');

      await r.addMember(ids.staff!, 'user_group', ids.newcomers!);
      const bound = await whoami('late');
      expect(bound.code).toBe(0);
      expect(bound.stdout.trim()).toBe(`dn:${dn('late')}`);
      expect(await visibleUsers()).toContain('late');
      const { searchEntries } = await session.search(r.usersDn, { filter: '(uid=late)', attributes: ['memberOf'] });
      expect(sorted(searchEntries[0]!.memberOf as string[])).toEqual(sorted([r.groupDn('newcomers'), r.groupDn('staff')]));

      await r.removeMember(ids.staff!, 'user_group', ids.newcomers!);
      expect((await whoami('late')).code).toBe(49);
      expect(await visibleUsers()).not.toContain('late');
    });

    it('refuses the next bind of a user whose direct association is removed', async () => {
      expect((await whoami('ivy')).code).toBe(0);
      await r.disconnect('user', ids.ivy!);
      expect((await whoami('ivy')).code).toBe(49);
      expect(await visibleUsers()).not.toContain('ivy');
    });

    it('takes a group rename and a user deletion at the very next request', async () => {
      const crew = await r.createGroup('crew', 8003);
      await user('mia');
      await r.addMember(crew, 'user', ids.mia!);
      await r.addMember(ids.staff!, 'user_group', crew);
      const memberOf = async () => sorted((await session.search(dn('mia'), { scope: 'base', attributes: ['memberOf'] })).searchEntries[0]!.memberOf as string[]);
      expect(await memberOf()).toEqual(sorted([r.groupDn('crew'), r.groupDn('staff')]));

      expect((await r.api('PATCH', `/api/v2/usergroups/${crew}`, { name: 'deck crew' })).status).toBe(200);
      expect(await memberOf()).toEqual(sorted([r.groupDn('deck crew'), r.groupDn('staff')]));
      await expect(session.search(r.groupDn('crew'), { scope: 'base' })).rejects.toMatchObject({ code: 32 });
      const renamed = await session.search(r.groupDn('deck crew'), { scope: 'base', attributes: ['cn', 'gidNumber', 'memberUid'] });
      expect(renamed.searchEntries).toEqual([{ dn: r.groupDn('deck crew'), cn: 'deck crew', gidNumber: '8003', memberUid: 'mia' }]);

      expect((await whoami('mia')).code).toBe(0);
      expect((await r.api('DELETE', `/api/systemusers/${ids.mia}`)).status).toBe(200);
      expect((await whoami('mia')).code).toBe(49);
      expect(await visibleUsers()).not.toContain('mia');
      const emptied = await session.search(r.groupDn('deck crew'), { scope: 'base', attributes: ['member', 'memberUid'] });
      // ldapts lists requested attributes the entry lacks as [].
      expect(emptied.searchEntries).toEqual([{ dn: r.groupDn('deck crew'), member: [], memberUid: [] }]);
    });

    it('takes a rename at the next bind: the old DN stops working, the new one works', async () => {
      await r.updateUser(ids.hank!, { username: 'henry' });
      expect((await whoami('hank')).code).toBe(49);
      const renamed = await r.ldapwhoami('ldaps', dn('henry'), pw.hank!);
      expect(renamed.code).toBe(0);
      expect(renamed.stdout.trim()).toBe(`dn:${dn('henry')}`);
      const staff = await session.search(r.groupDn('staff'), { scope: 'base', attributes: ['memberUid', 'member'] });
      expect(staff.searchEntries[0]!.memberUid).toContain('henry');
      expect(staff.searchEntries[0]!.memberUid).not.toContain('hank');
      expect(staff.searchEntries[0]!.member).toContain(dn('henry'));
    });
  });

  describe('what an ordinary user may read (userSearchAccess)', () => {
    const carolSees = async (base: string, filter: string) =>
      (await r.ldapsearch({ as: { dn: dn('carol'), password: pw.carol! }, base, filter, attributes: ['1.1'] })).dns;
    const everyUser = () => sorted(['binder', 'carol', 'dave', 'erin', 'frank', 'gina'].map((u) => dn(u)));

    it('"self" (the default) shows only their own entry; "all" everyone; "none" nothing; a binding user always sees everyone', async () => {
      try {
        expect((await r.api('GET', `/api/v2/ldapservers/${r.ldapServerId}`)).body.userSearchAccess).toBe('self');
        expect(await carolSees(r.usersDn, '(objectClass=posixAccount)')).toEqual([dn('carol')]);
        expect(await carolSees(r.baseDn, '(uid=binder)')).toEqual([]);
        expect(await carolSees(r.groupsDn, '(objectClass=groupOfNames)')).toEqual([]);

        await r.setLdap({ userSearchAccess: 'all' });
        // Users come and go in other tests of this file; compare with what the binding user sees.
        const all = sorted(await carolSees(r.usersDn, '(objectClass=posixAccount)'));
        expect(all).toEqual(sorted((await session.search(r.usersDn, { filter: '(objectClass=posixAccount)', attributes: ['1.1'] })).searchEntries.map((e) => e.dn)));
        expect(all).toEqual(expect.arrayContaining(everyUser()));
        const groups = sorted(await carolSees(r.groupsDn, '(objectClass=groupOfNames)'));
        expect(groups).toEqual(sorted((await session.search(r.groupsDn, { filter: '(objectClass=groupOfNames)', attributes: ['1.1'] })).searchEntries.map((e) => e.dn)));
        expect(groups).toContain(r.groupDn('staff'));

        await r.setLdap({ userSearchAccess: 'none' });
        expect((await whoami('carol')).code).toBe(0);
        expect(await carolSees(r.usersDn, '(objectClass=posixAccount)')).toEqual([]);
        const own = await r.ldapsearch({ as: { dn: dn('carol'), password: pw.carol! }, base: dn('carol'), scope: 'base' });
        expect(own.code).toBe(32);
        expect(await visibleUsers()).toEqual(expect.arrayContaining(['binder', 'carol', 'dave']));
      } finally {
        await r.setLdap({ userSearchAccess: 'self' });
      }
    });

    it('applies the same rule to compare: an entry the user may not read is noSuchObject (32)', async () => {
      const compare = (target: string, assertion: string) =>
        r.tool('ldapcompare', ['-x', '-H', r.ldapsUrl, '-D', dn('carol'), '-w', pw.carol!, target, assertion]);
      expect((await compare(dn('carol'), 'uid:carol')).code).toBe(6);
      expect((await compare(dn('binder'), 'uid:binder')).code).toBe(32);
    });
  });

  describe('ldappasswd (Password Modify)', () => {
    const passwd = (username: string, bindPassword: string, ...args: string[]) =>
      r.tool('ldappasswd', ['-x', '-H', r.ldapsUrl, '-D', dn(username), '-w', bindPassword, ...args]);

    it('changes the bound user\'s password: the old one stops working at the next bind, the new one works; policy, history and wrong old passwords change nothing', async () => {
      const since = await r.journalHead();
      const original = pw.dave!;
      const next = strongPassword();
      const changed = await passwd('dave', original, '-a', original, '-s', next);
      expect({ code: changed.code, stdout: changed.stdout, stderr: changed.stderr }).toEqual({ code: 0, stdout: '', stderr: '' });
      expect((await whoami('dave', original)).code).toBe(49);
      expect((await whoami('dave', next)).code).toBe(0);

      const weak = await passwd('dave', next, '-a', next, '-s', 'short');
      expect(weak.code).toBe(1);
      expect(weak.stdout).toMatch(/Result: Constraint violation \(19\)/);
      const reused = await passwd('dave', next, '-a', next, '-s', original);
      expect(reused.code).toBe(1);
      expect(reused.stdout).toMatch(/Result: Constraint violation \(19\)/);
      const another = strongPassword();
      const wrongOld = await passwd('dave', next, '-a', 'Not-The-Old-One-1', '-s', another);
      expect(wrongOld.code).toBe(1);
      expect(wrongOld.stdout).toMatch(/Result: Invalid credentials \(49\)/);
      // At most two failures in a row: a third would lock the account (MAX_LOGIN_ATTEMPTS).
      expect((await whoami('dave', another)).code).toBe(49);
      expect((await whoami('dave', next)).code).toBe(0);
      expect((await whoami('dave', 'short')).code).toBe(49);
      expect((await whoami('dave', original)).code).toBe(49);
      expect((await whoami('dave', next)).code).toBe(0);

      const entries = await r.journal(['operation:eq:password_set', `objectId:eq:${ids.dave}`], since);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ objectType: 'user', origin: 'ldap', actor: { type: 'user', id: ids.dave }, changes: { password: { after: '[REDACTED]' } } });
    });

    it('generates a password when none is given, and it works', async () => {
      const since = await r.journalHead();
      const result = await passwd('erin', pw.erin!, '-a', pw.erin!);
      expect(result.code).toBe(0);
      const generated = /^New password: (\S+)$/m.exec(result.stdout)?.[1];
      expect(generated).toBeDefined();
      expect(generated!.length).toBeGreaterThanOrEqual(12);
      expect((await whoami('erin', generated)).code).toBe(0);
      expect((await whoami('erin')).code).toBe(49);
      const entries = await r.journal(['operation:eq:password_set', `objectId:eq:${ids.erin}`], since);
      expect(entries.map((e) => [e.origin, e.actor.id])).toEqual([['ldap', ids.erin]]);
      pw.erin = generated!;
    });

    // BUG (src/ldap/password.ts → src/core/secrets.ts randomPassword()): the generated password is
    // always 26 characters, whatever the org's policy asks for, so with minLength above 26 the
    // server refuses its own password with constraintViolation (19). It should generate to the policy.
    it('generates a password that satisfies the org\'s policy when it asks for more than the default', async () => {
      try {
        await r.setPasswordPolicy({ enableMinLength: true, minLength: 32 });
        const result = await passwd('nina', pw.nina!, '-a', pw.nina!);
        expect({ code: result.code, stdout: result.stdout.replace(/: \S+$/m, ': …') }).toEqual({ code: 0, stdout: 'New password: …\n' });
        const generated = /^New password: (\S+)$/m.exec(result.stdout)![1]!;
        expect([...generated].length).toBeGreaterThanOrEqual(32);
        expect((await whoami('nina', generated)).code).toBe(0);
      } finally {
        await r.setPasswordPolicy({ enableMinLength: true, minLength: 12 });
      }
    });

    it('refuses another user\'s password (50) and a change without the old password (53)', async () => {
      const other = await passwd('carol', pw.carol!, '-a', pw.carol!, '-s', strongPassword(), dn('binder'));
      expect(other.code).toBe(1);
      expect(other.stdout).toMatch(/Result: Insufficient access \(50\)/);
      const withoutOld = await passwd('carol', pw.carol!, '-s', strongPassword());
      expect(withoutOld.code).toBe(1);
      expect(withoutOld.stdout).toMatch(/Result: Server is unwilling to perform \(53\)/);
      expect((await whoami('carol')).code).toBe(0);
      expect((await whoami('binder')).code).toBe(0);
    });
  });

  describe('suspension and lockout', () => {
    it('refuses the next bind of a user suspended through the API, and accepts it again once unsuspended', async () => {
      const since = await r.journalHead();
      const client = r.client('ldaps');
      try {
        await client.bind(dn('frank'), pw.frank!);
        await r.suspend(ids.frank!);
        const refused = await whoami('frank');
        expect(refused.code).toBe(49);
        expect(refused.stderr).toMatch(/suspended/);
        // A rebind on a connection opened before the suspension is refused as well.
        await expect(client.bind(dn('frank'), pw.frank!)).rejects.toMatchObject({ code: 49 });
        await r.waitForJournal(['operation:eq:ldap_bind'], (e) => e.actor.id === ids.frank && e.details?.reason === 'SUSPENDED', { since });

        await r.updateUser(ids.frank!, { suspended: false });
        expect((await whoami('frank')).code).toBe(0);
        await client.bind(dn('frank'), pw.frank!);
      } finally {
        await client.unbind().catch(() => undefined);
      }
    });

    it(`locks an account after ${MAX_LOGIN_ATTEMPTS} wrong passwords: the right one fails too (49) until an administrator unlocks it`, async () => {
      const since = await r.journalHead();
      for (let i = 0; i < MAX_LOGIN_ATTEMPTS; i++) expect((await whoami('gina', `Wrong-Guess-${i}0`)).code).toBe(49);
      const locked = await whoami('gina');
      expect(locked.code).toBe(49);
      expect(locked.stderr).toMatch(/locked/);
      const lock = await r.journal(['operation:eq:lock', `objectId:eq:${ids.gina}`], since);
      expect(lock).toHaveLength(1);
      await r.waitForJournal(['operation:eq:ldap_bind'], (e) => e.actor.id === ids.gina && e.details?.reason === 'ACCOUNT_LOCKED', { since });

      // userLockoutAction: "disable" refuses binds but keeps the entry; "remove" also hides it.
      expect(await visibleUsers()).toContain('gina');
      try {
        await r.setLdap({ userLockoutAction: 'remove' });
        expect(await visibleUsers()).not.toContain('gina');
      } finally {
        await r.setLdap({ userLockoutAction: 'disable' });
      }

      const unlocked = await r.api('POST', `/api/systemusers/${ids.gina}/unlock`);
      expect(unlocked.status).toBe(200);
      expect((await whoami('gina')).code).toBe(0);
    });

    it('refuses a user whose password an administrator expired (49); "remove" also hides them', async () => {
      expect((await whoami('lee')).code).toBe(0);
      expect((await r.api('POST', `/api/systemusers/${ids.lee}/expire`)).status).toBe(200);
      const refused = await whoami('lee');
      expect(refused.code).toBe(49);
      expect(refused.stderr).toMatch(/expired/);
      expect(await visibleUsers()).toContain('lee');
      try {
        await r.setLdap({ userPasswordExpirationAction: 'remove' });
        expect(await visibleUsers()).not.toContain('lee');
      } finally {
        await r.setLdap({ userPasswordExpirationAction: 'disable' });
      }
      expect(await visibleUsers()).toContain('lee');
    });

    // BUG (src/ldap/search.ts, access()): "remove" hides every user with accountLocked set, without
    // looking at lockedUntil, while the core treats a lockout past its lockedUntil as lifted. The
    // flag is only cleared by the next login attempt, so a client that looks the user up before
    // binding (SSSD, nslcd, most applications) never finds them and never binds: the lockout lasts
    // until an administrator unlocks the account, whatever lockoutTimeInSeconds says.
    it('shows a user again under userLockoutAction "remove" once the lockout time has passed', async () => {
      const lockSeconds = 2;
      try {
        await r.setPasswordPolicy({ enableLockoutTimeInSeconds: true, lockoutTimeInSeconds: lockSeconds });
        await r.setLdap({ userLockoutAction: 'remove' });
        for (let i = 0; i < MAX_LOGIN_ATTEMPTS; i++) expect((await whoami('kim', `Wrong-Guess-${i}0`)).code).toBe(49);
        const lockedAt = Date.now();
        expect((await whoami('kim')).stderr).toMatch(/locked/);
        expect(await visibleUsers()).not.toContain('kim');

        await new Promise((resolve) => setTimeout(resolve, lockSeconds * 1000 + 300 - (Date.now() - lockedAt)));
        expect(await visibleUsers()).toContain('kim');
        expect((await whoami('kim')).code).toBe(0);
      } finally {
        await r.setLdap({ userLockoutAction: 'disable' });
        await r.setPasswordPolicy({ enableLockoutTimeInSeconds: true, lockoutTimeInSeconds: 900 });
      }
    });
  });

  // BUG: the LDAP service compares uid and cn values the LDAP way (src/ldap/matching.ts prepare():
  // NFKC, case folded, runs of spaces collapsed), but the API keeps usernames and group names unique
  // only up to foldCase() (src/core/query.ts: NFC + case, spaces kept). Two names the API accepts as
  // different can then get the same DN, and src/ldap/tree.ts keeps the last one in byNdn and idByNdn:
  // the other entry cannot be read by its DN, and a bind to its DN authenticates the other account.
  describe('names the API keeps apart but LDAP compares as equal', () => {
    /** Every entry below `base` must be the entry its own DN reads back. */
    const expectDnsResolveToThemselves = async (base: string) => {
      const listed = (await session.search(base, { scope: 'one', attributes: ['entryUUID', 'entryDN'] })).searchEntries;
      for (const entry of listed) {
        const read = await session.search(entry.dn, { scope: 'base', attributes: ['entryUUID'] });
        expect({ dn: entry.dn, entryUUID: read.searchEntries[0]?.entryUUID }).toEqual({ dn: entry.dn, entryUUID: entry.entryUUID });
      }
    };

    it('a user whose username is "zoe" in fullwidth letters does not take over uid=zoe', async () => {
      await user('zoe');
      await r.addMember(ids.staff!, 'user', ids.zoe!);
      const imposterPassword = strongPassword();
      const created = await r.api('POST', '/api/systemusers', { username: 'ｚｏｅ', email: 'fullwidth-zoe@ldap-e2e.test', password: imposterPassword });
      // The API refuses the lookalike: usernames must be in NFKC form.
      expect(created.status).toBe(400);
      expect(created.body.message).toMatch(/full-width.*zoe/);

      const own = await whoami('zoe');
      expect({ code: own.code, stdout: own.stdout.trim() }).toEqual({ code: 0, stdout: `dn:${dn('zoe')}` });
      expect((await r.ldapwhoami('ldaps', dn('zoe'), imposterPassword)).code).toBe(49);
      await expectDnsResolveToThemselves(r.usersDn);
    });

    it('groups named "Night  Shift" and "night shift" cannot both exist', async () => {
      const first = await r.createGroup('Night  Shift');
      await r.addMember(first, 'user', ids.carol!);
      await r.addMember(ids.staff!, 'user_group', first);
      // Runs of spaces collapse when the name is stored, so the second name is taken.
      const second = await r.api('POST', '/api/v2/usergroups', { name: 'night shift' });
      expect(second.status).toBe(409);

      const read = await session.search(r.groupDn('Night Shift'), { scope: 'base', attributes: ['cn', 'member'] });
      expect(read.searchEntries.map((e) => [e.cn, e.member])).toEqual([['Night Shift', dn('carol')]]);
      await expectDnsResolveToThemselves(r.groupsDn);
    });
  });

  describe('journal', () => {
    it('journals every failed bind even when successful binds are not sampled, and searches when they are', async () => {
      const since = await r.journalHead();
      try {
        await r.setLdap({ bindEventSampleRate: 0, searchEventSampleRate: 1 });
        expect((await whoami('carol')).code).toBe(0);
        expect((await whoami('carol', 'Wrong-Guess-99x')).code).toBe(49);
        await session.search(r.usersDn, { filter: '(uid=carol)', attributes: ['1.1'] });
        const failure = await r.waitForJournal(['operation:eq:ldap_bind'], (e) => e.actor.id === ids.carol, { since });
        expect(failure.details).toMatchObject({ result: 'failure', reason: 'INVALID_CREDENTIALS' });
        const search = await r.waitForJournal(['operation:eq:ldap_search'], (e) => e.details?.filter === '(uid=carol)', { since });
        expect(search).toMatchObject({ origin: 'ldap', actor: { type: 'user', id: ids.binder }, details: { base: r.usersDn, scope: 'sub', entries: 1, result: 0 } });
        // Both events were written in the same batch or earlier: no success for carol is coming.
        const binds = await r.journal(['operation:eq:ldap_bind'], since);
        expect(binds.filter((e) => e.actor.id === ids.carol).map((e) => e.details?.result)).toEqual(['failure']);
      } finally {
        await r.setLdap({ bindEventSampleRate: 1, searchEventSampleRate: 0.01 });
      }
    });

    it('writes queued bind events on a graceful shutdown, while a client is still connected', async () => {
      const since = await r.journalHead();
      const failed = r.client('ldaps');
      await expect(failed.bind(dn('carol'), 'Shutdown-Guess-1')).rejects.toMatchObject({ code: 49 });
      // No wait for the once-a-second batch: SIGTERM right away, with this client and `session` still connected.
      r = await r.restart();
      const events = await r.journal(['operation:eq:ldap_bind'], since);
      expect(events.filter((e) => e.actor.id === ids.carol).map((e) => e.details?.bindDn)).toEqual([dn('carol')]);
      // The restarted server serves the same directory.
      expect((await whoami('carol')).code).toBe(0);
      await failed.unbind().catch(() => undefined);
      await session.unbind().catch(() => undefined);
      session = r.client('ldaps');
      await session.bind(binder.dn, binder.password);
      expect(await visibleUsers()).toContain('carol');
    });
  });
});
