import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, qs } from '../../shared/api';
import { Alert, Badge, Button, Checkbox, ConfirmDialog, DataTable, Dialog, ErrorAlert, Loaded, PageHeader, Properties, TabPanel, Tabs, TextField, Time, useAsync } from '../../shared/ui';
import { SaveActions, useSubmit } from '../components/forms';
import { GroupPicker } from '../components/Pickers';
import { groupsByIds, userLabel, type GraphObject, type SystemUser } from '../lookups';
import { useSession } from '../session';
import { UserState } from './Users';

type Confirm = { title: string; body: string; label: string; run: () => Promise<unknown>; danger?: boolean };

/** One user: details and edits, the account actions an admin needs, groups, access and sessions. */
export function UserDetail() {
  const { id = '' } = useParams();
  const session = useSession();
  const navigate = useNavigate();
  const [tab, setTab] = useState('details');
  const [confirm, setConfirm] = useState<Confirm>();
  const [notice, setNotice] = useState<string>();
  const [resetting, setResetting] = useState(false);
  const user = useAsync((signal) => api.get<SystemUser>(`/api/systemusers/${id}`, { signal }), [id]);
  const canWrite = session.can('users:write');

  const act = (c: Confirm) => setConfirm(c);
  const done = (message: string) => {
    setNotice(message);
    user.reload();
  };

  return (
    <Loaded state={user} label="Loading user…">
      {(u) => {
        const name = userLabel(u, u._id);
        const suspended = u.state === 'SUSPENDED' || u.suspended === true;
        return (
          <>
            <PageHeader
              back={<Link to="/admin/users">← Users</Link>}
              title={name}
              description={
                <>
                  {u.username} · {u.email} · <UserState user={u} />
                </>
              }
              actions={
                canWrite && (
                  <>
                    {suspended ? (
                      <Button onClick={() => act({ title: `Restore ${name}?`, body: 'The user can sign in again and regains access to everything they are connected to.', label: 'Restore', danger: false, run: () => api.put(`/api/systemusers/${u._id}`, { suspended: false, state: 'ACTIVATED' }).then(() => done(`${name} is active again.`)) })}>
                        Restore
                      </Button>
                    ) : (
                      <Button onClick={() => act({ title: `Suspend ${name}?`, body: 'The user is signed out everywhere and cannot sign in to the portal, applications, LDAP or RADIUS. Connected directories suspend the account too.', label: 'Suspend', run: () => api.put(`/api/systemusers/${u._id}`, { suspended: true }).then(() => done(`${name} is suspended.`)) })}>
                        Suspend
                      </Button>
                    )}
                    {u.account_locked && (
                      <Button onClick={() => act({ title: `Unlock ${name}?`, body: 'Clears the lockout after failed sign-ins.', label: 'Unlock', danger: false, run: () => api.post(`/api/systemusers/${u._id}/unlock`).then(() => done(`${name} is unlocked.`)) })}>
                        Unlock
                      </Button>
                    )}
                    <Button onClick={() => setResetting(true)}>Reset password</Button>
                    <Button onClick={() => act({ title: `Reset ${name}'s MFA?`, body: "Removes the user's authenticator app, security keys, passkeys and recovery codes. They set up a new one at their next sign-in.", label: 'Reset MFA', run: () => api.post(`/api/systemusers/${u._id}/resetmfa`, {}).then(() => done(`${name}'s second factors are removed.`)) })}>
                      Reset MFA
                    </Button>
                    {session.can('users:delete') && (
                      <Button variant="danger" onClick={() => act({ title: `Delete ${name}?`, body: 'The user, their memberships and their access are removed for good. Suspend instead to keep the record.', label: 'Delete user', run: () => api.delete(`/api/systemusers/${u._id}`).then(() => navigate('/admin/users')) })}>
                        Delete
                      </Button>
                    )}
                  </>
                )
              }
            />
            {notice && <Alert kind="success">{notice}</Alert>}
            <Tabs
              label="User"
              current={tab}
              onChange={setTab}
              tabs={[
                { id: 'details', label: 'Details' },
                { id: 'groups', label: 'Groups' },
                { id: 'access', label: 'Access' },
                { id: 'security', label: 'Security' },
              ]}
            />
            {tab === 'details' && (
              <TabPanel id="details">
                <UserForm user={u} canWrite={canWrite} onSaved={(saved) => (user.setData(saved), setNotice('Saved.'))} />
              </TabPanel>
            )}
            {tab === 'groups' && (
              <TabPanel id="groups">
                <UserGroups userId={u._id} canWrite={session.can('groups:write')} />
              </TabPanel>
            )}
            {tab === 'access' && (
              <TabPanel id="access">
                <UserAccess userId={u._id} />
              </TabPanel>
            )}
            {tab === 'security' && (
              <TabPanel id="security">
                <UserSecurity user={u} canWrite={canWrite} />
              </TabPanel>
            )}
            {confirm && (
              <ConfirmDialog open title={confirm.title} confirmLabel={confirm.label} danger={confirm.danger ?? true} onClose={() => setConfirm(undefined)} onConfirm={confirm.run}>
                <p>{confirm.body}</p>
              </ConfirmDialog>
            )}
            {resetting && <ResetPassword user={u} onClose={() => setResetting(false)} onDone={() => (setResetting(false), done(`${name} has a new password.`))} />}
          </>
        );
      }}
    </Loaded>
  );
}

