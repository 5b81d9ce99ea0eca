import type { Context } from '../context.js';
import { conflict, DirectoryError, invalid } from '../errors.js';
import type { DirectoryId, OrgId } from '../ids.js';
import type { Directory, User } from '../model.js';
import type { IdentityLink, KnownObject } from '../ports.js';
import { adSettings, passwordAuthorityOf } from './active-directory.js';
import type { AgentTaskAnswer, AgentTaskRequest, AgentTaskService } from './agent-tasks.js';
import type { Deps } from './deps.js';
import { exportsTo, type DirectoryExportService } from './directory-export.js';

/** What a directory said of a password (delegated authentication). */
export type DelegatedOutcome = { outcome: 'none' } | { outcome: 'ok' | 'wrong' | 'unavailable'; directoryId: DirectoryId; domain: string };

export interface DirectoryPasswordOptions {
  /** How long a password write waits for the agent (the administrator is waiting). */
  writeTimeoutMs?: number;
  /** How long a login waits for the directory before falling back to the password Roster keeps. */
  verifyTimeoutMs?: number;
}


const unavailable = (domain: string, why: string) =>
  new DirectoryError('unavailable', 'DIRECTORY_UNAVAILABLE', `Active Directory ${domain} could not be reached (${why}); the password was not changed`);

/**
 * Passwords between Roster and Active Directory, through the domain's agent:
 * - a password set in Roster is written to every domain that Roster writes to (two-way, Roster
 *   authoritative) before Roster keeps it, so AD's refusal (its password policy) fails the change
 *   with AD's reason and nothing is half-written; a user not in AD yet is created with it;
 * - delegated authentication: a user whose password authority is the domain is verified against
 *   AD, and Roster keeps an argon2id hash of a password AD accepted.
 */
/** How long the list of an organization's AD domains is remembered for logins. */
const DOMAIN_CACHE_MS = 5_000;

export class DirectoryPasswordService {
  private readonly domainCache = new Map<OrgId, { at: number; ids: ReadonlySet<string> }>();
  private cloud: { beforeSet(ctx: Context, user: User, password: string): Promise<void> } | undefined;

  /** Cloud directories (Google Workspace, Microsoft 365) a new password is pushed to as well, reached by Roster itself. */
  useCloudWriter(writer: { beforeSet(ctx: Context, user: User, password: string): Promise<void> }): void {
    this.cloud = writer;
  }

  constructor(
    private readonly deps: Deps,
    private readonly tasks: AgentTaskService,
    private readonly exports: DirectoryExportService,
    private readonly options: DirectoryPasswordOptions = {},
  ) {}

  /** Whether an agent of the directory holds the writer lease now (it answers requests); when none does, nobody waits for one. */
  private async agentAlive(orgId: OrgId, directoryId: DirectoryId): Promise<boolean> {
    const state = await this.deps.store.read.directorySync.state(orgId, directoryId);
    return state?.writerUntil !== null && state?.writerUntil !== undefined && Date.parse(state.writerUntil) > this.deps.clock().getTime();
  }

  /**
   * The ids of the org's AD domains, remembered for a few seconds: every login asks, and most
   * organizations have none, which then costs no further read.
   */
  private async domainIds(orgId: OrgId): Promise<ReadonlySet<string>> {
    const cached = this.domainCache.get(orgId);
    if (cached && Date.now() - cached.at < DOMAIN_CACHE_MS) return cached.ids;
    const ids = new Set((await this.domains(orgId)).map((d) => d.id));
    this.domainCache.set(orgId, { at: Date.now(), ids });
    return ids;
  }

  private async domains(orgId: OrgId): Promise<Directory[]> {
    const list = await this.deps.store.read.directories.list(orgId, {
      filter: { kind: 'compare', field: 'type', op: 'eq', value: 'active_directory' },
      sort: [],
      page: { limit: 1000, skip: 0 },
    });
    return list.items;
  }

