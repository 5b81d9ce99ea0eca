import { requirePermission, type Context } from '../context.js';
import { invalid, notFound } from '../errors.js';
import { DIRECTORY_FIELDS } from '../fields.js';
import type { DirectoryId } from '../ids.js';
import { changesBetween } from '../journal.js';
import type { Directory, DirectoryType } from '../model.js';
import { and, checkFilter, checkSort, type ListQuery, type ListResult } from '../query.js';
import { journal, type Deps } from './deps.js';

export class DirectoryService {
  constructor(private readonly deps: Deps) {}

  /** Directories of the org, optionally of one type. */
  async list(ctx: Context, query: ListQuery, type?: DirectoryType): Promise<ListResult<Directory>> {
    requirePermission(ctx, 'directories:read');
    const filter = query.filter ? checkFilter(query.filter, DIRECTORY_FIELDS) : undefined;
    if (filter && !filter.ok) throw invalid('INVALID_FILTER', filter.error);
    const sort = checkSort(query.sort, DIRECTORY_FIELDS);
    if (!sort.ok) throw invalid('INVALID_SORT', sort.error);
    const byType = type ? { kind: 'compare' as const, field: 'type', op: 'eq' as const, value: type } : undefined;
    return this.deps.store.read.directories.list(ctx.orgId, { ...query, filter: and(filter?.value, byType), sort: sort.value });
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