const EDITABLE: { key: string; label: string; type?: string }[] = [
  { key: 'firstname', label: 'First name' },
  { key: 'lastname', label: 'Last name' },
  { key: 'displayname', label: 'Display name' },
  { key: 'username', label: 'Username' },
  { key: 'email', label: 'Email', type: 'email' },
  { key: 'alternateEmail', label: 'Alternate email', type: 'email' },
  { key: 'jobTitle', label: 'Job title' },
  { key: 'department', label: 'Department' },
  { key: 'company', label: 'Company' },
  { key: 'location', label: 'Location' },
  { key: 'employeeIdentifier', label: 'Employee ID' },
  { key: 'employeeType', label: 'Employee type' },
];

function UserForm({ user, canWrite, onSaved }: { user: SystemUser; canWrite: boolean; onSaved: (u: SystemUser) => void }) {
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(EDITABLE.map((f) => [f.key, String(user[f.key] ?? '')])));
  const [ldapBinding, setLdapBinding] = useState(user.ldap_binding_user === true);
  const { submit, busy, error } = useSubmit(async () => {
    const changed = Object.fromEntries(EDITABLE.filter((f) => values[f.key] !== String(user[f.key] ?? '')).map((f) => [f.key, values[f.key]]));
    if (ldapBinding !== (user.ldap_binding_user === true)) changed.ldap_binding_user = ldapBinding as never;
    onSaved(Object.keys(changed).length > 0 ? await api.put<SystemUser>(`/api/systemusers/${user._id}`, changed) : user);
  });
  const details = (error as { details?: { field?: string; message: string }[] } | undefined)?.details ?? [];
  return (
    <form onSubmit={submit} className="card" noValidate>
      {user.externally_managed && <Alert kind="info">This user comes from {user.external_source_type || 'a connected directory'}; attributes that directory owns are overwritten by its next sync.</Alert>}
      <ErrorAlert error={error} />
      <div className="grid-2">
        {EDITABLE.map((f) => (
          <TextField
            key={f.key}
            label={f.label}
            type={f.type ?? 'text'}
            value={values[f.key] ?? ''}
            disabled={!canWrite}
            onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
            error={details.filter((d) => d.field === f.key).map((d) => d.message).join('; ') || undefined}
          />
        ))}
      </div>
      <Checkbox label="LDAP binding user" hint="May bind to the LDAP service to search the directory (service accounts of LDAP clients)." checked={ldapBinding} disabled={!canWrite} onChange={(e) => setLdapBinding(e.target.checked)} />
      <Properties
        items={[
          ['User id', <code key="id">{user._id}</code>],
          ['Created', <Time key="c" iso={user.created} />],
          ['Password expires', <Time key="p" iso={user.password_expiration_date} />],
        ]}
      />
      {canWrite && <SaveActions busy={busy} label="Save changes" />}
    </form>
  );
}

function ResetPassword({ user, onClose, onDone }: { user: SystemUser; onClose: () => void; onDone: () => void }) {
  const [password, setPassword] = useState('');
  const [expire, setExpire] = useState(true);
  const { submit, busy, error } = useSubmit(async () => {
    await api.put(`/api/systemusers/${user._id}`, { password });
    if (expire) await api.post(`/api/systemusers/${user._id}/expire`);
    onDone();
  });
  return (
    <Dialog open title={`Reset ${userLabel(user, user._id)}'s password`} onClose={onClose}>
      <form onSubmit={submit}>
        <p className="muted">The new password must meet the organization's password policy. Connected directories that receive passwords get it too, and may refuse it.</p>
        <ErrorAlert error={error} />
        <TextField label="New password" type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} autoFocus />
        <Checkbox label="Ask the user to change it at next sign-in" checked={expire} onChange={(e) => setExpire(e.target.checked)} />
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={busy} disabled={!password}>
            Set password
          </Button>
          <Button onClick={onClose}>Cancel</Button>
        </div>
      </form>
    </Dialog>
  );
}

