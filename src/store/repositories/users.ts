import { sql, type Kysely } from 'kysely';
import type { OrgId, UserId } from '../../core/ids.js';
import type { User } from '../../core/model.js';
import type { ReadOptions, TakenValues, UserRepository } from '../../core/ports.js';
import { foldCase } from '../../core/query.js';
import { listPage, type ColumnMap } from '../filter-sql.js';
import { USER_COLUMNS, userFromRow, userToRow, type UserRow } from '../rows.js';
import type { Database } from '../schema.js';

const text = (column: string) => ({ kind: 'text', column }) as const;
const flag = (column: string) => ({ kind: 'bool', column }) as const;
const date = (column: string) => ({ kind: 'date', column }) as const;

export const USER_COLUMN_MAP: ColumnMap = {
  id: { kind: 'id', column: 'id' },
  username: { kind: 'ci', column: 'username', key: 'username_key' },
  email: { kind: 'ci', column: 'email', key: 'email_key' },
  firstname: text('firstname'),
  middlename: text('middlename'),
  lastname: text('lastname'),
  displayname: text('displayname'),
  employeeIdentifier: { kind: 'text', column: 'employee_identifier', emptyIsNull: true },
  employeeType: text('employee_type'),
  jobTitle: text('job_title'),
  department: text('department'),
  company: text('company'),
  costCenter: text('cost_center'),
  location: text('location'),
  manager: { kind: 'id', column: 'manager_id', emptyIsNull: true },
  alternateEmail: text('alternate_email'),
  description: text('description'),
  unixUid: { kind: 'int', column: 'unix_uid' },
  unixGuid: { kind: 'int', column: 'unix_guid' },
  sudo: flag('sudo'),
  passwordlessSudo: flag('passwordless_sudo'),
  ldapBindingUser: flag('ldap_binding_user'),
  passwordNeverExpires: flag('password_never_expires'),
  externallyManaged: flag('externally_managed'),
  externalSourceType: text('external_source_type'),
  mfaRequired: flag('mfa_required'),
  state: text('state'),
  suspended: { virtual: (yes) => (yes ? sql`state = 'SUSPENDED'` : sql`state <> 'SUSPENDED'`) },
  activated: { virtual: (yes) => (yes ? sql`password_hash is not null` : sql`password_hash is null`) },
  accountLocked: flag('account_locked'),
  passwordExpirationDate: date('password_expiration_date'),
  passwordDate: date('password_date'),
  created: date('created'),
  updated: date('updated'),
};

