import { requirePermission, type Context } from '../context.js';
import { isWellFormedId, type UserId } from '../ids.js';
import { changesBetween, secretChange } from '../journal.js';
import type { JournalEntryInput, User } from '../model.js';
import { hashPassword, passwordExpiration, passwordViolations } from '../passwords.js';
import { foldCase } from '../query.js';
import { checkUserInput, type UserInput } from '../user-input.js';
import { journal, type Deps } from './deps.js';
import type { UserService } from './users.js';

export interface ImportRow {
  /** Where the row came from (a CSV line number), for error messages. */
  line: number;
  input: UserInput;
  /** The manager as an id, a username or an email, of a user in the directory or in the same import. */
  managerRef?: string;
}

export interface ImportRowError {
  line: number;
  field?: string;
  message: string;
}

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
const HASH_CONCURRENCY = 4;

interface Candidate {
  row: ImportRow;
  user: User;
  password?: string;
  hash?: string;
  autoUid: boolean;
}

/**
 * Bulk creation of users (CSV import): every row is checked against the same rules as a single
 * create, against the directory and against the other rows, before anything is written; the
 * write is one transaction, so a failed import leaves nothing behind.
 */
export class UserImportService {
  constructor(
    private readonly deps: Deps,
    private readonly users: UserService,
  ) {}

  async import(ctx: Context, rows: readonly ImportRow[], options: ImportOptions = {}): Promise<ImportReport> {
    requirePermission(ctx, 'users:write');
    const org = await this.users.org(ctx.orgId);
    const now = this.deps.clock();
    const errors: ImportRowError[] = [];
    const failed = new Set<number>();
    const fail = (line: number, message: string, field?: string) => {
      errors.push({ line, message, ...(field ? { field } : {}) });
      failed.add(line);
    };

    // checkRows: the single-user rules, row by row.
    const candidates: Candidate[] = [];
    for (const row of rows) {
      const { value, errors: problems } = checkUserInput({ ...row.input, manager: undefined }, 'create');
      for (const p of problems) fail(row.line, p.message, p.field);
      if (problems.length > 0) continue;
      const user = this.users.newUser(ctx.orgId, value, org, 'csvImport', now);
      if (value.password !== undefined) {
        for (const v of passwordViolations(org.settings.passwordPolicy, value.password, user)) fail(row.line, `password ${v.message}`, 'password');
        if (failed.has(row.line)) continue;
      }
      candidates.push({ row, user, ...(value.password !== undefined ? { password: value.password } : {}), autoUid: value.profile.unixUid === undefined });
    }

    // checkWithinFile: the same username, email, employee id or uid twice.
    const seen = new Map<string, number>();
    for (const c of candidates) {
      const keys: [string, string | null][] = [
        ['username', `u:${foldCase(c.user.username)}`],
        ['email', `e:${foldCase(c.user.email)}`],
        ['employeeIdentifier', c.user.employeeIdentifier ? `i:${c.user.employeeIdentifier}` : null],
        ['unixUid', c.autoUid ? null : `x:${c.user.unixUid}`],
      ];
      for (const [field, key] of keys) {
        if (key === null) continue;
        const first = seen.get(key);
        if (first !== undefined) fail(c.row.line, `${field} duplicates line ${first}`, field);
        else seen.set(key, c.row.line);
      }
    }

    // checkDirectory: values already taken in the org.
    const live = () => candidates.filter((c) => !failed.has(c.row.line));
    const repos = this.deps.store.read;
    const taken = await repos.users.findTaken(ctx.orgId, {
      usernames: live().map((c) => c.user.username),
      emails: live().map((c) => c.user.email),
      employeeIdentifiers: live().flatMap((c) => (c.user.employeeIdentifier ? [c.user.employeeIdentifier] : [])),
      unixUids: live().flatMap((c) => (c.autoUid ? [] : [c.user.unixUid])),
    });
    for (const c of live()) {
      if (taken.usernames.has(foldCase(c.user.username))) fail(c.row.line, `username ${c.user.username} is taken`, 'username');
      if (taken.emails.has(foldCase(c.user.email))) fail(c.row.line, `email ${c.user.email} is taken`, 'email');
      if (c.user.employeeIdentifier && taken.employeeIdentifiers.has(c.user.employeeIdentifier)) {
        fail(c.row.line, `employeeIdentifier ${c.user.employeeIdentifier} is taken`, 'employeeIdentifier');
      }
      if (!c.autoUid && taken.unixUids.has(c.user.unixUid)) fail(c.row.line, `unix_uid ${c.user.unixUid} is taken`, 'unixUid');
    }

    await this.resolveManagers(ctx, live(), fail);

    const good = live();
    const report: ImportReport = {
      rows: rows.length,
      created: 0,
      failed: failed.size,
      errors: errors.sort((a, b) => a.line - b.line),
      dryRun: options.dryRun ?? false,
      aborted: false,
    };
    if (failed.size > 0 && !options.continueOnError) return { ...report, aborted: true };
    if (options.dryRun) return { ...report, created: good.length };
    if (good.length === 0) return report;
    await this.hashPasswords(good, org.settings.passwordPolicy, now);

    await this.deps.store.transaction(async (tx) => {
      const autos = good.filter((c) => c.autoUid);
      const explicit = new Set(good.filter((c) => !c.autoUid).map((c) => c.user.unixUid));
      if (autos.length > 0) {
        let next = await tx.orgs.allocateUnixIds(ctx.orgId, autos.length + explicit.size);
        for (const c of autos) {
          while (explicit.has(next)) next++;
          c.user.unixUid = next++;
          if (c.user.unixGuid === 0) c.user.unixGuid = c.user.unixUid;
        }
      }
      for (let i = 0; i < good.length; i += BATCH) {
        const batch = good.slice(i, i + BATCH);
        const hashes = new Map(batch.flatMap((c) => (c.hash ? [[c.user.id, c.hash] as const] : [])));
        await tx.users.insert(batch.map((c) => c.user), hashes);
        const entries: JournalEntryInput[] = batch.map((c) => {
          const changes = changesBetween(null, c.user);
          if (c.hash) changes.password = secretChange();
          return { objectType: 'user', objectId: c.user.id, operation: 'create', changes };
        });
        journal(tx, ctx, ...entries);
        options.onProgress?.(Math.min(i + BATCH, good.length), good.length);
      }
    });
    if (good.length >= BATCH) await this.deps.store.optimize();
    return { ...report, created: good.length };
  }