/** The groups a user is in: directly, and the groups those are nested in. */
function UserGroups({ userId, canWrite }: { userId: string; canWrite: boolean }) {
  const [tick, setTick] = useState(0);
  const groups = useAsync(async (signal) => {
    const page = await api.page<GraphObject>(`/api/v2/users/${userId}/memberof${qs({ limit: 100 })}`, { signal });
    const names = await groupsByIds(page.items.flatMap((o) => [o.id, ...o.paths.flat().map((s) => s.to.id)]));
    return { ...page, names };
  }, [userId, tick]);
  const [removing, setRemoving] = useState<{ id: string; name: string }>();
  return (
    <>
      {canWrite && <GroupPicker label="Add to a group" action="Add to group" onPick={async (g) => (await api.post(`/api/v2/usergroups/${g.id}/members`, { op: 'add', type: 'user', id: userId }), setTick((t) => t + 1))} />}
      <Loaded state={groups}>
        {(data) => (
          <DataTable
            caption="Groups of this user"
            rows={data.items}
            rowKey={(o) => o.id}
            empty="Not in any group."
            columns={[
              { header: 'Group', cell: (o) => <Link to={`/admin/groups/${o.id}`}>{data.names.get(o.id)?.name ?? o.id}</Link> },
              {
                header: 'Membership',
                cell: (o) => {
                  const direct = o.paths.some((p) => p.length <= 1);
                  const via = o.paths.filter((p) => p.length > 1).map((p) => p[0]!.to.id);
                  return (
                    <>
                      {direct && <Badge kind="info">Direct member</Badge>} {via.map((v) => <span key={v}>Through {data.names.get(v)?.name ?? v} </span>)}
                    </>
                  );
                },
              },
              {
                header: <span className="visually-hidden">Actions</span>,
                cell: (o) =>
                  canWrite && o.paths.some((p) => p.length <= 1) ? (
                    <Button variant="ghost" onClick={() => setRemoving({ id: o.id, name: data.names.get(o.id)?.name ?? o.id })}>
                      Remove
                    </Button>
                  ) : null,
              },
            ]}
          />
        )}
      </Loaded>
      {removing && (
        <ConfirmDialog open title={`Remove from ${removing.name}?`} confirmLabel="Remove" onClose={() => setRemoving(undefined)} onConfirm={async () => (await api.post(`/api/v2/usergroups/${removing.id}/members`, { op: 'remove', type: 'user', id: userId }), setTick((t) => t + 1))}>
          <p>The user loses what the group (and the groups it is in) grants them, unless something else grants it too.</p>
        </ConfirmDialog>
      )}
    </>
  );
}

const ACCESS: { segment: string; title: string; name: (id: string) => Promise<string>; link: (o: GraphObject) => string }[] = [
  { segment: 'applications', title: 'Applications', name: (id) => api.get<{ displayLabel?: string; name?: string }>(`/api/applications/${id}`).then((a) => a.displayLabel || a.name || id), link: (o) => `/admin/applications/${o.id}` },
  { segment: 'ldapservers', title: 'LDAP service', name: (id) => api.get<{ name?: string }>(`/api/v2/ldapservers/${id}`).then((a) => a.name || id), link: (o) => `/admin/directories/ldap/${o.id}` },
  { segment: 'radiusservers', title: 'RADIUS servers', name: (id) => api.get<{ name?: string }>(`/api/radiusservers/${id}`).then((a) => a.name || id), link: (o) => `/admin/radius/${o.id}` },
  { segment: 'directories', title: 'Directories', name: async (id) => id, link: () => '/admin/directories' },
];

