import { useState, type FormEvent, type ReactNode } from 'react';
import { api } from '../../../shared/api';
import { Alert, Badge, Button, Checkbox, ConfirmDialog, DataTable, ErrorAlert, Loaded, PageHeader, SelectField, TextField, Time, useAsync } from '../../../shared/ui';
import { SaveActions, useSaveForm } from '../../components/forms';
import { useSession } from '../../session';
import { fieldError } from '../resources/common';
import type { Organization, SigningKey } from './types';

/** A numeric policy setting that can be turned off (JumpCloud's enable flag beside the value). */
interface Toggle {
  on: boolean;
  value: string;
}

interface PolicyForm {
  minLength: string;
  needsLowercase: boolean;
  needsUppercase: boolean;
  needsNumeric: boolean;
  needsSymbolic: boolean;
  allowUsernameSubstring: boolean;
  maxHistory: Toggle;
  passwordExpirationInDays: Toggle;
  maxLoginAttempts: Toggle;
  lockoutTimeInSeconds: Toggle;
  resetLockoutCounterMinutes: string;
}

const TOGGLE_FLAGS = {
  maxHistory: 'enableMaxHistory',
  passwordExpirationInDays: 'enablePasswordExpirationInDays',
  maxLoginAttempts: 'enableMaxLoginAttempts',
  lockoutTimeInSeconds: 'enableLockoutTimeInSeconds',
} as const;

const toggleOf = (p: Record<string, number | boolean>, key: keyof typeof TOGGLE_FLAGS, fallback: number): Toggle => ({
  on: p[TOGGLE_FLAGS[key]] === true,
  value: String(typeof p[key] === 'number' ? p[key] : fallback),
});

function policyForm(p: Record<string, number | boolean>): PolicyForm {
  return {
    minLength: String(p.minLength ?? 12),
    needsLowercase: p.needsLowercase === true,
    needsUppercase: p.needsUppercase === true,
    needsNumeric: p.needsNumeric === true,
    needsSymbolic: p.needsSymbolic === true,
    allowUsernameSubstring: p.allowUsernameSubstring === true,
    maxHistory: toggleOf(p, 'maxHistory', 5),
    passwordExpirationInDays: toggleOf(p, 'passwordExpirationInDays', 90),
    maxLoginAttempts: toggleOf(p, 'maxLoginAttempts', 10),
    lockoutTimeInSeconds: toggleOf(p, 'lockoutTimeInSeconds', 900),
    resetLockoutCounterMinutes: String(p.resetLockoutCounterMinutes ?? 15),
  };
}

/** Numbers as the API takes them: an integer, or the text itself so that the API names the problem. */
const num = (s: string): number | string => (/^\s*-?\d+\s*$/.test(s) ? Number(s) : s);

function policyBody(f: PolicyForm): Record<string, unknown> {
  const body: Record<string, unknown> = {
    enableMinLength: true,
    minLength: num(f.minLength),
    needsLowercase: f.needsLowercase,
    needsUppercase: f.needsUppercase,
    needsNumeric: f.needsNumeric,
    needsSymbolic: f.needsSymbolic,
    allowUsernameSubstring: f.allowUsernameSubstring,
    enableResetLockoutCounter: true,
    resetLockoutCounterMinutes: num(f.resetLockoutCounterMinutes),
  };
  for (const [key, flag] of Object.entries(TOGGLE_FLAGS)) {
    const t = f[key as keyof typeof TOGGLE_FLAGS];
    body[flag] = t.on;
    if (t.on) body[key] = num(t.value);
  }
  return body;
}

/** Organization settings: name, password policy, lockout, two-step sign-in, new users, RADIUS NT hashes, OIDC keys. */
export function Settings() {
  const session = useSession();
  const canWrite = session.can('organization:write');
  const org = useAsync((signal) => api.get<Organization>(`/api/organizations/${session.organization}`, { signal }), [session.organization]);
  return (
    <>
      <PageHeader title="Settings" description="How this organization's users sign in: password policy, lockout, two-step verification, and the defaults for new users." />
      {!canWrite && <Alert kind="info">Your role can read these settings but not change them.</Alert>}
      <Loaded state={org}>{(o) => <SettingsForm key={o._id} org={o} canWrite={canWrite} onSaved={org.setData} />}</Loaded>
      <SigningKeys />
    </>
  );
}

