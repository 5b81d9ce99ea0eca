import type { AdminId, AgentId, ApiKeyId, ApplicationId, DirectoryId, GroupId, OrgId, RadiusServerId, ScimTokenId, SyncRunId, UserId } from './ids.js';
import type {
  AdminSession,
  Administrator,
  ApiKey,
  Application,
  Association,
  Directory,
  DirectoryAgent,
  DirectorySyncRun,
  DirectorySyncState,
  JournalEntry,
  JournalEntryInput,
  Membership,
  MemberType,
  Organization,
  ProvisionedKind,
  ProvisionedObject,
  ProvisioningTarget,
  RadiusServer,
  ScimToken,
  ResourceType,
  SubjectType,
  TotpEnrollment,
  UserSession,
  User,
  UserGroup,
} from './model.js';
import type { Filter, ListQuery, ListResult, Page } from './query.js';
import type { Actor, Origin } from './context.js';

/** Options for reads that precede a write in the same transaction. */
export interface ReadOptions {
  /** Lock the row until the transaction ends (PostgreSQL `FOR UPDATE`). */
  forUpdate?: boolean;
}

export interface OrgRepository {
  insert(org: Organization): Promise<void>;
  update(org: Organization): Promise<void>;
  findById(id: OrgId, options?: ReadOptions): Promise<Organization | undefined>;
  list(ids: readonly OrgId[], query: ListQuery): Promise<ListResult<Organization>>;
  /** Every organization of the installation, for the local operator. */
  listAll(query: ListQuery): Promise<ListResult<Organization>>;
  count(): Promise<number>;
  /** Reserves `count` consecutive unix ids above every id in use; returns the first. */
  allocateUnixIds(id: OrgId, count: number): Promise<number>;
}

/** Values already taken in an org, for checking a batch before writing it. */
export interface TakenValues {
  usernames: Set<string>;
  emails: Set<string>;
  employeeIdentifiers: Set<string>;
  unixUids: Set<number>;
}

export interface UserRepository {
  insert(users: readonly User[], passwordHashes?: ReadonlyMap<UserId, string>): Promise<void>;
  update(user: User): Promise<void>;
  delete(orgId: OrgId, id: UserId): Promise<void>;
  findById(orgId: OrgId, id: UserId, options?: ReadOptions): Promise<User | undefined>;
  findByIds(orgId: OrgId, ids: readonly UserId[]): Promise<User[]>;
  findByUsername(orgId: OrgId, username: string): Promise<User | undefined>;
  list(orgId: OrgId, query: ListQuery): Promise<ListResult<User>>;
  /** Which of these values (folded where case-insensitive) are taken, ignoring `exceptId`. */
  findTaken(
    orgId: OrgId,
    values: { usernames?: string[]; emails?: string[]; employeeIdentifiers?: string[]; unixUids?: number[] },
    exceptId?: UserId,
  ): Promise<TakenValues>;
  directReports(orgId: OrgId, managerId: UserId): Promise<UserId[]>;
  passwordHash(orgId: OrgId, id: UserId): Promise<string | null>;
  setPasswordHash(orgId: OrgId, id: UserId, hash: string, at: string): Promise<void>;
  /** The most recent previous password hashes, newest first. */
  passwordHistory(orgId: OrgId, id: UserId, limit: number): Promise<string[]>;
}

export interface GroupRepository {
  insert(group: UserGroup): Promise<void>;
  update(group: UserGroup): Promise<void>;
  delete(orgId: OrgId, id: GroupId): Promise<void>;
  findById(orgId: OrgId, id: GroupId, options?: ReadOptions): Promise<UserGroup | undefined>;
  findByIds(orgId: OrgId, ids: readonly GroupId[]): Promise<UserGroup[]>;
  findByName(orgId: OrgId, name: string): Promise<UserGroup | undefined>;
  list(orgId: OrgId, query: ListQuery): Promise<ListResult<UserGroup>>;
  addMember(orgId: OrgId, membership: Membership, at: string): Promise<void>;
  removeMember(orgId: OrgId, membership: Membership): Promise<boolean>;
  hasMember(orgId: OrgId, membership: Membership): Promise<boolean>;
  listMembers(orgId: OrgId, groupId: GroupId, page: Page): Promise<ListResult<Membership>>;
  /** Memberships whose member is one of these (one step up the graph). */
  parentsOf(orgId: OrgId, memberType: MemberType, memberIds: readonly string[]): Promise<Membership[]>;
  /** Every membership in the org, for building a whole-directory view. */
  allMemberships(orgId: OrgId): Promise<Membership[]>;
  /** Group-in-group memberships of these groups (one step down the graph). */
  childGroupsOf(orgId: OrgId, groupIds: readonly GroupId[]): Promise<Membership[]>;
  /** Direct user memberships of these users in these groups. */
  userMemberships(orgId: OrgId, groupIds: readonly GroupId[], userIds: readonly UserId[]): Promise<Membership[]>;
  /** Removes every membership in which this object is the member. */
  removeFromAllGroups(orgId: OrgId, memberType: MemberType, memberId: string): Promise<void>;
}

