import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { api } from '../../../shared/api';
import { Alert, Badge, Button, Checkbox, ErrorAlert, Field, Loaded, PageHeader, Properties, SelectField, TextField, Time, useAsync } from '../../../shared/ui';
import { DeleteDialog, FormDialog, SaveActions, useSaveForm, useSubmit } from '../../components/forms';
import { ResourceAccess } from '../../components/ResourceAccess';
import { useSession } from '../../session';
import { CopyableId, fieldError } from './common';
import { joinSources, MFA_BADGE, SharedSecretField, sourcesOf } from './RadiusServers';
import { RADIUS_EXPIRATION, RADIUS_MFA, type RadiusServer } from './types';

interface OrganizationRadius {
  _id: string;
  settings: { radius: { storeNtHashes: boolean }; passwordPolicy: Record<string, number | boolean> };
}

/** One RADIUS server: its network, secret and policies, and who may sign in through it. */
export function RadiusDetail() {
  const { id = '' } = useParams();
  const session = useSession();
  const canWrite = session.can('radius:write');
  const [deleting, setDeleting] = useState(false);
  const [settingSecret, setSettingSecret] = useState(false);
  const [secretSaved, setSecretSaved] = useState(false);
  const server = useAsync((signal) => api.get<RadiusServer>(`/api/radiusservers/${id}`, { signal }), [id]);
  const org = useAsync(
    (signal) => (session.can('organization:read') ? api.get<OrganizationRadius>(`/api/organizations/${session.organization}`, { signal }) : Promise.resolve(null)),
    [session.organization],
  );

  return (
    <Loaded state={server} label="Loading the RADIUS server…">
      {(s) => (
        <>
          <PageHeader
            back={<Link to="/admin/radius">← RADIUS</Link>}
            title={s.name}
            description={
              <span className="rs-inline">
                <Badge kind={MFA_BADGE[s.mfa]?.kind ?? 'neutral'}>{MFA_BADGE[s.mfa]?.label ?? s.mfa}</Badge>
                {s.userCertEnabled && <Badge kind="info">EAP-TLS certificates</Badge>}
                {(s.tagNames ?? []).map((t) => (
                  <Badge key={t}>{t}</Badge>
                ))}
              </span>
            }
            actions={
              canWrite && (
                <>
                  <Button onClick={() => {
                      setSecretSaved(false);
                      setSettingSecret(true);
                    }}>Set a new shared secret</Button>
                  <Button variant="danger" onClick={() => setDeleting(true)}>
                    Delete
                  </Button>
                </>
              )
            }
          />
          {secretSaved && <Alert kind="success">The new shared secret is in effect. Requests signed with the old one are now rejected.</Alert>}
          <div className="grid-2">
            <RadiusSettings server={s} canWrite={canWrite} onSaved={server.setData} />
            <section className="card" aria-labelledby="radius-about">
              <h2 id="radius-about">How it works</h2>
              <Properties
                items={[
                  ['Server id', <CopyableId key="id" id={s._id} what="server id" />],
                  ['Shared secret', 'Set; never shown (write-only)'],
                  ['Locked users', 'Always rejected'],
                  ['Expired passwords', s.userPasswordExpirationAction === 'MAINTAIN' ? 'Still accepted' : 'Rejected'],
                  ['Created', <Time key="c" iso={s.created} />],
                  ['Updated', <Time key="u" iso={s.updated} />],
                ]}
              />
              <h3 className="rs-gap">Network sources</h3>
              <ul className="rs-sources">
                {sourcesOf(s).map((src) => (
                  <li key={src}>
                    <code>{src}</code>
                  </li>
                ))}
              </ul>
              <h3 className="rs-gap">Sign-in methods</h3>
              <p className="rs-small">
                PAP and EAP-TTLS check the password. PEAP-MSCHAPv2 (what Windows, macOS, iOS and Android offer by default) and MS-CHAPv2 need each user's NT hash
                {org.data === null ? '.' : org.data ? (org.data.settings.radius.storeNtHashes ? ': this organization keeps them.' : ': this organization does not keep them, so these methods are rejected.') : '.'}{' '}
                {session.can('organization:read') && <Link to="/admin/settings">NT hashes in Settings</Link>}
              </p>
              <p className="rs-small">
                Failed passwords count towards the organization's lockout{org.data?.settings.passwordPolicy.enableMaxLoginAttempts ? ` (${String(org.data.settings.passwordPolicy.maxLoginAttempts)} attempts)` : ''}, shared with LDAP and the portals; locked, suspended and staged users are rejected.
              </p>
              <p className="rs-small">
                On the access points or VPN: RADIUS server {window.location.hostname}, ports 1812 (authentication) and 1813 (accounting), the shared secret, and Message-Authenticator on.
              </p>
              <p className="rs-small">
                <Link to={`/admin/audit?objectType=radius_server&objectId=${s._id}`}>Sign-ins and changes in the audit log</Link>
              </p>
            </section>
          </div>
          <section aria-labelledby="radius-access" className="rs-gap">
            <h2 id="radius-access">Who can sign in</h2>
            <p className="muted">Only users connected to {s.name}, directly or through a group (nested groups count), get in.</p>
            <ResourceAccess path={`/api/v2/radiusservers/${s._id}`} name={s.name} />
          </section>
          {settingSecret && (
            <NewSecretDialog
              server={s}
              onClose={() => setSettingSecret(false)}
              onSaved={(next) => {
                server.setData(next);
                setSettingSecret(false);
                setSecretSaved(true);
              }}
            />
          )}
          <DeleteDialog open={deleting} title={`Delete ${s.name}?`} confirmLabel="Delete RADIUS server" path={`/api/radiusservers/${s._id}`} then="/admin/radius" replace onClose={() => setDeleting(false)}>
            <p>Roster stops answering requests from {sourcesOf(s).join(', ')}: nobody can sign in to this network through Roster any more. Its connections to users and groups are removed.</p>
          </DeleteDialog>
        </>
      )}
    </Loaded>
  );
}

