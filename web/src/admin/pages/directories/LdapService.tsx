import { useEffect, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { api, qs } from '../../../shared/api';
import { Alert, Button, Checkbox, ConfirmDialog, DataTable, Loaded, PageHeader, Pager, Properties, SelectField, TabPanel, Tabs, TextField, useAction, useAsync } from '../../../shared/ui';
import { ResourceAccess } from '../../components/ResourceAccess';
import { UserPicker } from '../../components/Pickers';
import { userLabel, type SystemUser } from '../../lookups';
import { useSession } from '../../session';
import { CopyBlock, fieldErrors, Section, useTab } from './common';
import { SettingsForm } from './sync';

interface LdapServer {
  id: string;
  name?: string;
  userLockoutAction?: 'disable' | 'remove';
  userPasswordExpirationAction?: 'disable' | 'remove';
  allowPlainBind?: boolean;
  userSearchAccess?: 'none' | 'self' | 'all';
  bindEventSampleRate?: number;
  searchEventSampleRate?: number;
}

/** The LDAP service's defaults (docs/ldap.md); the server does not publish its own. */
const LDAP_PORT = 1389;
const LDAPS_PORT = 1636;
const SUFFIX = 'dc=roster';

/** /admin/directories/ldap/:id — the LDAP service: settings, binding users, how to connect, who may use it. */
export function LdapService() {
  const { id = '' } = useParams();
  const server = useAsync((signal) => api.get<LdapServer>(`/api/v2/ldapservers/${id}`, { signal }), [id]);
  const [tab, setTab] = useTab('connect');
  return (
    <>
      <PageHeader
        title={server.data?.name ?? 'LDAP service'}
        back={<Link to="/admin/directories">← Directories</Link>}
        description="Roster's LDAP v3 service for on-premises and legacy resources: NAS drives, network gear, Linux logins, Kubernetes. Only users connected to it, directly or through a group, appear and can bind."
      />
      <Loaded state={server}>
        {(s) => (
          <>
            <Tabs
              label="LDAP service"
              current={tab}
              onChange={setTab}
              tabs={[
                { id: 'connect', label: 'Connect a client' },
                { id: 'binding', label: 'Binding users' },
                { id: 'settings', label: 'Settings' },
                { id: 'access', label: 'Users and groups' },
              ]}
            />
            {tab === 'connect' && (
              <TabPanel id="connect">
                <ConnectInfo server={s} />
              </TabPanel>
            )}
            {tab === 'binding' && (
              <TabPanel id="binding">
                <BindingUsers />
              </TabPanel>
            )}
            {tab === 'settings' && (
              <TabPanel id="settings">
                <LdapSettings server={s} onSaved={server.setData} />
              </TabPanel>
            )}
            {tab === 'access' && (
              <TabPanel id="access">
                <ResourceAccess path={`/api/v2/ldapservers/${s.id}`} name={s.name ?? 'the LDAP service'} />
              </TabPanel>
            )}
          </>
        )}
      </Loaded>
    </>
  );
}

function ConnectInfo({ server }: { server: LdapServer }) {
  const session = useSession();
  const org = session.organization;
  const host = window.location.hostname;
  const base = `o=${org},${SUFFIX}`;
  const binding = useAsync(
    (signal) => api.get<{ results: SystemUser[] }>(`/api/systemusers${qs({ filter: 'ldap_binding_user:$eq:true', limit: 1, fields: 'username' })}`, { signal }).then((r) => r.results[0]?.username),
    [],
  );
  const svc = binding.data ?? 'svc-ldap';
  return (
    <>
      <Section title="Connection" description="Point the client at these. Ports and the suffix are the server's configuration (ROSTER_LDAP_PORT, ROSTER_LDAPS_PORT, ROSTER_LDAP_SUFFIX); the defaults are shown.">
        <Properties
          items={[
            ['LDAPS (recommended)', <code>{`ldaps://${host}:${LDAPS_PORT}`}</code>],
            ['LDAP with StartTLS', <code>{`ldap://${host}:${LDAP_PORT}`}</code>],
            ['Base DN', <code>{base}</code>],
            ['Users', <code>{`ou=Users,${base}`}</code>],
            ['Groups', <code>{`ou=Groups,${base}`}</code>],
            ['Bind DN', <code>{`uid=<username>,ou=Users,${base}`}</code>],
            ['Schema', 'inetOrgPerson, posixAccount; groupOfNames with posixGroup (RFC 2307bis); memberOf'],
            ['Plain binds', server.allowPlainBind ? 'Allowed without TLS (change in Settings)' : 'Refused without TLS (LDAPS or StartTLS needed)'],
          ]}
        />
        {server.allowPlainBind && <Alert kind="warning">Binds without TLS are allowed: passwords cross the network in the clear. Turn this off in Settings once clients use LDAPS or StartTLS.</Alert>}
      </Section>
      <Section title="Who can bind" description="Resources bind as an LDAP binding user (a service account that reads the whole organization) to look users up, then bind as the user to check a password.">
        <ul>
          <li>
            Make a user a <strong>binding user</strong> under Binding users, and connect it to this service under Users and groups.
          </li>
          <li>
            Other connected users read {server.userSearchAccess === 'all' ? 'the whole organization' : server.userSearchAccess === 'none' ? 'nothing' : 'their own entry'} after binding (Settings).
          </li>
          <li>Anonymous sessions read only the root DSE and the schema.</li>
        </ul>
      </Section>
      <Section title="Examples">
        <CopyBlock
          label="Search with ldapsearch"
          multiline
          value={`ldapsearch -H ldaps://${host}:${LDAPS_PORT} -x \\\n  -D "uid=${svc},ou=Users,${base}" -W \\\n  -b "${base}" "(uid=ada)" uid cn mail uidNumber gidNumber memberOf`}
        />
        <CopyBlock
          label="SSSD (/etc/sssd/sssd.conf)"
          multiline
          value={`[domain/roster]\nid_provider = ldap\nauth_provider = ldap\nldap_uri = ldaps://${host}:${LDAPS_PORT}\nldap_search_base = ${base}\nldap_default_bind_dn = uid=${svc},ou=Users,${base}\nldap_default_authtok = <password>\nldap_schema = rfc2307bis\nldap_group_member = member\nldap_tls_cacert = /etc/ssl/certs/roster-ca.pem`}
        />
      </Section>
    </>
  );
}

const PAGE = 20;

/** Users with `ldap_binding_user`: list, add (PUT the flag on), remove (PUT it off, after asking). */
function BindingUsers() {
  const session = useSession();
  const canEdit = session.can('users:write');
  const [skip, setSkip] = useState(0);
  const [tick, setTick] = useState(0);
  const [removing, setRemoving] = useState<SystemUser>();
  const users = useAsync(
    (signal) =>
      api
        .get<{ totalCount: number; results: SystemUser[] }>(`/api/systemusers${qs({ filter: 'ldap_binding_user:$eq:true', limit: PAGE, skip, sort: 'username', fields: 'username email firstname lastname displayname state suspended ldap_binding_user' })}`, { signal })
        .then((r) => ({ items: r.results, total: r.totalCount })),
    [skip, tick],
  );
  const setFlag = async (user: SystemUser, on: boolean) => {
    await api.put(`/api/systemusers/${user._id}`, { ldap_binding_user: on });
    setTick((t) => t + 1);
  };
  return (
    <Section title="LDAP binding users" description="Service accounts that resources (NAS, SSSD, network gear) bind with to look users up. They read the whole organization, so keep them few, with long random passwords. A binding user must also be connected to this service to bind.">
      {canEdit && <UserPicker label="Find a user to make a binding user" action="Make binding user" onPick={(u) => setFlag(u, true)} exclude={users.data?.items.map((u) => u._id) ?? []} />}
      <Loaded state={users}>
        {(data) => (
          <>
            <DataTable
              caption="LDAP binding users"
              rows={data.items}
              rowKey={(u) => u._id}
              busy={users.loading}
              empty={canEdit ? 'No binding user yet: find the service account above and make it a binding user.' : 'No binding user yet.'}
              columns={[
                { header: 'User', cell: (u) => <Link to={`/admin/users/${u._id}`}>{userLabel(u, u._id)}</Link> },
                { header: 'Username', cell: (u) => <code>{u.username}</code> },
                { header: 'Email', cell: (u) => u.email },
                { header: 'State', cell: (u) => (u.suspended || u.state === 'SUSPENDED' ? 'Suspended' : u.state === 'STAGED' ? 'Staged' : 'Active') },
                ...(canEdit
                  ? [
                      {
                        header: <span className="visually-hidden">Actions</span>,
                        cell: (u: SystemUser) => (
                          <Button variant="ghost" onClick={() => setRemoving(u)} aria-label={`Stop ${u.username} being a binding user`}>
                            Remove
                          </Button>
                        ),
                      },
                    ]
                  : []),
              ]}
            />
            <Pager skip={skip} limit={PAGE} total={data.total} onChange={setSkip} label="Binding user pages" />
          </>
        )}
      </Loaded>
      {removing && (
        <ConfirmDialog open title={`Stop ${removing.username} being a binding user`} confirmLabel="Remove" onClose={() => setRemoving(undefined)} onConfirm={() => setFlag(removing, false)}>
          <p>Resources that bind as {removing.username} to look users up lose the right to read the whole organization: {removing.username} then reads only what other users read (Settings). The user itself stays.</p>
        </ConfirmDialog>
      )}
    </Section>
  );
}

/** What becomes of users whose binds are refused (locked, or their password expired). */
const REFUSED_USERS = [
  { value: 'disable', label: 'Stay in searches (binds are refused)' },
  { value: 'remove', label: 'Disappear from searches' },
];

function LdapSettings({ server, onSaved }: { server: LdapServer; onSaved: (s: LdapServer) => void }) {
  const session = useSession();
  const canWrite = session.can('directories:write');
  const initial = () => ({
    name: server.name ?? '',
    userLockoutAction: server.userLockoutAction ?? 'disable',
    userPasswordExpirationAction: server.userPasswordExpirationAction ?? 'disable',
    allowPlainBind: server.allowPlainBind ?? false,
    userSearchAccess: server.userSearchAccess ?? 'self',
    bindRate: String(Math.round((server.bindEventSampleRate ?? 1) * 1000) / 10),
    searchRate: String(Math.round((server.searchEventSampleRate ?? 0.01) * 1000) / 10),
  });
  const [f, setF] = useState(initial);
  useEffect(() => setF(initial()), [server]); // eslint-disable-line react-hooks/exhaustive-deps
  const set = (patch: Partial<ReturnType<typeof initial>>) => setF((v) => ({ ...v, ...patch }));
  const [saved, setSaved] = useState(false);
  const [local, setLocal] = useState<Record<string, string>>({});
  const { run: save, busy, error } = useAction(async (body: Partial<LdapServer>) => {
    onSaved(await api.patch<LdapServer>(`/api/v2/ldapservers/${server.id}`, body));
    setSaved(true);
  });
  const fields = { ...fieldErrors(error), ...local };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const errors: Record<string, string> = {};
    const rate = (text: string, key: string) => {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) errors[key] = 'Enter a percentage from 0 to 100.';
      return n / 100;
    };
    const body = {
      ...(f.name.trim() ? { name: f.name.trim() } : {}),
      userLockoutAction: f.userLockoutAction,
      userPasswordExpirationAction: f.userPasswordExpirationAction,
      allowPlainBind: f.allowPlainBind,
      userSearchAccess: f.userSearchAccess,
      bindEventSampleRate: rate(f.bindRate, 'bindEventSampleRate'),
      searchEventSampleRate: rate(f.searchRate, 'searchEventSampleRate'),
    };
    if (!f.name.trim()) errors.name = 'Enter a name.';
    setLocal(errors);
    setSaved(false);
    if (Object.keys(errors).length > 0) return;
    void save(body);
  };

  return (
    <Section title="Settings">
      <SettingsForm form={{ submit, error, saved, busy }} canWrite={canWrite}>
        <TextField label="Name" value={f.name} onChange={(e) => set({ name: e.target.value })} error={fields.name} />
        <SelectField
          label="Locked users"
          value={f.userLockoutAction}
          onChange={(e) => set({ userLockoutAction: e.target.value as 'disable' | 'remove' })}
          options={REFUSED_USERS}
          error={fields.userLockoutAction}
        />
        <SelectField
          label="Users whose password expired"
          value={f.userPasswordExpirationAction}
          onChange={(e) => set({ userPasswordExpirationAction: e.target.value as 'disable' | 'remove' })}
          options={REFUSED_USERS}
          error={fields.userPasswordExpirationAction}
        />
        <SelectField
          label="What other users read after binding"
          value={f.userSearchAccess}
          onChange={(e) => set({ userSearchAccess: e.target.value as 'none' | 'self' | 'all' })}
          options={[
            { value: 'self', label: 'Their own entry' },
            { value: 'all', label: 'The whole organization' },
            { value: 'none', label: 'Nothing' },
          ]}
          hint="Binding users always read the whole organization."
          error={fields.userSearchAccess}
        />
        <Checkbox
          label="Allow binds without TLS"
          checked={f.allowPlainBind}
          onChange={(e) => set({ allowPlainBind: e.target.checked })}
          hint="Passwords then cross the network in the clear. Leave off unless a client cannot use LDAPS or StartTLS."
        />
        <div className="grid-2">
          <TextField label="Successful binds journaled (%)" inputMode="decimal" value={f.bindRate} onChange={(e) => set({ bindRate: e.target.value })} hint="Failed binds are always journaled." error={fields.bindEventSampleRate} />
          <TextField label="Searches journaled (%)" inputMode="decimal" value={f.searchRate} onChange={(e) => set({ searchRate: e.target.value })} error={fields.searchEventSampleRate} />
        </div>
      </SettingsForm>
    </Section>
  );
}
