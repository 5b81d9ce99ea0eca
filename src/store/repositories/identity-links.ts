import { sql, type Kysely, type Selectable } from 'kysely';
import type { DirectoryId, OrgId } from '../../core/ids.js';
import type { IdentityLink, IdentityLinkRepository, KnownObject, LinkedKind, PasswordAuthority } from '../../core/ports.js';
import type { Database, IdentityLinksTable } from '../schema.js';

/** Ids per lookup: each statement stays under SQLite's bound-parameter limit. */
const CHUNK = 500;

function chunks(values: readonly string[]): string[][] {
  const unique = [...new Set(values)];
  const out: string[][] = [];
  for (let i = 0; i < unique.length; i += CHUNK) out.push(unique.slice(i, i + CHUNK));
  return out;
}

const linkFromRow = (r: Selectable<IdentityLinksTable>): IdentityLink => ({
  orgId: r.org_id as OrgId,
  directoryId: r.directory_id as DirectoryId,
  kind: r.object_type as LinkedKind,
  localId: r.local_id,
  externalId: r.external_id,
  created: r.created,
  updated: r.updated,
  known: r.known ? (JSON.parse(r.known) as KnownObject) : null,
  passwordAuthority: (r.password_authority as PasswordAuthority | null) ?? null,
});

export function identityLinkRepository(db: Kysely<Database>): IdentityLinkRepository {
  const ofDirectory = (orgId: OrgId, directoryId: DirectoryId, kind: LinkedKind) =>
    db.selectFrom('identity_links').selectAll().where('org_id', '=', orgId).where('directory_id', '=', directoryId).where('object_type', '=', kind);

  return {
    async put(link) {
      // The external id's unique index refuses one that another object holds (EXTERNAL_ID_TAKEN).
      await db
        .insertInto('identity_links')
        .values({
          org_id: link.orgId,
          directory_id: link.directoryId,
          object_type: link.kind,
          local_id: link.localId,
          external_id: link.externalId,
          created: link.created,
          updated: link.updated,
          known: link.known ? JSON.stringify(link.known) : null,
          password_authority: link.passwordAuthority ?? null,
        })
        .onConflict((oc) =>
          oc.columns(['directory_id', 'object_type', 'local_id']).doUpdateSet({
            external_id: link.externalId,
            updated: link.updated,
            // What the directory held of another object is no knowledge of this one.
            known:
              link.known !== undefined
                ? link.known
                  ? JSON.stringify(link.known)
                  : null
                : sql<string | null>`case when identity_links.external_id = ${link.externalId} then identity_links.known else null end`,
          }),
        )
        .execute();
    },
    async setKnown(orgId, directoryId, kind, localId, known, updated) {
      await db
        .updateTable('identity_links')
        .set({ known: known ? JSON.stringify(known) : null, updated })
        .where('org_id', '=', orgId)
        .where('directory_id', '=', directoryId)
        .where('object_type', '=', kind)
        .where('local_id', '=', localId)
        .execute();
    },
    async setPasswordAuthority(orgId, directoryId, localId, authority, updated) {
      const result = await db
        .updateTable('identity_links')
        .set({ password_authority: authority, updated })
        .where('org_id', '=', orgId)
        .where('directory_id', '=', directoryId)
        .where('object_type', '=', 'user')
        .where('local_id', '=', localId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async findByLocalIds(orgId, directoryId, kind, localIds) {
      const links: IdentityLink[] = [];
      for (const part of chunks(localIds)) for (const row of await ofDirectory(orgId, directoryId, kind).where('local_id', 'in', part).execute()) links.push(linkFromRow(row));
      return links;
    },
    async findByExternalIds(orgId, directoryId, kind, externalIds) {
      const links: IdentityLink[] = [];
      for (const part of chunks(externalIds)) for (const row of await ofDirectory(orgId, directoryId, kind).where('external_id', 'in', part).execute()) links.push(linkFromRow(row));
      return links;
    },
    async listByDirectory(orgId, directoryId, kind) {
      return (await ofDirectory(orgId, directoryId, kind).execute()).map(linkFromRow);
    },
    async delete(orgId, directoryId, kind, localId) {
      const result = await db
        .deleteFrom('identity_links')
        .where('org_id', '=', orgId)
        .where('directory_id', '=', directoryId)
        .where('object_type', '=', kind)
        .where('local_id', '=', localId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async ofObject(orgId, kind, localId) {
      const rows = await db
        .selectFrom('identity_links')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('object_type', '=', kind)
        .where('local_id', '=', localId)
        .orderBy('directory_id')
        .execute();
      return rows.map(linkFromRow);
    },
    async deleteOfObject(orgId, kind, localId) {
      await db.deleteFrom('identity_links').where('org_id', '=', orgId).where('object_type', '=', kind).where('local_id', '=', localId).execute();
    },
  };
}
