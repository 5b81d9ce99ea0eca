import { requirePermission, type Context } from '../context.js';
import { invalid } from '../errors.js';
import { isWellFormedId, type UserId } from '../ids.js';
import { changesBetween, secretChange } from '../journal.js';
import type { JournalEntryInput, Organization, User } from '../model.js';
import { hashPassword, passwordExpiration, passwordViolations } from '../passwords.js';
import type { TakenValues } from '../ports.js';
import { foldCase } from '../query.js';
import { checkUserInput, type UserInput } from '../user-input.js';
import { journal, type Deps } from './deps.js';
import { keepsNtHashes, sealNtHash } from './nt-hashes.js';
import type { UserService } from './users.js';

export interface ImportRowError {
  line: number;
  field?: string;
  message: string;
}

export interface ImportRow {
  /** Where the row came from (a CSV line number), for error messages. */
  line: number;
  input: UserInput;
  /** The manager as an id, a username or an email, of a user in the directory or in the same import. */
  managerRef?: string;
  /** Problems the reader already found (a cell that is not a number, say): the row fails with them. */
  problems?: { field?: string; message: string }[];
}

/** Reads the rows; called twice (check, then write), and must give the same rows both times. */
export type ImportSource = () => AsyncIterable<ImportRow> | Iterable<ImportRow>;

export interface ImportReport {
  rows: number;
  /** Users created; with dryRun, the users that would be created. */
  created: number;
  failed: number;
  errors: ImportRowError[];
  dryRun: boolean;
  /** True when errors stopped the import before anything was written. */
  aborted: boolean;
}

export interface ImportOptions {
  dryRun?: boolean;
  /** Import the good rows even when others fail. Without it, one bad row writes nothing. */
  continueOnError?: boolean;
  /** Called as users are written: (written so far, to write). */
  onProgress?: (done: number, total: number) => void;
}

const BATCH = 1000;
const PROBE_BATCH = 500;
const HASH_CONCURRENCY = 4;

/** What the check pass keeps of a good row: enough to write it, not the row itself. */
interface Plan {
  id: UserId;
  autoUid: boolean;
  managerRef?: string;
  managerId?: UserId;
}

interface Checked {
  user: User;
  password?: string;
  /** Set just before the write; the password itself is never written. */
  hash?: string;
  autoUid: boolean;
}

/**
 * Bulk creation of users (CSV import) in two passes over the rows. The check pass applies the
 * rules of a single create to every row, and checks uniqueness against the directory and against
 * the other rows, keeping only keys in memory. The write pass, if there is one, reads the rows
 * again and writes them in one transaction, so a failed import leaves nothing behind, and memory
 * stays flat whatever the number of rows.
 */
export class UserImportService {
  constructor(
    private readonly deps: Deps,
    private readonly users: UserService,
  ) {}

  private check(ctx: Context, org: Organization, row: ImportRow, now: Date): Checked | ImportRowError[] {
    const { value, errors } = checkUserInput({ ...row.input, manager: undefined }, 'create');
    if (errors.length > 0) return errors.map((e) => ({ line: row.line, message: e.message, ...(e.field ? { field: e.field } : {}) }));
    const user = this.users.newUser(ctx.orgId, value, org, 'csvImport', now);
    if (value.password !== undefined) {
      const violations = passwordViolations(org.settings.passwordPolicy, value.password, user);
      if (violations.length > 0) return violations.map((v) => ({ line: row.line, field: 'password', message: `password ${v.message}` }));
    }
    return { user, autoUid: value.profile.unixUid === undefined, ...(value.password !== undefined ? { password: value.password } : {}) };
  }

