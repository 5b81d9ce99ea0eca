import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api } from '../../../shared/api';
import { Alert, Button, Checkbox, Dialog, ErrorAlert, Field, SecretBox, SelectField, TextField } from '../../../shared/ui';
import { FormDialog, useSubmit } from '../../components/forms';
import { CopyBlock, fieldErrors, type DirectorySummary } from './common';
import { Choices, TextArea } from './sync';

export const AD_CONFIGURATIONS = [
  {
    value: 'ad_authoritative',
    label: 'AD authoritative',
    description: 'Users, groups and passwords are managed in AD. Members of the import scope are imported and kept in step; logins are checked against AD. Roster writes nothing to AD.',
  },
  {
    value: 'two_way',
    label: 'Two-way',
    description: 'Manage users in either place. The import scope comes into Roster, and users and groups connected to the domain go to AD; an attribute changed on both sides goes to the newer change. Passwords per user.',
  },
  {
    value: 'roster_authoritative',
    label: 'Roster authoritative',
    description: 'Users, groups and passwords are managed in Roster. Users and groups connected to the domain are created and kept in step in AD; nothing is imported. The way to minimise AD or migrate away from it.',
  },
] as const;

export const CLOUD_CONFIGURATIONS = [
  {
    value: 'roster_authoritative',
    label: 'Roster authoritative',
    description: 'Users and groups connected to the directory get accounts in the suite, kept in step, passwords included. Existing accounts are linked by username; nothing is created in Roster.',
  },
  {
    value: 'two_way',
    label: 'Two-way',
    description: 'Accounts in the import scope come into Roster, and Roster’s users and groups connected to the directory go to the suite. An attribute changed on both sides keeps Roster’s value.',
  },
  {
    value: 'directory_authoritative',
    label: 'Directory authoritative',
    description: 'The suite is the source: accounts in the import scope are imported and kept in step. Roster writes nothing to the suite, passwords included.',
  },
] as const;

/** The dialogs of the Directories page's add actions. */
export type AddKind = 'active_directory' | 'g_suite' | 'office_365' | 'scim';

export function AddDirectoryDialog({ kind, onClose }: { kind: AddKind; onClose: () => void }) {
  switch (kind) {
    case 'active_directory':
      return <AddActiveDirectory onClose={onClose} />;
    case 'g_suite':
      return <AddGoogleWorkspace onClose={onClose} />;
    case 'office_365':
      return <AddMicrosoft365 onClose={onClose} />;
    case 'scim':
      return <AddScimSource onClose={onClose} />;
  }
}

/** useSubmit for a call that makes something, then `done` with what it made; with the API's errors by field. */
function useCreate<T>(run: () => Promise<T>, done: (result: T) => void) {
  const form = useSubmit(async () => done(await run()));
  return { ...form, fields: fieldErrors(form.error) };
}

