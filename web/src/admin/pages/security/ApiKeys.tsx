import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../../../shared/api';
import { Badge, Button, Checkbox, ConfirmDialog, DataTable, ErrorAlert, Loaded, PageHeader, SecretBox, SelectField, TextField, Time, useAction, useAsync } from '../../../shared/ui';
import { endOfDay, FormDialog } from '../../components/forms';
import { useSession } from '../../session';
import { EmptyState, fieldError } from '../resources/common';
import type { ApiKey } from './types';

const EXPIRIES = [
  { value: '30', label: 'In 30 days' },
  { value: '90', label: 'In 90 days' },
  { value: '365', label: 'In a year' },
  { value: 'date', label: 'On a date…' },
  { value: 'never', label: 'Never' },
];

const expired = (k: ApiKey) => k.expiresAt !== null && Date.parse(k.expiresAt) <= Date.now();

function StatusBadge({ k }: { k: ApiKey }) {
  if (k.revokedAt) return <Badge kind="neutral">Revoked</Badge>;
  if (expired(k)) return <Badge kind="warn">Expired</Badge>;
  return <Badge kind="good">Active</Badge>;
}

/** The signed-in administrator's own API keys: list, create (the key shown once), revoke. */
export function ApiKeys() {
  const session = useSession();
  const canWrite = session.can('apikeys:write');
  const keys = useAsync((signal) => api.get<ApiKey[]>('/api/v2/apikeys', { signal }), []);
  const [creating, setCreating] = useState(false);
  const [issued, setIssued] = useState<ApiKey>();
  const [revoking, setRevoking] = useState<ApiKey>();
  const [showRevoked, setShowRevoked] = useState(false);
  const issuedHeading = useRef<HTMLHeadingElement>(null);
  // The new key is what the administrator must act on: move focus to it.
  useEffect(() => {
    if (issued) issuedHeading.current?.focus();
  }, [issued]);
  const newButton = canWrite && (
    <Button variant="primary" onClick={() => setCreating(true)}>
      New API key
    </Button>
  );

  return (
    <>
      <PageHeader
        title="API keys"
        description={
          <>
            Your own keys for scripts and integrations (the <code>x-api-key</code> header). A key acts as you, with your role ({session.admin.roleName}); a read-only key can only read. Suspending or removing you revokes them all.
          </>
        }
        actions={newButton}
      />
      {issued && (
        <section className="card" aria-labelledby="new-key">
          <h2 id="new-key" tabIndex={-1} ref={issuedHeading}>Your new API key: {issued.name || 'unnamed'}</h2>
          <p>Copy it now and store it safely: Roster keeps only a digest and can never show it again.</p>
          <SecretBox label="API key" value={issued.key!} />
          <Button onClick={() => setIssued(undefined)}>I have stored the key</Button>
        </section>
      )}
      <Loaded state={keys}>
        {(list) => {
          const revokedCount = list.filter((k) => k.revokedAt).length;
          const rows = [...list].filter((k) => showRevoked || !k.revokedAt).sort((a, b) => b.created.localeCompare(a.created));
          if (list.length === 0)
            return (
              <EmptyState title="No API keys" action={newButton}>
                Create a key for each script or integration, so that you can revoke one without breaking the others. Prefer read-only keys and an expiry date.
              </EmptyState>
            );
          return (
            <>
              {revokedCount > 0 && <Checkbox label={`Show revoked keys (${revokedCount})`} checked={showRevoked} onChange={(e) => setShowRevoked(e.target.checked)} />}
              <DataTable
                caption="Your API keys"
                rows={rows}
                rowKey={(k) => k.id}
                busy={keys.loading}
                empty="No active keys."
                columns={[
                  { header: 'Name', cell: (k) => k.name || <span className="muted">Unnamed</span> },
                  { header: 'Key', cell: (k) => <code>{k.prefix}…</code> },
                  { header: 'Access', cell: (k) => (k.readOnly ? <Badge kind="info">Read-only</Badge> : 'Read and write') },
                  { header: 'Status', cell: (k) => <StatusBadge k={k} /> },
                  { header: 'Created', cell: (k) => <Time iso={k.created} /> },
                  { header: 'Last used', cell: (k) => (k.lastUsedAt ? <Time iso={k.lastUsedAt} relative /> : <span className="muted">Never</span>) },
                  { header: 'Expires', cell: (k) => (k.revokedAt ? <>Revoked <Time iso={k.revokedAt} /></> : k.expiresAt ? <Time iso={k.expiresAt} /> : <span className="muted">Never</span>) },
                  ...(canWrite
                    ? [
                        {
                          header: <span className="visually-hidden">Actions</span>,
                          cell: (k: ApiKey) =>
                            k.revokedAt ? null : (
                              <Button variant="ghost" onClick={() => setRevoking(k)} aria-label={`Revoke ${k.name || k.prefix}`}>
                                Revoke
                              </Button>
                            ),
                        },
                      ]
                    : []),
                ]}
              />
            </>
          );
        }}
      </Loaded>
      {creating && (
        <NewKeyDialog
          onClose={() => setCreating(false)}
          onCreated={(k) => {
            setCreating(false);
            setIssued(k);
            keys.reload();
          }}
        />
      )}
      <ConfirmDialog
        open={!!revoking}
        title={`Revoke ${revoking?.name || revoking?.prefix || 'this key'}?`}
        confirmLabel="Revoke key"
        onClose={() => setRevoking(undefined)}
        onConfirm={async () => {
          await api.delete(`/api/v2/apikeys/${revoking!.id}`);
          keys.reload();
        }}
      >
        <p>
          Requests with the key <code>{revoking?.prefix}…</code> are refused from now on. Scripts that use it stop working. This cannot be undone.
        </p>
      </ConfirmDialog>
    </>
  );
}

function NewKeyDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (k: ApiKey) => void }) {
  const [name, setName] = useState('');
  const [readOnly, setReadOnly] = useState(false);
  const [expiry, setExpiry] = useState('90');
  const [date, setDate] = useState('');
  const [dateError, setDateError] = useState<string>();
  const { run: create, busy, error } = useAction(async (expiresAt: string | null) => onCreated(await api.post<ApiKey>('/api/v2/apikeys', { name: name.trim(), readOnly, expiresAt })));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setDateError(undefined);
    let expiresAt: string | null = null;
    if (expiry === 'date') {
      // The end of the chosen day in the viewer's time zone.
      const end = date ? endOfDay(date) : undefined;
      if (!end) {
        setDateError('Choose a date in the future.');
        return;
      }
      expiresAt = end;
    } else if (expiry !== 'never') expiresAt = new Date(Date.now() + Number(expiry) * 86_400_000).toISOString();
    void create(expiresAt);
  };

  return (
    <FormDialog title="New API key" formId="new-key-form" submitLabel="Create key" busy={busy} onClose={onClose} onSubmit={submit}>
      <ErrorAlert error={error} />
      <TextField label="Name" autoFocus hint="What uses it, as “HR import script”." maxLength={256} value={name} onChange={(e) => setName(e.target.value)} error={fieldError(error, 'name')} />
      <Checkbox label="Read-only" hint="The key can read but never change anything, whatever your role." checked={readOnly} onChange={(e) => setReadOnly(e.target.checked)} />
      <SelectField label="Expires" options={EXPIRIES} value={expiry} onChange={(e) => setExpiry(e.target.value)} error={fieldError(error, 'expiresAt')} />
      {expiry === 'date' && <TextField label="Expiry date" type="date" hint="The key stops working at the end of this day (your time zone)." value={date} onChange={(e) => setDate(e.target.value)} error={dateError} />}
    </FormDialog>
  );
}
