/** The API's shapes the Security pages use (docs/api.md, docs/roles.md, src/api/wire/*). */

export interface Administrator {
  _id: string;
  email: string;
  firstname: string;
  lastname: string;
  role: string;
  roleName: string;
  enableMultiFactor: boolean;
  totpEnrolled?: boolean;
  suspended: boolean;
  organization?: string;
  organizations?: string[];
  created?: string;
}

export interface Role {
  name: string;
  permissions: { name: string; description: string }[];
}

export const adminName = (a: Pick<Administrator, 'firstname' | 'lastname' | 'email'>) => [a.firstname, a.lastname].filter(Boolean).join(' ') || a.email;

/** One line on what a role is for (the permissions, from the API, say exactly what it may do). */
export const ROLE_SUMMARIES: Record<string, string> = {
  'Administrator with Billing': 'Everything, billing included.',
  Administrator: 'Everything but billing: users, groups, applications, directories, RADIUS, administrators and organization settings.',
  Manager: 'Manages users, groups, applications, directories and RADIUS; reads administrators and settings but cannot change them.',
  'Help Desk': 'Creates and edits users and groups, resets passwords and second factors; reads the rest.',
  'Read Only': 'Reads everything (no billing); changes nothing but their own API keys.',
  'Command Runner': 'Runs commands on systems; no access to the directory.',
  'Command Runner with Billing': 'Runs commands on systems and manages billing.',
};

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  readOnly: boolean;
  expiresAt: string | null;
  created: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  key?: string;
}

export interface JournalEntry {
  seq: number;
  at: string;
  objectType: string;
  objectId: string;
  operation: string;
  changes: Record<string, { before: unknown; after: unknown }>;
  actor: { type: string; id: string | null; apiKeyId: string | null };
  origin: string;
  details: Record<string, unknown> | null;
}

export interface Organization {
  _id: string;
  displayName: string;
  logoUrl: string;
  created: string;
  settings: {
    passwordPolicy: Record<string, number | boolean>;
    newSystemUserStateDefaults: { manualEntry: string; csvImport: string };
    radius: { storeNtHashes: boolean };
    mfa: { required: boolean; selfEnrollment: boolean };
  };
}

export interface SigningKey {
  kid: string;
  alg: string;
  state: string;
  created: string;
  activates: string;
  retires: string | null;
}