export interface AssociationRepository {
  add(orgId: OrgId, association: Association, at: string): Promise<void>;
  remove(orgId: OrgId, association: Association): Promise<boolean>;
  find(orgId: OrgId, association: Association): Promise<Association | undefined>;
  /** Associations of these subjects with resources of these types. */
  ofSubjects(
    orgId: OrgId,
    subjectType: SubjectType,
    subjectIds: readonly string[],
    resourceTypes: readonly ResourceType[],
  ): Promise<Association[]>;
  /** Associations of one resource with subjects of these types. */
  ofResource(
    orgId: OrgId,
    resourceType: ResourceType,
    resourceId: string,
    subjectTypes: readonly SubjectType[],
  ): Promise<Association[]>;
  removeAllOfSubject(orgId: OrgId, subjectType: SubjectType, subjectId: string): Promise<void>;
  removeAllOfResource(orgId: OrgId, resourceType: ResourceType, resourceId: string): Promise<void>;
}

/** Users reached through groups and direct associations, without loading the whole set. */
export interface ReachSource {
  /** Users that are direct members of any of these groups. */
  groupIds: readonly GroupId[];
  /** Users associated directly with this resource. */
  resource?: { type: ResourceType; id: string };
}

export interface ReachRepository {
  /** Distinct users from `source` matching `query`, sorted and paged by the database. */
  pageUsers(orgId: OrgId, source: ReachSource, query: ListQuery): Promise<ListResult<User>>;
}

export interface AdminCredentials {
  admin: Administrator;
  passwordHash: string | null;
}

export interface AdminRepository {
  insert(admin: Administrator, passwordHash: string | null): Promise<void>;
  update(admin: Administrator): Promise<void>;
  delete(id: AdminId): Promise<void>;
  findById(id: AdminId, options?: ReadOptions): Promise<Administrator | undefined>;
  findByEmail(email: string): Promise<AdminCredentials | undefined>;
  list(orgId: OrgId, query: ListQuery): Promise<ListResult<Administrator>>;
  linkOrg(adminId: AdminId, orgId: OrgId): Promise<void>;
  setPasswordHash(id: AdminId, hash: string): Promise<void>;
}

/** What the admin portal's sign-in keeps of an administrator besides the password. */
export interface AdminSignInState {
  /** The authenticator-app secret, sealed; null when none is set up. */
  totpSecret: string | null;
  /** When the secret was confirmed; null while it waits for a first code. */
  totpConfirmed: string | null;
  totpLastStep: number;
  failedLogins: number;
  lockedUntil: string | null;
}

export interface AdminSessionRepository {
  insert(session: AdminSession): Promise<void>;
  findById(id: string): Promise<AdminSession | undefined>;
  touch(id: string, lastSeen: string, idleExpires: string): Promise<void>;
  /** Revokes one session; false when it was already revoked or unknown. */
  revoke(id: string, at: string): Promise<boolean>;
  /** Revokes every live session of an administrator; the number revoked. */
  revokeAdmin(adminId: AdminId, at: string): Promise<number>;
  stateOf(adminId: AdminId): Promise<AdminSignInState | undefined>;
  setFailures(adminId: AdminId, failedLogins: number, lockedUntil: string | null): Promise<void>;
  setTotp(adminId: AdminId, sealedSecret: string | null, confirmed: string | null, lastStep: number): Promise<void>;
  /** Records that a code of `step` was used; false when a code of that step or a later one already was. */
  useTotpStep(adminId: AdminId, step: number): Promise<boolean>;
  /** Deletes sessions that ended before `before`; the number deleted. */
  prune(before: string): Promise<number>;
}

