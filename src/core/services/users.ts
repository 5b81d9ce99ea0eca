import { requirePermission, type Context } from '../context.js';
import { conflict, invalid, notFound, type ErrorDetail } from '../errors.js';
import { USER_FIELDS } from '../fields.js';
import { newId, type OrgId, type UserId } from '../ids.js';
import { changesBetween, secretChange } from '../journal.js';
import type { Organization, PasswordPolicy, User, UserProfile, UserState } from '../model.js';
import { hashPassword, passwordExpiration, passwordViolations, verifyPassword } from '../passwords.js';
import type { Transaction } from '../ports.js';
import { foldCase, type ListQuery, type ListResult } from '../query.js';
import { checkUserInput, type CheckedUserInput, type UserInput } from '../user-input.js';
import { checkedQuery, dissociateAll, journal, type Deps } from './deps.js';
import { applyLinkChange, removeAllLinks, type LinkChange } from './identity-links.js';
import { assertVersion } from './journal.js';
import { recordNtHash } from './nt-hashes.js';

/** Every profile attribute a new user starts with, unless the input sets it (fresh lists each time). */
export const emptyProfile = (): Omit<UserProfile, 'username' | 'email' | 'unixUid' | 'unixGuid'> => ({
  firstname: '',
  middlename: '',
  lastname: '',
  displayname: '',
  employeeIdentifier: null,
  employeeType: '',
  jobTitle: '',
  department: '',
  company: '',
  costCenter: '',
  location: '',
  manager: null,
  alternateEmail: '',
  phoneNumbers: [],
  addresses: [],
  attributes: [],
  sudo: false,
  passwordlessSudo: false,
  ldapBindingUser: false,
  passwordNeverExpires: false,
  externallyManaged: false,
  externalDn: '',
  externalSourceType: '',
  description: '',
  mfaRequired: false,
  mfaExclusion: false,
  mfaExclusionUntil: null,
});

export interface CreateUserOptions {
  /** Which org default applies when the input names no state. */
  source?: 'manualEntry' | 'csvImport';
  /** The user's identity link to the directory the user comes from, written in the same transaction. */
  link?: LinkChange;
}

export interface DeleteUserOptions {
  /** undefined: refuse while the user manages others; null: clear their manager; id: reassign. */
  cascadeManager?: UserId | null;
  /** Delete only if the user is at this version (the sequence number of its latest journal row). */
  ifVersion?: number;
}

export interface UpdateUserOptions {
  /** Change only if the user is at this version (the sequence number of its latest journal row). */
  ifVersion?: number;
  /** A change to the user's identity link to a directory, written in the same transaction. */
  link?: LinkChange;
}

/** Phone numbers and addresses carry ids, as JumpCloud's do; new entries get one. */
function withIds<T extends { id?: string }>(items: T[] | undefined): T[] | undefined {
  return items?.map((item) => (item.id ? item : { ...item, id: newId<string>() }));
}

function identifyEntries(value: CheckedUserInput): void {
  const phones = withIds(value.profile.phoneNumbers);
  if (phones) value.profile.phoneNumbers = phones;
  const addresses = withIds(value.profile.addresses);
  if (addresses) value.profile.addresses = addresses;
}

export class UserService {
  private directoryPasswords: DirectoryPasswordSink | undefined;

  constructor(private readonly deps: Deps) {}

  /** The directories a new password is written to before Roster keeps it (Active Directory, through its agent). */
  useDirectoryPasswords(sink: DirectoryPasswordSink): void {
    this.directoryPasswords = sink;
  }

  private now(): string {
    return this.deps.clock().toISOString();
  }

  async org(orgId: OrgId): Promise<Organization> {
    const org = await this.deps.store.read.orgs.findById(orgId);
    if (!org) throw notFound('ORGANIZATION_NOT_FOUND', 'Organization not found');
    return org;
  }

  async list(ctx: Context, query: ListQuery): Promise<ListResult<User>> {
    requirePermission(ctx, 'users:read');
    const checked = checkQuery(query);
    return this.deps.store.read.users.list(ctx.orgId, checked);
  }