function AddActiveDirectory({ onClose }: { onClose: () => void }) {
  const navigate = useNavigate();
  const [schema, setSchema] = useState<'active_directory' | 'ldap'>('active_directory');
  const [domain, setDomain] = useState('');
  const [scope, setScope] = useState('');
  const [configuration, setConfiguration] = useState<string>('ad_authoritative');
  const { busy, error, submit, fields } = useCreate(
    () =>
      api.post<{ id: string }>('/api/v2/activedirectories', {
        domain: domain.trim(),
        schema,
        ...(scope.trim() ? { importScopeGroupDn: scope.trim() } : {}),
        configuration: schema === 'ldap' ? 'ad_authoritative' : configuration,
      }),
    (d) => navigate(`/admin/directories/active-directory/${d.id}?tab=agents`),
  );
  const example = domain.trim() ? domain.trim().split('.').map((p) => `DC=${p}`).join(',') : 'DC=corp,DC=example,DC=com';
  return (
    <FormDialog title="Connect an Active Directory domain" submitLabel="Connect" busy={busy} onClose={onClose} onSubmit={submit}>
      <p className="muted">Roster reaches the domain through an agent you run next to a domain controller; it only dials out. You add the agent on the next page.</p>
      <ErrorAlert error={error} />
      <Choices
        legend="Directory"
        name="schema"
        value={schema}
        onChange={setSchema}
        choices={[
          { value: 'active_directory', label: 'Active Directory', description: 'Users and groups linked by objectGUID; DirSync change tracking.' },
          { value: 'ldap', label: 'Another LDAP directory', description: 'OpenLDAP, 389-ds or FreeIPA, imported only (cannot change later).' },
        ]}
      />
      <TextField label="Domain" required value={domain} onChange={(e) => setDomain(e.target.value)} placeholder="corp.example.com" error={fields.domain} autoFocus />
      <TextField
        label="Import scope group (DN)"
        value={scope}
        onChange={(e) => setScope(e.target.value)}
        placeholder={`CN=Roster Users,OU=Groups,${example}`}
        hint="Only members of this group, nested groups included, are imported. You can set it later; without it nothing is imported."
        error={fields.importScopeGroupDn}
      />
      {schema === 'active_directory' && (
        <SelectField label="Configuration" value={configuration} onChange={(e) => setConfiguration(e.target.value)} options={AD_CONFIGURATIONS.map((c) => ({ value: c.value, label: c.label }))} hint={AD_CONFIGURATIONS.find((c) => c.value === configuration)?.description} error={fields.configuration} />
      )}
    </FormDialog>
  );
}

function AddGoogleWorkspace({ onClose }: { onClose: () => void }) {
  const navigate = useNavigate();
  const [f, setF] = useState({ name: '', domain: '', adminEmail: '', key: '', configuration: 'roster_authoritative', usersOu: '', orgUnitPath: '', groupEmail: '', importGroups: true });
  const set = (patch: Partial<typeof f>) => setF((v) => ({ ...v, ...patch }));
  const { busy, error, submit, fields } = useCreate(
    () =>
      api.post<{ id: string }>('/api/v2/gsuites', {
        ...(f.name.trim() ? { name: f.name.trim() } : {}),
        domain: f.domain.trim(),
        adminEmail: f.adminEmail.trim(),
        serviceAccountKey: f.key,
        configuration: f.configuration,
        ...(f.usersOu.trim() ? { usersOu: f.usersOu.trim() } : {}),
        scope: { orgUnitPath: f.orgUnitPath.trim() || null, groupEmail: f.groupEmail.trim() || null, importGroups: f.importGroups },
      }),
    (d) => navigate(`/admin/directories/google-workspace/${d.id}`),
  );
  return (
    <FormDialog title="Connect Google Workspace" submitLabel="Connect" busy={busy} onClose={onClose} onSubmit={submit}>
      <p className="muted">
        Needs a service account with domain-wide delegation for the Admin SDK Directory scopes (user, group, group member). The key is sealed and never shown again.
      </p>
      <ErrorAlert error={error} />
      <TextField label="Domain" required value={f.domain} onChange={(e) => set({ domain: e.target.value })} placeholder="example.com" error={fields.domain} autoFocus />
      <TextField label="Administrator email" type="email" required value={f.adminEmail} onChange={(e) => set({ adminEmail: e.target.value })} hint="The super administrator the service account acts as." error={fields.adminEmail} />
      <KeyFileField value={f.key} onChange={(key) => set({ key })} error={fields.serviceAccountKey} />
      <TextField label="Name" value={f.name} onChange={(e) => set({ name: e.target.value })} placeholder={`Google Workspace ${f.domain || 'example.com'}`} error={fields.name} />
      <SelectField label="Configuration" value={f.configuration} onChange={(e) => set({ configuration: e.target.value })} options={CLOUD_CONFIGURATIONS.map((c) => ({ value: c.value, label: c.label }))} hint={CLOUD_CONFIGURATIONS.find((c) => c.value === f.configuration)?.description} error={fields.configuration} />
      <fieldset className="fieldset">
        <legend>Import scope</legend>
        <TextField label="Organizational unit" value={f.orgUnitPath} onChange={(e) => set({ orgUnitPath: e.target.value })} placeholder="/Staff" hint="With the units under it. Leave empty for the whole domain." error={fields['scope.orgUnitPath']} />
        <TextField label="Or the members of a group" type="email" value={f.groupEmail} onChange={(e) => set({ groupEmail: e.target.value })} placeholder="staff@example.com" error={fields['scope.groupEmail']} />
        <Checkbox label="Import groups" checked={f.importGroups} onChange={(e) => set({ importGroups: e.target.checked })} />
      </fieldset>
      <TextField label="Organizational unit for new users" value={f.usersOu} onChange={(e) => set({ usersOu: e.target.value })} placeholder="/" error={fields.usersOu} />
    </FormDialog>
  );
}