export interface ApiKeyWithAdmin {
  key: ApiKey;
  admin: Administrator;
}

export interface ApiKeyRepository {
  insert(key: ApiKey, secretHash: string): Promise<void>;
  findBySecretHash(secretHash: string): Promise<ApiKeyWithAdmin | undefined>;
  findById(id: ApiKeyId): Promise<ApiKey | undefined>;
  listByAdmin(adminId: AdminId): Promise<ApiKey[]>;
  revoke(id: ApiKeyId, at: string): Promise<void>;
  /** Records use; a no-op when the recorded use is newer than `notBefore`. */
  touch(id: ApiKeyId, at: string, notBefore: string): Promise<void>;
}

export interface ApplicationRepository {
  insert(app: Application): Promise<void>;
  update(app: Application): Promise<void>;
  delete(orgId: OrgId, id: ApplicationId): Promise<void>;
  findById(orgId: OrgId, id: ApplicationId, options?: ReadOptions): Promise<Application | undefined>;
  findByIds(orgId: OrgId, ids: readonly ApplicationId[]): Promise<Application[]>;
  list(orgId: OrgId, query: ListQuery): Promise<ListResult<Application>>;
}

export interface DirectoryRepository {
  insert(directory: Directory): Promise<void>;
  update(directory: Directory): Promise<void>;
  delete(orgId: OrgId, id: DirectoryId): Promise<void>;
  findById(orgId: OrgId, id: DirectoryId, options?: ReadOptions): Promise<Directory | undefined>;
  findByIds(orgId: OrgId, ids: readonly DirectoryId[]): Promise<Directory[]>;
  list(orgId: OrgId, query: ListQuery): Promise<ListResult<Directory>>;
  /** System: the directories of these types in every org (the cloud directory worker's list). */
  listOfTypes(types: readonly Directory['type'][]): Promise<Directory[]>;
}

export interface RadiusServerRepository {
  /** `sealedSecret` is the shared secret as SecretBox sealed it. */
  insert(server: RadiusServer, sealedSecret: string): Promise<void>;
  /** Replaces the secret too when `sealedSecret` is given. */
  update(server: RadiusServer, sealedSecret?: string): Promise<void>;
  delete(orgId: OrgId, id: RadiusServerId): Promise<void>;
  findById(orgId: OrgId, id: RadiusServerId, options?: ReadOptions): Promise<RadiusServer | undefined>;
  findByIds(orgId: OrgId, ids: readonly RadiusServerId[]): Promise<RadiusServer[]>;
  list(orgId: OrgId, query: ListQuery): Promise<ListResult<RadiusServer>>;
  /** Every org's servers with their sealed secrets: what the RADIUS front-end serves. */
  all(): Promise<{ server: RadiusServer; sealedSecret: string }[]>;
  /** A token that changes whenever any server of any org is created, changed or deleted. */
  version(): Promise<string>;
}

/** Users' second factors and the NT-hash credential MS-CHAPv2 needs, kept apart from password hashes. */
export interface CredentialRepository {
  findTotp(orgId: OrgId, userId: UserId): Promise<{ enrollment: TotpEnrollment; sealedSecret: string } | undefined>;
  /** Creates or replaces the user's TOTP enrollment (unconfirmed, no step used). */
  putTotp(enrollment: TotpEnrollment, sealedSecret: string): Promise<void>;
  /**
   * Confirms an unconfirmed enrollment with the step of its first good code. Atomic: false, and
   * nothing written, when it is already confirmed, gone, or `step` is not after the last used one.
   */
  confirmTotp(orgId: OrgId, userId: UserId, step: number, at: string): Promise<boolean>;
  /**
   * Records that a code for `step` was accepted. Atomic: false, and nothing written, when a code
   * for this step or a later one was already accepted (a replay).
   */
  useTotpStep(orgId: OrgId, userId: UserId, step: number, at: string): Promise<boolean>;
  deleteTotp(orgId: OrgId, userId: UserId): Promise<boolean>;
  /** Which of these users have a confirmed TOTP: one query for a page of users. */
  confirmedTotpAmong(orgId: OrgId, userIds: readonly UserId[]): Promise<Set<UserId>>;
  findNtHash(orgId: OrgId, userId: UserId): Promise<string | undefined>;
  /** Creates or replaces the user's NT hash. */
  putNtHash(orgId: OrgId, userId: UserId, sealedHash: string, at: string): Promise<void>;
  /** putNtHash for many users at once (bulk import). */
  putNtHashes(orgId: OrgId, sealedHashes: ReadonlyMap<UserId, string>, at: string): Promise<void>;
  deleteNtHash(orgId: OrgId, userId: UserId): Promise<boolean>;
  /** Removes every NT hash of the org; returns how many there were. */
  deleteAllNtHashes(orgId: OrgId): Promise<number>;
  countNtHashes(orgId: OrgId): Promise<number>;
}

