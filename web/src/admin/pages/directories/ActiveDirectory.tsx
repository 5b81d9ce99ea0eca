import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api } from '../../../shared/api';
import { Alert, Badge, Button, ConfirmDialog, DataTable, Dialog, ErrorAlert, Loaded, PageHeader, Properties, SecretBox, SelectField, TabPanel, Tabs, TextField, Time, useAsync } from '../../../shared/ui';
import { ResourceAccess } from '../../components/ResourceAccess';
import { UserPicker } from '../../components/Pickers';
import { userLabel, type SystemUser } from '../../lookups';
import { useSession } from '../../session';
import { CopyBlock, domainDn, fieldErrors, Section, usePolling, useTab } from './common';
import { AD_CONFIGURATIONS } from './create';
import { Choices, Conflicts, ExportDryRun, HeldRemovals, ImportDryRun, MAPPABLE, RulesFields, rulesDraft, rulesPatch, RunHistory, SyncBanner, syncFacts, type RulesDraft, type SyncRules, type SyncStateBase } from './sync';

export interface Agent {
  id: string;
  state: 'unsealed' | 'active' | 'inactive' | string;
  hostname: string;
  version: string;
  source_ip: string;
  contactAt?: string;
  connectKey?: string;
  connectKeyExpires?: string | null;
}

interface Domain extends SyncRules {
  id: string;
  domain: string;
  schema: 'active_directory' | 'ldap';
  importScopeGroupDn: string | null;
  usersOu: string | null;
  groupsOu: string | null;
}

interface AdSyncState extends SyncStateBase {
  writerAgentId: string | null;
  writerUntil: string | null;
  agents: Agent[];
}

const AD_DEFAULT_MAP: Record<string, string> = {
  username: 'sAMAccountName',
  email: 'mail',
  firstname: 'givenName',
  lastname: 'sn',
  displayname: 'displayName',
  jobTitle: 'title',
  department: 'department',
  company: 'company',
  description: 'description',
  location: 'physicalDeliveryOfficeName',
  employeeIdentifier: 'employeeID',
  suspended: 'userAccountControl',
  membership: 'member',
};
const LDAP_DEFAULT_MAP: Record<string, string> = {
  username: 'uid',
  email: 'mail',
  firstname: 'givenName',
  lastname: 'sn',
  displayname: 'displayName',
  jobTitle: 'title',
  department: 'departmentNumber',
  company: 'o',
  description: 'description',
  location: 'l',
  employeeIdentifier: 'employeeNumber',
  suspended: 'nsAccountLock / pwdAccountLockedTime',
  membership: 'member',
};

const configurationLabel = (c: string) => AD_CONFIGURATIONS.find((x) => x.value === c)?.label ?? c;
/** An agent that has not called for this long is shown as not seen. */
const STALE_MS = 3 * 60 * 1000;

