import { operatorContext, requirePermission, type Context } from '../context.js';
import { invalid, notFound, type ErrorDetail } from '../errors.js';
import { ORGANIZATION_FIELDS } from '../fields.js';
import { newId, type DirectoryId, type OrgId } from '../ids.js';
import { changesBetween } from '../journal.js';
import type { Directory, Organization, OrgSettings, PasswordPolicy } from '../model.js';
import { DEFAULT_PASSWORD_POLICY, MAX_PASSWORD_LENGTH } from '../passwords.js';
import type { Transaction } from '../ports.js';
import type { ListQuery, ListResult } from '../query.js';
import { checkedQuery, journal, type Deps } from './deps.js';

export const DEFAULT_SETTINGS: OrgSettings = {
  passwordPolicy: DEFAULT_PASSWORD_POLICY,
  newSystemUserStateDefaults: { manualEntry: 'ACTIVATED', csvImport: 'ACTIVATED' },
  radius: { storeNtHashes: false },
  mfa: { required: false, selfEnrollment: true },
};

/** Allowed range of each numeric password-policy setting; 0 turns a check off where it can be off. */
export const POLICY_RANGES: Record<keyof PasswordPolicy, [number, number] | 'boolean'> = {
  minLength: [1, MAX_PASSWORD_LENGTH],
  needsLowercase: 'boolean',
  needsUppercase: 'boolean',
  needsNumeric: 'boolean',
  needsSymbolic: 'boolean',
  allowUsernameSubstring: 'boolean',
  maxHistory: [0, 24],
  passwordExpirationInDays: [0, 3650],
  maxLoginAttempts: [0, 1000],
  lockoutTimeInSeconds: [0, 30 * 86_400],
  resetLockoutCounterMinutes: [1, 30 * 1440],
};

export interface OrganizationInput {
  displayName?: string;
  logoUrl?: string;
  passwordPolicy?: Partial<PasswordPolicy>;
  newSystemUserStateDefaults?: Partial<OrgSettings['newSystemUserStateDefaults']>;
  radius?: Partial<OrgSettings['radius']>;
  mfa?: Partial<OrgSettings['mfa']>;
}

function checkInput(input: OrganizationInput): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  if (input.displayName !== undefined && (typeof input.displayName !== 'string' || input.displayName.trim() === '' || input.displayName.length > 256)) {
    errors.push({ field: 'displayName', reason: 'INVALID', message: 'displayName must be 1 to 256 characters' });
  }
  if (input.logoUrl !== undefined && (typeof input.logoUrl !== 'string' || input.logoUrl.length > 2048)) {
    errors.push({ field: 'logoUrl', reason: 'INVALID', message: 'logoUrl must be a string of at most 2048 characters' });
  }
  for (const [key, value] of Object.entries(input.passwordPolicy ?? {})) {
    const range = POLICY_RANGES[key as keyof PasswordPolicy];
    const field = `passwordPolicy.${key}`;
    if (!range) errors.push({ field, reason: 'UNKNOWN', message: `${key} is not a password policy setting` });
    else if (range === 'boolean' && typeof value !== 'boolean') errors.push({ field, reason: 'NOT_A_BOOLEAN', message: `${key} must be true or false` });
    else if (range !== 'boolean' && (typeof value !== 'number' || !Number.isInteger(value) || value < range[0] || value > range[1])) {
      errors.push({ field, reason: 'OUT_OF_RANGE', message: `${key} must be an integer from ${range[0]} to ${range[1]}` });
    }
  }
  for (const [key, value] of Object.entries(input.newSystemUserStateDefaults ?? {})) {
    if (!['manualEntry', 'csvImport'].includes(key) || !['STAGED', 'ACTIVATED'].includes(value as string)) {
      errors.push({ field: `newSystemUserStateDefaults.${key}`, reason: 'INVALID', message: 'must be STAGED or ACTIVATED' });
    }
  }
  for (const [key, value] of Object.entries(input.radius ?? {})) {
    if (key !== 'storeNtHashes') errors.push({ field: `radius.${key}`, reason: 'UNKNOWN', message: `${key} is not a RADIUS setting` });
    else if (typeof value !== 'boolean') errors.push({ field: 'radius.storeNtHashes', reason: 'NOT_A_BOOLEAN', message: 'storeNtHashes must be true or false' });
  }
  for (const [key, value] of Object.entries(input.mfa ?? {})) {
    if (key !== 'required' && key !== 'selfEnrollment') errors.push({ field: `mfa.${key}`, reason: 'UNKNOWN', message: `${key} is not an MFA setting` });
    else if (typeof value !== 'boolean') errors.push({ field: `mfa.${key}`, reason: 'NOT_A_BOOLEAN', message: `${key} must be true or false` });
  }
  return errors;
}