export interface ScimTokenRepository {
  insert(token: ScimToken, secretHash: string): Promise<void>;
  findBySecretHash(secretHash: string): Promise<ScimToken | undefined>;
  findById(orgId: OrgId, id: ScimTokenId): Promise<ScimToken | undefined>;
  listByDirectory(orgId: OrgId, directoryId: DirectoryId): Promise<ScimToken[]>;
  revoke(orgId: OrgId, id: ScimTokenId, at: string): Promise<void>;
  /** Records use; a no-op when the recorded use is newer than `notBefore`. */
  touch(id: ScimTokenId, at: string, notBefore: string): Promise<void>;
}

export interface JournalQuery {
  since: number;
  limit: number;
  filter?: Filter;
}

/** Where a journal row points, without its change set: what a cache needs to invalidate. */
export interface JournalPosition {
  seq: number;
  objectType: JournalEntry['objectType'];
  objectId: string;
  operation: JournalEntry['operation'];
}

export interface JournalRepository {
  /** Rows after `since`, in sequence order, that every earlier writer has committed. */
  list(orgId: OrgId, query: JournalQuery): Promise<JournalEntry[]>;
  /** The org's latest sequence number, 0 when it has none. */
  head(orgId: OrgId): Promise<number>;
  /** Positions of the rows after `since`, in sequence order. */
  positions(orgId: OrgId, since: number, limit: number): Promise<JournalPosition[]>;
  /**
   * The sequence number of each object's latest row: a version that changes with every change
   * the object's journal records. Objects without rows are left out.
   */
  versions(orgId: OrgId, objectType: JournalEntry['objectType'], objectIds: readonly string[]): Promise<Map<string, number>>;
}

/** A provisioning target as stored, with its sealed token. */
export interface StoredProvisioningTarget {
  target: ProvisioningTarget;
  sealedToken: string | null;
}

/** Fields of a target's run status a provisioning run writes. */
export type ProvisioningStatusUpdate = Partial<
  Pick<ProvisioningTarget, 'status' | 'cursor' | 'counters' | 'lastRunAt' | 'lastSuccessAt' | 'lastError' | 'lastErrorAt' | 'reconciledAt'>
>;

export interface ProvisioningRepository {
  /** Creates or replaces a target's settings; the token is kept when `sealedToken` is undefined. */
  putTarget(target: ProvisioningTarget, sealedToken: string | null | undefined): Promise<void>;
  findTarget(orgId: OrgId, applicationId: ApplicationId): Promise<StoredProvisioningTarget | undefined>;
  /** Every enabled target of every organization. */
  enabledTargets(): Promise<StoredProvisioningTarget[]>;
  updateStatus(applicationId: ApplicationId, update: ProvisioningStatusUpdate): Promise<void>;
  /**
   * Takes or renews the lease on a target for `owner` until `until`; false when another owner
   * holds an unexpired lease.
   */
  lease(applicationId: ApplicationId, owner: string, now: string, until: string): Promise<boolean>;
  release(applicationId: ApplicationId, owner: string): Promise<void>;
  /** Every record of a target, for a run. */
  objects(applicationId: ApplicationId): Promise<ProvisionedObject[]>;
  listObjects(orgId: OrgId, applicationId: ApplicationId, query: { objectType?: ProvisionedKind; failed?: boolean; page: Page }): Promise<ListResult<ProvisionedObject>>;
  putObjects(objects: readonly ProvisionedObject[]): Promise<void>;
  /** Forgets every record of a target (its application changed). */
  clearObjects(applicationId: ApplicationId): Promise<void>;
}