/** The service account's JSON key: chosen as a file or pasted. */
export function KeyFileField({ value, onChange, error, label = 'Service account key (JSON)' }: { value: string; onChange: (key: string) => void; error?: string | undefined; label?: string }) {
  const [fileName, setFileName] = useState<string>();
  return (
    <>
      <Field label={`${label}: file`} hint={fileName ? `Read from ${fileName}.` : 'Choose the key file Google Cloud gave you, or paste its text below.'}>
        {(p) => (
          <input
            type="file"
            accept="application/json,.json"
            className="input"
            {...p}
            onChange={async (e) => {
              const file = e.target.files?.[0];
              if (!file) return;
              setFileName(file.name);
              onChange(await file.text());
            }}
          />
        )}
      </Field>
      <TextArea label={`${label}: text`} value={value} onChange={(e) => onChange(e.target.value)} spellCheck={false} autoComplete="off" rows={4} placeholder='{"type": "service_account", …}' error={error} />
    </>
  );
}

function AddMicrosoft365({ onClose }: { onClose: () => void }) {
  const navigate = useNavigate();
  const [f, setF] = useState({ name: '', domain: '', tenantId: '', clientId: '', clientSecret: '', configuration: 'roster_authoritative', usageLocation: '', groupType: 'security', groupId: '' });
  const set = (patch: Partial<typeof f>) => setF((v) => ({ ...v, ...patch }));
  const { busy, error, submit, fields } = useCreate(
    () =>
      api.post<{ id: string }>('/api/v2/office365s', {
        ...(f.name.trim() ? { name: f.name.trim() } : {}),
        domain: f.domain.trim(),
        tenantId: f.tenantId.trim(),
        clientId: f.clientId.trim(),
        clientSecret: f.clientSecret,
        configuration: f.configuration,
        groupType: f.groupType,
        ...(f.usageLocation.trim() ? { usageLocation: f.usageLocation.trim().toUpperCase() } : {}),
        ...(f.groupId.trim() ? { scope: { groupId: f.groupId.trim() } } : {}),
      }),
    (d) => navigate(`/admin/directories/microsoft-365/${d.id}`),
  );
  return (
    <FormDialog title="Connect Microsoft 365" submitLabel="Connect" busy={busy} onClose={onClose} onSubmit={submit}>
      <p className="muted">
        Needs an Entra ID application with a client secret and the application permissions User.ReadWrite.All, Group.ReadWrite.All, GroupMember.ReadWrite.All and RoleManagement.Read.Directory. The secret is sealed and never shown again.
      </p>
      <ErrorAlert error={error} />
      <TextField label="Domain" required value={f.domain} onChange={(e) => set({ domain: e.target.value })} placeholder="contoso.com" hint="The verified domain for new users' sign-in names." error={fields.domain} autoFocus />
      <TextField label="Tenant ID" required value={f.tenantId} onChange={(e) => set({ tenantId: e.target.value })} hint="A GUID, or the tenant's primary domain." error={fields.tenantId} />
      <TextField label="Application (client) ID" required value={f.clientId} onChange={(e) => set({ clientId: e.target.value })} error={fields.clientId} />
      <TextField label="Client secret" type="password" autoComplete="off" required value={f.clientSecret} onChange={(e) => set({ clientSecret: e.target.value })} error={fields.clientSecret} />
      <TextField label="Name" value={f.name} onChange={(e) => set({ name: e.target.value })} placeholder={`Microsoft 365 ${f.domain || 'contoso.com'}`} error={fields.name} />
      <SelectField label="Configuration" value={f.configuration} onChange={(e) => set({ configuration: e.target.value })} options={CLOUD_CONFIGURATIONS.map((c) => ({ value: c.value, label: c.label }))} hint={CLOUD_CONFIGURATIONS.find((c) => c.value === f.configuration)?.description} error={fields.configuration} />
      <TextField label="Usage location" value={f.usageLocation} onChange={(e) => set({ usageLocation: e.target.value })} placeholder="US" hint="Two-letter country code for new users (needed to assign licences)." error={fields.usageLocation} />
      <SelectField
        label="Groups Roster creates"
        value={f.groupType}
        onChange={(e) => set({ groupType: e.target.value })}
        options={[
          { value: 'security', label: 'Security groups' },
          { value: 'microsoft365', label: 'Microsoft 365 groups' },
        ]}
        error={fields.groupType}
      />
      <TextField label="Import scope group ID" value={f.groupId} onChange={(e) => set({ groupId: e.target.value })} hint="Only the members of this group (object ID). Leave empty for every user." error={fields['scope.groupId'] ?? fields.scope} />
    </FormDialog>
  );
}