function NumberToggle({ label, hint, offLabel, unit, toggle, onChange, min, max, error }: { label: string; hint?: ReactNode; offLabel: string; unit: string; toggle: Toggle; onChange: (t: Toggle) => void; min: number; max: number; error?: string | undefined }) {
  return (
    <div className="rs-subset">
      <Checkbox label={label} hint={toggle.on ? undefined : offLabel} checked={toggle.on} onChange={(e) => onChange({ ...toggle, on: e.target.checked })} />
      {toggle.on && <TextField label={unit} type="number" min={min} max={max} hint={hint} value={toggle.value} onChange={(e) => onChange({ ...toggle, value: e.target.value })} error={error} />}
      {!toggle.on && error && <p className="field-error">{error}</p>}
    </div>
  );
}

function SettingsForm({ org, canWrite, onSaved }: { org: Organization; canWrite: boolean; onSaved: (o: Organization) => void }) {
  const [displayName, setDisplayName] = useState(org.displayName);
  const [logoUrl, setLogoUrl] = useState(org.logoUrl);
  const [policy, setPolicy] = useState(() => policyForm(org.settings.passwordPolicy));
  const [mfaRequired, setMfaRequired] = useState(org.settings.mfa.required);
  const [selfEnrollment, setSelfEnrollment] = useState(org.settings.mfa.selfEnrollment);
  const [manualEntry, setManualEntry] = useState(org.settings.newSystemUserStateDefaults.manualEntry);
  const [csvImport, setCsvImport] = useState(org.settings.newSystemUserStateDefaults.csvImport);
  const [ntHashes, setNtHashes] = useState(org.settings.radius.storeNtHashes);
  const [confirmNt, setConfirmNt] = useState(false);
  const { run: save, busy, error, saved } = useSaveForm(async () => {
    onSaved(
      await api.put<Organization>(`/api/organizations/${org._id}`, {
        displayName: displayName.trim(),
        logoUrl: logoUrl.trim(),
        settings: {
          passwordPolicy: policyBody(policy),
          mfa: { required: mfaRequired, selfEnrollment },
          newSystemUserStateDefaults: { manualEntry, csvImport },
          radius: { storeNtHashes: ntHashes },
        },
      }),
    );
  }, [displayName, logoUrl, policy, mfaRequired, selfEnrollment, manualEntry, csvImport, ntHashes]);

  const p = <K extends keyof PolicyForm>(key: K, value: PolicyForm[K]) => setPolicy({ ...policy, [key]: value });
  const err = (key: string) => fieldError(error, `passwordPolicy.${key}`);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    // Turning NT hashes off deletes them all: ask first.
    if (org.settings.radius.storeNtHashes && !ntHashes) setConfirmNt(true);
    else void save();
  };

  const states = [
    { value: 'ACTIVATED', label: 'Active: can sign in at once' },
    { value: 'STAGED', label: 'Staged: cannot sign in until activated' },
  ];

  return (
    <form onSubmit={submit} noValidate>
      {saved && <Alert kind="success">Settings saved.</Alert>}
      <ErrorAlert error={error} title="The settings were not saved" />
      <fieldset className="rs-fieldset" disabled={!canWrite}>
        <legend className="visually-hidden">Organization settings</legend>
        <div className="grid-2">
          <section className="card" aria-labelledby="set-org">
            <h2 id="set-org">Organization</h2>
            <TextField label="Name" required value={displayName} onChange={(e) => setDisplayName(e.target.value)} error={fieldError(error, 'displayName')} />
            <TextField label="Logo URL" type="url" hint="Optional: kept for tools that read it through the API; the portals do not load images from other sites." value={logoUrl} onChange={(e) => setLogoUrl(e.target.value)} error={fieldError(error, 'logoUrl')} />
            <p className="muted rs-small">
              Organization id <code>{org._id}</code>, created <Time iso={org.created} />.
            </p>
            <p className="muted rs-small">
              Users open the user portal at <code>{`${window.location.origin}/portal/?org=${org._id}`}</code> (with a single organization, <code>/portal/</code> is enough).
            </p>
          </section>

          <section className="card" aria-labelledby="set-mfa">
            <h2 id="set-mfa">Two-step verification</h2>
            <Checkbox
              label="Require two-step verification for every user"
              hint="At sign-in, after the password: an authenticator app, a security key or a passkey. Users can also be required one by one, or exempted, on their page."
              checked={mfaRequired}
              onChange={(e) => setMfaRequired(e.target.checked)}
            />
            {fieldError(error, 'mfa.required') && <p className="field-error">{fieldError(error, 'mfa.required')}</p>}
            <Checkbox
              label="Let users set up their second factor at sign-in"
              hint="When off, a user who must use a second factor but has none is refused until an administrator enrolls them."
              checked={selfEnrollment}
              onChange={(e) => setSelfEnrollment(e.target.checked)}
            />
            {fieldError(error, 'mfa.selfEnrollment') && <p className="field-error">{fieldError(error, 'mfa.selfEnrollment')}</p>}
          </section>

          <section className="card" aria-labelledby="set-password">
            <h2 id="set-password">Password policy</h2>
            <p className="muted rs-small">Checked whenever a user's password is set: by an administrator, by the user, over LDAP or in an import.</p>
            <TextField label="Minimum length" type="number" min={1} max={256} value={policy.minLength} onChange={(e) => p('minLength', e.target.value)} error={err('minLength')} />
            <fieldset className="rs-subset">
              <legend>Must contain</legend>
              <Checkbox label="A lower-case letter" checked={policy.needsLowercase} onChange={(e) => p('needsLowercase', e.target.checked)} />
              <Checkbox label="An upper-case letter" checked={policy.needsUppercase} onChange={(e) => p('needsUppercase', e.target.checked)} />
              <Checkbox label="A digit" checked={policy.needsNumeric} onChange={(e) => p('needsNumeric', e.target.checked)} />
              <Checkbox label="A symbol" checked={policy.needsSymbolic} onChange={(e) => p('needsSymbolic', e.target.checked)} />
            </fieldset>
            <Checkbox label="Allow the username in the password" checked={policy.allowUsernameSubstring} onChange={(e) => p('allowUsernameSubstring', e.target.checked)} />
            <NumberToggle label="Refuse recently used passwords" offLabel="Any earlier password can be used again." unit="Passwords remembered" min={1} max={24} toggle={policy.maxHistory} onChange={(t) => p('maxHistory', t)} error={err('maxHistory')} />
            <NumberToggle label="Passwords expire" offLabel="Passwords never expire." unit="Days until a password expires" min={1} max={3650} toggle={policy.passwordExpirationInDays} onChange={(t) => p('passwordExpirationInDays', t)} error={err('passwordExpirationInDays')} />
          </section>

          <section className="card" aria-labelledby="set-lockout">
            <h2 id="set-lockout">Lockout</h2>
            <p className="muted rs-small">Failed passwords count together across the portals, LDAP and RADIUS.</p>
            <NumberToggle label="Lock accounts after failed attempts" offLabel="Accounts are never locked (not recommended)." unit="Failed attempts before a lock" min={1} max={1000} toggle={policy.maxLoginAttempts} onChange={(t) => p('maxLoginAttempts', t)} error={err('maxLoginAttempts')} />
            <NumberToggle
              label="Unlock automatically"
              offLabel="A locked account stays locked until an administrator unlocks it."
              unit="Seconds until the lock ends"
              hint={Number(policy.lockoutTimeInSeconds.value) > 0 ? `${Math.round(Number(policy.lockoutTimeInSeconds.value) / 60)} minutes` : undefined}
              min={1}
              max={30 * 86_400}
              toggle={policy.lockoutTimeInSeconds}
              onChange={(t) => p('lockoutTimeInSeconds', t)}
              error={err('lockoutTimeInSeconds')}
            />
            <TextField label="Forget failed attempts after (minutes)" type="number" min={1} max={43_200} value={policy.resetLockoutCounterMinutes} onChange={(e) => p('resetLockoutCounterMinutes', e.target.value)} error={err('resetLockoutCounterMinutes')} />
          </section>

          <section className="card" aria-labelledby="set-new-users">
            <h2 id="set-new-users">New users</h2>
            <SelectField label="Users created by an administrator" options={states} value={manualEntry} onChange={(e) => setManualEntry(e.target.value)} error={fieldError(error, 'newSystemUserStateDefaults.manualEntry')} />
            <SelectField label="Users created by a CSV import" options={states} value={csvImport} onChange={(e) => setCsvImport(e.target.value)} error={fieldError(error, 'newSystemUserStateDefaults.csvImport')} />
          </section>

          <section className="card" aria-labelledby="set-radius">
            <h2 id="set-radius">RADIUS: NT hashes</h2>
            <Checkbox
              label="Keep NT hashes of passwords"
              hint="PEAP-MSCHAPv2 (the usual Wi-Fi method of Windows, macOS, iOS and Android) and MS-CHAPv2 VPNs need them. An NT hash is password-equivalent for MS-CHAPv2, so it is kept encrypted and off by default. Users get one when their password is next set or used to sign in."
              checked={ntHashes}
              onChange={(e) => setNtHashes(e.target.checked)}
            />
            {org.settings.radius.storeNtHashes && !ntHashes && <Alert kind="warning">Saving deletes every NT hash of the organization: PEAP-MSCHAPv2 sign-ins stop working.</Alert>}
            {fieldError(error, 'radius.storeNtHashes') && <p className="field-error">{fieldError(error, 'radius.storeNtHashes')}</p>}
          </section>
        </div>
      </fieldset>
      {canWrite && <SaveActions busy={busy} label="Save settings" />}
      <ConfirmDialog
        open={confirmNt}
        title="Delete every NT hash?"
        confirmLabel="Turn off and delete"
        onClose={() => setConfirmNt(false)}
        onConfirm={save}
      >
        <p>Turning NT hashes off deletes them for every user of the organization. PEAP-MSCHAPv2 and MS-CHAPv2 sign-ins are rejected until they are turned on again and users set or use their passwords.</p>
      </ConfirmDialog>
    </form>
  );
}