/** A user's recovery codes: digests only, each usable once. */
export interface RecoveryCodeRepository {
  /** Replaces the user's codes with these digests (an empty list removes them). */
  replace(orgId: OrgId, userId: UserId, digests: readonly string[], at: string): Promise<void>;
  /** Marks the code used; false when it is not one of the user's unused codes. */
  use(orgId: OrgId, userId: UserId, digest: string, at: string): Promise<boolean>;
  status(orgId: OrgId, userId: UserId): Promise<{ total: number; remaining: number; created: string } | undefined>;
  deleteAll(orgId: OrgId, userId: UserId): Promise<number>;
}

/** A user's WebAuthn credential (security key or passkey) as stored: its public key, never a secret. */
export interface WebAuthnCredentialRecord {
  /** The credential id, base64url; unique across every organization. */
  id: string;
  orgId: OrgId;
  userId: UserId;
  /** The COSE public key, base64url. */
  publicKey: string;
  /** The signature counter at the last use; 0 for authenticators that keep none. */
  counter: number;
  transports: string[];
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  aaguid: string;
  name: string;
  created: string;
  lastUsedAt: string | null;
}

export interface WebAuthnCredentialRepository {
  insert(credential: WebAuthnCredentialRecord): Promise<void>;
  /** The user's credentials, oldest first. */
  listByUser(orgId: OrgId, userId: UserId): Promise<WebAuthnCredentialRecord[]>;
  findById(id: string): Promise<WebAuthnCredentialRecord | undefined>;
  /**
   * Records a use, atomically: the counter moves to `counter` only forward (or stays 0 for an
   * authenticator that keeps none). False, changing nothing, when the stored counter is not below
   * `counter` — a concurrent use of the same assertion, or a cloned authenticator.
   */
  recordUse(id: string, use: { counter: number; backedUp: boolean; at: string }): Promise<boolean>;
  /** Removes one of the user's credentials; false when the user has no such credential. */
  delete(orgId: OrgId, userId: UserId, id: string): Promise<boolean>;
  /** Removes every credential of the user; the number removed. */
  deleteAllOf(orgId: OrgId, userId: UserId): Promise<number>;
  /** Which of these users have at least one credential. */
  usersWithCredentialsAmong(orgId: OrgId, userIds: readonly UserId[]): Promise<Set<UserId>>;
}

export interface SessionRepository {
  insert(session: UserSession): Promise<void>;
  findById(id: string): Promise<UserSession | undefined>;
  /** Moves the idle timeout forward. */
  touch(id: string, lastSeen: string, idleExpires: string): Promise<void>;
  /** Revokes one session; false when it was already revoked or unknown. */
  revoke(id: string, at: string): Promise<boolean>;
  /** Revokes every live session of a user; the number revoked. */
  revokeUser(orgId: OrgId, userId: UserId, at: string): Promise<number>;
  /** The user's sessions that have not been revoked and have not expired by `now`. */
  listLive(orgId: OrgId, userId: UserId, now: string): Promise<UserSession[]>;
  /** Deletes sessions that ended before `before`; the number deleted. */
  prune(before: string): Promise<number>;
}

/** An OIDC application's client as stored: `settings` is the client metadata Roster manages. */
export interface OidcClientRecord {
  clientId: string;
  orgId: OrgId;
  applicationId: ApplicationId;
  settings: Record<string, unknown>;
  /** When the secret was last set; null when the client has none. */
  secretUpdated: string | null;
  created: string;
  updated: string;
}

/** One object node-oidc-provider persists (a session, code, token, grant, interaction…). */
export interface OidcStateRecord {
  model: string;
  id: string;
  payload: Record<string, unknown>;
  grantId: string | null;
  userCode: string | null;
  uid: string | null;
  /** ISO 8601; null for objects that do not expire. */
  expiresAt: string | null;
  consumedAt: string | null;
}

/** A signing (private JWK) or cookie key of the OIDC provider, sealed, with its schedule. */
export interface OidcKeyRecord {
  id: string;
  use: 'sig' | 'cookie';
  sealed: string;
  created: string;
  /** When it starts signing (until then it is only published, or only accepted for cookies). */
  activates: string;
  /** When it leaves the JWKS (stops being accepted) and may be deleted; null until it is replaced. */
  retires: string | null;
}

