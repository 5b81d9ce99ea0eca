import type { Kysely } from 'kysely';
import type { Association, ResourceType, SubjectType } from '../../core/model.js';
import type { AssociationRepository } from '../../core/ports.js';
import type { Database } from '../schema.js';

const toAssociation = (r: {
  subject_type: string;
  subject_id: string;
  resource_type: string;
  resource_id: string;
  attributes: string | null;
}): Association => ({
  subjectType: r.subject_type as SubjectType,
  subjectId: r.subject_id,
  resourceType: r.resource_type as ResourceType,
  resourceId: r.resource_id,
  attributes: r.attributes ? (JSON.parse(r.attributes) as Record<string, unknown>) : null,
});

const COLUMNS = ['subject_type', 'subject_id', 'resource_type', 'resource_id', 'attributes'] as const;

export function associationRepository(db: Kysely<Database>): AssociationRepository {
  const edge = (orgId: string, a: Association) =>
    db
      .selectFrom('associations')
      .select(COLUMNS)
      .where('org_id', '=', orgId)
      .where('subject_type', '=', a.subjectType)
      .where('subject_id', '=', a.subjectId)
      .where('resource_type', '=', a.resourceType)
      .where('resource_id', '=', a.resourceId);

  return {
    async add(orgId, a, at) {
      await db
        .insertInto('associations')
        .values({
          org_id: orgId,
          subject_type: a.subjectType,
          subject_id: a.subjectId,
          resource_type: a.resourceType,
          resource_id: a.resourceId,
          attributes: a.attributes ? JSON.stringify(a.attributes) : null,
          created: at,
        })
        .execute();
    },
    async remove(orgId, a) {
      const result = await db
        .deleteFrom('associations')
        .where('org_id', '=', orgId)
        .where('subject_type', '=', a.subjectType)
        .where('subject_id', '=', a.subjectId)
        .where('resource_type', '=', a.resourceType)
        .where('resource_id', '=', a.resourceId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async find(orgId, a) {
      const row = await edge(orgId, a).executeTakeFirst();
      return row ? toAssociation(row) : undefined;
    },
    async ofSubjects(orgId, subjectType, subjectIds, resourceTypes) {
      if (subjectIds.length === 0 || resourceTypes.length === 0) return [];
      const rows = await db
        .selectFrom('associations')
        .select(COLUMNS)
        .where('org_id', '=', orgId)
        .where('subject_type', '=', subjectType)
        .where('subject_id', 'in', [...subjectIds])
        .where('resource_type', 'in', [...resourceTypes])
        .orderBy('resource_type')
        .orderBy('resource_id')
        .execute();
      return rows.map(toAssociation);
    },
    async ofResource(orgId, resourceType, resourceId, subjectTypes) {
      if (subjectTypes.length === 0) return [];
      const rows = await db
        .selectFrom('associations')
        .select(COLUMNS)
        .where('org_id', '=', orgId)
        .where('resource_type', '=', resourceType)
        .where('resource_id', '=', resourceId)
        .where('subject_type', 'in', [...subjectTypes])
        .orderBy('subject_type')
        .orderBy('subject_id')
        .execute();
      return rows.map(toAssociation);
    },
    async removeAllOfSubject(orgId, subjectType, subjectId) {
      await db.deleteFrom('associations').where('org_id', '=', orgId).where('subject_type', '=', subjectType).where('subject_id', '=', subjectId).execute();
    },
    async removeAllOfResource(orgId, resourceType, resourceId) {
      await db.deleteFrom('associations').where('org_id', '=', orgId).where('resource_type', '=', resourceType).where('resource_id', '=', resourceId).execute();
    },
  };
}