  /**
   * Called before Roster keeps a new password: writes it to each domain that should have it and
   * throws when one refuses it or cannot be reached. A change that came from a domain (its
   * password filter, a delegated login) is not written back to it.
   */
  async beforeSet(ctx: Context, user: User, password: string): Promise<void> {
    const links = (await this.deps.store.read.identityLinks.ofObject(ctx.orgId, 'user', user.id)).filter((l) => ctx.origin !== `sync:${l.directoryId}`);
    for (const directory of await this.domains(ctx.orgId)) {
      if (ctx.origin === `sync:${directory.id}`) continue;
      const settings = adSettings(directory);
      const link = links.find((l) => l.directoryId === directory.id);
      if (link && !exportsTo(settings)) {
        if (passwordAuthorityOf(settings, link) === 'directory') {
          throw conflict('PASSWORD_MANAGED_BY_DIRECTORY', `The password of ${user.username} is managed by Active Directory ${settings.domain}; change it there`);
        }
        continue;
      }
      if (!exportsTo(settings)) continue;
      const request: AgentTaskRequest | undefined = link
        ? { kind: 'set_password', username: user.username, externalId: link.externalId, enable: link.known?.awaitingPassword === true && user.state === 'ACTIVATED', password }
        : await this.createRequest(ctx.orgId, directory, user, password);
      if (!request || request.kind !== 'set_password') continue;
      if (!(await this.agentAlive(ctx.orgId, directory.id))) throw unavailable(settings.domain, 'no agent of the domain is connected');
      const answer = await this.tasks.request(ctx.orgId, directory.id, request, this.options.writeTimeoutMs ?? 20_000);
      if (!answer) throw unavailable(settings.domain, 'no agent of the domain answered in time');
      if (!answer.ok) {
        if (answer.outcome === 'failed') throw unavailable(settings.domain, answer.reason);
        const message = `Active Directory ${settings.domain} refused the password: ${answer.reason}`;
        throw invalid('PASSWORD_REFUSED_BY_DIRECTORY', message, [{ field: 'password', reason: 'REFUSED_BY_DIRECTORY', message }]);
      }
      await this.remember(ctx.orgId, directory, user, link, request, answer);
    }
    await this.cloud?.beforeSet(ctx, user, password);
  }

  private async createRequest(orgId: OrgId, directory: Directory, user: User, password: string): Promise<AgentTaskRequest | undefined> {
    const create = await this.exports.createOpFor(orgId, directory, user);
    if (!create) return undefined;
    return { kind: 'set_password', username: user.username, externalId: null, create, enable: user.state === 'ACTIVATED', password };
  }

  /** What AD holds after the write: a new link for a user it created, an account no longer waiting for its password. */
  private async remember(orgId: OrgId, directory: Directory, user: User, link: IdentityLink | undefined, request: Extract<AgentTaskRequest, { kind: 'set_password' }>, answer: Extract<AgentTaskAnswer, { ok: true }>): Promise<void> {
    const now = this.deps.clock().toISOString();
    const links = this.deps.store.read.identityLinks;
    if (link) {
      if (!link.known?.awaitingPassword) return;
      const known: KnownObject = { ...link.known, awaitingPassword: false, disabled: !request.enable };
      await links.setKnown(orgId, directory.id, 'user', user.id, known, now);
      return;
    }
    if (!request.create || !answer.externalId) return;
    const known: KnownObject = answer.known ?? { attributes: { ...request.create.attributes }, disabled: !request.enable, createdByRoster: true };
    await this.deps.store.transaction(async (tx) => {
      const [holder] = await tx.identityLinks.findByExternalIds(orgId, directory.id, 'user', [answer.externalId!]);
      if (holder && holder.localId !== user.id) return;
      await tx.identityLinks.put({ orgId, directoryId: directory.id, kind: 'user', localId: user.id, externalId: answer.externalId!, created: now, updated: now, known });
    });
  }

  /**
   * Delegated authentication: when the user's password authority is a domain, asks AD. `ok` and
   * `wrong` are AD's verdict; `unavailable` when AD could not say in time (the caller falls back
   * to the password Roster keeps); `none` when no domain is the user's authority.
   */
  async verify(orgId: OrgId, user: User, password: string): Promise<DelegatedOutcome> {
    const domains = await this.domainIds(orgId);
    if (domains.size === 0) return { outcome: 'none' };
    const links = await this.deps.store.read.identityLinks.ofObject(orgId, 'user', user.id);
    for (const link of links) {
      if (!domains.has(link.directoryId)) continue;
      const directory = await this.deps.store.read.directories.findById(orgId, link.directoryId);
      if (directory?.type !== 'active_directory') continue;
      const settings = adSettings(directory);
      if (passwordAuthorityOf(settings, link) !== 'directory') continue;
      const base = { directoryId: directory.id, domain: settings.domain };
      // No agent connected: the login does not wait for one; Roster's kept password decides.
      if (!(await this.agentAlive(orgId, directory.id))) return { outcome: 'unavailable', ...base };
      const answer = await this.tasks.request(orgId, directory.id, { kind: 'verify_password', username: user.username, externalId: link.externalId, password }, this.options.verifyTimeoutMs ?? 5_000);
      if (!answer || (!answer.ok && answer.outcome === 'failed')) return { outcome: 'unavailable', ...base };
      return { outcome: answer.ok ? 'ok' : 'wrong', ...base };
    }
    return { outcome: 'none' };
  }
}