export interface OidcRepository {
  findClient(clientId: string): Promise<{ client: OidcClientRecord; sealedSecret: string | null } | undefined>;
  findClientOfApplication(orgId: OrgId, applicationId: ApplicationId): Promise<OidcClientRecord | undefined>;
  /** Creates or replaces a client; its secret is kept when `sealedSecret` is undefined. */
  putClient(client: OidcClientRecord, sealedSecret?: string | null): Promise<void>;
  /** Creates or replaces an object. */
  putState(record: OidcStateRecord): Promise<void>;
  /** An object unless it has expired by `now`. */
  findState(model: string, id: string, now: string): Promise<OidcStateRecord | undefined>;
  findStateByUid(model: string, uid: string, now: string): Promise<OidcStateRecord | undefined>;
  findStateByUserCode(model: string, userCode: string, now: string): Promise<OidcStateRecord | undefined>;
  /** Marks an object consumed (a code exchanged, a rotated refresh token), once. */
  consumeState(model: string, id: string, at: string): Promise<void>;
  destroyState(model: string, id: string): Promise<void>;
  /** Deletes every object of every model issued under a grant. */
  revokeGrant(grantId: string): Promise<void>;
  /** Deletes objects that expired before `before`; the number deleted. */
  pruneState(before: string): Promise<number>;
  listKeys(): Promise<OidcKeyRecord[]>;
  insertKey(key: OidcKeyRecord): Promise<void>;
  /** Sets when a key retires (null: not scheduled). */
  setKeyRetires(id: string, retires: string | null): Promise<void>;
  deleteKey(id: string): Promise<void>;
}

/**
 * SAML AuthnRequest IDs seen recently, per issuer, shared by every process on the store: the
 * authority on replays (each process may keep a faster cache in front of it).
 */
export interface SamlReplayRepository {
  /**
   * Records `id` from `issuer` until `expiresAt`, atomically: false, changing nothing, when it is
   * already recorded and has not expired by `now` (a replay). An expired record is replaced.
   */
  checkAndRecord(issuer: string, id: string, expiresAt: string, now: string): Promise<boolean>;
  /** Deletes records that expired before `before`; the number deleted. */
  prune(before: string): Promise<number>;
}

/** Directory agents, each directory's sync state, its runs, and objects waiting out their removal grace period. */
export interface DirectorySyncRepository {
  insertAgent(agent: DirectoryAgent, connectKeyDigest: string): Promise<void>;
  updateAgent(agent: DirectoryAgent): Promise<void>;
  /** Registration: swaps the connect key for a credential, once; false when the key was used or is unknown. */
  registerAgent(connectKeyDigest: string, credentialDigest: string, agent: DirectoryAgent): Promise<boolean>;
  setAgentCredential(id: AgentId, credentialDigest: string | null, updated: string): Promise<void>;
  findAgent(orgId: OrgId, id: AgentId): Promise<DirectoryAgent | undefined>;
  findAgentByConnectKey(connectKeyDigest: string): Promise<DirectoryAgent | undefined>;
  findAgentByCredential(credentialDigest: string): Promise<DirectoryAgent | undefined>;
  listAgents(orgId: OrgId, directoryId: DirectoryId): Promise<DirectoryAgent[]>;
  deleteAgent(orgId: OrgId, id: AgentId): Promise<boolean>;
  /** Records an agent's contact; at most one write a minute (`notSince`). */
  touchAgent(id: AgentId, at: string, sourceIp: string, notSince: string): Promise<void>;

  state(orgId: OrgId, directoryId: DirectoryId, options?: ReadOptions): Promise<DirectorySyncState | undefined>;
  putState(state: DirectorySyncState): Promise<void>;
  /**
   * The writer lease: granted to `agentId` until `until` when no other agent holds an unexpired
   * one; true when `agentId` holds it afterwards.
   */
  takeWriterLease(orgId: OrgId, directoryId: DirectoryId, agentId: AgentId, now: string, until: string): Promise<boolean>;
  /** Gives the lease up, if `agentId` holds it (an agent stopping), so another can take over at once. */
  releaseWriterLease(orgId: OrgId, directoryId: DirectoryId, agentId: AgentId): Promise<void>;

