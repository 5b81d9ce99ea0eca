import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sidToString } from '../../../src/integrations/active-directory/guid.js';
import type { AdClient, AdEntry } from '../../../src/integrations/active-directory/ldap-client.js';
import { useSamba, type TestOu } from '../../support/samba.js';

/** scope(): the users and groups inside a scope group, nested at any depth, through paging. */

const dc = await useSamba();
const names = (entries: AdEntry[]) => entries.map((e) => e.attributes.samaccountname?.[0]).sort();

describe.skipIf(!dc)('AdClient.scope against Samba AD', () => {
  const samba = dc!;
  let ou: TestOu;
  let client: AdClient;

  beforeAll(async () => {
    ou = await samba.createOu('scope');
    client = ou.client;
  });
  afterAll(async () => {
    await ou?.remove();
  });

  it('finds members nested at any depth, and nobody outside', async () => {
    const [alice, bob, carol, dave, erin] = await Promise.all(['sc-alice', 'sc-bob', 'sc-carol', 'sc-dave', 'sc-erin'].map((n) => ou.createUser(n)));
    const inner = await ou.createGroup('sc-inner', [carol!.dn]);
    const middle = await ou.createGroup('sc-middle', [bob!.dn, inner.dn]);
    const scopeGroup = await ou.createGroup('sc-scope', [alice!.dn, middle.dn]);
    const outside = await ou.createGroup('sc-outside', [dave!.dn, alice!.dn]);
    // erin's primary group is sc-middle: primary membership is in primaryGroupID, not in member/memberOf.
    await client.addMembers(middle.dn, [erin!.dn]);
    const middleRid = sidToString(Buffer.from(middle.attributes.objectsid![0]!, 'base64')).split('-').pop()!;
    await client.modify(erin!.dn, [{ attribute: 'primaryGroupID', values: [middleRid] }]);
    expect((await client.entry(middle.dn, ['member']))?.attributes.member).not.toContain(erin!.dn);

    for (const strategy of ['in-chain', 'walk'] as const) {
      const scope = await client.scope(scopeGroup.dn, { strategy });
      expect(scope.group.objectGuid).toBe(scopeGroup.objectGuid);
      expect(names(scope.users), strategy).toEqual(['sc-alice', 'sc-bob', 'sc-carol', 'sc-erin']);
      expect(names(scope.groups), strategy).toEqual(['sc-inner', 'sc-middle']);
      expect(scope.groups.find((g) => g.objectGuid === middle.objectGuid)?.attributes.member?.sort()).toEqual([bob!.dn, inner.dn].sort());
      expect(scope.users.every((u) => u.objectClass.includes('user') && !u.deleted)).toBe(true);
    }
    expect(names((await client.scope(outside.dn)).users)).toEqual(['sc-alice', 'sc-dave']);
    // AD will not delete a group that is someone's primary group: give erin back Domain Users.
    await client.modify(erin!.dn, [{ attribute: 'primaryGroupID', values: ['513'] }]);
  });

  it('fails clearly for a scope group that is not there or not a group', async () => {
    await expect(client.scope(`CN=nothing,${ou.dn}`)).rejects.toMatchObject({ kind: 'not_found' });
    const user = await ou.createUser('sc-notgroup');
    await expect(client.scope(user.dn)).rejects.toMatchObject({ kind: 'bad_request' });
  });

  it('pages through 1,600 members', { timeout: 120_000 }, async () => {
    const big = `OU=big,${ou.dn}`;
    await client.add(big, { objectClass: ['top', 'organizationalUnit'] });
    const count = 1_600;
    let started = Date.now();
    const dns = await ou.createUsers('bulk', count, { parentDn: big });
    const crowd = await ou.createGroup('sc-crowd', dns);
    const scopeGroup = await ou.createGroup('sc-big-scope', [crowd.dn]);
    const createSeconds = (Date.now() - started) / 1000;

    started = Date.now();
    const scope = await client.scope(scopeGroup.dn, { pageSize: 500 });
    const readSeconds = (Date.now() - started) / 1000;
    expect(scope.users).toHaveLength(count);
    expect(new Set(scope.users.map((u) => u.objectGuid)).size).toBe(count);
    expect(scope.groups.map((g) => g.objectGuid)).toEqual([crowd.objectGuid]);
    expect(scope.groups[0]!.attributes.member).toHaveLength(count);

    started = Date.now();
    let paged = 0;
    for await (const _ of client.pagedSearch(big, '(objectClass=user)', ['sAMAccountName', 'userAccountControl'], 200, 'one')) paged++;
    const pagedSeconds = (Date.now() - started) / 1000;
    expect(paged).toBe(count);
    console.info(
      `Samba: created ${count} users + group in ${createSeconds.toFixed(1)} s; scope() read them in ${readSeconds.toFixed(2)} s ` +
        `(${Math.round(count / readSeconds)} users/s); pagedSearch of 200-entry pages ${Math.round(count / pagedSeconds)} users/s`,
    );
  });
});