/** What the user can reach, and how: directly or through which group. */
function UserAccess({ userId }: { userId: string }) {
  const access = useAsync(async (signal) => {
    const sections = await Promise.all(
      ACCESS.map(async (a) => {
        const page = await api.page<GraphObject>(`/api/v2/users/${userId}/${a.segment}${qs({ limit: 100 })}`, { signal });
        const names = new Map(await Promise.all(page.items.map(async (o) => [o.id, await a.name(o.id).catch(() => o.id)] as const)));
        return { ...a, items: page.items, names };
      }),
    );
    const groupIds = sections.flatMap((s) => s.items.flatMap((o) => o.paths.flat().filter((st) => st.to.type === 'user_group').map((st) => st.to.id)));
    return { sections, groups: await groupsByIds(groupIds) };
  }, [userId]);
  return (
    <Loaded state={access}>
      {(data) => (
        <>
          {data.sections.map((s) => (
            <section key={s.segment} className="card">
              <h2>{s.title}</h2>
              <DataTable
                caption={s.title}
                rows={s.items}
                rowKey={(o) => o.id}
                empty="None."
                columns={[
                  { header: 'Name', cell: (o) => <Link to={s.link(o)}>{s.names.get(o.id) ?? o.id}</Link> },
                  {
                    header: 'Connected',
                    cell: (o) => (
                      <ul className="plain-list">
                        {o.paths.map((p, i) => {
                          const groups = p.filter((st) => st.to.type === 'user_group').map((st) => data.groups.get(st.to.id)?.name ?? st.to.id);
                          return <li key={i}>{groups.length === 0 ? <Badge kind="info">Directly</Badge> : `Through group ${groups.join(' → ')}`}</li>;
                        })}
                      </ul>
                    ),
                  },
                ]}
              />
            </section>
          ))}
        </>
      )}
    </Loaded>
  );
}

interface SessionRow {
  created: string;
  lastSeen: string;
  expires: string;
  mfa: string | null;
  ip: string;
  userAgent: string;
}

function UserSecurity({ user, canWrite }: { user: SystemUser; canWrite: boolean }) {
  const [tick, setTick] = useState(0);
  const state = useAsync(async (signal) => {
    const [sessions, keys, totp] = await Promise.all([
      api.get<SessionRow[]>(`/api/v2/users/${user._id}/sessions`, { signal }),
      api.get<{ id: string; name: string; created: string; lastUsed?: string | null }[]>(`/api/v2/users/${user._id}/webauthn`, { signal }),
      api.get<{ confirmed: boolean; enrolledAt: string | null }>(`/api/v2/users/${user._id}/totp`, { signal }),
    ]);
    return { sessions, keys, totp };
  }, [user._id, tick]);
  const [ending, setEnding] = useState(false);
  return (
    <Loaded state={state}>
      {(data) => (
        <>
          <section className="card">
            <h2>Second factors</h2>
            <Properties
              items={[
                ['Authenticator app', data.totp.confirmed ? <Badge kind="good">Set up</Badge> : <span className="muted">None</span>],
                ['Security keys and passkeys', data.keys.length === 0 ? <span className="muted">None</span> : data.keys.map((k) => k.name).join(', ')],
                ['MFA exemption', user.mfa?.exclusion ? (user.mfa.exclusionUntil ? <>Until <Time iso={user.mfa.exclusionUntil} /></> : 'Exempt') : <span className="muted">None</span>],
              ]}
            />
          </section>
          <section className="card">
            <h2>Sign-in sessions</h2>
            <DataTable
              caption="Sign-in sessions"
              rows={data.sessions}
              rowKey={(s) => s.created + s.ip}
              empty="No live session."
              columns={[
                { header: 'Started', cell: (s) => <Time iso={s.created} /> },
                { header: 'Last seen', cell: (s) => <Time iso={s.lastSeen} relative /> },
                { header: 'Second factor', cell: (s) => s.mfa ?? <span className="muted">—</span> },
                { header: 'From', cell: (s) => s.ip },
                { header: 'Browser', cell: (s) => <span className="muted">{s.userAgent.slice(0, 60)}</span> },
              ]}
            />
            {canWrite && data.sessions.length > 0 && (
              <div className="form-actions">
                <Button onClick={() => setEnding(true)}>Sign out everywhere</Button>
              </div>
            )}
          </section>
          {ending && (
            <ConfirmDialog open title="Sign the user out everywhere?" confirmLabel="Sign out" onClose={() => setEnding(false)} onConfirm={async () => (await api.delete(`/api/v2/users/${user._id}/sessions`), setTick((t) => t + 1))}>
              <p>Every sign-in session of the user ends now; applications they opened keep their own sessions.</p>
            </ConfirmDialog>
          )}
        </>
      )}
    </Loaded>
  );
}
