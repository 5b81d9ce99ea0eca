import type { AdObject, AdSource } from './agent.js';
import { OID } from './controls.js';
import { escapeFilterValue } from './connection.js';
import { AdClient, type AdConnectOptions } from './ldap-client.js';
import { adWriter } from './ad-writer.js';

/** The privileged accounts are read once for a whole scope and kept this long. */
const PRIVILEGED_TTL_MS = 60_000;

/**
 * The agent's view of a domain controller, over AdClient: the scope with the attributes Roster
 * maps, DirSync (every round, merged, with the cookie after the last), and privileged accounts
 * found once per scope rather than per user.
 */
export async function openAdSource(options: AdConnectOptions): Promise<AdSource> {
  const client = await AdClient.connect(options);
  let privileged: { guids: Set<string>; at: number } | undefined;
  const privilegedGuids = async () => {
    if (!privileged || Date.now() - privileged.at > PRIVILEGED_TTL_MS) privileged = { guids: await client.privilegedGuids(), at: Date.now() };
    return privileged.guids;
  };
  return {
    namingContext: () => client.namingContext(),
    async scope(groupDn, userAttributes) {
      privileged = undefined;
      const scope = await client.scope(groupDn, { userAttributes: [...new Set([...userAttributes, 'useraccountcontrol', 'admincount', 'samaccountname'])] });
      return { users: scope.users, groups: scope.groups };
    },
    dirSync: (base, filter, attributes, cookie) => client.dirSync(base, filter, attributes, cookie),
    async classesOf(objectGuid) {
      return (await client.findByGuid(objectGuid, ['objectClass']))?.objectClass ?? [];
    },
    async groupInScope(objectGuid, groupDn) {
      const entry = await client.findByGuid(objectGuid, ['objectClass']);
      if (!entry) return false;
      if (entry.dn.toLowerCase() === groupDn.toLowerCase()) return true;
      for await (const inside of client.pagedSearch(entry.dn, `(memberOf:${OID.matchingRuleInChain}:=${escapeFilterValue(groupDn)})`, [], 1, 'base')) return inside !== undefined;
      return false;
    },
    async userInScope(objectGuid, groupDn, userAttributes) {
      const entry = await client.findByGuid(objectGuid, [...new Set([...userAttributes, 'useraccountcontrol', 'admincount', 'samaccountname'])]);
      if (!entry) return undefined;
      for await (const inside of client.pagedSearch(entry.dn, `(memberOf:${OID.matchingRuleInChain}:=${escapeFilterValue(groupDn)})`, [], 1, 'base')) return inside ? entry : undefined;
      return undefined;
    },
    async isPrivileged(entry: AdObject) {
      return entry.attributes.admincount?.[0] === '1' || (await privilegedGuids()).has(entry.objectGuid);
    },
    async watch(base, onChange) {
      return client.watch(base, () => onChange());
    },
    writer: () => adWriter(client),
    close: () => client.close(),
  };
}
