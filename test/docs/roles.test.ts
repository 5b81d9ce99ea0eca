import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { rolesTable } from '../../src/core/roles-doc.js';

it('docs/roles.md shows the permission table the code enforces', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'roles.md'), 'utf8');
  expect(doc).toContain(rolesTable());
});