/** /admin/directories/active-directory/:id — an AD (or other LDAP) domain: agents, sync, plans, safety, settings, access. */
export function ActiveDirectory() {
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const session = useSession();
  const canWrite = session.can('directories:write');
  const base = `/api/v2/activedirectories/${id}`;
  const domain = useAsync((signal) => api.get<Domain>(base, { signal }), [base]);
  const state = useAsync((signal) => api.get<AdSyncState>(`${base}/sync`, { signal }), [base]);
  const busy = state.data?.lastRun?.status === 'running' || state.data?.fullImportWanted === true || state.data?.dryRunWanted === true;
  usePolling(state.reload, state.data !== undefined, busy ? 3000 : 15000);
  const [tab, setTab] = useTab('overview');
  const [disconnecting, setDisconnecting] = useState(false);
  const [syncError, setSyncError] = useState<unknown>();
  const [runsKey, setRunsKey] = useState(0);
  const refresh = () => {
    state.reload();
    setRunsKey((k) => k + 1);
  };

  const syncNow = async () => {
    setSyncError(undefined);
    try {
      await api.post(`${base}/sync/full`);
      refresh();
    } catch (e) {
      setSyncError(e);
    }
  };

  return (
    <>
      <PageHeader
        title={domain.data?.domain ?? 'Active Directory'}
        back={<Link to="/admin/directories">← Directories</Link>}
        description={domain.data ? (domain.data.schema === 'ldap' ? 'LDAP directory (OpenLDAP, 389-ds, FreeIPA) · imported only' : `Active Directory domain · ${configurationLabel(domain.data.configuration)}`) : undefined}
        actions={
          canWrite && domain.data ? (
            <>
              <Button onClick={syncNow} disabled={state.data?.fullImportWanted}>
                {state.data?.fullImportWanted ? 'Full import requested' : 'Full import now'}
              </Button>
              <Button variant="danger" onClick={() => setDisconnecting(true)}>
                Disconnect
              </Button>
            </>
          ) : undefined
        }
      />
      <ErrorAlert error={syncError} />
      <Loaded state={domain}>
        {(d) => (
          <>
            {state.data && <SyncBanner state={state.data} worker="agent" />}
            <ErrorAlert error={state.error} />
            <Tabs
              label="Active Directory domain"
              current={tab}
              onChange={setTab}
              tabs={[
                { id: 'overview', label: 'Overview' },
                { id: 'agents', label: `Agents${state.data ? ` (${state.data.agents.length})` : ''}` },
                { id: 'runs', label: 'Sync runs' },
                { id: 'dry-run', label: 'Dry run' },
                { id: 'safety', label: 'Held & conflicts' },
                { id: 'settings', label: 'Settings' },
                { id: 'access', label: 'Users and groups' },
              ]}
            />
            {tab === 'overview' && (
              <TabPanel id="overview">
                <Overview domain={d} state={state.data} onTab={setTab} />
              </TabPanel>
            )}
            {tab === 'agents' && (
              <TabPanel id="agents">
                <Agents domain={d} state={state.data} canWrite={canWrite} onChanged={state.reload} />
              </TabPanel>
            )}
            {tab === 'runs' && (
              <TabPanel id="runs">
                <RunHistory base={base} worker="agent" refreshKey={`${runsKey}:${state.data?.lastRun?.id ?? ''}:${state.data?.lastRun?.status ?? ''}`} />
              </TabPanel>
            )}
            {tab === 'dry-run' && (
              <TabPanel id="dry-run">
                <ImportDryRun base={base} worker="agent" canWrite={canWrite} requested={state.data?.dryRunWanted ?? false} onRequested={refresh} note={noAgentNote(state.data)} />
                <ExportDryRun base={base} worker="agent" canWrite={canWrite} exportsTo={d.configuration !== 'ad_authoritative'} onRequested={refresh} />
              </TabPanel>
            )}
            {tab === 'safety' && (
              <TabPanel id="safety">
                <HeldRemovals base={base} worker="agent" threshold={d.deleteThreshold} canWrite={canWrite} withExport={false} onChanged={() => {
                  domain.reload();
                  refresh();
                }} />
                <Conflicts base={base} directoryId={d.id} directoryName={d.schema === 'ldap' ? 'the directory' : 'AD'} />
              </TabPanel>
            )}
            {tab === 'settings' && (
              <TabPanel id="settings">
                <DomainSettings domain={d} canWrite={canWrite} onSaved={(next) => {
                  domain.setData(next);
                  state.reload();
                }} />
                {d.schema === 'active_directory' && <PasswordAuthority base={base} configuration={d.configuration} />}
              </TabPanel>
            )}
            {tab === 'access' && (
              <TabPanel id="access">
                <p className="muted">
                  {d.schema === 'ldap'
                    ? 'This directory is imported only: connecting users and groups here grants them nothing in it.'
                    : d.configuration === 'ad_authoritative'
                    ? 'In AD authoritative, connecting users and groups grants them nothing in AD: membership comes from the import scope.'
                    : 'Users and groups connected here, directly or through a group, are created and kept in step in AD.'}
                </p>
                <ResourceAccess path={base} name={d.domain} />
              </TabPanel>
            )}
          </>
        )}
      </Loaded>
      <ConfirmDialog
        open={disconnecting}
        title={`Disconnect ${domain.data?.domain ?? 'the domain'}`}
        confirmLabel="Disconnect"
        onClose={() => setDisconnecting(false)}
        onConfirm={async () => {
          await api.delete(base);
          navigate('/admin/directories');
        }}
      >
        <p>Its agents stop working at once and the sync stops. The users and groups it imported stay in Roster, unlinked; nothing changes in AD.</p>
      </ConfirmDialog>
    </>
  );
}

