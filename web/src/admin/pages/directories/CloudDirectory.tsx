import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { api, messageOf, qs } from '../../../shared/api';
import { Alert, Badge, Button, Checkbox, ConfirmDialog, DataTable, ErrorAlert, Loaded, PageHeader, Progress, Properties, SelectField, TabPanel, Tabs, TextField, useAction, useAsync, useDebounced } from '../../../shared/ui';
import { DeleteDialog, useSubmit } from '../../components/forms';
import { ResourceAccess } from '../../components/ResourceAccess';
import type { SystemUser } from '../../lookups';
import { useSession } from '../../session';
import { fieldErrors, Section, wholeNumber } from './common';
import { CLOUD_CONFIGURATIONS, KeyFileField } from './create';
import { Choices, rulesDraft, RulesFields, rulesPatch, SettingsForm, SyncActions, SyncBanner, syncFacts, SyncTabPanels, TextArea, useDirectorySync, useSettingsForm, type RulesDraft, type SyncRules, type SyncStateBase } from './sync';

export type CloudKind = 'g_suite' | 'office_365';

interface CloudDirectoryWire extends SyncRules {
  id: string;
  name: string;
  domain: string;
  groupsEnabled: boolean;
  credentialSet: boolean;
  deprovision: 'suspend' | 'delete';
  pollSeconds: number;
  reconcileMinutes: number;
  exportConcurrency: number;
  created?: string;
  // Google Workspace
  adminEmail?: string;
  customer?: string;
  usersOu?: string;
  queriesPerMinute?: number;
  serviceAccountEmail?: string | null;
  // Microsoft 365
  tenantId?: string;
  clientId?: string;
  domainMap?: Record<string, string>;
  usageLocation?: string | null;
  groupType?: 'security' | 'microsoft365';
  caCertificates?: string | null;
  scope?: { orgUnitPath?: string | null; groupEmail?: string | null; importGroups?: boolean; groupId?: string | null };
  endpoints?: { rootUrl?: string | null; tokenUrl?: string | null; authorityHost?: string | null; graphBaseUrl?: string | null };
}

interface CloudSyncState extends SyncStateBase {
  workerUntil: string | null;
}

interface Kind {
  path: string;
  label: string;
  routeSegment: string;
  defaults: Record<string, string>;
  rules: { builtIn: string; label: string }[];
  directions: ('export' | 'import')[];
}

const KINDS: Record<CloudKind, Kind> = {
  g_suite: {
    path: 'gsuites',
    label: 'Google Workspace',
    routeSegment: 'google-workspace',
    defaults: {
      username: 'primaryEmail (local part)',
      email: 'primaryEmail',
      firstname: 'name.givenName',
      lastname: 'name.familyName',
      jobTitle: 'organizations[primary].title',
      department: 'organizations[primary].department',
      costCenter: 'organizations[primary].costCenter',
      description: 'organizations[primary].description',
      employeeIdentifier: 'externalIds[organization]',
      suspended: 'suspended',
      membership: 'group members',
      password: 'password',
    },
    rules: [
      { builtIn: 'user_primary_organization_title', label: 'Job title (primary organization title)' },
      { builtIn: 'user_primary_organization_department', label: 'Department' },
      { builtIn: 'user_primary_organization_cost_center', label: 'Cost center' },
      { builtIn: 'user_primary_organization_description', label: 'Description' },
      { builtIn: 'user_primary_organization_employee_id', label: 'Employee ID' },
    ],
    directions: ['export', 'import'],
  },
  office_365: {
    path: 'office365s',
    label: 'Microsoft 365',
    routeSegment: 'microsoft-365',
    defaults: {
      username: 'userPrincipalName (local part)',
      email: 'mail',
      firstname: 'givenName',
      lastname: 'surname',
      displayname: 'displayName',
      jobTitle: 'jobTitle',
      department: 'department',
      company: 'companyName',
      location: 'officeLocation',
      employeeIdentifier: 'employeeId',
      suspended: 'accountEnabled',
      membership: 'group members',
      password: 'passwordProfile',
    },
    rules: [
      { builtIn: 'user_job_title', label: 'Job title' },
      { builtIn: 'user_department', label: 'Department' },
      { builtIn: 'user_office_location', label: 'Office location' },
    ],
    directions: ['export'],
  },
};

const configurationLabel = (c: string) => CLOUD_CONFIGURATIONS.find((x) => x.value === c)?.label ?? c;

