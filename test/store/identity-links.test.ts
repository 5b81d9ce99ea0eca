import { describe, expect, it } from 'vitest';
import type { DirectoryId, OrgId } from '../../src/core/ids.js';
import type { IdentityLink, LinkedKind } from '../../src/core/ports.js';
import type { KyselyStore } from '../../src/store/index.js';
import { describeEachStore, useTestStore } from '../support/stores.js';
import { expectConflict, makeDirectory, newOrg } from './fixtures.js';

const T0 = '2024-01-01T00:00:00.000Z';
const T1 = '2024-01-02T00:00:00.000Z';

describeEachStore('store: identity links', (kind) => {
  let store: KyselyStore;
  useTestStore(kind, (s) => (store = s));

  /** An org with two directories. */
  async function setup() {
    const org = await newOrg(store);
    const [a, b] = [makeDirectory(org.id, { type: 'scim', name: 'A' }), makeDirectory(org.id, { type: 'active_directory', name: 'B' })];
    await store.transaction(async (tx) => {
      await tx.directories.insert(a);
      await tx.directories.insert(b);
    });
    const link = (directoryId: DirectoryId, kind: LinkedKind, localId: string, externalId: string, at = T0): IdentityLink => ({
      orgId: org.id,
      directoryId,
      kind,
      localId,
      externalId,
      created: at,
      updated: at,
      known: null,
      passwordAuthority: null,
    });
    const put = (l: IdentityLink) => store.transaction((tx) => tx.identityLinks.put(l));
    return { org, a: a.id, b: b.id, link, put };
  }

  it('puts, finds both ways, changes the external id in place and deletes', async () => {
    const { org, a, link, put } = await setup();
    await put(link(a, 'user', 'u1', 'ext-1'));
    await put(link(a, 'user', 'u2', 'ext-2'));
    const links = store.read.identityLinks;
    expect(await links.findByLocalIds(org.id, a, 'user', ['u1', 'u3'])).toEqual([link(a, 'user', 'u1', 'ext-1')]);
    expect((await links.findByExternalIds(org.id, a, 'user', ['ext-2', 'nope'])).map((l) => l.localId)).toEqual(['u2']);
    expect(await links.findByLocalIds(org.id, a, 'user', [])).toEqual([]);
    await put(link(a, 'user', 'u1', 'ext-1b', T1));
    // One link per object: the external id changed, the creation time stayed.
    expect(await links.findByLocalIds(org.id, a, 'user', ['u1'])).toEqual([{ ...link(a, 'user', 'u1', 'ext-1b', T1), created: T0 }]);
    expect(await links.findByExternalIds(org.id, a, 'user', ['ext-1'])).toEqual([]);
    expect(await store.transaction((tx) => tx.identityLinks.delete(org.id, a, 'user', 'u1'))).toBe(true);
    expect(await store.transaction((tx) => tx.identityLinks.delete(org.id, a, 'user', 'u1'))).toBe(false);
    expect(await links.findByLocalIds(org.id, a, 'user', ['u1', 'u2'])).toHaveLength(1);
  });

  it('keeps what the directory holds of an object and a password authority, and forgets the former when the external id changes', async () => {
    const { org, b, link, put } = await setup();
    const links = store.read.identityLinks;
    await put(link(b, 'user', 'u1', 'guid-1'));
    const known = { attributes: { sn: 'Smith', title: null }, disabled: false, createdByRoster: true };
    await store.transaction((tx) => tx.identityLinks.setKnown(org.id, b, 'user', 'u1', known, T1));
    expect(await store.transaction((tx) => tx.identityLinks.setPasswordAuthority(org.id, b, 'u1', 'directory', T1))).toBe(true);
    expect(await store.transaction((tx) => tx.identityLinks.setPasswordAuthority(org.id, b, 'nobody', 'directory', T1))).toBe(false);
    expect((await links.findByLocalIds(org.id, b, 'user', ['u1']))[0]).toMatchObject({ known, passwordAuthority: 'directory', updated: T1 });
    // The same external id again, not saying what is known (a re-link by an import), keeps it.
    const { known: _unsaid, ...relink } = link(b, 'user', 'u1', 'guid-1', T1);
    await put(relink);
    expect((await links.findByLocalIds(org.id, b, 'user', ['u1']))[0]!.known).toEqual(known);
    // Another external id: what was known was of another object.
    const { known: _unsaidAgain, ...other } = link(b, 'user', 'u1', 'guid-2', T1);
    await put(other);
    expect((await links.findByLocalIds(org.id, b, 'user', ['u1']))[0]).toMatchObject({ known: null, passwordAuthority: 'directory' });
  });

  it('an external id is unique per directory and kind: another object taking it is a conflict', async () => {
    const { a, b, link, put } = await setup();
    await put(link(a, 'user', 'u1', 'same'));
    await expectConflict(put(link(a, 'user', 'u2', 'same')), 'EXTERNAL_ID_TAKEN');
    // Another kind, or another directory, may use it.
    await put(link(a, 'user_group', 'g1', 'same'));
    await put(link(b, 'user', 'u2', 'same'));
    // External ids compare exactly.
    await put(link(a, 'user', 'u3', 'SAME'));
  });

  it("lists and removes an object's links to every directory, and only its own", async () => {
    const { org, a, b, link, put } = await setup();
    await put(link(a, 'user', 'u1', 'x'));
    await put(link(b, 'user', 'u1', 'y'));
    await put(link(a, 'user_group', 'u1', 'z'));
    await put(link(a, 'user', 'u2', 'w'));
    expect((await store.read.identityLinks.ofObject(org.id, 'user', 'u1')).map((l) => l.externalId).sort()).toEqual(['x', 'y']);
    await store.transaction((tx) => tx.identityLinks.deleteOfObject(org.id, 'user', 'u1'));
    expect(await store.read.identityLinks.ofObject(org.id, 'user', 'u1')).toEqual([]);
    expect(await store.read.identityLinks.ofObject(org.id, 'user_group', 'u1')).toHaveLength(1);
    expect(await store.read.identityLinks.ofObject(org.id, 'user', 'u2')).toHaveLength(1);
  });

  it('stays within its organization, and goes with its directory', async () => {
    const { org, a, link, put } = await setup();
    await put(link(a, 'user', 'u1', 'x'));
    const other = (await newOrg(store)).id as OrgId;
    expect(await store.read.identityLinks.findByExternalIds(other, a, 'user', ['x'])).toEqual([]);
    expect(await store.read.identityLinks.ofObject(other, 'user', 'u1')).toEqual([]);
    await store.transaction((tx) => tx.directories.delete(org.id, a));
    expect(await store.read.identityLinks.ofObject(org.id, 'user', 'u1')).toEqual([]);
  });

  it('finds every link of a long list (looked up in parts), each once', async () => {
    const { org, a, link } = await setup();
    const n = 1_234;
    await store.transaction(async (tx) => {
      for (let i = 0; i < n; i++) await tx.identityLinks.put(link(a, 'user', `u${i}`, `e${i}`));
    });
    const localIds = Array.from({ length: n }, (_, i) => `u${i}`);
    expect(await store.read.identityLinks.findByLocalIds(org.id, a, 'user', [...localIds, ...localIds])).toHaveLength(n);
    expect(await store.read.identityLinks.findByExternalIds(org.id, a, 'user', localIds.map((id) => id.replace('u', 'e')))).toHaveLength(n);
  });

  describe('rollback', () => {
    it('a link written in a transaction that fails is not kept', async () => {
      const { org, a, link } = await setup();
      await expect(
        store.transaction(async (tx) => {
          await tx.identityLinks.put(link(a, 'user', 'u9', 'gone'));
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await store.read.identityLinks.findByLocalIds(org.id, a, 'user', ['u9'])).toEqual([]);
    });
  });
});