  insertRun(run: DirectorySyncRun): Promise<void>;
  /** Marks the directory's runs still `running` as failed with `error` (their agent stopped before finishing them); the number marked. */
  abandonRuns(orgId: OrgId, directoryId: DirectoryId, error: string, at: string): Promise<number>;
  updateRun(run: DirectorySyncRun): Promise<void>;
  findRun(orgId: OrgId, id: SyncRunId): Promise<DirectorySyncRun | undefined>;
  /** Newest first. */
  listRuns(orgId: OrgId, directoryId: DirectoryId, limit: number, skip: number): Promise<{ items: DirectorySyncRun[]; total: number }>;

  /** Records a removal; one already recorded keeps its time and grace period. */
  putRemoval(removal: DirectoryRemoval): Promise<void>;
  listRemovals(orgId: OrgId, directoryId: DirectoryId): Promise<DirectoryRemoval[]>;
  deleteRemoval(orgId: OrgId, directoryId: DirectoryId, kind: LinkedKind, localId: string): Promise<boolean>;
  /** Removals whose grace period ended before `now`, across every organization. */
  dueRemovals(now: string, limit: number): Promise<DirectoryRemoval[]>;

  insertTask(task: AgentTask): Promise<void>;
  /** Hands the directory's pending, unexpired tasks (oldest first, at most `limit`) to the agent; each goes to one agent only. */
  claimTasks(orgId: OrgId, directoryId: DirectoryId, agentId: AgentId, now: string, limit: number): Promise<AgentTask[]>;
  /** Records the answer of a task the agent holds; false when it is not (any more) the agent's. */
  completeTask(orgId: OrgId, id: string, agentId: AgentId, result: string): Promise<boolean>;
  findTask(orgId: OrgId, id: string): Promise<AgentTask | undefined>;
  deleteTask(orgId: OrgId, id: string): Promise<void>;
  /** Removes tasks that expired before `now` (their requester gave up); the number removed. */
  deleteExpiredTasks(now: string): Promise<number>;
}

/** A request Roster makes of a directory's agent and waits for (write a password, verify one). */
export interface AgentTask {
  id: string;
  orgId: OrgId;
  directoryId: DirectoryId;
  kind: string;
  /** Sealed JSON. */
  payload: string;
  state: 'pending' | 'taken' | 'done';
  agentId: AgentId | null;
  /** JSON, once done. */
  result: string | null;
  created: string;
  expires: string;
}

/** An object removed at its source (deleted, or out of the import scope): suspended now, deleted after `deleteAfter`. */
export interface DirectoryRemoval {
  orgId: OrgId;
  directoryId: DirectoryId;
  kind: LinkedKind;
  localId: string;
  removedAt: string;
  /** Null: kept suspended for good. */
  deleteAfter: string | null;
}

/** The kinds of object an identity link points at (named as the journal names them). */
export type LinkedKind = 'user' | 'user_group';

/**
 * How an object of an external directory is known in Roster (DESIGN.md, Sync): `(directory, kind,
 * local id) ↔ external id`, the directory's own id for it (AD objectGUID, LDAP entryUUID, a SCIM
 * source's externalId). Unique both ways within a directory and kind.
 */
export interface IdentityLink {
  orgId: OrgId;
  directoryId: DirectoryId;
  kind: LinkedKind;
  localId: string;
  externalId: string;
  created: string;
  updated: string;
  /** What the directory last held of the object (directory sync); absent or null when unknown. */
  known?: KnownObject | null;
  /** A user's password authority for this directory; null or absent: the directory's configuration decides. */
  passwordAuthority?: PasswordAuthority | null;
}

/** Whose password counts for a user linked to a directory: Roster's, or the directory's (verified through its agent). */
export type PasswordAuthority = 'roster' | 'directory';

/** An object as its directory last held it, read by an import or written by an export. */
export interface KnownObject {
  /** Directory attribute (lowercase) → value; null: no value. */
  attributes: Record<string, string | null>;
  disabled?: boolean;
  /** Groups: the external ids of the direct members Roster manages (linked to the directory). */
  members?: string[];
  /** Roster created it in the directory. */
  createdByRoster?: boolean;
  /** Created without a password: kept disabled until Roster has one to write. */
  awaitingPassword?: boolean;
  /** The Roster user was deleted: the link stays until its account is disabled in the directory. */
  deletedInRoster?: boolean;
  /** The distinguished name, as last seen. */
  dn?: string;
}

