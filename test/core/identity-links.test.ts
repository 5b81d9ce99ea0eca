import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DirectoryId } from '../../src/core/ids.js';
import { externalIdKey } from '../../src/core/services/identity-links.js';
import { asRole, failure, openTestCore, type TestCore } from '../support/core.js';

describe('identity links in the core', () => {
  let t: TestCore;
  let dir: DirectoryId;
  let other: DirectoryId;
  beforeEach(async () => {
    t = await openTestCore();
    dir = (await t.core.scimSources.create(t.ctx, { name: 'Entra ID' })).id;
    other = (await t.core.scimSources.create(t.ctx, { name: 'Workday' })).id;
  });
  afterEach(() => t.dispose());

  const key = (d: string = dir) => externalIdKey(d);
  const userLinks = (ids: string[], d: DirectoryId = dir) => t.core.identityLinks.externalIds(t.ctx, d, 'user', ids);
  const rowsFor = async (objectId: string) => (await t.core.journal.list(t.ctx, 0, 1000)).filter((e) => e.objectId === objectId);
  const newUser = (username: string, externalId?: string, onTaken?: 'take_over') =>
    t.core.users.create(t.ctx, { username, email: `${username}@example.com` }, externalId === undefined ? {} : { link: { directoryId: dir, externalId, ...(onTaken ? { onTaken } : {}) } });

  it('links a user on create, in the create row of the journal, and finds it both ways', async () => {
    const user = await newUser('ada', 'ext-ada');
    expect(await userLinks([user.id, 'nobody'])).toEqual(new Map([[user.id, 'ext-ada']]));
    expect(await t.core.identityLinks.localIds(t.ctx, dir, 'user', ['ext-ada', 'ext-x'])).toEqual(new Map([['ext-ada', user.id]]));
    // Per directory: the other source has no link for the user.
    expect(await userLinks([user.id], other)).toEqual(new Map());
    const rows = await rowsFor(user.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ operation: 'create', changes: { [key()]: { before: null, after: 'ext-ada' }, username: { before: null, after: 'ada' } } });
  });

  it('changes and removes the link with an update, journaled with the update; an unchanged link adds nothing', async () => {
    const user = await newUser('ben', 'ext-1');
    await t.core.users.update(t.ctx, user.id, { jobTitle: 'Clerk' }, { link: { directoryId: dir, externalId: 'ext-2' } });
    expect(await userLinks([user.id])).toEqual(new Map([[user.id, 'ext-2']]));
    await t.core.users.update(t.ctx, user.id, { jobTitle: 'Clerk' }, { link: { directoryId: dir, externalId: 'ext-2' } });
    await t.core.users.update(t.ctx, user.id, {}, { link: { directoryId: dir, externalId: null } });
    expect(await userLinks([user.id])).toEqual(new Map());
    const updates = (await rowsFor(user.id)).filter((e) => e.operation === 'update');
    expect(updates.map((e) => e.changes[key()])).toEqual([{ before: 'ext-1', after: 'ext-2' }, { before: 'ext-2', after: null }]);
    expect(updates[0]!.changes.jobTitle).toEqual({ before: '', after: 'Clerk' });
  });

  it('refuses an external id another user holds in the directory, leaving nothing behind', async () => {
    const first = await newUser('cat', 'shared');
    const e = await failure(newUser('dan', 'shared'));
    expect(e).toMatchObject({ kind: 'conflict', code: 'EXTERNAL_ID_TAKEN' });
    // The user was not created either: one transaction.
    expect((await t.core.users.list(t.ctx, { sort: [], page: { limit: 10, skip: 0 } })).items.map((u) => u.username)).toEqual(['cat']);
    expect(await userLinks([first.id])).toEqual(new Map([[first.id, 'shared']]));
    // A group, or another directory, may use the same external id.
    const group = await t.core.groups.create(t.ctx, { name: 'G' }, [], { link: { directoryId: dir, externalId: 'shared' } });
    expect(await t.core.identityLinks.externalIds(t.ctx, dir, 'user_group', [group.id])).toEqual(new Map([[group.id, 'shared']]));
  });

  it('take_over moves the link to the new object and journals the unlinking of the old one', async () => {
    const first = await newUser('eve', 'reused');
    const second = await newUser('fay', 'reused', 'take_over');
    expect(await userLinks([first.id, second.id])).toEqual(new Map([[second.id, 'reused']]));
    expect(await t.core.identityLinks.localIds(t.ctx, dir, 'user', ['reused'])).toEqual(new Map([['reused', second.id]]));
    expect((await rowsFor(first.id)).at(-1)).toMatchObject({ operation: 'update', changes: { [key()]: { before: 'reused', after: null } } });
  });

  it('removes every link of a deleted user or group, recorded in its delete row', async () => {
    const user = await newUser('gus', 'ext-gus');
    await t.core.identityLinks.set(t.ctx, 'user', user.id, { directoryId: other, externalId: 'wd-7' });
    await t.core.users.delete(t.ctx, user.id);
    expect(await t.core.identityLinks.localIds(t.ctx, dir, 'user', ['ext-gus'])).toEqual(new Map());
    expect((await rowsFor(user.id)).at(-1)).toMatchObject({
      operation: 'delete',
      changes: { [key()]: { before: 'ext-gus', after: null }, [key(other)]: { before: 'wd-7', after: null } },
    });
    // The external id is free again.
    await newUser('gus2', 'ext-gus');

    const group = await t.core.groups.create(t.ctx, { name: 'Ops' }, [], { link: { directoryId: dir, externalId: 'ext-ops' } });
    await t.core.groups.change(t.ctx, group.id, { input: { name: 'Operations' }, link: { directoryId: dir, externalId: 'ext-ops2' } });
    expect((await rowsFor(group.id)).at(-1)).toMatchObject({ operation: 'update', changes: { name: { before: 'Ops', after: 'Operations' }, [key()]: { before: 'ext-ops', after: 'ext-ops2' } } });
    await t.core.groups.delete(t.ctx, group.id);
    expect((await rowsFor(group.id)).at(-1)).toMatchObject({ operation: 'delete', changes: { [key()]: { before: 'ext-ops2', after: null } } });
    expect(await t.core.identityLinks.localIds(t.ctx, dir, 'user_group', ['ext-ops2'])).toEqual(new Map());
  });

  it('set links an existing object on its own, and refuses a missing object, directory or a bad external id', async () => {
    const user = await newUser('hal');
    await t.core.identityLinks.set(t.ctx, 'user', user.id, { directoryId: dir, externalId: 'h-1' });
    expect(await userLinks([user.id])).toEqual(new Map([[user.id, 'h-1']]));
    expect((await rowsFor(user.id)).at(-1)).toMatchObject({ operation: 'update', changes: { [key()]: { before: null, after: 'h-1' } } });
    expect(await failure(t.core.identityLinks.set(t.ctx, 'user', 'ffffffffffffffffffffffff', { directoryId: dir, externalId: 'x' }))).toMatchObject({ code: 'USER_NOT_FOUND' });
    expect(await failure(t.core.identityLinks.set(t.ctx, 'user_group', user.id, { directoryId: dir, externalId: 'x' }))).toMatchObject({ code: 'USER_GROUP_NOT_FOUND' });
    expect(await failure(t.core.identityLinks.set(t.ctx, 'user', user.id, { directoryId: 'ffffffffffffffffffffffff' as DirectoryId, externalId: 'x' }))).toMatchObject({ code: 'DIRECTORY_NOT_FOUND' });
    for (const bad of ['', 'a\u0000b', 'x'.repeat(1025)]) {
      expect(await failure(t.core.identityLinks.set(t.ctx, 'user', user.id, { directoryId: dir, externalId: bad }))).toMatchObject({ kind: 'invalid', code: 'INVALID_EXTERNAL_ID' });
    }
    expect(await userLinks([user.id])).toEqual(new Map([[user.id, 'h-1']]));
  });

  it('needs the permissions of the kind: read to look links up, write to change them', async () => {
    const user = await newUser('ivy', 'i-1');
    const readOnly = asRole(t.ctx, 'Read Only');
    expect(await t.core.identityLinks.externalIds(readOnly, dir, 'user', [user.id])).toEqual(new Map([[user.id, 'i-1']]));
    expect(await failure(t.core.identityLinks.set(readOnly, 'user', user.id, { directoryId: dir, externalId: 'i-2' }))).toMatchObject({ kind: 'forbidden' });
  });
});