/** /admin/directories/google-workspace/:id and /microsoft-365/:id — a cloud directory. */
export function CloudDirectory({ kind }: { kind: CloudKind }) {
  const { id = '' } = useParams();
  const k = KINDS[kind];
  const session = useSession();
  const canWrite = session.can('directories:write');
  const base = `/api/v2/${k.path}/${id}`;
  const directory = useAsync((signal) => api.get<CloudDirectoryWire>(base, { signal }), [base]);
  const sync = useDirectorySync<CloudSyncState>(base);
  const { state, tab, setTab, refresh, syncError } = sync;
  const [disconnecting, setDisconnecting] = useState(false);
  const d = directory.data;
  return (
    <>
      <PageHeader
        title={d?.name ?? k.label}
        back={<Link to="/admin/directories">← Directories</Link>}
        description={d ? `${k.label} · ${d.domain} · ${configurationLabel(d.configuration)}` : undefined}
        actions={canWrite && d ? <SyncActions sync={sync} label="Sync now" requestedLabel="Sync requested" onDisconnect={() => setDisconnecting(true)} /> : undefined}
      />
      <ErrorAlert error={syncError} />
      <Loaded state={directory}>
        {(dir) => (
          <>
            {!dir.credentialSet && <Alert kind="error" title="No credential">Roster cannot reach {k.label} until a credential is set (Settings).</Alert>}
            {state.data && <SyncBanner state={state.data} worker="worker" />}
            <ErrorAlert error={state.error} />
            <Tabs
              label={k.label}
              current={tab}
              onChange={setTab}
              tabs={[
                { id: 'overview', label: 'Overview' },
                { id: 'runs', label: 'Sync runs' },
                { id: 'dry-run', label: 'Dry run' },
                { id: 'safety', label: 'Held & conflicts' },
                { id: 'import', label: 'Import users' },
                { id: 'rules', label: 'Translation rules' },
                { id: 'settings', label: 'Settings' },
                { id: 'access', label: 'Users and groups' },
              ]}
            />
            {tab === 'overview' && (
              <TabPanel id="overview">
                <Overview kind={kind} dir={dir} state={state.data} />
              </TabPanel>
            )}
            <SyncTabPanels
              sync={sync}
              base={base}
              worker="worker"
              canWrite={canWrite}
              dir={dir}
              directoryName={k.label}
              exportsTo={dir.configuration !== 'directory_authoritative'}
              withExport
              note={dir.configuration === 'roster_authoritative' ? <Alert kind="info">In Roster authoritative, an import only links existing accounts to Roster users of the same username; it creates nothing in Roster.</Alert> : undefined}
              onRulesChanged={directory.reload}
            />
            {tab === 'import' && (
              <TabPanel id="import">
                <ImportUsers kind={kind} dir={dir} canWrite={canWrite && session.can('users:write')} onImported={refresh} />
              </TabPanel>
            )}
            {tab === 'rules' && (
              <TabPanel id="rules">
                <TranslationRules kind={kind} base={base} canWrite={canWrite} onChanged={directory.reload} />
              </TabPanel>
            )}
            {tab === 'settings' && (
              <TabPanel id="settings">
                <Credential kind={kind} dir={dir} canWrite={canWrite} onSaved={(next) => {
                  directory.setData(next);
                  state.reload();
                }} />
                <CloudSettings kind={kind} dir={dir} canWrite={canWrite} onSaved={(next) => {
                  directory.setData(next);
                  state.reload();
                }} />
              </TabPanel>
            )}
            {tab === 'access' && (
              <TabPanel id="access">
                <p className="muted">
                  {dir.configuration === 'directory_authoritative'
                    ? `In directory authoritative, Roster writes nothing to ${k.label}: connecting users grants them no account there.`
                    : `Users connected here, directly or through a group, get an account in ${k.label}; groups connected here are created there with their members. A user no longer connected has the account ${dir.deprovision === 'delete' ? 'deleted' : 'suspended'}.`}
                </p>
                <ResourceAccess path={base} name={dir.name} />
              </TabPanel>
            )}
          </>
        )}
      </Loaded>
      <DeleteDialog open={disconnecting} title={`Disconnect ${d?.name ?? k.label}`} confirmLabel="Disconnect" path={base} then="/admin/directories" onClose={() => setDisconnecting(false)}>
        <p>The sync stops and the credential is forgotten. Nothing changes in {k.label}; its users and groups stay in Roster, unlinked.</p>
      </DeleteDialog>
    </>
  );
}

function Overview({ kind, dir, state }: { kind: CloudKind; dir: CloudDirectoryWire; state: CloudSyncState | undefined }) {
  const items: [ReactNode, ReactNode][] = [
    ['Domain', dir.domain],
    ['Configuration', configurationLabel(dir.configuration)],
    ['Credential', dir.credentialSet ? <Badge kind="good">Set</Badge> : <Badge kind="bad">Not set</Badge>],
  ];
  if (kind === 'g_suite') {
    items.push(['Service account', dir.serviceAccountEmail ? <code>{dir.serviceAccountEmail}</code> : <span className="muted">—</span>]);
    items.push(['Acts as', dir.adminEmail ?? '—']);
    items.push(['Import scope', dir.scope?.groupEmail ? `Members of ${dir.scope.groupEmail}` : dir.scope?.orgUnitPath ? `Unit ${dir.scope.orgUnitPath}` : 'The whole domain']);
    items.push(['Groups', dir.scope?.importGroups === false ? 'Not imported' : 'Imported']);
  } else {
    items.push(['Tenant', <code>{dir.tenantId}</code>]);
    items.push(['Application (client) ID', <code>{dir.clientId}</code>]);
    items.push(['Import scope', dir.scope?.groupId ? <>Members of group <code>{dir.scope.groupId}</code></> : 'Every user']);
  }
  items.push(['Reads', `Every ${dir.pollSeconds} s${kind === 'office_365' ? ' (changes)' : ''}; everything every ${dir.reconcileMinutes} min`]);
  items.push(['Leaving users', dir.deprovision === 'delete' ? 'Accounts deleted' : 'Accounts suspended']);
  if (state) items.push(...syncFacts(state));
  return (
    <Section title="Status">
      <Properties items={items} />
    </Section>
  );
}