function noAgentNote(state: AdSyncState | undefined) {
  if (!state) return null;
  if (state.agents.some((a) => a.state === 'active')) return null;
  return <Alert kind="info">No agent has registered yet: plans and imports wait until one connects (Agents tab).</Alert>;
}

function Overview({ domain, state, onTab }: { domain: Domain; state: AdSyncState | undefined; onTab: (tab: string) => void }) {
  const active = state?.agents.filter((a) => a.state === 'active') ?? [];
  const writer = state?.agents.find((a) => a.id === state.writerAgentId);
  const steps: { done: boolean; text: ReactNode }[] = [
    { done: Boolean(domain.importScopeGroupDn) || domain.configuration === 'roster_authoritative', text: <>Set the import scope group in <button className="link-button" onClick={() => onTab('settings')}>Settings</button>.</> },
    { done: (state?.agents.length ?? 0) > 0, text: <>Add an agent and run it next to {domain.schema === 'ldap' ? 'the directory server' : 'a domain controller'} (<button className="link-button" onClick={() => onTab('agents')}>Agents</button>).</> },
    { done: active.length > 0, text: 'The agent registers with its connect key and starts the first import.' },
  ];
  return (
    <>
      {steps.some((s) => !s.done) && (
        <Section title="Getting started">
          <ol className="checklist">
            {steps.map((s, i) => (
              <li key={i} className={s.done ? 'done' : undefined}>
                <span className="visually-hidden">{s.done ? 'Done: ' : 'To do: '}</span>
                {s.text}
              </li>
            ))}
          </ol>
        </Section>
      )}
      <Section title="Status">
        <Properties
          items={[
            ['Directory', domain.schema === 'ldap' ? 'LDAP directory (OpenLDAP, 389-ds, FreeIPA)' : 'Active Directory'],
            ['Configuration', configurationLabel(domain.configuration)],
            ['Import scope', domain.importScopeGroupDn ? <code>{domain.importScopeGroupDn}</code> : <span className="muted">Not set: nothing is imported</span>],
            ['Agents', state ? `${active.length} active of ${state.agents.length}` : '…'],
            ['Writer', writer ? <>{writer.hostname || writer.id} until <Time iso={state?.writerUntil} /></> : <span className="muted">None</span>],
            ...(state ? syncFacts(state) : []),
          ]}
        />
      </Section>
    </>
  );
}

function agentBadge(agent: Agent) {
  if (agent.state === 'unsealed') return <Badge kind="warn">Waiting to register</Badge>;
  if (agent.state === 'inactive') return <Badge kind="bad">Revoked</Badge>;
  if (agent.state === 'active') {
    if (agent.contactAt && Date.now() - Date.parse(agent.contactAt) > STALE_MS) return <Badge kind="warn">Not seen lately</Badge>;
    return <Badge kind="good">Active</Badge>;
  }
  return <Badge>{agent.state}</Badge>;
}

