import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, qs } from '../../shared/api';
import { Badge, Button, Checkbox, DataTable, Dialog, ErrorAlert, Loaded, PageHeader, Pager, SelectField, TextField, Time, useAsync } from '../../shared/ui';
import { useSubmit } from '../components/forms';
import { SearchField, useListParams } from '../components/list-state';
import { userLabel, type SystemUser } from '../lookups';
import { useSession } from '../session';
import { ImportUsers } from './ImportUsers';

const PAGE = 50;
const FIELDS = 'username email firstname lastname displayname state suspended account_locked created department totp_enabled mfa externally_managed external_source_type';

const STATES = [
  { value: '', label: 'All states' },
  { value: 'ACTIVATED', label: 'Active' },
  { value: 'STAGED', label: 'Staged' },
  { value: 'SUSPENDED', label: 'Suspended' },
  { value: 'locked', label: 'Locked out' },
];

const SORTS = [
  { value: 'username', label: 'Username (A–Z)' },
  { value: '-username', label: 'Username (Z–A)' },
  { value: 'lastname', label: 'Last name' },
  { value: 'email', label: 'Email' },
  { value: '-created', label: 'Newest first' },
  { value: 'created', label: 'Oldest first' },
];

export function UserState({ user }: { user: SystemUser }) {
  if (user.account_locked) return <Badge kind="bad">Locked</Badge>;
  if (user.state === 'SUSPENDED' || user.suspended) return <Badge kind="warn">Suspended</Badge>;
  if (user.state === 'STAGED') return <Badge>Staged</Badge>;
  return <Badge kind="good">Active</Badge>;
}

/** Users: search, filter, sort and page through the directory (the URL keeps the view, so it can be shared and reloaded). */
export function Users() {
  const session = useSession();
  const navigate = useNavigate();
  const { params, term, skip, typed, setTyped, set, setSkip } = useListParams();
  const state = params.get('state') ?? '';
  const sort = params.get('sort') ?? 'username';
  const [creating, setCreating] = useState(false);
  const [importing, setImporting] = useState(false);

  const users = useAsync(
    (signal) =>
      api.get<{ totalCount: number; results: SystemUser[] }>(
        `/api/systemusers${qs({
          limit: PAGE,
          skip,
          sort,
          fields: FIELDS,
          ...(term ? { 'search[searchTerm]': term, 'search[fields][]': ['username', 'email', 'firstname', 'lastname', 'displayname'] } : {}),
          ...(state === 'locked' ? { filter: 'account_locked:$eq:true' } : state ? { filter: `state:$eq:${state}` } : {}),
        })}`,
        { signal },
      ),
    [term, state, sort, skip],
  );

  return (
    <>
      <PageHeader
        title="Users"
        description="Everyone in the directory. Search by name, username or email."
        actions={
          session.can('users:write') && (
            <>
              <Button onClick={() => setImporting(true)}>Import CSV</Button>
              <Button variant="primary" onClick={() => setCreating(true)}>
                New user
              </Button>
            </>
          )
        }
      />
      <div className="toolbar" role="search">
        <SearchField label="Search users" value={typed} onChange={setTyped} placeholder="Name, username or email" />
        <SelectField label="State" value={state} options={STATES} onChange={(e) => set({ state: e.target.value, skip: 0 })} />
        <SelectField label="Sort by" value={sort} options={SORTS} onChange={(e) => set({ sort: e.target.value, skip: 0 })} />
      </div>
      <Loaded state={users} label="Loading users…">
        {(data) => (
          <>
            <DataTable
              caption="Users"
              rows={data.results}
              rowKey={(u) => u._id}
              busy={users.loading}
              empty={term || state ? 'No user matches this search.' : 'No users yet. Create one, import a CSV file with roster users import, or connect a directory.'}
              columns={[
                { header: 'Name', cell: (u) => <Link to={`/admin/users/${u._id}`}>{userLabel(u, u._id)}</Link> },
                { header: 'Username', cell: (u) => u.username },
                { header: 'Email', cell: (u) => u.email },
                { header: 'State', cell: (u) => <UserState user={u} /> },
                { header: 'MFA', cell: (u) => (u.mfa?.configured || u.totp_enabled ? <Badge kind="good">On</Badge> : <span className="muted">Off</span>) },
                { header: 'Source', cell: (u) => (u.externally_managed ? <Badge kind="info">{u.external_source_type || 'Directory'}</Badge> : <span className="muted">Roster</span>) },
                { header: 'Created', cell: (u) => <Time iso={u.created} /> },
              ]}
            />
            <Pager skip={skip} limit={PAGE} total={data.totalCount} onChange={setSkip} label="User pages" />
          </>
        )}
      </Loaded>
      {importing && <ImportUsers onClose={() => setImporting(false)} onImported={users.reload} />}
      {creating && <CreateUser onClose={() => setCreating(false)} onCreated={(u) => navigate(`/admin/users/${u._id}`)} />}
    </>
  );
}

function CreateUser({ onClose, onCreated }: { onClose: () => void; onCreated: (u: SystemUser) => void }) {
  const [form, setForm] = useState({ username: '', email: '', firstname: '', lastname: '', password: '', activated: true });
  const fieldError = (name: string) => {
    const details = (error as { details?: { field?: string; message: string }[] } | undefined)?.details ?? [];
    const d = details.filter((x) => x.field === name);
    return d.length > 0 ? d.map((x) => x.message).join('; ') : undefined;
  };
  const { submit, busy, error } = useSubmit(async () => {
    const body: Record<string, unknown> = { username: form.username.trim(), email: form.email.trim(), firstname: form.firstname, lastname: form.lastname, state: form.activated ? 'ACTIVATED' : 'STAGED' };
    if (form.password) body.password = form.password;
    onCreated(await api.post<SystemUser>('/api/systemusers', body));
  });
  const bind = (name: keyof typeof form) => ({ value: String(form[name]), onChange: (e: { target: { value: string } }) => setForm({ ...form, [name]: e.target.value }) });
  return (
    <Dialog open title="New user" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorAlert error={error} />
        <TextField label="Username" required autoComplete="off" {...bind('username')} error={fieldError('username')} autoFocus />
        <TextField label="Email" type="email" required autoComplete="off" {...bind('email')} error={fieldError('email')} />
        <div className="grid-2">
          <TextField label="First name" {...bind('firstname')} error={fieldError('firstname')} />
          <TextField label="Last name" {...bind('lastname')} error={fieldError('lastname')} />
        </div>
        <TextField label="Password" type="password" autoComplete="new-password" hint="Optional: leave empty and the user sets one later, or set one for them now." {...bind('password')} error={fieldError('password')} />
        <Checkbox label="Active now" hint="A staged user exists but cannot sign in until activated." checked={form.activated} onChange={(e) => setForm({ ...form, activated: e.target.checked })} />
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={busy}>
            Create user
          </Button>
          <Button onClick={onClose}>Cancel</Button>
        </div>
      </form>
    </Dialog>
  );
}
