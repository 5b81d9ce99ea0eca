import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api } from '../../../shared/api';
import { Badge, Button, DataTable, ErrorAlert, Field, Loaded, PageHeader, Pager, SelectField, TextField, Time } from '../../../shared/ui';
import { FormDialog, useSubmit } from '../../components/forms';
import { SearchField, useListSearch } from '../../components/list-state';
import { useSession } from '../../session';
import { contains, CopyButton, EmptyState, fieldError, randomSecret, useV1List } from './common';
import { RADIUS_EXPIRATION, RADIUS_MFA, SHARED_SECRET, type RadiusServer } from './types';

const PAGE = 20;

export const MFA_BADGE: Record<RadiusServer['mfa'], { kind: 'neutral' | 'info' | 'good'; label: string }> = {
  DISABLED: { kind: 'neutral', label: 'Password only' },
  ENABLED: { kind: 'info', label: 'Code when enrolled' },
  REQUIRED: { kind: 'good', label: 'Code required' },
  ALWAYS: { kind: 'good', label: 'Code always' },
};

/** Network sources as a list. */
export const sourcesOf = (s: Pick<RadiusServer, 'networkSourceIp'>) =>
  s.networkSourceIp
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** Network sources typed one per line or separated by commas, as the API's networkSourceIp. */
export const joinSources = (text: string) =>
  text
    .split(/[\s,]+/)
    .filter(Boolean)
    .join(',');

/** The RADIUS servers list: the networks (Wi-Fi, VPN) that send Access-Requests to Roster. */
export function RadiusServers() {
  const session = useSession();
  const canWrite = session.can('radius:write');
  const { search, setSearch, term, skip, setSkip } = useListSearch();
  const [creating, setCreating] = useState(false);
  const list = useV1List<RadiusServer>('/api/radiusservers', {
    search: term,
    skip,
    limit: PAGE,
    matches: (s, t) => contains(t, s.name, s.networkSourceIp, ...(s.tagNames ?? [])),
  });
  const newButton = canWrite && (
    <Button variant="primary" onClick={() => setCreating(true)}>
      New RADIUS server
    </Button>
  );

  return (
    <>
      <PageHeader title="RADIUS" description="Wi-Fi (WPA2/WPA3-Enterprise), VPNs and network devices that sign users in with their directory password. Each server is identified by the addresses its requests come from and has its own shared secret." actions={newButton} />
      <form className="toolbar rs-toolbar" role="search" onSubmit={(e) => e.preventDefault()}>
        <SearchField label="Search RADIUS servers" hint="Name, address or tag" value={search} onChange={setSearch} />
      </form>
      <Loaded state={list}>
        {(data) =>
          data.total === 0 && !term ? (
            <EmptyState title="No RADIUS servers yet" action={newButton}>
              Add one for each network whose access points or VPN concentrator send RADIUS requests to Roster: their source addresses and the shared secret they use. Then connect the users or groups who may sign in.
            </EmptyState>
          ) : (
            <>
              <DataTable
                caption="RADIUS servers"
                rows={data.items}
                rowKey={(s) => s._id}
                busy={list.loading}
                empty={`No RADIUS server matches “${term}”.`}
                columns={[
                  { header: 'Name', cell: (s) => <Link to={`/admin/radius/${s._id}`}>{s.name}</Link> },
                  {
                    header: 'Network sources',
                    cell: (s) => {
                      const all = sourcesOf(s);
                      return (
                        <>
                          <code>{all.slice(0, 3).join(', ')}</code>
                          {all.length > 3 && <span className="muted"> and {all.length - 3} more</span>}
                        </>
                      );
                    },
                  },
                  { header: 'Second factor', cell: (s) => <Badge kind={MFA_BADGE[s.mfa]?.kind ?? 'neutral'}>{MFA_BADGE[s.mfa]?.label ?? s.mfa}</Badge> },
                  { header: 'EAP-TLS', cell: (s) => (s.userCertEnabled ? <Badge kind="info">Certificates</Badge> : <span className="muted">Off</span>) },
                  { header: 'Updated', cell: (s) => <Time iso={s.updated ?? s.created} /> },
                ]}
              />
              <Pager skip={skip} limit={PAGE} total={data.total} onChange={setSkip} label="RADIUS server pages" />
            </>
          )
        }
      </Loaded>
      {creating && <NewRadiusServerDialog onClose={() => setCreating(false)} />}
    </>
  );
}

/** A shared-secret input with a generator: the administrator copies the secret to the access points. */
export function SharedSecretField({ value, onChange, error, label = 'Shared secret' }: { value: string; onChange: (v: string) => void; error?: string | undefined; label?: string }) {
  return (
    <div className="rs-secret-field">
      <TextField
        label={label}
        required
        autoComplete="off"
        spellCheck={false}
        minLength={SHARED_SECRET.min}
        maxLength={SHARED_SECRET.max}
        hint={`${SHARED_SECRET.min} to ${SHARED_SECRET.max} characters, the same on the access points or VPN. Roster stores it encrypted and never shows it again: copy it now.`}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        error={error}
      />
      <div className="form-actions">
        <Button variant="ghost" onClick={() => onChange(randomSecret(32))}>
          Generate a strong secret
        </Button>
        {value && <CopyButton value={value} what="shared secret" />}
      </div>
    </div>
  );
}

function NewRadiusServerDialog({ onClose }: { onClose: () => void }) {
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [sources, setSources] = useState('');
  const [secret, setSecret] = useState('');
  const [mfa, setMfa] = useState('DISABLED');
  const [expiration, setExpiration] = useState('REMOVE');

  const { submit, busy, error } = useSubmit(async () => {
    const server = await api.post<RadiusServer>('/api/radiusservers', {
      name: name.trim(),
      networkSourceIp: joinSources(sources),
      sharedSecret: secret,
      mfa,
      userPasswordExpirationAction: expiration,
    });
    navigate(`/admin/radius/${server._id}`);
  });

  return (
    <FormDialog title="New RADIUS server" formId="new-radius" submitLabel="Create RADIUS server" busy={busy} onClose={onClose} onSubmit={submit}>
      <ErrorAlert error={error} />
      <TextField label="Name" required autoFocus value={name} onChange={(e) => setName(e.target.value)} error={fieldError(error, 'name')} hint="As “Office Wi-Fi”; unique in the organization." />
      <Field label="Network sources" hint="The addresses the access points or VPN send from: IPv4 or IPv6 addresses or CIDR ranges written with their network address (10.0.0.0/8), separated by commas or lines. No address may belong to two RADIUS servers." error={fieldError(error, 'networkSourceIp')}>
        {(p) => <textarea className="input rs-mono" rows={2} required value={sources} onChange={(e) => setSources(e.target.value)} {...p} />}
      </Field>
      <SharedSecretField value={secret} onChange={setSecret} error={fieldError(error, 'sharedSecret')} />
      <SelectField label="Second factor" options={RADIUS_MFA} value={mfa} onChange={(e) => setMfa(e.target.value)} error={fieldError(error, 'mfa')} />
      <SelectField label="Expired passwords" options={RADIUS_EXPIRATION} value={expiration} onChange={(e) => setExpiration(e.target.value)} error={fieldError(error, 'userPasswordExpirationAction')} />
    </FormDialog>
  );
}
