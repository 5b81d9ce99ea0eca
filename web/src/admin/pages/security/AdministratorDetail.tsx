import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { api } from '../../../shared/api';
import { Alert, Badge, Button, Checkbox, ConfirmDialog, ErrorAlert, Loaded, PageHeader, Properties, SelectField, TextField, Time, useAsync } from '../../../shared/ui';
import { DeleteDialog, FormDialog, SaveActions, useSaveForm, useSubmit } from '../../components/forms';
import { useSession } from '../../session';
import { CopyableId, fieldError } from '../resources/common';
import { PasswordGenerator, useRoles } from './Administrators';
import { adminName, ROLE_SUMMARIES, type Administrator } from './types';

/** One administrator: name, role, two-step requirement, suspension, password, removal. */
export function AdministratorDetail() {
  const { id = '' } = useParams();
  const session = useSession();
  const canWrite = session.can('admins:write');
  const self = id === session.admin.id;
  const roles = useRoles();
  const admin = useAsync((signal) => api.get<Administrator>(`/api/users/${id}`, { signal }), [id]);
  const [confirm, setConfirm] = useState<'suspend' | 'unsuspend' | 'remove'>();
  const [settingPassword, setSettingPassword] = useState(false);
  const [notice, setNotice] = useState<string>();

  return (
    <Loaded state={admin} label="Loading the administrator…">
      {(a) => {
        const manageable = canWrite && (roles.data ? roles.data.filter((r) => r.name === a.roleName).every(roles.grantable) : true);
        return (
          <>
            <PageHeader
              back={<Link to="/admin/administrators">← Administrators</Link>}
              title={adminName(a)}
              description={
                <span className="rs-inline">
                  {adminName(a) !== a.email && a.email} <Badge>{a.roleName}</Badge>
                  {a.suspended ? <Badge kind="bad">Suspended</Badge> : <Badge kind="good">Active</Badge>}
                  {self && <Badge kind="info">You</Badge>}
                </span>
              }
              actions={
                manageable && (
                  <>
                    <Button onClick={() => setSettingPassword(true)}>Set a password</Button>
                    {a.suspended ? (
                      <Button onClick={() => setConfirm('unsuspend')}>Reactivate</Button>
                    ) : (
                      <Button variant="danger" onClick={() => setConfirm('suspend')}>
                        Suspend
                      </Button>
                    )}
                    <Button variant="danger" onClick={() => setConfirm('remove')}>
                      Remove
                    </Button>
                  </>
                )
              }
            />
            {notice && <Alert kind="success">{notice}</Alert>}
            {canWrite && !manageable && <Alert kind="info">{adminName(a)} holds a role with permissions beyond yours: you cannot change their role, suspend or remove them.</Alert>}
            <div className="grid-2">
              <ProfileForm admin={a} roles={roles} canEditProfile={canWrite || self} canManage={manageable} onSaved={(next) => {
                  admin.setData(next);
                  setNotice(undefined);
                }} />
              <section className="card" aria-labelledby="admin-about">
                <h2 id="admin-about">About</h2>
                <Properties
                  items={[
                    ['Administrator id', <CopyableId key="id" id={a._id} what="administrator id" />],
                    ['Added', <Time key="c" iso={a.created} />],
                    ['Two-step sign-in', a.enableMultiFactor ? 'Required' : 'Optional'],
                    ['Organizations', String(a.organizations?.length ?? 1)],
                  ]}
                />
                {session.can('journal:read') && (
                  <ul className="plain-list rs-small rs-gap">
                    <li>
                      <Link to={`/admin/audit?actorType=admin&actorId=${a._id}`}>What {self ? 'you' : 'they'} changed (audit log)</Link>
                    </li>
                    <li>
                      <Link to={`/admin/audit?objectType=administrator&objectId=${a._id}`}>Changes to this administrator</Link>
                    </li>
                  </ul>
                )}
              </section>
            </div>
            {settingPassword && (
              <PasswordDialog
                admin={a}
                onClose={() => setSettingPassword(false)}
                onSaved={() => {
                  setSettingPassword(false);
                  setNotice(`The new password is set. ${self ? 'Your other' : 'Their'} admin portal sessions have ended.`);
                }}
              />
            )}
            <ConfirmDialog
              open={confirm === 'suspend'}
              title={`Suspend ${adminName(a)}?`}
              confirmLabel="Suspend"
              onClose={() => setConfirm(undefined)}
              onConfirm={async () => {
                admin.setData(await api.put<Administrator>(`/api/users/${a._id}`, { suspended: true }));
                setNotice(`${adminName(a)} is suspended.`);
              }}
            >
              <p>
                {self ? 'You' : adminName(a)} can no longer sign in to the admin portal, {self ? 'your' : 'their'} sessions end and {self ? 'your' : 'their'} API keys stop working at once. You can reactivate {self ? 'yourself' : 'them'} later (another administrator will have to, if you suspend yourself).
              </p>
            </ConfirmDialog>
            <ConfirmDialog
              open={confirm === 'unsuspend'}
              danger={false}
              title={`Reactivate ${adminName(a)}?`}
              confirmLabel="Reactivate"
              onClose={() => setConfirm(undefined)}
              onConfirm={async () => {
                admin.setData(await api.put<Administrator>(`/api/users/${a._id}`, { suspended: false }));
                setNotice(`${adminName(a)} is active again.`);
              }}
            >
              <p>They can sign in again and their API keys that have not expired or been revoked work again.</p>
            </ConfirmDialog>
            <DeleteDialog open={confirm === 'remove'} title={`Remove ${adminName(a)}?`} confirmLabel="Remove administrator" path={`/api/users/${a._id}`} then="/admin/administrators" replace onClose={() => setConfirm(undefined)}>
              <p>
                {adminName(a)} ({a.email}) can no longer manage this organization and {self ? 'your' : 'their'} API keys are revoked. What they changed stays in the audit log. This cannot be undone.
              </p>
            </DeleteDialog>
          </>
        );
      }}
    </Loaded>
  );
}

