import type { Kysely } from 'kysely';
import type { GroupId, OrgId } from '../../core/ids.js';
import type { Membership, MemberType } from '../../core/model.js';
import type { GroupRepository } from '../../core/ports.js';
import { foldCase } from '../../core/query.js';
import { listPage, type ColumnMap } from '../filter-sql.js';
import { groupFromRow, groupToRow } from '../rows.js';
import type { Database, UserGroupsTable } from '../schema.js';
import type { Selectable } from 'kysely';

export const GROUP_COLUMN_MAP: ColumnMap = {
  id: { kind: 'id', column: 'id' },
  name: { kind: 'ci', column: 'name', key: 'name_key' },
  description: { kind: 'text', column: 'description' },
  email: { kind: 'text', column: 'email' },
  created: { kind: 'date', column: 'created' },
  updated: { kind: 'date', column: 'updated' },
};

const toMembership = (r: { group_id: string; member_type: string; member_id: string }): Membership => ({
  groupId: r.group_id as GroupId,
  memberType: r.member_type as MemberType,
  memberId: r.member_id,
});

export function groupRepository(db: Kysely<Database>, postgres: boolean): GroupRepository {
  const members = (orgId: OrgId) => db.selectFrom('group_members').select(['group_id', 'member_type', 'member_id']).where('org_id', '=', orgId);

  return {
    async insert(group) {
      await db.insertInto('user_groups').values(groupToRow(group)).execute();
    },
    async update(group) {
      const { id, org_id, created, ...row } = groupToRow(group);
      await db.updateTable('user_groups').set(row).where('id', '=', id).where('org_id', '=', org_id).execute();
    },
    async delete(orgId, id) {
      await db.deleteFrom('group_members').where('org_id', '=', orgId).where('group_id', '=', id).execute();
      await db.deleteFrom('user_groups').where('org_id', '=', orgId).where('id', '=', id).execute();
    },
    async findById(orgId, id, options) {
      let q = db.selectFrom('user_groups').selectAll().where('org_id', '=', orgId).where('id', '=', id);
      if (options?.forUpdate && postgres) q = q.forUpdate();
      const row = await q.executeTakeFirst();
      return row ? groupFromRow(row) : undefined;
    },
    async findByIds(orgId, ids) {
      if (ids.length === 0) return [];
      const rows = await db.selectFrom('user_groups').selectAll().where('org_id', '=', orgId).where('id', 'in', [...ids]).execute();
      return rows.map(groupFromRow);
    },
    async findByName(orgId, name) {
      const row = await db
        .selectFrom('user_groups')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('name_key', '=', foldCase(name))
        .executeTakeFirst();
      return row ? groupFromRow(row) : undefined;
    },
    async list(orgId, query) {
      const page = await listPage<Selectable<UserGroupsTable>>(
        db.selectFrom('user_groups').selectAll().where('org_id', '=', orgId),
        GROUP_COLUMN_MAP,
        query,
      );
      return { total: page.total, items: page.items.map(groupFromRow) };
    },
    async addMember(orgId, m, at) {
      await db
        .insertInto('group_members')
        .values({ org_id: orgId, group_id: m.groupId, member_type: m.memberType, member_id: m.memberId, created: at })
        .execute();
    },
    async removeMember(orgId, m) {
      const result = await db
        .deleteFrom('group_members')
        .where('org_id', '=', orgId)
        .where('group_id', '=', m.groupId)
        .where('member_type', '=', m.memberType)
        .where('member_id', '=', m.memberId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async hasMember(orgId, m) {
      const row = await members(orgId)
        .where('group_id', '=', m.groupId)
        .where('member_type', '=', m.memberType)
        .where('member_id', '=', m.memberId)
        .executeTakeFirst();
      return row !== undefined;
    },
    async listMembers(orgId, groupId, page) {
      const base = members(orgId).where('group_id', '=', groupId);
      const [count, rows] = await Promise.all([
        db.selectFrom('group_members').select((eb) => eb.fn.countAll<number>().as('n')).where('org_id', '=', orgId).where('group_id', '=', groupId).executeTakeFirst(),
        base.orderBy('member_type').orderBy('member_id').limit(page.limit).offset(page.skip).execute(),
      ]);
      return { total: Number(count?.n ?? 0), items: rows.map(toMembership) };
    },
    async parentsOf(orgId, memberType, memberIds) {
      if (memberIds.length === 0) return [];
      const rows = await members(orgId).where('member_type', '=', memberType).where('member_id', 'in', [...memberIds]).execute();
      return rows.map(toMembership);
    },
    async allMemberships(orgId) {
      return (await members(orgId).execute()).map(toMembership);
    },
    async childGroupsOf(orgId, groupIds) {
      if (groupIds.length === 0) return [];
      const rows = await members(orgId).where('member_type', '=', 'user_group').where('group_id', 'in', [...groupIds]).execute();
      return rows.map(toMembership);
    },
    async userMemberships(orgId, groupIds, userIds) {
      if (groupIds.length === 0 || userIds.length === 0) return [];
      const rows = await members(orgId)
        .where('member_type', '=', 'user')
        .where('group_id', 'in', [...groupIds])
        .where('member_id', 'in', [...userIds])
        .execute();
      return rows.map(toMembership);
    },
    async removeFromAllGroups(orgId, memberType, memberId) {
      await db.deleteFrom('group_members').where('org_id', '=', orgId).where('member_type', '=', memberType).where('member_id', '=', memberId).execute();
    },
  };
}
