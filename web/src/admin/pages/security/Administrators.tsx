import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api } from '../../../shared/api';
import { Badge, Button, Checkbox, DataTable, ErrorAlert, Loaded, PageHeader, Pager, SelectField, TextField, Time, useAsync, type Async } from '../../../shared/ui';
import { FormDialog, useSubmit } from '../../components/forms';
import { SearchField, useListSearch } from '../../components/list-state';
import { useSession } from '../../session';
import { contains, CopyButton, EmptyState, fieldError, randomPassword, useV1List } from '../resources/common';
import { adminName, ROLE_SUMMARIES, type Administrator, type Role } from './types';

const PAGE = 20;

/** The roles the API offers, and which of them the signed-in administrator may hand out (never beyond their own). */
export function useRoles(): Async<Role[]> & { grantable: (role: Role) => boolean } {
  const session = useSession();
  const roles = useAsync((signal) => api.get<Role[]>('/api/v2/roles', { signal }), []);
  return { ...roles, grantable: (role) => role.permissions.every((p) => session.can(p.name)) };
}

/** Administrators: who manages the directory, with which role. */
export function Administrators() {
  const session = useSession();
  const canWrite = session.can('admins:write');
  const [role, setRole] = useState('');
  const { search, setSearch, term, skip, setSkip } = useListSearch();
  const [creating, setCreating] = useState(false);
  const roles = useRoles();
  const list = useV1List<Administrator>('/api/users', {
    search: term,
    skip,
    limit: PAGE,
    sort: 'email',
    filter: role ? `roleName:$eq:${role}` : undefined,
    matches: (a, t) => contains(t, a.email, a.firstname, a.lastname, `${a.firstname} ${a.lastname}`),
  });

  return (
    <>
      <PageHeader
        title="Administrators"
        description="The people who manage this organization in Roster. They are separate from the directory's users, and each has one role."
        actions={
          canWrite && (
            <Button variant="primary" onClick={() => setCreating(true)}>
              New administrator
            </Button>
          )
        }
      />
      <form className="toolbar rs-toolbar" role="search" onSubmit={(e) => e.preventDefault()}>
        <SearchField label="Search administrators" hint="Name or email" value={search} onChange={setSearch} />
        <SelectField
          label="Role"
          options={[{ value: '', label: 'Any role' }, ...(roles.data ?? []).map((r) => ({ value: r.name, label: r.name }))]}
          value={role}
          onChange={(e) => {
            setRole(e.target.value);
            setSkip(0);
          }}
        />
      </form>
      <Loaded state={list}>
        {(data) => (
          <>
            <DataTable
              caption="Administrators"
              rows={data.items}
              rowKey={(a) => a._id}
              busy={list.loading}
              empty={term || role ? 'No administrator matches.' : 'No administrators.'}
              columns={[
                {
                  header: 'Administrator',
                  cell: (a) => (
                    <>
                      <Link to={`/admin/administrators/${a._id}`}>{adminName(a)}</Link> {a._id === session.admin.id && <Badge kind="info">You</Badge>}
                      {adminName(a) !== a.email && <div className="muted rs-small">{a.email}</div>}
                    </>
                  ),
                },
                { header: 'Role', cell: (a) => a.roleName },
                { header: 'Two-step sign-in', cell: (a) => (a.enableMultiFactor ? <Badge kind="good">Required</Badge> : <span className="muted">Optional</span>) },
                { header: 'Status', cell: (a) => (a.suspended ? <Badge kind="bad">Suspended</Badge> : <Badge kind="good">Active</Badge>) },
                { header: 'Added', cell: (a) => <Time iso={a.created} /> },
              ]}
            />
            <Pager skip={skip} limit={PAGE} total={data.total} onChange={setSkip} label="Administrator pages" />
          </>
        )}
      </Loaded>
      <RoleGuide roles={roles} />
      {creating && <NewAdministratorDialog roles={roles} onClose={() => setCreating(false)} />}
    </>
  );
}