  async import(ctx: Context, source: ImportSource, options: ImportOptions = {}): Promise<ImportReport> {
    requirePermission(ctx, 'users:write');
    const org = await this.users.org(ctx.orgId);
    const now = this.deps.clock();
    const errors: ImportRowError[] = [];
    const failed = new Set<number>();
    const fail = (line: number, message: string, field?: string) => {
      errors.push({ line, message, ...(field ? { field } : {}) });
      failed.add(line);
    };

    // Pass 1: check every row; keep a plan per row and the keys that must be unique.
    const plans = new Map<number, Plan>();
    const firstLine = new Map<string, number>();
    const inFile = new Map<string, UserId>();
    const explicitUids = new Set<number>();
    let probe: { line: number; user: User; autoUid: boolean }[] = [];
    let rows = 0;
    const probeDirectory = async () => {
      const taken = await this.deps.store.read.users.findTaken(ctx.orgId, {
        usernames: probe.map((p) => p.user.username),
        emails: probe.map((p) => p.user.email),
        employeeIdentifiers: probe.flatMap((p) => (p.user.employeeIdentifier ? [p.user.employeeIdentifier] : [])),
        unixUids: probe.flatMap((p) => (p.autoUid ? [] : [p.user.unixUid])),
      });
      for (const p of probe) reportTaken(p.line, p.user, p.autoUid, taken, fail);
      probe = [];
    };
    for await (const row of source()) {
      rows++;
      if (row.problems && row.problems.length > 0) {
        for (const p of row.problems) fail(row.line, p.message, p.field);
        continue;
      }
      const checked = this.check(ctx, org, row, now);
      if (Array.isArray(checked)) {
        for (const e of checked) fail(e.line, e.message, e.field);
        continue;
      }
      const { user, autoUid } = checked;
      const keys: [string, string | null][] = [
        ['username', `u:${foldCase(user.username)}`],
        ['email', `e:${foldCase(user.email)}`],
        ['employeeIdentifier', user.employeeIdentifier ? `i:${user.employeeIdentifier}` : null],
        ['unixUid', autoUid ? null : `x:${user.unixUid}`],
      ];
      for (const [field, key] of keys) {
        if (key === null) continue;
        const first = firstLine.get(key);
        if (first !== undefined) fail(row.line, `${field} duplicates line ${first}`, field);
        else firstLine.set(key, row.line);
      }
      inFile.set(`u:${foldCase(user.username)}`, user.id);
      inFile.set(`e:${foldCase(user.email)}`, user.id);
      if (!autoUid) explicitUids.add(user.unixUid);
      plans.set(row.line, { id: user.id, autoUid, ...(row.managerRef ? { managerRef: row.managerRef.trim() } : {}) });
      probe.push({ line: row.line, user, autoUid });
      if (probe.length >= PROBE_BATCH) await probeDirectory();
    }
    await probeDirectory();
    firstLine.clear();
    await this.resolveManagers(ctx, plans, inFile, fail);

    const good = [...plans].filter(([line]) => !failed.has(line));
    const report: ImportReport = {
      rows,
      created: 0,
      failed: failed.size,
      errors: errors.sort((a, b) => a.line - b.line),
      dryRun: options.dryRun ?? false,
      aborted: false,
    };
    if (failed.size > 0 && !options.continueOnError) return { ...report, aborted: true };
    if (options.dryRun) return { ...report, created: good.length };
    if (good.length === 0) return report;

    // Pass 2: read the rows again and write the good ones, in one transaction.
    const autoCount = good.filter(([, p]) => p.autoUid).length;
    let written = 0;
    await this.deps.store.transaction(async (tx) => {
      const ntHashes = await keepsNtHashes(tx, ctx.orgId);
      let nextUid = autoCount > 0 ? await tx.orgs.allocateUnixIds(ctx.orgId, autoCount + explicitUids.size) : 0;
      let batch: Checked[] = [];
      const write = async () => {
        await this.hashPasswords(batch, org, now);
        await tx.users.insert(batch.map((c) => c.user), new Map(batch.flatMap((c) => (c.hash ? [[c.user.id, c.hash] as const] : []))));
        if (ntHashes) {
          const sealed = batch.flatMap((c) => (c.password !== undefined ? [[c.user.id, sealNtHash(this.deps.secrets, ctx.orgId, c.user.id, c.password)] as const] : []));
          await tx.credentials.putNtHashes(ctx.orgId, new Map(sealed), now.toISOString());
        }
        const entries: JournalEntryInput[] = batch.map((c) => {
          const changes = changesBetween(null, c.user);
          if (c.hash) changes.password = secretChange();
          return { objectType: 'user', objectId: c.user.id, operation: 'create', changes };
        });
        journal(tx, ctx, ...entries);
        await tx.flushJournal();
        written += batch.length;
        batch = [];
        options.onProgress?.(written, good.length);
      };
      for await (const row of source()) {
        const plan = plans.get(row.line);
        if (!plan || failed.has(row.line)) continue;
        const checked = this.check(ctx, org, row, now);
        if (Array.isArray(checked)) throw invalid('IMPORT_SOURCE_CHANGED', `line ${row.line} changed while it was being imported; nothing was imported`);
        checked.user.id = plan.id;
        checked.user.manager = plan.managerId ?? null;
        if (plan.autoUid) {
          while (explicitUids.has(nextUid)) nextUid++;
          checked.user.unixUid = nextUid++;
          if (checked.user.unixGuid === 0) checked.user.unixGuid = checked.user.unixUid;
        }
        batch.push(checked);
        if (batch.length >= BATCH) await write();
      }
      if (batch.length > 0) await write();
      if (written !== good.length) throw invalid('IMPORT_SOURCE_CHANGED', 'the rows changed while they were being imported; nothing was imported');
    });
    if (written >= BATCH) await this.deps.store.optimize();
    return { ...report, created: written };
  }