  async get(ctx: Context, id: string): Promise<User> {
    requirePermission(ctx, 'users:read');
    const user = await this.deps.store.read.users.findById(ctx.orgId, id as UserId);
    if (!user) throw userNotFound();
    return user;
  }

  async create(ctx: Context, input: UserInput, options: CreateUserOptions = {}): Promise<User> {
    requirePermission(ctx, 'users:write');
    const { value, errors } = checkUserInput(input, 'create');
    if (errors.length > 0) throw invalidInput(errors);
    const org = await this.org(ctx.orgId);
    const at = this.deps.clock();
    const user = this.newUser(ctx.orgId, value, org, options.source ?? 'manualEntry', at);
    let hash: string | undefined;
    if (value.password !== undefined) {
      checkPolicy(org.settings.passwordPolicy, value.password, user);
      hash = await hashPassword(value.password);
      user.passwordSet = true;
      user.passwordDate = at.toISOString();
      user.passwordExpirationDate =
        value.passwordExpirationDate !== undefined
          ? value.passwordExpirationDate
          : passwordExpiration(org.settings.passwordPolicy, at, user.passwordNeverExpires);
    }
    return this.deps.store.transaction((tx) => this.insertNew(tx, ctx, user, value, hash, options));
  }

  /**
   * Creates a user inside the caller's transaction (a directory sync applying a batch): the same
   * rules as `create`, without a password (hashing has no place inside a transaction).
   */
  async createIn(tx: Transaction, ctx: Context, input: Omit<UserInput, 'password'>, options: CreateUserOptions = {}): Promise<User> {
    requirePermission(ctx, 'users:write');
    const { value, errors } = checkUserInput(input, 'create');
    if (errors.length > 0) throw invalidInput(errors);
    const org = await tx.orgs.findById(ctx.orgId);
    if (!org) throw notFound('ORGANIZATION_NOT_FOUND', 'Organization not found');
    const user = this.newUser(ctx.orgId, value, org, options.source ?? 'manualEntry', this.deps.clock());
    return this.insertNew(tx, ctx, user, value, undefined, options);
  }

  private async insertNew(tx: Transaction, ctx: Context, user: User, value: CheckedUserInput, hash: string | undefined, options: CreateUserOptions): Promise<User> {
    await assertUnique(tx, ctx.orgId, user);
    if (user.manager) await assertManager(tx, ctx.orgId, user.manager, user.id);
    if (value.profile.unixUid === undefined) {
      user.unixUid = await tx.orgs.allocateUnixIds(ctx.orgId, 1);
      if (value.profile.unixGuid === undefined) user.unixGuid = user.unixUid;
    }
    await tx.users.insert([user], hash ? new Map([[user.id, hash]]) : undefined);
    if (hash) await recordNtHash(tx, this.deps.secrets, ctx.orgId, user.id, value.password!, user.created);
    const changes = changesBetween(null, user);
    if (hash) changes.password = secretChange();
    if (options.link) Object.assign(changes, await applyLinkChange(tx, ctx, 'user', user.id, options.link, user.created));
    journal(tx, ctx, { objectType: 'user', objectId: user.id, operation: 'create', changes });
    return user;
  }

  /** A user built from checked input; unix ids are placeholders until allocated in the transaction. */
  newUser(orgId: OrgId, value: CheckedUserInput, org: Organization, source: 'manualEntry' | 'csvImport', at: Date): User {
    const now = at.toISOString();
    identifyEntries(value);
    const profile = { ...emptyProfile(), ...value.profile } as UserProfile;
    const state: UserState = value.state ?? org.settings.newSystemUserStateDefaults[source];
    return {
      ...profile,
      unixUid: profile.unixUid ?? 0,
      unixGuid: profile.unixGuid ?? profile.unixUid ?? 0,
      id: newId<UserId>(),
      orgId,
      state,
      accountLocked: value.accountLocked ?? false,
      accountLockedDate: value.accountLocked ? now : null,
      lockedUntil: null,
      badLoginAttempts: 0,
      lastFailedLogin: null,
      passwordSet: false,
      passwordDate: null,
      passwordExpirationDate: value.passwordExpirationDate ?? null,
      created: now,
      updated: now,
    };
  }