export class OrganizationService {
  constructor(private readonly deps: Deps) {}

  /** A new organization with default settings and its LDAP service directory. */
  async create(displayName: string, tx?: Transaction): Promise<Organization> {
    const errors = checkInput({ displayName });
    if (errors.length > 0) throw invalid('INVALID_INPUT', errors.map((e) => e.message).join('; '), errors);
    const now = this.deps.clock().toISOString();
    const org: Organization = { id: newId<OrgId>(), displayName: displayName.trim(), logoUrl: '', settings: structuredClone(DEFAULT_SETTINGS), created: now, updated: now };
    const ldap: Directory = { id: newId<DirectoryId>(), orgId: org.id, type: 'ldap_server', name: 'Roster LDAP', config: {}, created: now, updated: now };
    const work = async (t: Transaction) => {
      await t.orgs.insert(org);
      await t.directories.insert(ldap);
      const ctx = operatorContext(org.id);
      journal(t, ctx, { objectType: 'organization', objectId: org.id, operation: 'create', changes: changesBetween(null, org) });
      journal(t, ctx, { objectType: 'directory', objectId: ldap.id, operation: 'create', changes: changesBetween(null, ldap) });
      return org;
    };
    return tx ? work(tx) : this.deps.store.transaction(work);
  }

  /** The organizations the principal may select. */
  async list(ctx: Context, query: ListQuery): Promise<ListResult<Organization>> {
    requirePermission(ctx, 'organization:read');
    return this.deps.store.read.orgs.list(ctx.orgIds, checkedQuery(query, ORGANIZATION_FIELDS));
  }

  async get(ctx: Context, id: string): Promise<Organization> {
    requirePermission(ctx, 'organization:read');
    const org = ctx.orgIds.includes(id as OrgId) ? await this.deps.store.read.orgs.findById(id as OrgId) : undefined;
    if (!org) throw notFound('ORGANIZATION_NOT_FOUND', 'Organization not found');
    return org;
  }

  async update(ctx: Context, id: string, input: OrganizationInput): Promise<Organization> {
    requirePermission(ctx, 'organization:write');
    if (id !== ctx.orgId) {
      if (ctx.orgIds.includes(id as OrgId)) throw invalid('ORG_MISMATCH', 'x-org-id and the organization in the path do not match');
      throw notFound('ORGANIZATION_NOT_FOUND', 'Organization not found');
    }
    const errors = checkInput(input);
    if (errors.length > 0) throw invalid('INVALID_INPUT', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
    return this.deps.store.transaction(async (tx) => {
      const before = await tx.orgs.findById(ctx.orgId, { forUpdate: true });
      if (!before) throw notFound('ORGANIZATION_NOT_FOUND', 'Organization not found');
      const after: Organization = {
        ...before,
        displayName: input.displayName?.trim() ?? before.displayName,
        logoUrl: input.logoUrl ?? before.logoUrl,
        settings: {
          passwordPolicy: { ...before.settings.passwordPolicy, ...input.passwordPolicy },
          newSystemUserStateDefaults: { ...before.settings.newSystemUserStateDefaults, ...input.newSystemUserStateDefaults },
          radius: { ...before.settings.radius, ...input.radius },
          mfa: { ...before.settings.mfa, ...input.mfa },
        },
        updated: this.deps.clock().toISOString(),
      };
      await tx.orgs.update(after);
      const changes = changesBetween(before, after);
      // NT hashes are password-equivalent: turning them off removes them, in the same transaction.
      // Password writers lock the org row first, so none can add one after this delete.
      if (before.settings.radius.storeNtHashes && !after.settings.radius.storeNtHashes) {
        changes.ntHashes = { before: await tx.credentials.deleteAllNtHashes(after.id), after: 0 };
      }
      journal(tx, ctx, { objectType: 'organization', objectId: after.id, operation: 'update', changes });
      return after;
    });
  }
}
