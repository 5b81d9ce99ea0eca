import type { admin_directory_v1 } from '@googleapis/admin';

type GoogleUser = admin_directory_v1.Schema$User;

/** One entry of a user's `organizations[]` (the library types it `any`). */
interface Organization {
  primary?: boolean;
  title?: string;
  department?: string;
  costCenter?: string;
  description?: string;
  [field: string]: unknown;
}

/** One entry of a user's `externalIds[]`. */
interface ExternalId {
  type?: string;
  customType?: string;
  value?: string;
}

/** Normalized attribute → the field of the user's organization it lives in. */
const ORGANIZATION_FIELDS = { title: 'title', department: 'department', costcenter: 'costCenter', description: 'description' } as const;
type OrganizationAttribute = keyof typeof ORGANIZATION_FIELDS;
const isOrganizationAttribute = (name: string): name is OrganizationAttribute => name in ORGANIZATION_FIELDS;

/** Read only: the account name is set at creation (primaryEmail), fullName is Google's, the org unit is where Roster put the user. */
export const READ_ONLY_ATTRIBUTES = new Set(['username', 'fullname', 'orgunitpath']);

const organizationsOf = (u: GoogleUser): Organization[] => (Array.isArray(u.organizations) ? (u.organizations as Organization[]) : []);
const externalIdsOf = (u: GoogleUser): ExternalId[] => (Array.isArray(u.externalIds) ? (u.externalIds as ExternalId[]) : []);
/** The organization the attributes come from: the primary one, else the first. */
const mainOrganization = (orgs: Organization[]): Organization | undefined => orgs.find((o) => o.primary === true) ?? orgs[0];

/** A user's attributes under their normalized (lowercase) names, each a list, the empty ones left out. */
export function userAttributes(u: GoogleUser): Record<string, string[]> {
  const org = mainOrganization(organizationsOf(u));
  const email = u.primaryEmail ?? '';
  const values: Record<string, unknown> = {
    username: email.includes('@') ? email.slice(0, email.lastIndexOf('@')) : email,
    primaryemail: email,
    givenname: u.name?.givenName,
    familyname: u.name?.familyName,
    fullname: u.name?.fullName,
    title: org?.title,
    department: org?.department,
    costcenter: org?.costCenter,
    description: org?.description,
    employeeid: externalIdsOf(u).find((e) => e.type === 'organization')?.value,
    orgunitpath: u.orgUnitPath,
  };
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(values)) if (typeof v === 'string' && v !== '') out[k] = [v];
  return out;
}

/** Whether writing these attributes means rewriting a repeated field, which needs the user's current one (patch replaces arrays whole). */
export const needsCurrentUser = (attributes: Record<string, string | null>): boolean => Object.keys(attributes).some((k) => isOrganizationAttribute(k) || k === 'employeeid');

/** The organizations with the attributes applied to the main one (made primary when created); null when none is left. */
function mergeOrganizations(current: Organization[], attributes: Record<string, string | null>): Organization[] | null {
  const orgs = current.map((o) => ({ ...o }));
  let main = mainOrganization(orgs);
  if (!main) {
    main = { primary: true };
    orgs.push(main);
  }
  for (const [name, value] of Object.entries(attributes)) {
    if (!isOrganizationAttribute(name)) continue;
    const field = ORGANIZATION_FIELDS[name];
    if (value === null || value === '') delete main[field];
    else main[field] = value;
  }
  const meaningful = (o: Organization) => Object.entries(o).some(([k, v]) => !['primary', 'type', 'customType'].includes(k) && v !== undefined && v !== '');
  const kept = orgs.filter(meaningful);
  return kept.length > 0 ? kept : null;
}

function mergeExternalIds(current: ExternalId[], employeeId: string | null): ExternalId[] | null {
  const kept = current.filter((e) => e.type !== 'organization');
  if (employeeId) kept.push({ type: 'organization', value: employeeId });
  return kept.length > 0 ? kept : null;
}

/**
 * The users.patch body for these attribute changes (null clears). Organizations and external ids
 * are sent whole, merged into `current`'s. Names cannot be cleared: Google requires both
 * (users.insert), so a cleared name is left as it is. Read-only and unknown attributes are not written.
 */
export function userPatch(attributes: Record<string, string | null>, current: GoogleUser | undefined): GoogleUser {
  const body: GoogleUser = {};
  const name: admin_directory_v1.Schema$UserName = {};
  if (typeof attributes.givenname === 'string' && attributes.givenname !== '') name.givenName = attributes.givenname;
  if (typeof attributes.familyname === 'string' && attributes.familyname !== '') name.familyName = attributes.familyname;
  if (Object.keys(name).length > 0) body.name = name;
  if (typeof attributes.primaryemail === 'string' && attributes.primaryemail !== '') body.primaryEmail = attributes.primaryemail;
  if (Object.keys(attributes).some(isOrganizationAttribute)) body.organizations = mergeOrganizations(current ? organizationsOf(current) : [], attributes);
  if ('employeeid' in attributes) body.externalIds = mergeExternalIds(current ? externalIdsOf(current) : [], attributes.employeeid ?? null);
  return body;
}

/** The users.insert body for a new account (the org unit, password and state are the caller's). */
export function newUser(attributes: Record<string, string>, primaryEmail: string, fallbackName: string): GoogleUser {
  const body: GoogleUser = {
    primaryEmail,
    name: { givenName: attributes.givenname || fallbackName, familyName: attributes.familyname || fallbackName },
  };
  const organizations = mergeOrganizations([], attributes);
  if (organizations) body.organizations = organizations;
  if (attributes.employeeid) body.externalIds = [{ type: 'organization', value: attributes.employeeid }];
  return body;
}