  async update(ctx: Context, id: string, input: UserInput, options: UpdateUserOptions = {}): Promise<User> {
    requirePermission(ctx, 'users:write');
    const { value, errors } = checkUserInput(input, 'update');
    if (errors.length > 0) throw invalidInput(errors);
    identifyEntries(value);
    const current = await this.get(ctx, id);
    const org = await this.org(ctx.orgId);
    const at = this.deps.clock();
    let hash: string | undefined;
    if (value.password !== undefined) {
      const identity = { username: value.profile.username ?? current.username, email: value.profile.email ?? current.email };
      checkPolicy(org.settings.passwordPolicy, value.password, identity);
      await this.assertNotReused(ctx.orgId, current.id, value.password, org.settings.passwordPolicy);
      hash = await hashPassword(value.password);
      await this.directoryPasswords?.beforeSet(ctx, current, value.password);
    }
    return this.deps.store.transaction((tx) => this.applyUpdate(tx, ctx, current.id, value, org, at, hash, options));
  }

  /**
   * Changes a user inside the caller's transaction (a directory sync applying a batch): the same
   * rules as `update`, without a password.
   */
  async updateIn(tx: Transaction, ctx: Context, id: string, input: Omit<UserInput, 'password'>, options: UpdateUserOptions = {}): Promise<User> {
    requirePermission(ctx, 'users:write');
    const { value, errors } = checkUserInput(input, 'update');
    if (errors.length > 0) throw invalidInput(errors);
    identifyEntries(value);
    const org = await tx.orgs.findById(ctx.orgId);
    if (!org) throw notFound('ORGANIZATION_NOT_FOUND', 'Organization not found');
    return this.applyUpdate(tx, ctx, id as UserId, value, org, this.deps.clock(), undefined, options);
  }

  private async applyUpdate(
    tx: Transaction,
    ctx: Context,
    id: UserId,
    value: CheckedUserInput,
    org: Organization,
    at: Date,
    hash: string | undefined,
    options: UpdateUserOptions,
  ): Promise<User> {
    const before = await tx.users.findById(ctx.orgId, id, { forUpdate: true });
    if (!before) throw userNotFound();
    await assertVersion(tx, ctx, 'user', before.id, options.ifVersion);
    const after: User = { ...before, ...value.profile, updated: at.toISOString() };
    if (value.state !== undefined) after.state = value.state;
    else if (value.unsuspend && before.state === 'SUSPENDED') after.state = 'ACTIVATED';
    if (value.accountLocked !== undefined && value.accountLocked !== before.accountLocked) {
      after.accountLocked = value.accountLocked;
      after.accountLockedDate = value.accountLocked ? at.toISOString() : null;
      after.lockedUntil = null;
      if (!value.accountLocked) after.badLoginAttempts = 0;
    }
    if (value.passwordExpirationDate !== undefined) after.passwordExpirationDate = value.passwordExpirationDate;
    if (hash) {
      await tx.users.setPasswordHash(ctx.orgId, before.id, hash, at.toISOString());
      await recordNtHash(tx, this.deps.secrets, ctx.orgId, before.id, value.password!, at.toISOString());
      after.passwordSet = true;
      after.passwordDate = at.toISOString();
      if (value.passwordExpirationDate === undefined) {
        after.passwordExpirationDate = passwordExpiration(org.settings.passwordPolicy, at, after.passwordNeverExpires);
      }
    } else if (value.profile.passwordNeverExpires === true) {
      after.passwordExpirationDate = value.passwordExpirationDate ?? null;
    }
    await assertUnique(tx, ctx.orgId, after, before);
    if (after.manager && after.manager !== before.manager) await assertManager(tx, ctx.orgId, after.manager, after.id);
    await tx.users.update(after);
    if (endsSessions(before, after) || hash) await tx.sessions.revokeUser(ctx.orgId, after.id, at.toISOString());
    const changes = changesBetween(before, after);
    if (hash) changes.password = secretChange();
    if (options.link) Object.assign(changes, await applyLinkChange(tx, ctx, 'user', after.id, options.link, after.updated));
    journal(tx, ctx, { objectType: 'user', objectId: after.id, operation: 'update', changes });
    return after;
  }

  async delete(ctx: Context, id: string, options: DeleteUserOptions = {}): Promise<User> {
    return this.deps.store.transaction((tx) => this.deleteIn(tx, ctx, id, options));
  }

