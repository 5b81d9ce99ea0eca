import type { DirectoryCore } from '../core/directory.js';
import type { OrgId, UserId } from '../core/ids.js';
import { ldapSettings, type LdapSettings } from '../core/ldap-settings.js';
import type { ActivityRecorder } from '../core/activity-recorder.js';
import { parseDn } from './dn.js';
import type { Entry } from './entry.js';
import { rootDse, subschemaEntry } from './root-dse.js';
import { OrgTree, suffixEntry } from './tree.js';

export interface LdapServiceOptions {
  /** The base of every org's naming context, `dc=roster` by default. */
  suffix: string;
  version: string;
  /** Whether LDAPS and StartTLS are available. */
  tls: boolean;
}

export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'user'; orgId: OrgId; userId: UserId; dn: string; binding: boolean };

/** Per-connection state every operation sees. */
export interface Session {
  principal: Principal;
  tls: boolean;
  client: string;
}

/** The LDAP service's shared state: one tree per org, rebuilt when the journal says it changed. */
export class LdapService {
  readonly suffixDn: string;
  readonly suffixNdn: string;
  readonly suffix: Entry;
  readonly rootDse: Entry;
  readonly subschema: Entry = subschemaEntry();
  private readonly trees = new Map<string, OrgTree>();

  constructor(
    readonly core: DirectoryCore,
    readonly activity: ActivityRecorder,
    options: LdapServiceOptions,
  ) {
    const parsed = parseDn(options.suffix);
    if (!parsed.ok || parsed.value.rdns.length === 0) throw new Error(`ROSTER_LDAP_SUFFIX "${options.suffix}" is not a valid DN`);
    const type = parsed.value.rdns[0]![0]!.type.toLowerCase();
    if (!['dc', 'o', 'ou'].includes(type)) throw new Error('ROSTER_LDAP_SUFFIX must start with dc=, o= or ou=');
    this.suffixDn = options.suffix;
    this.suffixNdn = parsed.value.normalized;
    this.suffix = suffixEntry(this.suffixDn, this.suffixNdn);
    this.rootDse = rootDse(this.suffixDn, options.tls, options.version);
  }

  /** The org a normalized DN below the suffix names (`o=<org id>,<suffix>`), if any. */
  orgIdOf(ndn: string): OrgId | undefined {
    if (!ndn.endsWith(`,${this.suffixNdn}`)) return undefined;
    const head = ndn.slice(0, ndn.length - this.suffixNdn.length - 1);
    const lastComma = head.lastIndexOf(',');
    const rdn = head.slice(lastComma + 1);
    return /^o=[0-9a-f]{24}$/.test(rdn) ? (rdn.slice(2) as OrgId) : undefined;
  }

  /** The org's tree, current as of this call; undefined when the org does not exist. */
  async tree(orgId: OrgId): Promise<OrgTree | undefined> {
    const view = await this.core.ldapView.current(orgId);
    if (!view) {
      this.trees.delete(orgId);
      return undefined;
    }
    const cached = this.trees.get(orgId);
    if (cached && cached.view === view) return cached;
    const tree = new OrgTree(view, { dn: this.suffixDn, ndn: this.suffixNdn }, cached);
    this.trees.set(orgId, tree);
    return tree;
  }

  /**
   * The session's user must still be allowed when it reads: a suspended, locked or disconnected
   * account loses access on its open connections too, not only at its next bind.
   */
  stillAllowed(tree: OrgTree, session: Session): boolean {
    const principal = session.principal;
    if (principal.kind !== 'user') return false;
    const user = tree.userEntries.has(principal.userId) ? tree.view.users.get(principal.userId) : undefined;
    if (!user || user.state !== 'ACTIVATED') return false;
    return !(user.accountLocked && !(user.lockedUntil && Date.parse(user.lockedUntil) <= Date.now()));
  }

  settings(tree: OrgTree): LdapSettings {
    return ldapSettings(tree.view.resource);
  }
}
