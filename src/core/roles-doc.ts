import { PERMISSIONS, ROLE_NAMES, ROLE_PERMISSIONS, type Permission } from './roles.js';

/** The permission table of docs/roles.md, generated from the code that enforces it. */
export function rolesTable(): string {
  const header = `| permission | ${ROLE_NAMES.join(' | ')} |`;
  const rule = `|---|${ROLE_NAMES.map(() => ':-:').join('|')}|`;
  const rows = (Object.keys(PERMISSIONS) as Permission[]).map(
    (p) => `| \`${p}\` ${PERMISSIONS[p]} | ${ROLE_NAMES.map((r) => (ROLE_PERMISSIONS[r].includes(p) ? '✓' : '')).join(' | ')} |`,
  );
  return [header, rule, ...rows].join('\n');
}