  /** Deletes a user inside the caller's transaction. */
  async deleteIn(tx: Transaction, ctx: Context, id: string, options: DeleteUserOptions = {}): Promise<User> {
    requirePermission(ctx, 'users:delete');
    const user = await tx.users.findById(ctx.orgId, id as UserId, { forUpdate: true });
    if (!user) throw userNotFound();
    await assertVersion(tx, ctx, 'user', user.id, options.ifVersion);
    const reports = await tx.users.directReports(ctx.orgId, user.id);
    if (reports.length > 0) {
      if (options.cascadeManager === undefined) {
        throw conflict(
          'USER_IS_MANAGER',
          `The user is the manager of ${reports.length} user(s); pass cascade_manager=null to clear their manager or cascade_manager=<user id> to reassign them`,
        );
      }
      if (options.cascadeManager !== null) {
        if (options.cascadeManager === user.id) throw invalid('INVALID_MANAGER', 'cascade_manager cannot be the user being deleted');
        await assertManager(tx, ctx.orgId, options.cascadeManager, user.id);
      }
      const now = this.now();
      for (const report of await tx.users.findByIds(ctx.orgId, reports)) {
        const after = { ...report, manager: options.cascadeManager, updated: now };
        await tx.users.update(after);
        journal(tx, ctx, { objectType: 'user', objectId: report.id, operation: 'update', changes: changesBetween(report, after) });
      }
    }
    for (const m of await tx.groups.parentsOf(ctx.orgId, 'user', [user.id])) {
      await tx.groups.removeMember(ctx.orgId, m);
      journal(tx, ctx, {
        objectType: 'user_group',
        objectId: m.groupId,
        operation: 'member_remove',
        changes: { member: { before: { type: 'user', id: user.id }, after: null } },
      });
    }
    await dissociateAll(tx, ctx, 'user', user.id);
    const unlinked = await removeAllLinks(tx, ctx, 'user', user.id);
    await tx.users.delete(ctx.orgId, user.id);
    journal(tx, ctx, { objectType: 'user', objectId: user.id, operation: 'delete', changes: { ...changesBetween(user, null), ...unlinked } });
    return user;
  }

  /** Clears a lockout and the failed-attempt counter. */
  unlock(ctx: Context, id: string): Promise<User> {
    return this.update(ctx, id, { accountLocked: false });
  }

  /** Expires the password now; the user must set a new one at the next login. */
  expire(ctx: Context, id: string): Promise<User> {
    return this.update(ctx, id, { passwordExpirationDate: this.now() });
  }

  async activate(ctx: Context, id: string): Promise<User> {
    const user = await this.get(ctx, id);
    if (user.state === 'SUSPENDED') throw conflict('USER_SUSPENDED', 'A suspended user cannot be activated; unsuspend the user instead');
    return this.update(ctx, id, { state: 'ACTIVATED' });
  }

  private async assertNotReused(orgId: OrgId, userId: UserId, password: string, policy: PasswordPolicy) {
    const history = await this.deps.store.read.users.passwordHistory(orgId, userId, policy.maxHistory);
    for (const old of history) {
      if (await verifyPassword(old, password)) {
        throw invalidInput([{ field: 'password', reason: 'REUSED', message: `must differ from the last ${policy.maxHistory} passwords` }]);
      }
    }
  }

  /**
   * Sets a password after policy and history checks; used by self-service password changes. A
   * password a directory already accepted (its password filter, a delegated login) skips Roster's
   * own policy: `fromDirectory`.
   */
  async setPassword(ctx: Context, user: User, password: string, options: { fromDirectory?: boolean } = {}): Promise<void> {
    const org = await this.org(ctx.orgId);
    if (!options.fromDirectory) {
      checkPolicy(org.settings.passwordPolicy, password, user);
      await this.assertNotReused(ctx.orgId, user.id, password, org.settings.passwordPolicy);
    }
    const hash = await hashPassword(password);
    await this.directoryPasswords?.beforeSet(ctx, user, password);
    const at = this.deps.clock();
    await this.deps.store.transaction(async (tx) => {
      const before = await tx.users.findById(ctx.orgId, user.id, { forUpdate: true });
      if (!before) throw userNotFound();
      await tx.users.setPasswordHash(ctx.orgId, before.id, hash, at.toISOString());
      await recordNtHash(tx, this.deps.secrets, ctx.orgId, before.id, password, at.toISOString());
      const after: User = {
        ...before,
        passwordSet: true,
        passwordDate: at.toISOString(),
        passwordExpirationDate: passwordExpiration(org.settings.passwordPolicy, at, before.passwordNeverExpires),
        updated: at.toISOString(),
      };
      await tx.users.update(after);
      await tx.sessions.revokeUser(ctx.orgId, before.id, at.toISOString());
      journal(tx, ctx, {
        objectType: 'user',
        objectId: before.id,
        operation: 'password_set',
        changes: { ...changesBetween(before, after), password: secretChange() },
      });
    });
  }
}

