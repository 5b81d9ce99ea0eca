import { sql, type Kysely } from 'kysely';
import type { ReachRepository } from '../../core/ports.js';
import { listPage } from '../filter-sql.js';
import { USER_COLUMNS, userFromRow, type UserRow } from '../rows.js';
import type { Database } from '../schema.js';
import { USER_COLUMN_MAP } from './users.js';

export function reachRepository(db: Kysely<Database>): ReachRepository {
  return {
    async pageUsers(orgId, source, query) {
      const base = db
        .selectFrom('users')
        .select([...USER_COLUMNS, sql<number>`case when password_hash is null then 0 else 1 end`.as('password_set')])
        .where('org_id', '=', orgId)
        .where((eb) => {
          const reached = [];
          if (source.groupIds.length > 0) {
            reached.push(
              eb(
                'id',
                'in',
                eb
                  .selectFrom('group_members')
                  .select('member_id')
                  .where('org_id', '=', orgId)
                  .where('member_type', '=', 'user')
                  .where('group_id', 'in', [...source.groupIds]),
              ),
            );
          }
          if (source.resource) {
            reached.push(
              eb(
                'id',
                'in',
                eb
                  .selectFrom('associations')
                  .select('subject_id')
                  .where('org_id', '=', orgId)
                  .where('subject_type', '=', 'user')
                  .where('resource_type', '=', source.resource.type)
                  .where('resource_id', '=', source.resource.id),
              ),
            );
          }
          return reached.length === 0 ? sql<boolean>`1 = 0` : eb.or(reached);
        });
      const page = await listPage<UserRow>(base, USER_COLUMN_MAP, query);
      return { total: page.total, items: page.items.map(userFromRow) };
    },
  };
}
