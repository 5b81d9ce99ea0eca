import { api, qs } from '../shared/api';

export interface SystemUser {
  _id: string;
  id?: string;
  username: string;
  email: string;
  firstname?: string;
  lastname?: string;
  displayname?: string;
  state?: 'STAGED' | 'ACTIVATED' | 'SUSPENDED';
  suspended?: boolean;
  account_locked?: boolean;
  activated?: boolean;
  created?: string;
  department?: string;
  jobTitle?: string;
  ldap_binding_user?: boolean;
  totp_enabled?: boolean;
  mfa?: { configured?: boolean; exclusion?: boolean; exclusionUntil?: string | null };
  password_expiration_date?: string | null;
  externally_managed?: boolean;
  external_source_type?: string;
  [key: string]: unknown;
}

export interface UserGroup {
  id: string;
  name: string;
  description?: string;
  type?: string;
  [key: string]: unknown;
}

/** A graph edge step: `to` is the object reached, `from` where the step started. */
export interface GraphConnection {
  from?: { id: string; type: string };
  to: { id: string; type: string };
  attributes?: Record<string, unknown>;
}

/** An object reached through the graph, with every path that reaches it. */
export interface GraphObject {
  id: string;
  type: string;
  paths: GraphConnection[][];
  compiledAttributes?: Record<string, unknown>;
}

export const userLabel = (u: SystemUser | undefined, id: string) =>
  u ? (u.displayname || [u.firstname, u.lastname].filter(Boolean).join(' ') || u.username) : id;

/** Users by id, in one request (v1 filters ORed). */
export async function usersByIds(ids: string[]): Promise<Map<string, SystemUser>> {
  const out = new Map<string, SystemUser>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += 100) {
    const chunk = unique.slice(i, i + 100);
    const params = Object.fromEntries(chunk.map((id, n) => [`filter[or][${n}]`, `_id:$eq:${id}`]));
    const page = await api.get<{ results: SystemUser[] }>(`/api/systemusers${qs({ ...params, limit: chunk.length, fields: 'username email firstname lastname displayname state suspended' })}`);
    for (const u of page.results) out.set(u._id, u);
  }
  return out;
}

/** User groups by id, in one request (v2 `in`). */
export async function groupsByIds(ids: string[]): Promise<Map<string, UserGroup>> {
  const out = new Map<string, UserGroup>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += 100) {
    const chunk = unique.slice(i, i + 100);
    const groups = await api.get<UserGroup[]>(`/api/v2/usergroups${qs({ filter: `id:in:${chunk.join('|')}`, limit: chunk.length })}`);
    for (const g of groups) out.set(g.id, g);
  }
  return out;
}
