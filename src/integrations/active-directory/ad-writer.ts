import type { AgentTaskAnswer, AgentTaskRequest } from '../../core/services/agent-tasks.js';
import type { ExportOp, ExportOutcome } from '../../core/services/directory-export.js';
import { escapeFilterValue } from './connection.js';
import { AdError } from './errors.js';
import type { AdClient, AdEntry } from './ldap-client.js';

/** What the agent writes to the directory: export operations and password requests. */
export interface DirectoryWriter {
  apply(op: ExportOp): Promise<ExportOutcome>;
  setPassword(request: Extract<AgentTaskRequest, { kind: 'set_password' }>): Promise<AgentTaskAnswer>;
  verifyPassword(request: Extract<AgentTaskRequest, { kind: 'verify_password' }>): Promise<AgentTaskAnswer>;
}

const LOOKUP = ['samaccountname', 'useraccountcontrol', 'admincount', 'objectsid', 'objectclass', 'primarygroupid'];
/** Set at creation only: the DN is made from cn, and renaming is not an attribute change. */
const CREATE_ONLY = new Set(['cn', 'name', 'distinguishedname']);

const isDisabled = (uac: string | undefined) => (Number(uac ?? 0) & 0x2) !== 0;
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Writes to Active Directory over AdClient, never to a privileged account (adminCount, or a
 * member of Domain Admins, Enterprise Admins or Administrators). A create that finds its account
 * already there (an earlier write whose report was lost, or an account of the same name) takes
 * it over, unless it is privileged; Roster refuses one another Roster object is linked to.
 */