// ---------------------------------------------------------------------------------------------
// Import users: the suite's accounts no Roster user is linked to.

interface ImportCandidate {
  id: string;
  email: string;
  givenName: string;
  familyName: string;
}

interface ImportPage {
  users: ImportCandidate[];
  next?: string;
}

const IMPORT_PAGE = 20;
const usernameOf = (u: ImportCandidate) => u.email.split('@')[0] ?? u.email;

async function importPage(kind: CloudKind, base: string, search: string, token: string | undefined, signal: AbortSignal): Promise<ImportPage> {
  if (kind === 'g_suite') {
    const r = await api.get<{ users: { id: string; primaryEmail: string; givenName: string; familyName: string }[]; nextPageToken?: string }>(`${base}/import/users${qs({ limit: IMPORT_PAGE, query: search, pageToken: token })}`, { signal });
    return { users: r.users.map((u) => ({ id: u.id, email: u.primaryEmail, givenName: u.givenName, familyName: u.familyName })), ...(r.nextPageToken ? { next: r.nextPageToken } : {}) };
  }
  const r = await api.get<{ users: { id: string; userPrincipalName: string; givenName: string; surname: string }[]; skipToken?: string }>(`${base}/import/users${qs({ top: IMPORT_PAGE, search, skipToken: token })}`, { signal });
  return { users: r.users.map((u) => ({ id: u.id, email: u.userPrincipalName, givenName: u.givenName, familyName: u.surname })), ...(r.skipToken ? { next: r.skipToken } : {}) };
}

interface ImportResult {
  email: string;
  ok: boolean;
  message: string;
  userId?: string;
}

/**
 * The import list (GET …/import/users): accounts of the suite no Roster user is linked to, read
 * now. Importing creates a Roster user with the account's username, email and names, connects it
 * to the directory if asked, and asks for a full read, which links the two by username.
 */