function ProfileForm({ admin, roles, canEditProfile, canManage, onSaved }: { admin: Administrator; roles: ReturnType<typeof useRoles>; canEditProfile: boolean; canManage: boolean; onSaved: (a: Administrator) => void }) {
  const [firstname, setFirstname] = useState(admin.firstname);
  const [lastname, setLastname] = useState(admin.lastname);
  const [email, setEmail] = useState(admin.email);
  const [roleName, setRoleName] = useState(admin.roleName);
  const [mfa, setMfa] = useState(admin.enableMultiFactor);

  const grantable = (roles.data ?? []).filter(roles.grantable);
  const roleOptions = [...new Set([...grantable.map((r) => r.name), admin.roleName])].map((r) => ({ value: r, label: r }));

  const { submit, busy, error, saved } = useSaveForm(async () => {
    const body: Record<string, unknown> = { firstname: firstname.trim(), lastname: lastname.trim(), email: email.trim() };
    if (canManage && roleName !== admin.roleName) body.roleName = roleName;
    if (mfa !== admin.enableMultiFactor) body.enableMultiFactor = mfa;
    onSaved(await api.put<Administrator>(`/api/users/${admin._id}`, body));
  }, [firstname, lastname, email, roleName, mfa]);

  return (
    <form className="card" onSubmit={submit} noValidate aria-labelledby="admin-profile">
      <h2 id="admin-profile">Profile and role</h2>
      {saved && <Alert kind="success">Saved.</Alert>}
      <ErrorAlert error={error} />
      <fieldset className="rs-fieldset" disabled={!canEditProfile}>
        <legend className="visually-hidden">Administrator</legend>
        <div className="rs-pair">
          <TextField label="First name" value={firstname} onChange={(e) => setFirstname(e.target.value)} error={fieldError(error, 'firstname')} />
          <TextField label="Last name" value={lastname} onChange={(e) => setLastname(e.target.value)} error={fieldError(error, 'lastname')} />
        </div>
        <TextField label="Email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} error={fieldError(error, 'email')} hint="Used to sign in to the admin portal." />
        <SelectField
          label="Role"
          options={roleOptions}
          value={roleName}
          disabled={!canManage}
          onChange={(e) => setRoleName(e.target.value)}
          error={fieldError(error, 'roleName')}
          hint={ROLE_SUMMARIES[roleName] ?? (canManage ? undefined : 'Changing a role needs the permission to manage administrators.')}
        />
        <Checkbox label="Require two-step sign-in" hint="An authenticator app code after the password; set up at the next sign-in if they have none." checked={mfa} disabled={!canManage} onChange={(e) => setMfa(e.target.checked)} />
      </fieldset>
      {canEditProfile && <SaveActions busy={busy} />}
    </form>
  );
}

function PasswordDialog({ admin, onClose, onSaved }: { admin: Administrator; onClose: () => void; onSaved: () => void }) {
  const [password, setPassword] = useState('');
  const { submit, busy, error } = useSubmit(async () => {
    await api.put(`/api/users/${admin._id}`, { password });
    onSaved();
  });
  return (
    <FormDialog title={`Set a password for ${adminName(admin)}`} formId="admin-password" submitLabel="Set password" busy={busy} disabled={!password} onClose={onClose} onSubmit={submit}>
      <ErrorAlert error={error} />
      <TextField
        label="New password"
        type="text"
        autoComplete="new-password"
        spellCheck={false}
        autoFocus
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        error={fieldError(error, 'password')}
        hint="At least 12 characters with upper- and lower-case letters and a digit. Their admin portal sessions end."
      />
      <PasswordGenerator password={password} onChange={setPassword} />
    </FormDialog>
  );
}