  /** Managers named by id, username or email, in the directory or anywhere in the same import. */
  private async resolveManagers(ctx: Context, plans: Map<number, Plan>, inFile: Map<string, UserId>, fail: (line: number, message: string, field?: string) => void) {
    const withRef = [...plans].filter(([, p]) => p.managerRef);
    if (withRef.length === 0) return;
    const refs = [...new Set(withRef.map(([, p]) => p.managerRef!))];
    const known = new Map<string, UserId>();
    const repos = this.deps.store.read;
    const ids = refs.filter(isWellFormedId) as UserId[];
    for (let i = 0; i < ids.length; i += PROBE_BATCH) {
      for (const u of await repos.users.findByIds(ctx.orgId, ids.slice(i, i + PROBE_BATCH))) known.set(u.id, u.id);
    }
    const names = refs.filter((r) => !isWellFormedId(r));
    for (let i = 0; i < names.length; i += PROBE_BATCH) {
      const part = names.slice(i, i + PROBE_BATCH);
      const found = await repos.users.list(ctx.orgId, {
        filter: { kind: 'or', filters: [{ kind: 'in', field: 'username', values: part }, { kind: 'in', field: 'email', values: part }] },
        sort: [],
        page: { limit: part.length * 2, skip: 0 },
      });
      for (const u of found.items) {
        known.set(`u:${foldCase(u.username)}`, u.id);
        known.set(`e:${foldCase(u.email)}`, u.id);
      }
    }
    for (const [line, plan] of withRef) {
      const ref = plan.managerRef!;
      const keys = isWellFormedId(ref) ? [ref] : [`u:${foldCase(ref)}`, `e:${foldCase(ref)}`];
      const id = keys.map((k) => known.get(k) ?? inFile.get(k)).find((v) => v !== undefined);
      if (!id) fail(line, `manager ${ref} is not a user in the directory or in this file`, 'manager');
      else if (id === plan.id) fail(line, 'a user cannot be their own manager', 'manager');
      else plan.managerId = id;
    }
  }

  /** Hashes the batch's passwords, a few at a time. */
  private async hashPasswords(batch: Checked[], org: Organization, now: Date) {
    const pending = batch.filter((c) => c.password !== undefined);
    for (let i = 0; i < pending.length; i += HASH_CONCURRENCY) {
      await Promise.all(
        pending.slice(i, i + HASH_CONCURRENCY).map(async (c) => {
          c.hash = await hashPassword(c.password!);
          c.user.passwordSet = true;
          c.user.passwordDate = now.toISOString();
          c.user.passwordExpirationDate ??= passwordExpiration(org.settings.passwordPolicy, now, c.user.passwordNeverExpires);
        }),
      );
    }
  }
}

function reportTaken(line: number, user: User, autoUid: boolean, taken: TakenValues, fail: (line: number, message: string, field?: string) => void) {
  if (taken.usernames.has(foldCase(user.username))) fail(line, `username ${user.username} is taken`, 'username');
  if (taken.emails.has(foldCase(user.email))) fail(line, `email ${user.email} is taken`, 'email');
  if (user.employeeIdentifier && taken.employeeIdentifiers.has(user.employeeIdentifier)) {
    fail(line, `employeeIdentifier ${user.employeeIdentifier} is taken`, 'employeeIdentifier');
  }
  if (!autoUid && taken.unixUids.has(user.unixUid)) fail(line, `unix_uid ${user.unixUid} is taken`, 'unixUid');
}