/** What each role may do: the API's roles and permissions. */
export function RoleGuide({ roles }: { roles: Async<Role[]> }) {
  return (
    <section className="rs-gap" aria-labelledby="roles-title">
      <h2 id="roles-title">What each role may do</h2>
      <Loaded state={roles}>
        {(list) =>
          list.length === 0 ? (
            <EmptyState title="No roles" />
          ) : (
            <div className="rs-roles">
              {list.map((r) => (
                <div className="rs-role" key={r.name}>
                  <h3>{r.name}</h3>
                  {ROLE_SUMMARIES[r.name] && <p className="rs-small">{ROLE_SUMMARIES[r.name]}</p>}
                  <details>
                    <summary className="rs-small">
                      {r.permissions.length} permission{r.permissions.length === 1 ? '' : 's'}
                    </summary>
                    <ul>
                      {r.permissions.map((p) => (
                        <li key={p.name}>
                          <code>{p.name}</code> {p.description}
                        </li>
                      ))}
                    </ul>
                  </details>
                </div>
              ))}
            </div>
          )
        }
      </Loaded>
      <p className="muted rs-small">No one can give a role, or manage an administrator holding one, with a permission they lack themselves. An organization always keeps at least one active administrator who can manage administrators.</p>
    </section>
  );
}

function NewAdministratorDialog({ roles, onClose }: { roles: ReturnType<typeof useRoles>; onClose: () => void }) {
  const navigate = useNavigate();
  const grantable = (roles.data ?? []).filter(roles.grantable);
  const [email, setEmail] = useState('');
  const [firstname, setFirstname] = useState('');
  const [lastname, setLastname] = useState('');
  const [roleName, setRoleName] = useState(grantable.find((r) => r.name === 'Help Desk')?.name ?? grantable[0]?.name ?? '');
  const [mfa, setMfa] = useState(true);
  const [password, setPassword] = useState('');

  const { submit, busy, error } = useSubmit(async () => {
    const admin = await api.post<Administrator>('/api/users', {
      email: email.trim(),
      firstname: firstname.trim(),
      lastname: lastname.trim(),
      roleName,
      enableMultiFactor: mfa,
      ...(password ? { password } : {}),
    });
    navigate(`/admin/administrators/${admin._id}`);
  });

  const chosen = grantable.find((r) => r.name === roleName);
  return (
    <FormDialog title="New administrator" formId="new-admin" submitLabel="Add administrator" busy={busy} onClose={onClose} onSubmit={submit}>
      <ErrorAlert error={error} />
      <TextField label="Email" type="email" required autoFocus autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} error={fieldError(error, 'email')} hint="They sign in to the admin portal with it." />
      <div className="rs-pair">
        <TextField label="First name" value={firstname} onChange={(e) => setFirstname(e.target.value)} error={fieldError(error, 'firstname')} />
        <TextField label="Last name" value={lastname} onChange={(e) => setLastname(e.target.value)} error={fieldError(error, 'lastname')} />
      </div>
      <SelectField
        label="Role"
        required
        options={grantable.map((r) => ({ value: r.name, label: r.name }))}
        value={roleName}
        onChange={(e) => setRoleName(e.target.value)}
        error={fieldError(error, 'roleName')}
        hint={chosen ? (ROLE_SUMMARIES[chosen.name] ?? `${chosen.permissions.length} permissions`) : 'Only roles within your own can be given.'}
      />
      <Checkbox label="Require two-step sign-in" hint="They set up an authenticator app at their first sign-in." checked={mfa} onChange={(e) => setMfa(e.target.checked)} />
      <TextField
        label="Initial password"
        type="text"
        autoComplete="new-password"
        spellCheck={false}
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        error={fieldError(error, 'password')}
        hint="Optional: without one they cannot sign in to the portal until a password is set. At least 12 characters with upper- and lower-case letters and a digit. Give it to them by a safe channel."
      />
      <PasswordGenerator password={password} onChange={setPassword} />
    </FormDialog>
  );
}

/** Makes a password that meets the default policy, with a copy button, for the administrator to hand over. */
export function PasswordGenerator({ password, onChange }: { password: string; onChange: (password: string) => void }) {
  return (
    <div className="form-actions rs-secret-field">
      <Button variant="ghost" onClick={() => onChange(randomPassword())}>
        Generate a password
      </Button>
      {password && <CopyButton value={password} what="password" />}
    </div>
  );
}