export interface IdentityLinkRepository {
  /**
   * Creates the object's link to the directory, or changes its external id. An external id that
   * another object of the kind holds in the directory is a conflict (EXTERNAL_ID_TAKEN).
   */
  put(link: IdentityLink): Promise<void>;
  /** The links of these objects to the directory (those that have one). */
  findByLocalIds(orgId: OrgId, directoryId: DirectoryId, kind: LinkedKind, localIds: readonly string[]): Promise<IdentityLink[]>;
  /** The links with these external ids in the directory (exact match). */
  findByExternalIds(orgId: OrgId, directoryId: DirectoryId, kind: LinkedKind, externalIds: readonly string[]): Promise<IdentityLink[]>;
  /** Every link of the kind to the directory. */
  listByDirectory(orgId: OrgId, directoryId: DirectoryId, kind: LinkedKind): Promise<IdentityLink[]>;
  /** Removes the object's link to the directory; false when it had none. */
  delete(orgId: OrgId, directoryId: DirectoryId, kind: LinkedKind, localId: string): Promise<boolean>;
  /** Records what the directory holds of a linked object. */
  setKnown(orgId: OrgId, directoryId: DirectoryId, kind: LinkedKind, localId: string, known: KnownObject | null, updated: string): Promise<void>;
  /** Sets a linked user's password authority (null: the directory's configuration decides); false when the user has no link. */
  setPasswordAuthority(orgId: OrgId, directoryId: DirectoryId, localId: string, authority: PasswordAuthority | null, updated: string): Promise<boolean>;
  /** The object's links to every directory of the org. */
  ofObject(orgId: OrgId, kind: LinkedKind, localId: string): Promise<IdentityLink[]>;
  /** Removes the object's links to every directory. */
  deleteOfObject(orgId: OrgId, kind: LinkedKind, localId: string): Promise<void>;
}

/** Installation-wide key/value facts. */
export interface MetaRepository {
  get(key: string): Promise<string | undefined>;
  /** Sets the value unless one exists; returns the value now stored. */
  setIfAbsent(key: string, value: string): Promise<string>;
}

export interface Repositories {
  meta: MetaRepository;
  orgs: OrgRepository;
  users: UserRepository;
  groups: GroupRepository;
  associations: AssociationRepository;
  reach: ReachRepository;
  admins: AdminRepository;
  apiKeys: ApiKeyRepository;
  adminSessions: AdminSessionRepository;
  applications: ApplicationRepository;
  directories: DirectoryRepository;
  radiusServers: RadiusServerRepository;
  credentials: CredentialRepository;
  scimTokens: ScimTokenRepository;
  journal: JournalRepository;
  identityLinks: IdentityLinkRepository;
  provisioning: ProvisioningRepository;
  sessions: SessionRepository;
  recoveryCodes: RecoveryCodeRepository;
  webauthnCredentials: WebAuthnCredentialRepository;
  oidc: OidcRepository;
  samlReplay: SamlReplayRepository;
  directorySync: DirectorySyncRepository;
}

/** Who and where, stamped on the journal rows a transaction writes. */
export interface JournalStamp {
  orgId: OrgId;
  actor: Actor;
  origin: Origin;
}

export interface Transaction extends Repositories {
  /** Queues journal rows; the store writes them just before commit, in the same transaction. */
  record(stamp: JournalStamp, entries: readonly JournalEntryInput[]): void;
  /**
   * Writes the queued journal rows now rather than at commit, so bulk work holds no more than a
   * batch in memory. On PostgreSQL the journal lock is then held until commit: other writers'
   * commits wait for this transaction, which is why only bulk work does this.
   */
  flushJournal(): Promise<void>;
  /** Holds a named lock until the transaction ends, across every process sharing the store. */
  lock(name: string): Promise<void>;
}

/** The port `store/` implements. */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs `work` in one transaction (serialisable per org for writers); rolls back on throw. */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Repositories outside a transaction, for reads. */
  readonly read: Repositories;
  ping(): Promise<void>;
  /** Refreshes planner statistics after a bulk change, so the next queries pick the right indexes. */
  optimize(): Promise<void>;
  close(): Promise<void>;
}
