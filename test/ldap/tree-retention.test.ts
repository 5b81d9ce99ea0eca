import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { GroupId, OrgId, UserId } from '../../src/core/ids.js';
import type { Directory, Organization, User } from '../../src/core/model.js';
import type { DirectoryView } from '../../src/core/services/directory-view.js';
import { OrgTree } from '../../src/ldap/tree.js';

/**
 * BUG (src/ldap/tree.ts, OrgTree constructor + src/ldap/entry.ts): within one generation a new tree
 * reuses the Entry objects of unchanged users, but each Entry keeps the tree that built it as its
 * ChainResolver. Every tree that built an entry still in use stays reachable, with all its maps and
 * entries: after N users change one at a time (a failed login, a password change, an API update —
 * each journal row makes the next LDAP request build a new tree), up to N whole trees are retained
 * until the next full rebuild. Measured against `roster serve` with 1,500 users connected: RSS grew
 * from 236 MB to 858 MB over 400 single-user updates to different users (≈1.5 MB each, never
 * reclaimed); the same 400 updates to one user left it flat (220 → 258 MB).
 *
 * This pins it in process: once a newer tree has replaced it, an older tree must be collectable.
 */

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const NOW = '2026-01-01T00:00:00.000Z';
const ORG = '0123456789abcdef01234567' as OrgId;

function user(id: string, username: string, description = ''): User {
  return {
    id: id as UserId,
    orgId: ORG,
    username,
    email: `${username}@retention.test`,
    firstname: username,
    middlename: '',
    lastname: 'Tester',
    displayname: '',
    description,
    unixUid: 5000,
    unixGuid: 5000,
    phoneNumbers: [],
    addresses: [],
    attributes: [],
    manager: null,
    created: NOW,
    updated: NOW,
  } as unknown as User;
}

function view(users: User[], seq: number): DirectoryView {
  const byId = new Map(users.map((u) => [u.id, u]));
  return {
    org: { id: ORG, displayName: 'Retention', logoUrl: '', created: NOW, updated: NOW } as unknown as Organization,
    resource: { id: 'fedcba9876543210fedcba98', orgId: ORG, type: 'ldap_server', name: 'LDAP', config: {}, created: NOW, updated: NOW } as unknown as Directory,
    seq,
    generation: 1,
    users: byId,
    userIdsByName: new Map(users.map((u) => [u.username, u.id])),
    groups: new Map(),
    groupIdsByName: new Map(),
    associatedGroups: new Set(),
    memberUsers: new Map(),
    memberGroups: new Map(),
    parents: new Map(),
    groupsOf: () => new Set<GroupId>(),
  };
}

const SUFFIX = { dn: 'dc=roster', ndn: 'dc=roster' };

describe('LDAP tree snapshots', () => {
  it('do not keep a replaced tree alive through the entries the newer tree reused', async () => {
    const ada = user('aaaaaaaaaaaaaaaaaaaaaaaa', 'ada');
    const bob = user('bbbbbbbbbbbbbbbbbbbbbbbb', 'bob');
    const build = () => {
      const older = new OrgTree(view([ada, bob], 1), SUFFIX);
      // Bob changed (say, a failed login); ada did not, so her entry is reused.
      const newer = new OrgTree(view([ada, user(bob.id, 'bob', 'changed')], 2), SUFFIX, older);
      expect(newer.userEntries.get(ada.id)).toBe(older.userEntries.get(ada.id));
      expect(newer.userEntries.get(bob.id)).not.toBe(older.userEntries.get(bob.id));
      return { newer, olderRef: new WeakRef(older) };
    };
    const { newer, olderRef } = build();

    for (let i = 0; i < 3 && olderRef.deref() !== undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      gc();
    }
    expect(olderRef.deref(), 'the replaced tree is still reachable from the newer one').toBeUndefined();
    // The newer tree still answers in-chain questions for the reused entry.
    expect(newer.userEntries.get(ada.id)!.chain('memberOf', 'cn=x,ou=groups,o=0123456789abcdef01234567,dc=roster')).toBe(false);
  });
});