function Agents({ domain, state, canWrite, onChanged }: { domain: Domain; state: AdSyncState | undefined; canWrite: boolean; onChanged: () => void }) {
  const base = `/api/v2/activedirectories/${domain.id}`;
  const agents = useAsync((signal) => api.get<Agent[]>(`${base}/agents`, { signal }), [base, state?.agents.map((a) => `${a.id}:${a.state}:${a.contactAt ?? ''}`).join(',')]);
  const [created, setCreated] = useState<Agent>();
  const [adding, setAdding] = useState(false);
  const [addError, setAddError] = useState<unknown>();
  const [removing, setRemoving] = useState<Agent>();
  const add = async () => {
    setAdding(true);
    setAddError(undefined);
    try {
      setCreated(await api.post<Agent>(`${base}/agents`, {}));
      onChanged();
    } catch (e) {
      setAddError(e);
    } finally {
      setAdding(false);
    }
  };
  return (
    <Section
      title="Agents"
      description={`An agent runs next to ${domain.schema === 'ldap' ? 'the directory server' : 'a domain controller'}, reads ${domain.schema === 'ldap' ? 'the directory' : 'AD'} over LDAPS and dials out to Roster over HTTPS: nothing needs to reach your ${domain.schema === 'ldap' ? 'directory servers' : 'domain controllers'} from outside. With several agents, one holds the writer lease and the others take over within a minute if it stops.`}
      actions={
        canWrite ? (
          <Button variant="primary" busy={adding} onClick={add}>
            Add agent
          </Button>
        ) : undefined
      }
    >
      <ErrorAlert error={addError} />
      <Loaded state={agents}>
        {(list) => (
          <DataTable
            caption="Agents of the domain"
            rows={list}
            rowKey={(a) => a.id}
            busy={agents.loading}
            empty={
              <>
                No agent yet: {canWrite ? 'add one' : 'an administrator adds one'} and run <code>roster agent --connect-key …</code> on a machine that reaches a domain controller.
              </>
            }
            columns={[
              {
                header: 'Agent',
                cell: (a) => (
                  <>
                    {a.hostname || <span className="muted">Not registered</span>} {state?.writerAgentId === a.id && <Badge kind="info">Writer</Badge>}
                    <br />
                    <code className="small muted">{a.id}</code>
                  </>
                ),
              },
              { header: 'Status', cell: agentBadge },
              { header: 'Version', cell: (a) => a.version || <span className="muted">—</span> },
              { header: 'Address', cell: (a) => a.source_ip || <span className="muted">—</span> },
              { header: 'Last contact', cell: (a) => (a.contactAt ? <Time iso={a.contactAt} relative /> : <span className="muted">Never</span>) },
              ...(canWrite
                ? [
                    {
                      header: <span className="visually-hidden">Actions</span>,
                      cell: (a: Agent) => (
                        <Button variant="ghost" onClick={() => setRemoving(a)} aria-label={`Remove agent ${a.hostname || a.id}`}>
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
      {created && <NewAgentDialog domain={domain} agent={created} onClose={() => setCreated(undefined)} />}
      {removing && (
        <ConfirmDialog
          open
          title={`Remove agent ${removing.hostname || removing.id}`}
          confirmLabel="Remove agent"
          onClose={() => setRemoving(undefined)}
          onConfirm={async () => {
            await api.delete(`${base}/agents/${removing.id}`);
            agents.reload();
            onChanged();
          }}
        >
          <p>Its credential stops working at once{removing.state === 'unsealed' ? ' and its connect key can no longer be used' : ''}. {state?.writerAgentId === removing.id ? 'It holds the writer lease: another agent takes over within a minute, if there is one.' : ''}</p>
        </ConfirmDialog>
      )}
    </Section>
  );
}

/** The one-time connect key of a new agent, with the command that installs it. */
function NewAgentDialog({ domain, agent, onClose }: { domain: Domain; agent: Agent; onClose: () => void }) {
  const dn = domainDn(domain.domain, domain.schema === 'ldap' ? 'dc' : 'DC');
  const bindDn = domain.schema === 'ldap' ? `uid=roster-agent,ou=People,${dn}` : `CN=roster-agent,OU=Service Accounts,${dn}`;
  const command = [
    `roster agent --url ${window.location.origin} --connect-key ${agent.connectKey ?? 'rck_…'} \\`,
    `  --state-file /etc/roster/agent.json \\`,
    `  --ldap-url ldaps://${domain.schema === 'ldap' ? 'ldap' : 'dc1'}.${domain.domain} --ldap-ca /etc/roster/${domain.domain}-ca.pem \\`,
    ...(domain.schema === 'ldap' ? [`  --base-dn '${dn}' \\`] : []),
    `  --bind-dn '${bindDn}' \\`,
    `  --bind-password-file /etc/roster/${domain.schema === 'ldap' ? 'ldap' : 'ad'}-password`,
  ].join('\n');
  return (
    <Dialog
      open
      title="Install the agent"
      onClose={onClose}
      footer={
        <Button variant="primary" onClick={onClose}>
          I have copied the key
        </Button>
      }
    >
      {agent.connectKey ? <SecretBox label="Connect key (shown once)" value={agent.connectKey} /> : <Alert kind="error">The answer carried no connect key. Remove this agent and add another.</Alert>}
      <p className="small">
        Works once{agent.connectKeyExpires ? (
          <>
            , until <Time iso={agent.connectKeyExpires} />
          </>
        ) : null}
        . After the first start the agent keeps its own credential in its state file and the key is no longer needed.
      </p>
      <p>
        On a machine that reaches {domain.schema === 'ldap' ? 'the directory server' : 'a domain controller'}, with Node.js 20 or later and Roster installed, store the {domain.schema === 'ldap' ? 'directory' : 'AD'} account's password, then start the agent (adapt the server, CA and account):
      </p>
      <CopyBlock label="Password file" multiline value={domain.schema === 'ldap' ? `printf '%s' 'the directory account password' > /etc/roster/ldap-password && chmod 600 /etc/roster/ldap-password` : `printf '%s' 'the AD account password' > /etc/roster/ad-password && chmod 600 /etc/roster/ad-password`} />
      <CopyBlock label="Agent command" multiline value={command} />
      <p className="muted small">Use LDAPS (or --start-tls with an ldap:// URL). Run the agent under your service manager; every option also has an environment variable (ROSTER_AGENT_URL, ROSTER_AGENT_CONNECT_KEY, …).</p>
    </Dialog>
  );
}

type SettingsDraft = RulesDraft & { configuration: string; importScopeGroupDn: string; usersOu: string; groupsOu: string };

function DomainSettings({ domain, canWrite, onSaved }: { domain: Domain; canWrite: boolean; onSaved: (d: Domain) => void }) {
  const initial = (): SettingsDraft => ({ ...rulesDraft(domain), configuration: domain.configuration, importScopeGroupDn: domain.importScopeGroupDn ?? '', usersOu: domain.usersOu ?? '', groupsOu: domain.groupsOu ?? '' });
  const [draft, setDraft] = useState(initial);
  useEffect(() => setDraft(initial()), [domain]); // eslint-disable-line react-hooks/exhaustive-deps
  const [local, setLocal] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [confirming, setConfirming] = useState<Record<string, unknown>>();
  const fields = { ...fieldErrors(error), ...local };
  const set = (patch: Partial<SettingsDraft>) => setDraft((d) => ({ ...d, ...patch }));

  const build = () => {
    const { patch, errors } = rulesPatch(draft, domain);
    if (draft.configuration !== domain.configuration) patch.configuration = draft.configuration;
    for (const key of ['importScopeGroupDn', 'usersOu', 'groupsOu'] as const) {
      const v = draft[key].trim();
      if (v !== (domain[key] ?? '')) patch[key] = v === '' ? null : v;
    }
    return { patch, errors };
  };
  const save = async (patch: Record<string, unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      onSaved(await api.patch<Domain>(`/api/v2/activedirectories/${domain.id}`, patch));
      setSaved(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const { patch, errors } = build();
    setLocal(errors);
    if (Object.keys(errors).length > 0) return;
    if (Object.keys(patch).length === 0) {
      setSaved(true);
      return;
    }
    if (patch.configuration !== undefined) setConfirming(patch);
    else void save(patch);
  };
  const writes = draft.configuration !== 'ad_authoritative';
  return (
    <Section title="Settings">
      <form onSubmit={submit} noValidate>
        <fieldset className="plain-fieldset" disabled={!canWrite}>
          <ErrorAlert error={error} />
          {saved && <Alert kind="success">Settings saved.</Alert>}
          <Choices legend="Configuration: where users, groups and passwords are managed" name="configuration" value={draft.configuration} onChange={(configuration) => set({ configuration })} choices={AD_CONFIGURATIONS.map((c) => ({ ...c }))} disabled={domain.schema === 'ldap'} />
          {domain.schema === 'ldap' && <p className="muted small">An LDAP directory (OpenLDAP, 389-ds, FreeIPA) is imported only.</p>}
          {fields.configuration && <p className="field-error">{fields.configuration}</p>}
          <TextField
            label="Import scope group (DN)"
            value={draft.importScopeGroupDn}
            onChange={(e) => set({ importScopeGroupDn: e.target.value })}
            placeholder={`CN=Roster Users,OU=Groups,${domainDn(domain.domain)}`}
            hint="Members of this group, nested groups included, are imported. Privileged accounts (Domain Admins and the like) never are. A new scope makes the next import read everything."
            error={fields.importScopeGroupDn}
          />
          {(writes || draft.usersOu || draft.groupsOu) && (
            <div className="grid-2">
              <TextField label="OU for users Roster creates" value={draft.usersOu} onChange={(e) => set({ usersOu: e.target.value })} placeholder={`OU=Staff,${domainDn(domain.domain)}`} hint="Without it Roster only updates accounts already linked." error={fields.usersOu} />
              <TextField label="OU for groups Roster creates" value={draft.groupsOu} onChange={(e) => set({ groupsOu: e.target.value })} placeholder={`OU=Groups,${domainDn(domain.domain)}`} error={fields.groupsOu} />
            </div>
          )}
          <RulesFields
            draft={draft}
            onChange={(next) => setDraft((d) => ({ ...d, ...next }))}
            configuration={draft.configuration}
            defaults={domain.schema === 'ldap' ? LDAP_DEFAULT_MAP : AD_DEFAULT_MAP}
            authorityAttributes={[...MAPPABLE, 'suspended', 'membership']}
            errors={fields}
            directoryWord={domain.schema === 'ldap' ? 'LDAP' : 'AD'}
          />
          {canWrite && (
            <div className="form-actions">
              <Button type="submit" variant="primary" busy={busy}>
                Save settings
              </Button>
              <Button
                onClick={() => {
                  setDraft(initial());
                  setLocal({});
                  setError(undefined);
                }}
              >
                Discard changes
              </Button>
            </div>
          )}
        </fieldset>
      </form>
      {confirming && (
        <ConfirmDialog
          open
          danger={false}
          title={`Switch to ${configurationLabel(String(confirming.configuration))}`}
          confirmLabel="Switch"
          onClose={() => setConfirming(undefined)}
          onConfirm={async () => {
            const patch = confirming;
            setConfirming(undefined);
            await save(patch);
          }}
        >
          <p>{AD_CONFIGURATIONS.find((c) => c.value === confirming.configuration)?.description}</p>
          <p>The next import reads the whole scope. {confirming.configuration !== 'ad_authoritative' && 'Roster starts writing to AD: check the Export dry run first.'}</p>
        </ConfirmDialog>
      )}
    </Section>
  );
}

/** A linked user's password authority for the domain (PUT …/users/{id}/passwordauthority). */
function PasswordAuthority({ base, configuration }: { base: string; configuration: string }) {
  const session = useSession();
  const canEdit = session.can('directories:write') && session.can('users:write');
  const [value, setValue] = useState<'roster' | 'directory' | ''>('directory');
  const [result, setResult] = useState<{ user: SystemUser; authority: string }>();
  if (!canEdit) return null;
  return (
    <Section
      title="Password authority of a user"
      description={
        configuration === 'two_way'
          ? 'In two-way, each linked user’s password is Roster’s by default (written to AD when set). Choose AD for a user whose logins should be checked against AD instead.'
          : configuration === 'ad_authoritative'
            ? 'In AD authoritative every linked user’s login is checked against AD; you can make Roster’s password count for one user.'
            : 'In Roster authoritative, passwords are Roster’s and written to AD.'
      }
    >
      <SelectField
        label="Password authority"
        value={value}
        onChange={(e) => setValue(e.target.value as typeof value)}
        options={[
          { value: 'directory', label: 'AD: logins are checked against AD' },
          { value: 'roster', label: 'Roster: Roster’s password counts' },
          { value: '', label: 'Follow the configuration' },
        ]}
      />
      <UserPicker
        label="Linked user"
        action="Set password authority"
        onPick={async (user) => {
          const r = await api.put<{ passwordAuthority: string }>(`${base}/users/${user._id}/passwordauthority`, { passwordAuthority: value === '' ? null : value });
          setResult({ user, authority: r.passwordAuthority });
        }}
      />
      {result && (
        <Alert kind="success">
          {userLabel(result.user, result.user._id)}’s password authority is now {result.authority === 'directory' ? 'AD' : 'Roster'}.
        </Alert>
      )}
    </Section>
  );
}