export function adWriter(client: AdClient): DirectoryWriter {
  const byGuid = async (guid: string): Promise<AdEntry> => {
    const entry = await client.findByGuid(guid, LOOKUP);
    if (!entry) throw new AdError('not_found', `no object with objectGUID ${guid} in the domain (deleted in AD?)`);
    if (await client.isPrivileged(entry)) throw new AdError('bad_request', `${entry.dn} is a privileged account: Roster never manages it`);
    return entry;
  };
  const bySamAccountName = async (name: string): Promise<AdEntry | undefined> => {
    const base = await client.namingContext();
    for await (const entry of client.pagedSearch(base, `(sAMAccountName=${escapeFilterValue(name)})`, LOOKUP, 1)) return entry;
    return undefined;
  };
  /** An account of this name that is already there: taken over unless privileged. */
  const existing = async (name: string): Promise<AdEntry | undefined> => {
    const found = await bySamAccountName(name);
    if (!found) return undefined;
    if (await client.isPrivileged(found)) throw new AdError('bad_request', `${found.dn} has the name ${name} and is a privileged account: Roster never manages it`);
    return found;
  };
  const modifications = (changes: Record<string, string | null>) =>
    Object.entries(changes)
      .filter(([name]) => !CREATE_ONLY.has(name) && name !== 'samaccountname')
      .map(([attribute, value]) => ({ attribute, op: 'replace' as const, values: value === null ? [] : [value] }));
  /**
   * Creates the user, or takes over the unlinked account of that name: its attributes become
   * Roster's, and `disabled` says the state it is left in (an account in use keeps its password
   * and stays enabled until Roster says otherwise).
   */
  const createUser = async (op: Extract<ExportOp, { op: 'create_user' }>, password: string | undefined, enabled: boolean): Promise<{ entry: AdEntry; disabled: boolean }> => {
    const attrs: Record<string, string> = { ...op.attributes };
    const options = password !== undefined ? { password, enabled } : { enabled: false };
    try {
      return { entry: await client.createUser(op.parentDn, attrs, options), disabled: !options.enabled };
    } catch (e) {
      if (!(e instanceof AdError) || (e.ldapCode !== 68 && e.ldapCode !== 19)) throw e;
      const found = await existing(attrs.samaccountname!);
      if (found) {
        await client.modify(found.dn, modifications(attrs));
        if (password !== undefined) {
          await client.setPassword(found.dn, password);
          await client.setEnabled(found.dn, enabled);
          return { entry: found, disabled: !enabled };
        }
        return { entry: found, disabled: isDisabled(found.attributes.useraccountcontrol?.[0]) };
      }
      // Another account has the same cn (two people of the same name): the username tells them apart.
      return { entry: await client.createUser(op.parentDn, { ...attrs, cn: `${attrs.cn} (${attrs.samaccountname})` }, options), disabled: !options.enabled };
    }
  };
  return {
    async apply(op) {
      try {
        switch (op.op) {
          case 'create_user': {
            const { entry, disabled } = await createUser(op, undefined, false);
            return { op, ok: true, externalId: entry.objectGuid, dn: entry.dn, disabled };
          }
          case 'update_user': {
            if (op.deletedInRoster && !(await client.findByGuid(op.externalId, ['objectclass']))) return { op, ok: true };
            const entry = await byGuid(op.externalId);
            await client.modify(entry.dn, modifications(op.changes));
            if (op.disabled !== undefined) await client.setEnabled(entry.dn, !op.disabled);
            return { op, ok: true, dn: entry.dn };
          }
          case 'delete_user':
            // Roster never deletes an AD account; a domain has no deprovisioning policy that plans this.
            return { op, ok: false, error: 'Roster does not delete Active Directory accounts' };
          case 'create_group': {
            let entry: AdEntry;
            try {
              entry = await client.createGroup(op.parentDn, op.name, op.attributes);
            } catch (e) {
              const found = e instanceof AdError && (e.ldapCode === 68 || e.ldapCode === 19) ? await existing(op.name) : undefined;
              if (!found) throw e;
              entry = found;
            }
            return { op, ok: true, externalId: entry.objectGuid, dn: entry.dn };
          }
          case 'update_group': {
            const entry = await byGuid(op.externalId);
            await client.modify(entry.dn, modifications(op.changes));
            const dns = async (guids: string[]) => {
              const out: string[] = [];
              for (const guid of guids) {
                const member = await client.findByGuid(guid, ['objectclass']);
                if (member) out.push(member.dn);
              }
              return out;
            };
            if (op.add.length > 0) await client.addMembers(entry.dn, await dns(op.add));
            if (op.remove.length > 0) await client.removeMembers(entry.dn, await dns(op.remove));
            return { op, ok: true, dn: entry.dn };
          }
        }
      } catch (e) {
        return { op, ok: false, error: message(e) };
      }
    },

    async setPassword(request) {
      try {
        if (request.externalId) {
          const entry = await byGuid(request.externalId);
          await client.setPassword(entry.dn, request.password);
          if (request.enable) await client.setEnabled(entry.dn, true);
          return { ok: true, externalId: request.externalId };
        }
        if (!request.create) return { ok: false, outcome: 'failed', reason: 'the user is not in the domain and Roster sent no way to create it' };
        const { entry } = await createUser(request.create, request.password, request.enable);
        return { ok: true, externalId: entry.objectGuid };
      } catch (e) {
        // AD's refusal (its password policy) is the answer; anything else is the agent's failure.
        if (e instanceof AdError && e.kind === 'bad_request') return { ok: false, outcome: 'refused', reason: e.reason ?? e.message };
        return { ok: false, outcome: 'failed', reason: message(e) };
      }
    },

    async verifyPassword(request) {
      try {
        const entry = await client.findByGuid(request.externalId, ['samaccountname']);
        if (!entry) return { ok: false, outcome: 'refused', reason: 'no such account in the domain' };
        const outcome = await client.authenticate(entry.dn, request.password);
        return outcome.ok ? { ok: true } : { ok: false, outcome: 'refused', reason: outcome.reason };
      } catch (e) {
        return { ok: false, outcome: 'failed', reason: message(e) };
      }
    },
  };
}