interface IssuedToken {
  id: string;
  token: string;
  name: string;
}

/** The SCIM base URL a source is given as its tenant URL. */
export const scimBaseUrl = () => `${window.location.origin}/scim/v2`;

function AddScimSource({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState('');
  const [created, setCreated] = useState<{ source: DirectorySummary; token?: IssuedToken; tokenError?: unknown }>();
  const { busy, error, submit, fields } = useCreate(
    async () => {
      const source = await api.post<DirectorySummary>('/api/v2/scimsources', { name: name.trim() });
      try {
        const token = await api.post<IssuedToken>(`/api/v2/scimsources/${source.id}/tokens`, { name: 'Initial token' });
        return { source, token };
      } catch (tokenError) {
        return { source, tokenError };
      }
    },
    setCreated,
  );
  if (created) {
    return (
      <Dialog
        open
        title={`SCIM source ${created.source.name ?? ''} created`}
        onClose={onClose}
        footer={
          <>
            <Link className="btn btn-secondary" to={`/admin/directories/scim/${created.source.id}`}>
              Open the source
            </Link>
            <Button variant="primary" onClick={onClose}>
              Done
            </Button>
          </>
        }
      >
        <p>Give the HR system or identity provider these as its SCIM tenant URL and secret token.</p>
        <CopyBlock label="SCIM base URL" value={scimBaseUrl()} />
        {created.token ? (
          <>
            <SecretBox label="Bearer token (shown once)" value={created.token.token} />
            <Alert kind="warning">Copy the token now: Roster keeps only its digest and cannot show it again.</Alert>
          </>
        ) : (
          <ErrorAlert error={created.tokenError} title="The source was created, but no token could be issued. Issue one from the source's page." />
        )}
      </Dialog>
    );
  }
  return (
    <FormDialog title="Add a SCIM source" submitLabel="Create" busy={busy} onClose={onClose} onSubmit={submit}>
      <p className="muted">An HR system or identity provider (Entra ID, Okta, Workday) that pushes users and groups into Roster over SCIM 2.0. Its first bearer token is shown next.</p>
      <ErrorAlert error={error} />
      <TextField label="Name" required value={name} onChange={(e) => setName(e.target.value)} placeholder="Entra ID" error={fields.name} autoFocus />
    </FormDialog>
  );
}