const PASSWORD_SET = sql<number>`case when password_hash is null then 0 else 1 end`.as('password_set');
const CHUNK = 500;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function userRepository(db: Kysely<Database>, postgres: boolean): UserRepository {
  const select = () => db.selectFrom('users').select([...USER_COLUMNS, PASSWORD_SET]);
  const adjustCount = (orgId: string, by: number) =>
    db.updateTable('organizations').set({ user_count: sql`user_count + ${by}` }).where('id', '=', orgId).execute();

  return {
    async insert(users, passwordHashes) {
      // Chunks keep each statement under SQLite's bound-parameter limit.
      for (const part of chunks(users, 200)) {
        await db
          .insertInto('users')
          .values(part.map((u) => ({ ...userToRow(u), password_hash: passwordHashes?.get(u.id) ?? null })))
          .execute();
      }
      const perOrg = new Map<string, number>();
      for (const u of users) perOrg.set(u.orgId, (perOrg.get(u.orgId) ?? 0) + 1);
      for (const [orgId, n] of perOrg) await adjustCount(orgId, n);
    },

    async update(user) {
      const { id, org_id, created, ...row } = userToRow(user);
      await db.updateTable('users').set(row).where('id', '=', id).where('org_id', '=', org_id).execute();
    },

    async delete(orgId, id) {
      // The org row before the user's: the delete cascades to the user's NT hash, and turning NT
      // hashes off locks the org row before deleting them all; the other order could deadlock.
      await db
        .updateTable('organizations')
        .set({ user_count: sql`user_count - 1` })
        .where('id', '=', orgId)
        .where(({ exists, selectFrom }) => exists(selectFrom('users').select('id').where('id', '=', id).where('org_id', '=', orgId)))
        .execute();
      await db.deleteFrom('users').where('id', '=', id).where('org_id', '=', orgId).execute();
    },

    async findById(orgId, id, options?: ReadOptions) {
      let q = select().where('id', '=', id).where('org_id', '=', orgId);
      if (options?.forUpdate && postgres) q = q.forUpdate();
      const row = await q.executeTakeFirst();
      return row ? userFromRow(row as UserRow) : undefined;
    },

    async findByIds(orgId, ids) {
      const out: User[] = [];
      for (const part of chunks(ids)) {
        if (part.length === 0) continue;
        const rows = await select().where('org_id', '=', orgId).where('id', 'in', part).execute();
        out.push(...rows.map((r) => userFromRow(r as UserRow)));
      }
      return out;
    },

    async findByUsername(orgId, username) {
      const row = await select()
        .where('org_id', '=', orgId)
        .where('username_key', '=', foldCase(username))
        .executeTakeFirst();
      return row ? userFromRow(row as UserRow) : undefined;
    },

    async list(orgId, query) {
      const knownTotal = query.filter
        ? undefined
        : async () => (await db.selectFrom('organizations').select('user_count').where('id', '=', orgId).executeTakeFirst())?.user_count ?? 0;
      const page = await listPage<UserRow>(select().where('org_id', '=', orgId), USER_COLUMN_MAP, query, 'id', knownTotal);
      return { total: page.total, items: page.items.map(userFromRow) };
    },

    async findTaken(orgId, values, exceptId?: UserId) {
      const taken: TakenValues = { usernames: new Set(), emails: new Set(), employeeIdentifiers: new Set(), unixUids: new Set() };
      const probe = async <K extends 'username_key' | 'email_key' | 'employee_identifier' | 'unix_uid'>(
        column: K,
        list: (string | number)[] | undefined,
        into: Set<string> | Set<number>,
      ) => {
        for (const part of chunks([...new Set(list ?? [])])) {
          if (part.length === 0) continue;
          let q = db.selectFrom('users').select(column).where('org_id', '=', orgId).where(column, 'in', part as never[]);
          if (exceptId) q = q.where('id', '<>', exceptId);
          for (const row of await q.execute()) (into as Set<unknown>).add((row as Record<string, unknown>)[column]);
        }
      };
      await probe('username_key', values.usernames?.map(foldCase), taken.usernames);
      await probe('email_key', values.emails?.map(foldCase), taken.emails);
      await probe('employee_identifier', values.employeeIdentifiers?.filter((v) => v !== ''), taken.employeeIdentifiers);
      await probe('unix_uid', values.unixUids, taken.unixUids);
      return taken;
    },

    async directReports(orgId, managerId) {
      const rows = await db
        .selectFrom('users')
        .select('id')
        .where('org_id', '=', orgId)
        .where('manager_id', '=', managerId)
        .orderBy('id')
        .execute();
      return rows.map((r) => r.id as UserId);
    },

    async passwordHash(orgId, id) {
      const row = await db
        .selectFrom('users')
        .select('password_hash')
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row?.password_hash ?? null;
    },

    async setPasswordHash(orgId, id, hash, at) {
      const previous = await this.passwordHash(orgId as OrgId, id);
      if (previous) await db.insertInto('password_history').values({ user_id: id, hash: previous, created: at }).execute();
      await db.updateTable('users').set({ password_hash: hash }).where('org_id', '=', orgId).where('id', '=', id).execute();
      // History beyond the largest policy window (24) is never consulted.
      const keep = await db
        .selectFrom('password_history')
        .select('id')
        .where('user_id', '=', id)
        .orderBy('id', 'desc')
        .offset(24)
        .limit(1)
        .executeTakeFirst();
      if (keep) await db.deleteFrom('password_history').where('user_id', '=', id).where('id', '<=', keep.id).execute();
    },

    async passwordHistory(orgId, id, limit) {
      if (limit <= 0) return [];
      const current = await this.passwordHash(orgId, id);
      const older = await db
        .selectFrom('password_history')
        .select('hash')
        .where('user_id', '=', id)
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return [...(current ? [current] : []), ...older.map((r) => r.hash)].slice(0, limit);
    },
  };
}