function ImportUsers({ kind, dir, canWrite, onImported }: { kind: CloudKind; dir: CloudDirectoryWire; canWrite: boolean; onImported: () => void }) {
  const k = KINDS[kind];
  const base = `/api/v2/${k.path}/${dir.id}`;
  const [search, setSearch] = useState('');
  const debounced = useDebounced(search.trim(), 400);
  const [tokens, setTokens] = useState<(string | undefined)[]>([undefined]);
  const [tick, setTick] = useState(0);
  const token = tokens[tokens.length - 1];
  useEffect(() => setTokens([undefined]), [debounced]);
  const page = useAsync(
    async (signal) => {
      const found = await importPage(kind, base, debounced, token, signal);
      // Roster users who already have an account's username: importing connects them instead of creating a user.
      const names = [...new Set(found.users.map((u) => usernameOf(u)))];
      const existing = new Map<string, SystemUser>();
      if (names.length > 0) {
        const params = Object.fromEntries(names.map((n, i) => [`filter[or][${i}]`, `username:$eq:${n}`]));
        const r = await api.get<{ results: SystemUser[] }>(`/api/systemusers${qs({ ...params, limit: names.length, fields: 'username email firstname lastname displayname' })}`, { signal });
        for (const u of r.results) existing.set(u.username.toLowerCase(), u);
      }
      return { ...found, existing };
    },
    [kind, base, debounced, token, tick],
  );
  const [selected, setSelected] = useState<Map<string, ImportCandidate>>(new Map());
  const [confirming, setConfirming] = useState(false);
  const [connect, setConnect] = useState(dir.configuration !== 'directory_authoritative');
  const [progress, setProgress] = useState<{ done: number; total: number }>();
  const [results, setResults] = useState<ImportResult[]>();

  const toggle = (u: ImportCandidate, on: boolean) =>
    setSelected((s) => {
      const next = new Map(s);
      if (on) next.set(u.id, u);
      else next.delete(u.id);
      return next;
    });

  const run = async () => {
    const list = [...selected.values()];
    const out: ImportResult[] = [];
    setProgress({ done: 0, total: list.length });
    for (const u of list) {
      const username = usernameOf(u);
      const existing = page.data?.existing.get(username.toLowerCase());
      try {
        const id = existing ? existing._id : (await api.post<{ _id: string }>('/api/systemusers', { username, email: u.email, firstname: u.givenName, lastname: u.familyName }))._id;
        if (connect) await api.post(`${base}/associations`, { op: 'add', type: 'user', id });
        out.push({ email: u.email, ok: true, message: existing ? `${username} already exists in Roster${connect ? ': connected it' : ''}; the sync links it unless it is linked to another account` : `Created ${username}${connect ? ' and connected it' : ''}`, userId: id });
      } catch (e) {
        out.push({ email: u.email, ok: false, message: messageOf(e) });
      }
      setProgress({ done: out.length, total: list.length });
    }
    if (out.some((r) => r.ok)) {
      try {
        await api.post(`${base}/sync/full`);
      } catch (e) {
        out.push({ email: '', ok: false, message: `The users were created, but the sync could not be requested: ${messageOf(e)}` });
      }
    }
    setResults(out);
    setProgress(undefined);
    setSelected(new Map());
    setTick((t) => t + 1);
    onImported();
  };

  const users = page.data?.users ?? [];
  const allOnPage = users.length > 0 && users.every((u) => selected.has(u.id));
  return (
    <Section
      title={`Import users from ${k.label}`}
      description={`Accounts of ${k.label} that no Roster user is linked to, read from ${k.label} now (its administrators are never listed). Importing creates Roster users that the next sync links to these accounts.`}
      actions={
        canWrite ? (
          <Button variant="primary" disabled={selected.size === 0 || progress !== undefined} onClick={() => setConfirming(true)}>
            Import selected ({selected.size})
          </Button>
        ) : undefined
      }
    >
      <div className="toolbar">
        <TextField label="Search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} hint={kind === 'g_suite' ? 'Email or name contains' : 'Sign-in name or name contains'} />
        <Button onClick={() => setTick((t) => t + 1)} busy={page.loading && page.data !== undefined}>
          Read again
        </Button>
      </div>
      {progress && <Progress label="Importing users" value={progress.done} max={progress.total} />}
      {results && (
        <Alert kind={results.every((r) => r.ok) ? 'success' : 'warning'} title={`${results.filter((r) => r.ok).length} of ${results.filter((r) => r.email).length} imported`}>
          <ul className="plain-list">
            {results.map((r, i) => (
              <li key={i}>
                {r.email && <strong>{r.email}: </strong>}
                {r.userId ? <Link to={`/admin/users/${r.userId}`}>{r.message}</Link> : r.message}
              </li>
            ))}
          </ul>
          {results.some((r) => r.ok) && <p className="small">A sync was requested: the accounts are linked at the worker’s next turn.</p>}
        </Alert>
      )}
      {page.error !== undefined ? (
        <ErrorAlert error={page.error} title={`${k.label} could not be read`} />
      ) : (
        <Loaded state={page} label={`Reading ${k.label}…`}>
          {(p) => (
            <>
              <DataTable
                caption={`Accounts of ${k.label} available for import`}
                rows={p.users}
                rowKey={(u) => u.id}
                busy={page.loading}
                empty={debounced ? 'No account matches.' : `Every account of ${k.label} is linked to a Roster user: nothing to import.`}
                columns={[
                  ...(canWrite
                    ? [
                        {
                          header: <input type="checkbox" aria-label="Select every account on this page" checked={allOnPage} onChange={(e) => users.forEach((u) => toggle(u, e.target.checked))} />,
                          cell: (u: ImportCandidate) => <input type="checkbox" aria-label={`Select ${u.email}`} checked={selected.has(u.id)} onChange={(e) => toggle(u, e.target.checked)} />,
                        },
                      ]
                    : []),
                  { header: kind === 'g_suite' ? 'Email' : 'Sign-in name', cell: (u) => u.email },
                  { header: 'First name', cell: (u) => u.givenName || <span className="muted">—</span> },
                  { header: 'Last name', cell: (u) => u.familyName || <span className="muted">—</span> },
                  {
                    header: 'In Roster',
                    cell: (u) => {
                      const existing = p.existing.get(usernameOf(u).toLowerCase());
                      return existing ? (
                        <>
                          <Link to={`/admin/users/${existing._id}`}>
                            <code>{existing.username}</code>
                          </Link>{' '}
                          <Badge kind="warn">Exists, not linked</Badge>
                        </>
                      ) : (
                        <>
                          <code>{usernameOf(u)}</code> <span className="muted small">(new)</span>
                        </>
                      );
                    },
                  },
                ]}
              />
              <nav className="pager" aria-label="Account pages">
                <span className="pager-range">Page {tokens.length}</span>
                <Button variant="ghost" disabled={tokens.length <= 1} onClick={() => setTokens((t) => t.slice(0, -1))}>
                  Previous
                </Button>
                <Button variant="ghost" disabled={!p.next} onClick={() => setTokens((t) => [...t, p.next])}>
                  Next
                </Button>
              </nav>
            </>
          )}
        </Loaded>
      )}
      <ConfirmDialog
        open={confirming}
        danger={false}
        title={`Import ${selected.size} user${selected.size === 1 ? '' : 's'}`}
        confirmLabel="Import"
        onClose={() => setConfirming(false)}
        onConfirm={async () => {
          setConfirming(false);
          await run();
        }}
      >
        <p>Roster creates a user for each account (username from the email’s local part, email and names) — or uses the Roster user who already has that username — then asks for a sync that links each user to its account.</p>
        <Checkbox
          label={`Connect the imported users to ${dir.name}`}
          checked={connect}
          onChange={(e) => setConnect(e.target.checked)}
          hint={dir.configuration === 'directory_authoritative' ? 'In directory authoritative this grants nothing more.' : 'Roster then manages their accounts: attributes, suspension, passwords.'}
        />
      </ConfirmDialog>
    </Section>
  );
}

