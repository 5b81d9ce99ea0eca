import { requirePermission, type Context } from '../context.js';
import { invalid, notFound } from '../errors.js';
import { DIRECTORY_FIELDS } from '../fields.js';
import type { DirectoryId } from '../ids.js';
import { changesBetween } from '../journal.js';
import type { Directory, DirectoryType } from '../model.js';
import { and, type ListQuery, type ListResult } from '../query.js';
import { checkedQuery, journal, type Deps } from './deps.js';

export class DirectoryService {
  constructor(private readonly deps: Deps) {}

  /** Directories of the org, optionally of one type. */
  async list(ctx: Context, query: ListQuery, type?: DirectoryType): Promise<ListResult<Directory>> {
    requirePermission(ctx, 'directories:read');
    const checked = checkedQuery(query, DIRECTORY_FIELDS);
    const byType = type ? { kind: 'compare' as const, field: 'type', op: 'eq' as const, value: type } : undefined;
    return this.deps.store.read.directories.list(ctx.orgId, { ...checked, filter: and(checked.filter, byType) });
  }

  async get(ctx: Context, id: string, type?: DirectoryType): Promise<Directory> {
    requirePermission(ctx, 'directories:read');
    const directory = await this.deps.store.read.directories.findById(ctx.orgId, id as DirectoryId);
    if (!directory || (type && directory.type !== type)) throw notFound('DIRECTORY_NOT_FOUND', 'Directory not found');
    return directory;
  }

  /** Renames a directory and/or merges settings into its configuration. */
  async update(ctx: Context, id: string, type: DirectoryType, input: { name?: string; config?: Record<string, unknown> }): Promise<Directory> {
    requirePermission(ctx, 'directories:write');
    if (input.name !== undefined && (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 256)) {
      throw invalid('INVALID_INPUT', 'name must be 1 to 256 characters', [{ field: 'name', reason: 'INVALID', message: 'must be 1 to 256 characters' }]);
    }
    return this.deps.store.transaction(async (tx) => {
      const before = await tx.directories.findById(ctx.orgId, id as DirectoryId, { forUpdate: true });
      if (!before || before.type !== type) throw notFound('DIRECTORY_NOT_FOUND', 'Directory not found');
      const after: Directory = {
        ...before,
        name: input.name?.trim() ?? before.name,
        config: { ...before.config, ...input.config },
        updated: this.deps.clock().toISOString(),
      };
      await tx.directories.update(after);
      journal(tx, ctx, { objectType: 'directory', objectId: after.id, operation: 'update', changes: changesBetween(before, after) });
      return after;
    });
  }
}