/** The OpenID Connect provider's signing keys (the installation's), with a rotation. */
function SigningKeys() {
  const session = useSession();
  const keys = useAsync((signal) => api.get<SigningKey[]>('/api/v2/oidc/keys', { signal }), []);
  const [rotating, setRotating] = useState(false);
  return (
    <section className="card rs-gap" aria-labelledby="set-oidc-keys">
      <div className="rs-card-head">
        <h2 id="set-oidc-keys">OpenID Connect signing keys</h2>
        {session.can('organization:write') && <Button onClick={() => setRotating(true)}>Rotate now</Button>}
      </div>
      <p className="muted rs-small">They sign the ID tokens of every organization of this Roster installation, and rotate by themselves every 90 days. Rotate now if a key may be compromised.</p>
      <Loaded state={keys}>
        {(list) => (
          <DataTable
            caption="Signing keys"
            rows={list}
            rowKey={(k) => k.kid}
            empty="No key yet: one is made at the first start."
            columns={[
              { header: 'Key id', cell: (k) => <code>{k.kid}</code> },
              { header: 'State', cell: (k) => <Badge kind={k.state === 'active' ? 'good' : k.state === 'next' ? 'info' : 'neutral'}>{k.state === 'active' ? 'Signing' : k.state === 'next' ? 'Next' : 'Previous'}</Badge> },
              { header: 'Algorithm', cell: (k) => k.alg },
              { header: 'Signs from', cell: (k) => <Time iso={k.activates} /> },
              { header: 'Retires', cell: (k) => <Time iso={k.retires} /> },
            ]}
          />
        )}
      </Loaded>
      <ConfirmDialog
        open={rotating}
        danger={false}
        title="Rotate the OpenID Connect signing key?"
        confirmLabel="Rotate"
        onClose={() => setRotating(false)}
        onConfirm={async () => keys.setData(await api.post<SigningKey[]>('/api/v2/oidc/keys/rotate'))}
      >
        <p>A new key is published at once and signs within a minute. The old one stays published until the ID tokens it signed have expired (about an hour), so applications keep working. This affects every organization of the installation.</p>
      </ConfirmDialog>
    </section>
  );
}