// ---------------------------------------------------------------------------------------------
// Translation rules.

interface Rule {
  id: string;
  builtIn: string;
  direction: 'export' | 'import' | string;
}

function TranslationRules({ kind, base, canWrite, onChanged }: { kind: CloudKind; base: string; canWrite: boolean; onChanged: () => void }) {
  const k = KINDS[kind];
  const rules = useAsync((signal) => api.get<Rule[]>(`${base}/translationrules`, { signal }), [base]);
  const available = k.rules.filter((r) => !rules.data?.some((x) => x.builtIn === r.builtIn));
  const [builtIn, setBuiltIn] = useState('');
  const [direction, setDirection] = useState<string>('export');
  const [removing, setRemoving] = useState<Rule>();
  const label = (b: string) => k.rules.find((r) => r.builtIn === b)?.label ?? b;
  const { run: addRule, busy, error } = useAction(async (chosen: string) => {
    await api.post(`${base}/translationrules`, { builtIn: chosen, direction });
    setBuiltIn('');
    rules.reload();
    onChanged();
  });
  const add = (e: FormEvent) => {
    e.preventDefault();
    const chosen = builtIn || available[0]?.builtIn;
    if (chosen) void addRule(chosen);
  };
  return (
    <Section
      title="Translation rules"
      description={`Which way an attribute goes between Roster and ${k.label} (JumpCloud's translation rules). A rule sets the attribute's authority; removing it returns the attribute to the configuration's preset. Addresses, phones, managers and alternate emails are not carried yet.`}
    >
      {canWrite && available.length > 0 && (
        <form className="toolbar" onSubmit={add}>
          <SelectField label="Attribute" value={builtIn || available[0]?.builtIn} onChange={(e) => setBuiltIn(e.target.value)} options={available.map((r) => ({ value: r.builtIn, label: r.label }))} />
          <SelectField
            label="Direction"
            value={direction}
            onChange={(e) => setDirection(e.target.value)}
            options={k.directions.map((d) => ({ value: d, label: d === 'export' ? `Export: Roster → ${k.label}` : `Import: ${k.label} → Roster` }))}
          />
          <Button type="submit" variant="primary" busy={busy}>
            Add rule
          </Button>
        </form>
      )}
      <ErrorAlert error={error} />
      <Loaded state={rules}>
        {(list) => (
          <DataTable
            caption="Translation rules"
            rows={list}
            rowKey={(r) => r.id}
            busy={rules.loading}
            empty="No rule: every attribute follows the configuration's preset (and the authority table in Settings)."
            columns={[
              {
                header: 'Attribute',
                cell: (r) => (
                  <>
                    {label(r.builtIn)}
                    <br />
                    <code className="small muted">{r.builtIn}</code>
                  </>
                ),
              },
              { header: 'Direction', cell: (r) => (r.direction === 'import' ? `Import: ${k.label} → Roster` : `Export: Roster → ${k.label}`) },
              ...(canWrite
                ? [
                    {
                      header: <span className="visually-hidden">Actions</span>,
                      cell: (r: Rule) => (
                        <Button variant="ghost" aria-label={`Remove the rule for ${label(r.builtIn)}`} onClick={() => setRemoving(r)}>
                          Remove
                        </Button>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        )}
      </Loaded>
      {removing && (
        <ConfirmDialog
          open
          title={`Remove the rule for ${label(removing.builtIn)}`}
          confirmLabel="Remove rule"
          onClose={() => setRemoving(undefined)}
          onConfirm={async () => {
            await api.delete(`${base}/translationrules/${removing.id}`);
            rules.reload();
            onChanged();
          }}
        >
          <p>The attribute follows the configuration's preset again.</p>
        </ConfirmDialog>
      )}
    </Section>
  );
}

// ---------------------------------------------------------------------------------------------
// Settings.

/** The write-only credential: whether it is set, and replacing it. */
function Credential({ kind, dir, canWrite, onSaved }: { kind: CloudKind; dir: CloudDirectoryWire; canWrite: boolean; onSaved: (d: CloudDirectoryWire) => void }) {
  const [value, setValue] = useState('');
  const [open, setOpen] = useState(false);
  const [saved, setSaved] = useState(false);
  const field = kind === 'g_suite' ? 'serviceAccountKey' : 'clientSecret';
  const { submit: save, busy, error, clearError } = useSubmit(async () => {
    onSaved(await api.patch<CloudDirectoryWire>(`/api/v2/${KINDS[kind].path}/${dir.id}`, { [field]: value }));
    setValue('');
    setOpen(false);
    setSaved(true);
  });
  const fields = fieldErrors(error);
  return (
    <Section title="Credential" description="Sealed at rest and never shown again, here or in the API.">
      {saved && <Alert kind="success">Credential replaced. The next read uses it.</Alert>}
      <Properties
        items={[
          [kind === 'g_suite' ? 'Service account key' : 'Client secret', dir.credentialSet ? <Badge kind="good">Set</Badge> : <Badge kind="bad">Not set</Badge>],
          ...(kind === 'g_suite' && dir.serviceAccountEmail ? ([['Service account', <code>{dir.serviceAccountEmail}</code>]] as [ReactNode, ReactNode][]) : []),
        ]}
      />
      {canWrite && !open && (
        <div className="form-actions">
          <Button onClick={() => setOpen(true)}>Replace credential</Button>
        </div>
      )}
      {open && (
        <form onSubmit={save} noValidate className="spaced">
          <ErrorAlert error={error} />
          {kind === 'g_suite' ? (
            <KeyFileField value={value} onChange={setValue} error={fields.serviceAccountKey} label="New service account key (JSON)" />
          ) : (
            <TextField label="New client secret" type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} error={fields.clientSecret} />
          )}
          <div className="form-actions">
            <Button type="submit" variant="primary" busy={busy} disabled={!value}>
              Save credential
            </Button>
            <Button
              onClick={() => {
                setOpen(false);
                setValue('');
                clearError();
              }}
            >
              Cancel
            </Button>
          </div>
        </form>
      )}
    </Section>
  );
}

type Draft = RulesDraft & {
  name: string;
  configuration: string;
  deprovision: 'suspend' | 'delete';
  pollSeconds: string;
  reconcileMinutes: string;
  exportConcurrency: string;
  // Google
  adminEmail: string;
  customer: string;
  usersOu: string;
  queriesPerMinute: string;
  orgUnitPath: string;
  groupEmail: string;
  importGroups: boolean;
  rootUrl: string;
  tokenUrl: string;
  // Microsoft
  tenantId: string;
  clientId: string;
  usageLocation: string;
  groupType: 'security' | 'microsoft365';
  groupId: string;
  domainMap: { from: string; to: string }[];
  caCertificates: string;
  authorityHost: string;
  graphBaseUrl: string;
};

function draftOf(dir: CloudDirectoryWire): Draft {
  return {
    ...rulesDraft(dir),
    name: dir.name,
    configuration: dir.configuration,
    deprovision: dir.deprovision,
    pollSeconds: String(dir.pollSeconds),
    reconcileMinutes: String(dir.reconcileMinutes),
    exportConcurrency: String(dir.exportConcurrency),
    adminEmail: dir.adminEmail ?? '',
    customer: dir.customer ?? '',
    usersOu: dir.usersOu ?? '',
    queriesPerMinute: String(dir.queriesPerMinute ?? ''),
    orgUnitPath: dir.scope?.orgUnitPath ?? '',
    groupEmail: dir.scope?.groupEmail ?? '',
    importGroups: dir.scope?.importGroups ?? true,
    rootUrl: dir.endpoints?.rootUrl ?? '',
    tokenUrl: dir.endpoints?.tokenUrl ?? '',
    tenantId: dir.tenantId ?? '',
    clientId: dir.clientId ?? '',
    usageLocation: dir.usageLocation ?? '',
    groupType: dir.groupType ?? 'security',
    groupId: dir.scope?.groupId ?? '',
    domainMap: Object.entries(dir.domainMap ?? {}).map(([from, to]) => ({ from, to })),
    caCertificates: dir.caCertificates ?? '',
    authorityHost: dir.endpoints?.authorityHost ?? '',
    graphBaseUrl: dir.endpoints?.graphBaseUrl ?? '',
  };
}

function patchOf(kind: CloudKind, draft: Draft, dir: CloudDirectoryWire): { patch: Record<string, unknown>; errors: Record<string, string> } {
  const { patch, errors } = rulesPatch(draft, dir);
  const text = (key: string, value: string, before: string | null | undefined, nullable = false) => {
    const v = value.trim();
    if (v !== (before ?? '')) patch[key] = v === '' && nullable ? null : v;
  };
  if (!draft.name.trim()) errors.name = 'Enter a name.';
  else text('name', draft.name, dir.name);
  if (draft.configuration !== dir.configuration) patch.configuration = draft.configuration;
  if (draft.deprovision !== dir.deprovision) patch.deprovision = draft.deprovision;
  for (const key of ['pollSeconds', 'reconcileMinutes', 'exportConcurrency'] as const) {
    const n = wholeNumber(draft[key]);
    if (n === undefined) errors[key] = 'Enter a whole number.';
    else if (n !== dir[key]) patch[key] = n;
  }
  const nullable = (v: string) => (v.trim() === '' ? null : v.trim());
  if (kind === 'g_suite') {
    text('adminEmail', draft.adminEmail, dir.adminEmail);
    text('customer', draft.customer, dir.customer);
    text('usersOu', draft.usersOu, dir.usersOu);
    const q = wholeNumber(draft.queriesPerMinute);
    if (q === undefined) errors.queriesPerMinute = 'Enter a whole number of queries a minute.';
    else if (q !== dir.queriesPerMinute) patch.queriesPerMinute = q;
    const scope = { orgUnitPath: nullable(draft.orgUnitPath), groupEmail: nullable(draft.groupEmail), importGroups: draft.importGroups };
    if (scope.orgUnitPath !== (dir.scope?.orgUnitPath ?? null) || scope.groupEmail !== (dir.scope?.groupEmail ?? null) || scope.importGroups !== (dir.scope?.importGroups ?? true)) patch.scope = scope;
    const endpoints = { rootUrl: nullable(draft.rootUrl), tokenUrl: nullable(draft.tokenUrl) };
    if (endpoints.rootUrl !== (dir.endpoints?.rootUrl ?? null) || endpoints.tokenUrl !== (dir.endpoints?.tokenUrl ?? null)) patch.endpoints = endpoints;
  } else {
    text('tenantId', draft.tenantId, dir.tenantId);
    text('clientId', draft.clientId, dir.clientId);
    const usage = nullable(draft.usageLocation)?.toUpperCase() ?? null;
    if (usage !== (dir.usageLocation ?? null)) patch.usageLocation = usage;
    if (draft.groupType !== dir.groupType) patch.groupType = draft.groupType;
    const groupId = nullable(draft.groupId);
    if (groupId !== (dir.scope?.groupId ?? null)) patch.scope = { groupId };
    const map = Object.fromEntries(draft.domainMap.filter((r) => r.from.trim() && r.to.trim()).map((r) => [r.from.trim().toLowerCase(), r.to.trim().toLowerCase()]));
    if (JSON.stringify(map) !== JSON.stringify(dir.domainMap ?? {})) patch.domainMap = map;
    const ca = nullable(draft.caCertificates);
    if (ca !== (dir.caCertificates ?? null)) patch.caCertificates = ca;
    const endpoints = { authorityHost: nullable(draft.authorityHost), graphBaseUrl: nullable(draft.graphBaseUrl) };
    if (endpoints.authorityHost !== (dir.endpoints?.authorityHost ?? null) || endpoints.graphBaseUrl !== (dir.endpoints?.graphBaseUrl ?? null)) patch.endpoints = endpoints;
  }
  return { patch, errors };
}

function CloudSettings({ kind, dir, canWrite, onSaved }: { kind: CloudKind; dir: CloudDirectoryWire; canWrite: boolean; onSaved: (d: CloudDirectoryWire) => void }) {
  const k = KINDS[kind];
  const form = useSettingsForm({
    dir,
    path: `/api/v2/${k.path}/${dir.id}`,
    draftOf,
    patchOf: (draft) => patchOf(kind, draft, dir),
    needsConfirm: (patch) => patch.configuration !== undefined || patch.deprovision === 'delete',
    onSaved,
  });
  const { draft, set, fields, confirming, confirm, cancelConfirm } = form;
  const bind = (key: keyof Draft & string) => ({ value: String(draft[key] ?? ''), onChange: (e: { target: { value: string } }) => set({ [key]: e.target.value } as Partial<Draft>), error: fields[key] });

  const attributes = [...new Set([...Object.keys(k.defaults).filter((a) => a !== 'suspended' && a !== 'membership' && a !== 'password'), ...draft.attributeMap.map((r) => r.attribute).filter(Boolean), 'suspended', 'membership'])];
  return (
    <Section title="Settings">
      <SettingsForm form={form} canWrite={canWrite}>
        <TextField label="Name" {...bind('name')} />
        <Choices legend="Configuration: where users and groups are managed" name="configuration" value={draft.configuration} onChange={(configuration) => set({ configuration })} choices={CLOUD_CONFIGURATIONS.map((c) => ({ ...c }))} />
        {fields.configuration && <p className="field-error">{fields.configuration}</p>}
        {kind === 'g_suite' ? (
          <>
            <div className="grid-2">
              <TextField label="Administrator email" type="email" {...bind('adminEmail')} hint="The super administrator the service account acts as." />
              <TextField label="Customer ID" {...bind('customer')} hint="my_customer, or an ID such as C01abcde2." />
            </div>
            <fieldset className="fieldset">
              <legend>Import scope</legend>
              <div className="grid-2">
                <TextField label="Organizational unit" {...bind('orgUnitPath')} placeholder="/Staff" hint="With the units under it; empty for the whole domain." error={fields['scope.orgUnitPath']} />
                <TextField label="Or the members of a group" type="email" {...bind('groupEmail')} placeholder="staff@example.com" error={fields['scope.groupEmail']} />
              </div>
              <Checkbox label="Import groups" checked={draft.importGroups} onChange={(e) => set({ importGroups: e.target.checked })} />
            </fieldset>
            <div className="grid-2">
              <TextField label="Organizational unit for new users" {...bind('usersOu')} placeholder="/" />
              <TextField label="Admin SDK quota (queries a minute)" inputMode="numeric" {...bind('queriesPerMinute')} hint="Roster paces its calls to stay under it." />
            </div>
          </>
        ) : (
          <>
            <div className="grid-2">
              <TextField label="Tenant ID" {...bind('tenantId')} />
              <TextField label="Application (client) ID" {...bind('clientId')} />
              <TextField label="Usage location" {...bind('usageLocation')} placeholder="US" hint="Two-letter country code for new users." />
              <SelectField
                label="Groups Roster creates"
                value={draft.groupType}
                onChange={(e) => set({ groupType: e.target.value as Draft['groupType'] })}
                options={[
                  { value: 'security', label: 'Security groups' },
                  { value: 'microsoft365', label: 'Microsoft 365 groups' },
                ]}
                error={fields.groupType}
              />
            </div>
            <TextField label="Import scope group ID" {...bind('groupId')} hint="Only the (transitive) members of this group; empty for every user." error={fields['scope.groupId'] ?? fields.scope} />
            <fieldset className="fieldset">
              <legend>Sign-in domains</legend>
              <p className="muted small">New users’ sign-in names use the verified domain mapped from their email’s domain, else {dir.domain}.</p>
              {draft.domainMap.map((row, i) => (
                <div key={i} className="map-row">
                  <TextField label={`Email domain ${i + 1}`} value={row.from} onChange={(e) => set({ domainMap: draft.domainMap.map((r, j) => (j === i ? { ...r, from: e.target.value } : r)) })} />
                  <TextField label={`Verified domain ${i + 1}`} value={row.to} onChange={(e) => set({ domainMap: draft.domainMap.map((r, j) => (j === i ? { ...r, to: e.target.value } : r)) })} />
                  <Button variant="ghost" aria-label={`Remove domain mapping ${i + 1}`} onClick={() => set({ domainMap: draft.domainMap.filter((_, j) => j !== i) })}>
                    Remove
                  </Button>
                </div>
              ))}
              {fields.domainMap && <p className="field-error">{fields.domainMap}</p>}
              <Button onClick={() => set({ domainMap: [...draft.domainMap, { from: '', to: '' }] })}>Add a domain mapping</Button>
            </fieldset>
          </>
        )}
        <SelectField
          label="When a user leaves (no longer connected, or deleted in Roster)"
          value={draft.deprovision}
          onChange={(e) => set({ deprovision: e.target.value as Draft['deprovision'] })}
          options={[
            { value: 'suspend', label: 'Suspend the account' },
            { value: 'delete', label: 'Delete the account' },
          ]}
          error={fields.deprovision}
        />
        <div className="grid-3">
          <TextField label="Read every (seconds)" inputMode="numeric" {...bind('pollSeconds')} hint={kind === 'office_365' ? 'Changes, through delta queries.' : 'Google is read in full.'} />
          <TextField label="Read everything every (minutes)" inputMode="numeric" {...bind('reconcileMinutes')} />
          <TextField label="Writes in flight" inputMode="numeric" {...bind('exportConcurrency')} />
        </div>
        <RulesFields
          draft={draft}
          onChange={set}
          configuration={draft.configuration}
          defaults={k.defaults}
          authorityAttributes={attributes}
          passwordAuthority
          errors={fields}
          directoryWord={k.label}
        />
        <details className="advanced">
          <summary>Advanced: endpoints{kind === 'office_365' ? ' and certificates' : ''}</summary>
          {kind === 'g_suite' ? (
            <div className="grid-2">
              <TextField label="API root URL" {...bind('rootUrl')} placeholder="https://admin.googleapis.com/" error={fields['endpoints.rootUrl']} />
              <TextField label="OAuth token URL" {...bind('tokenUrl')} placeholder="https://oauth2.googleapis.com/token" error={fields['endpoints.tokenUrl']} />
            </div>
          ) : (
            <>
              <div className="grid-2">
                <TextField label="Authority host" {...bind('authorityHost')} placeholder="https://login.microsoftonline.com" hint="National clouds only." error={fields['endpoints.authorityHost']} />
                <TextField label="Graph base URL" {...bind('graphBaseUrl')} placeholder="https://graph.microsoft.com" error={fields['endpoints.graphBaseUrl']} />
              </div>
              <TextArea label="Extra CA certificates (PEM)" value={draft.caCertificates} onChange={(e) => set({ caCertificates: e.target.value })} hint="A TLS-inspecting proxy's CA." error={fields.caCertificates} rows={4} />
            </>
          )}
        </details>
      </SettingsForm>
      {confirming && (
        <ConfirmDialog
          open
          danger={confirming.deprovision === 'delete'}
          title="Save these settings?"
          confirmLabel="Save"
          onClose={cancelConfirm}
          onConfirm={confirm}
        >
          {confirming.configuration !== undefined && (
            <p>
              Switch to <strong>{configurationLabel(String(confirming.configuration))}</strong>: {CLOUD_CONFIGURATIONS.find((c) => c.value === confirming.configuration)?.description} The next read is a full one; check the dry runs afterwards.
            </p>
          )}
          {confirming.deprovision === 'delete' && <p>Accounts of users who leave will be <strong>deleted</strong> in {k.label}, with their mail and files as {k.label} handles deletion.</p>}
        </ConfirmDialog>
      )}
    </Section>
  );
}
