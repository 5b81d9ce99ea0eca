import { useState, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { api } from '../../../shared/api';
import { Alert, Badge, Button, ConfirmDialog, DataTable, Dialog, ErrorAlert, Loaded, PageHeader, Properties, SecretBox, SelectField, TabPanel, Tabs, TextField, Time, useAction, useAsync } from '../../../shared/ui';
import { DeleteDialog } from '../../components/forms';
import { ResourceAccess } from '../../components/ResourceAccess';
import { UserPicker } from '../../components/Pickers';
import { userLabel, type SystemUser } from '../../lookups';
import { useSession } from '../../session';
import { CopyBlock, domainDn, Section } from './common';
import { AD_CONFIGURATIONS } from './create';
import { Choices, MAPPABLE, rulesDraft, RulesFields, rulesPatch, SettingsForm, SyncActions, SyncBanner, syncFacts, SyncTabPanels, useDirectorySync, useSettingsForm, type RulesDraft, type SyncRules, type SyncStateBase } from './sync';

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
  const session = useSession();
  const canWrite = session.can('directories:write');
  const base = `/api/v2/activedirectories/${id}`;
  const domain = useAsync((signal) => api.get<Domain>(base, { signal }), [base]);
  const sync = useDirectorySync<AdSyncState>(base);
  const { state, tab, setTab, syncError } = sync;
  const [disconnecting, setDisconnecting] = useState(false);

  return (
    <>
      <PageHeader
        title={domain.data?.domain ?? 'Active Directory'}
        back={<Link to="/admin/directories">← Directories</Link>}
        description={domain.data ? (domain.data.schema === 'ldap' ? 'LDAP directory (OpenLDAP, 389-ds, FreeIPA) · imported only' : `Active Directory domain · ${configurationLabel(domain.data.configuration)}`) : undefined}
        actions={canWrite && domain.data ? <SyncActions sync={sync} label="Full import now" requestedLabel="Full import requested" onDisconnect={() => setDisconnecting(true)} /> : undefined}
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
            <SyncTabPanels sync={sync} base={base} worker="agent" canWrite={canWrite} dir={d} directoryName={d.schema === 'ldap' ? 'the directory' : 'AD'} exportsTo={d.configuration !== 'ad_authoritative'} withExport={false} note={noAgentNote(state.data)} onRulesChanged={domain.reload} />
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
      <DeleteDialog open={disconnecting} title={`Disconnect ${domain.data?.domain ?? 'the domain'}`} confirmLabel="Disconnect" path={base} then="/admin/directories" onClose={() => setDisconnecting(false)}>
        <p>Its agents stop working at once and the sync stops. The users and groups it imported stay in Roster, unlinked; nothing changes in AD.</p>
      </DeleteDialog>
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
  const [removing, setRemoving] = useState<Agent>();
  const { run: add, busy: adding, error: addError } = useAction(async () => {
    setCreated(await api.post<Agent>(`${base}/agents`, {}));
    onChanged();
  });
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
  const form = useSettingsForm({
    dir: domain,
    path: `/api/v2/activedirectories/${domain.id}`,
    draftOf: (d): SettingsDraft => ({ ...rulesDraft(d), configuration: d.configuration, importScopeGroupDn: d.importScopeGroupDn ?? '', usersOu: d.usersOu ?? '', groupsOu: d.groupsOu ?? '' }),
    patchOf: (draft) => {
      const { patch, errors } = rulesPatch(draft, domain);
      if (draft.configuration !== domain.configuration) patch.configuration = draft.configuration;
      for (const key of ['importScopeGroupDn', 'usersOu', 'groupsOu'] as const) {
        const v = draft[key].trim();
        if (v !== (domain[key] ?? '')) patch[key] = v === '' ? null : v;
      }
      return { patch, errors };
    },
    needsConfirm: (patch) => patch.configuration !== undefined,
    onSaved,
  });
  const { draft, set, fields, confirming, confirm, cancelConfirm } = form;
  const writes = draft.configuration !== 'ad_authoritative';
  return (
    <Section title="Settings">
      <SettingsForm form={form} canWrite={canWrite}>
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
          onChange={set}
          configuration={draft.configuration}
          defaults={domain.schema === 'ldap' ? LDAP_DEFAULT_MAP : AD_DEFAULT_MAP}
          authorityAttributes={[...MAPPABLE, 'suspended', 'membership']}
          errors={fields}
          directoryWord={domain.schema === 'ldap' ? 'LDAP' : 'AD'}
        />
      </SettingsForm>
      {confirming && (
        <ConfirmDialog
          open
          danger={false}
          title={`Switch to ${configurationLabel(String(confirming.configuration))}`}
          confirmLabel="Switch"
          onClose={cancelConfirm}
          onConfirm={confirm}
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