/** A user being suspended or locked loses every sign-in session, for good (so does a new password). */
export const endsSessions = (before: User, after: User) =>
  (after.state === 'SUSPENDED' && before.state !== 'SUSPENDED') || (after.accountLocked && !before.accountLocked);

export const userNotFound = () => notFound('USER_NOT_FOUND', 'User not found');

export const invalidInput = (errors: ErrorDetail[]) =>
  invalid('INVALID_INPUT', errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; '), errors);

export function checkPolicy(policy: PasswordPolicy, password: string, identity: { username?: string; email?: string }) {
  const violations = passwordViolations(policy, password, identity);
  if (violations.length > 0) {
    throw invalid('PASSWORD_POLICY', `Password validation failed: ${violations.map((v) => v.message).join(', ')}`, violations);
  }
}

export const checkQuery = (query: ListQuery): ListQuery => checkedQuery(query, USER_FIELDS);

/** Friendly conflicts before the insert; the unique indexes still catch a concurrent writer. */
async function assertUnique(tx: Transaction, orgId: OrgId, user: User, before?: User) {
  const changed = <K extends keyof User>(key: K) => !before || before[key] !== user[key];
  const probe = {
    usernames: changed('username') ? [user.username] : [],
    emails: changed('email') ? [user.email] : [],
    employeeIdentifiers: changed('employeeIdentifier') && user.employeeIdentifier ? [user.employeeIdentifier] : [],
    unixUids: changed('unixUid') && user.unixUid > 0 ? [user.unixUid] : [],
  };
  const taken = await tx.users.findTaken(orgId, probe, user.id);
  const errors: ErrorDetail[] = [];
  if (taken.usernames.has(foldCase(user.username))) errors.push({ field: 'username', reason: 'USERNAME_TAKEN', message: `username ${user.username} is taken` });
  if (taken.emails.has(foldCase(user.email))) errors.push({ field: 'email', reason: 'EMAIL_TAKEN', message: `email ${user.email} is taken` });
  if (user.employeeIdentifier && taken.employeeIdentifiers.has(user.employeeIdentifier)) {
    errors.push({ field: 'employeeIdentifier', reason: 'EMPLOYEE_IDENTIFIER_TAKEN', message: `employeeIdentifier ${user.employeeIdentifier} is taken` });
  }
  if (taken.unixUids.has(user.unixUid)) errors.push({ field: 'unixUid', reason: 'UNIX_UID_TAKEN', message: `unix_uid ${user.unixUid} is taken` });
  const first = errors[0];
  if (first) throw conflict(first.reason!, errors.map((e) => e.message).join('; '), errors);
}

async function assertManager(tx: Transaction, orgId: OrgId, managerId: UserId, userId: UserId) {
  if (managerId === userId) throw invalid('INVALID_MANAGER', 'A user cannot be their own manager', [{ field: 'manager', reason: 'SELF', message: 'cannot be the user' }]);
  const manager = await tx.users.findById(orgId, managerId);
  if (!manager) throw invalid('INVALID_MANAGER', 'manager must be the id of a user in this organization', [{ field: 'manager', reason: 'NOT_FOUND', message: 'no such user' }]);
}

/** Writes a new password to the directories that should have it, or refuses it (throws) before Roster keeps it. */
export interface DirectoryPasswordSink {
  beforeSet(ctx: Context, user: User, password: string): Promise<void>;
}