function RadiusSettings({ server, canWrite, onSaved }: { server: RadiusServer; canWrite: boolean; onSaved: (s: RadiusServer) => void }) {
  const [name, setName] = useState(server.name);
  const [sources, setSources] = useState(sourcesOf(server).join('\n'));
  const [mfa, setMfa] = useState<string>(server.mfa);
  const [expiration, setExpiration] = useState<string>(server.userPasswordExpirationAction);
  const [tags, setTags] = useState((server.tagNames ?? []).join(', '));
  const [certs, setCerts] = useState(server.userCertEnabled);
  const [caCert, setCaCert] = useState(server.caCert ?? '');

  const { submit, busy, error, saved } = useSaveForm(async () => {
    onSaved(
      await api.put<RadiusServer>(`/api/radiusservers/${server._id}`, {
        name: name.trim(),
        networkSourceIp: joinSources(sources),
        mfa,
        userPasswordExpirationAction: expiration,
        tagNames: tags
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
        userCertEnabled: certs,
        caCert: caCert.trim() ? caCert : '',
      }),
    );
  }, [name, sources, mfa, expiration, tags, certs, caCert]);

  return (
    <form className="card" onSubmit={submit} noValidate aria-labelledby="radius-settings">
      <h2 id="radius-settings">Settings</h2>
      {saved && <Alert kind="success">Saved.</Alert>}
      <ErrorAlert error={error} />
      <fieldset className="rs-fieldset" disabled={!canWrite}>
        <legend className="visually-hidden">RADIUS server settings</legend>
        <TextField label="Name" required value={name} onChange={(e) => setName(e.target.value)} error={fieldError(error, 'name')} />
        <Field label="Network sources" hint="One per line (or separated by commas): addresses or CIDR ranges with their network address. No address may belong to two RADIUS servers." error={fieldError(error, 'networkSourceIp')}>
          {(p) => <textarea className="input rs-mono" rows={3} value={sources} onChange={(e) => setSources(e.target.value)} {...p} />}
        </Field>
        <SelectField label="Second factor" hint="Codes come from the user's authenticator app (TOTP), typed after the password or when the network asks." options={RADIUS_MFA} value={mfa} onChange={(e) => setMfa(e.target.value)} error={fieldError(error, 'mfa')} />
        <SelectField label="Expired passwords" options={RADIUS_EXPIRATION} value={expiration} onChange={(e) => setExpiration(e.target.value)} error={fieldError(error, 'userPasswordExpirationAction')} />
        <TextField label="Tags" hint="Optional, separated by commas." value={tags} onChange={(e) => setTags(e.target.value)} error={fieldError(error, 'tagNames')} />
        <Checkbox label="Let users sign in with certificates (EAP-TLS)" hint="Certificates issued by the CAs below; the certificate names the user by username or email. It counts as a second factor." checked={certs} onChange={(e) => setCerts(e.target.checked)} />
        {fieldError(error, 'userCertEnabled') && <p className="field-error">{fieldError(error, 'userCertEnabled')}</p>}
        {(certs || caCert) && (
          <Field label="CA certificates (PEM)" hint="The certificates of the CAs that issue your users' certificates (an internal CA, an MDM's SCEP CA)." error={fieldError(error, 'caCert')}>
            {(p) => <textarea className="input" rows={5} value={caCert} onChange={(e) => setCaCert(e.target.value)} placeholder="-----BEGIN CERTIFICATE-----" {...p} />}
          </Field>
        )}
      </fieldset>
      {canWrite && <SaveActions busy={busy} />}
    </form>
  );
}

function NewSecretDialog({ server, onClose, onSaved }: { server: RadiusServer; onClose: () => void; onSaved: (s: RadiusServer) => void }) {
  const [secret, setSecret] = useState('');
  const { submit, busy, error } = useSubmit(async () => {
    onSaved(await api.put<RadiusServer>(`/api/radiusservers/${server._id}`, { sharedSecret: secret }));
  });
  return (
    <FormDialog title={`New shared secret for ${server.name}`} formId="radius-secret" submitLabel="Replace the secret" danger busy={busy} disabled={!secret} onClose={onClose} onSubmit={submit}>
      <Alert kind="warning">The old secret stops working at once: update the access points or VPN at the same time.</Alert>
      <ErrorAlert error={error} />
      <SharedSecretField label="New shared secret" value={secret} onChange={setSecret} error={fieldError(error, 'sharedSecret')} />
    </FormDialog>
  );
}