  /** Managers named by id, username or email, in the directory or earlier/later in the same file. */
  private async resolveManagers(ctx: Context, candidates: Candidate[], fail: (line: number, message: string, field?: string) => void) {
    const withRef = candidates.filter((c) => c.row.managerRef);
    if (withRef.length === 0) return;
    const inFile = new Map<string, UserId>();
    for (const c of candidates) {
      inFile.set(c.user.id, c.user.id);
      inFile.set(`u:${foldCase(c.user.username)}`, c.user.id);
      inFile.set(`e:${foldCase(c.user.email)}`, c.user.id);
    }
    const refs = [...new Set(withRef.map((c) => c.row.managerRef!.trim()))];
    const ids = refs.filter(isWellFormedId) as UserId[];
    const names = refs.filter((r) => !isWellFormedId(r));
    const repos = this.deps.store.read;
    const known = new Map<string, UserId>();
    for (const u of await repos.users.findByIds(ctx.orgId, ids)) known.set(u.id, u.id);
    for (let i = 0; i < names.length; i += 500) {
      const part = names.slice(i, i + 500);
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
    for (const c of withRef) {
      const ref = c.row.managerRef!.trim();
      const keys = isWellFormedId(ref) ? [ref] : [`u:${foldCase(ref)}`, `e:${foldCase(ref)}`];
      const id = keys.map((k) => known.get(k) ?? inFile.get(k)).find((v) => v !== undefined);
      if (!id) fail(c.row.line, `manager ${ref} is not a user in the directory or in this file`, 'manager');
      else if (id === c.user.id) fail(c.row.line, 'a user cannot be their own manager', 'manager');
      else c.user.manager = id;
    }
  }

  private async hashPasswords(candidates: Candidate[], policy: Parameters<typeof passwordExpiration>[0], now: Date) {
    const pending = candidates.filter((c) => c.password !== undefined);
    for (let i = 0; i < pending.length; i += HASH_CONCURRENCY) {
      await Promise.all(
        pending.slice(i, i + HASH_CONCURRENCY).map(async (c) => {
          c.hash = await hashPassword(c.password!);
          c.user.passwordSet = true;
          c.user.passwordDate = now.toISOString();
          c.user.passwordExpirationDate ??= passwordExpiration(policy, now, c.user.passwordNeverExpires);
        }),
      );
    }
  }
}
