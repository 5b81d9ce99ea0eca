import { useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { api } from '../../../shared/api';
import { Alert, Badge, Button, Checkbox, ConfirmDialog, DataTable, Dialog, ErrorAlert, Loaded, PageHeader, Properties, SecretBox, TextField, Time, useAction, useAsync } from '../../../shared/ui';
import { DeleteDialog, endOfDay, FormDialog } from '../../components/forms';
import { useSession } from '../../session';
import { CopyBlock, fieldErrors, Section } from './common';
import { scimBaseUrl } from './create';

interface ScimSourceWire {
  id: string;
  name?: string;
  created?: string;
  updated?: string;
}

export interface ScimToken {
  id: string;
  name: string;
  prefix: string;
  expiresAt: string | null;
  created: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

type IssuedToken = ScimToken & { token: string };

const tokenState = (t: ScimToken): 'active' | 'revoked' | 'expired' => (t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) <= Date.now() ? 'expired' : 'active');

/** /admin/directories/scim/:id — a SCIM source: where it pushes, its bearer tokens (issue, rotate, revoke), deleting it. */
export function ScimSource() {
  const { id = '' } = useParams();
  const session = useSession();
  const canWrite = session.can('directories:write');
  const base = `/api/v2/scimsources/${id}`;
  const source = useAsync((signal) => api.get<ScimSourceWire>(base, { signal }), [base]);
  const tokens = useAsync((signal) => api.get<ScimToken[]>(`${base}/tokens`, { signal }), [base]);
  const [issuing, setIssuing] = useState<{ rotate?: ScimToken }>();
  const [issued, setIssued] = useState<{ token: IssuedToken; revoked?: ScimToken; revokeError?: unknown }>();
  const [revoking, setRevoking] = useState<ScimToken>();
  const [deleting, setDeleting] = useState(false);
  const [showRevoked, setShowRevoked] = useState(false);
  const name = source.data?.name ?? 'SCIM source';
  const activeCount = tokens.data?.filter((t) => tokenState(t) === 'active').length ?? 0;
  return (
    <>
      <PageHeader
        title={name}
        back={<Link to="/admin/directories">← Directories</Link>}
        description="An HR system or identity provider that pushes users and groups into Roster over SCIM 2.0. What it writes is journaled with origin scim:<source>."
        actions={
          canWrite && source.data ? (
            <Button variant="danger" onClick={() => setDeleting(true)}>
              Delete source
            </Button>
          ) : undefined
        }
      />
      <Loaded state={source}>
        {(s) => (
          <>
            <Section title="Connection" description="Give the source these as its SCIM tenant URL and secret token.">
              <CopyBlock label="SCIM base URL (tenant URL)" value={scimBaseUrl()} />
              <Properties
                items={[
                  ['Source ID', <code>{s.id}</code>],
                  ['Created', <Time iso={s.created} />],
                  ['Active tokens', `${activeCount} of at most 10`],
                ]}
              />
            </Section>
            <Section
              title="Bearer tokens"
              description="Roster keeps only each token's digest: a token is shown once, when issued. To rotate without a gap, issue a new token, give it to the source, then revoke the old one."
              actions={
                canWrite ? (
                  <Button variant="primary" onClick={() => setIssuing({})}>
                    Issue token
                  </Button>
                ) : undefined
              }
            >
              <Loaded state={tokens}>
                {(list) => {
                  const shown = showRevoked ? list : list.filter((t) => tokenState(t) === 'active');
                  return (
                    <>
                      {list.length > shown.length || showRevoked ? <Checkbox label="Show revoked and expired tokens" checked={showRevoked} onChange={(e) => setShowRevoked(e.target.checked)} /> : null}
                      {activeCount === 0 && <Alert kind="warning">No active token: the source cannot push until you issue one.</Alert>}
                      <DataTable
                        caption="Bearer tokens"
                        rows={shown}
                        rowKey={(t) => t.id}
                        busy={tokens.loading}
                        empty={canWrite ? 'No active token yet: issue one and give it to the source as its secret token.' : 'No active token.'}
                        columns={[
                          {
                            header: 'Token',
                            cell: (t) => (
                              <>
                                {t.name || <span className="muted">Unnamed</span>}
                                <br />
                                <code className="small muted">{t.prefix}…</code>
                              </>
                            ),
                          },
                          {
                            header: 'Status',
                            cell: (t) => {
                              const st = tokenState(t);
                              return st === 'active' ? <Badge kind="good">Active</Badge> : st === 'expired' ? <Badge kind="warn">Expired</Badge> : <Badge kind="bad">Revoked</Badge>;
                            },
                          },
                          { header: 'Created', cell: (t) => <Time iso={t.created} /> },
                          { header: 'Expires', cell: (t) => (t.expiresAt ? <Time iso={t.expiresAt} /> : <span className="muted">Never</span>) },
                          { header: 'Last used', cell: (t) => (t.lastUsedAt ? <Time iso={t.lastUsedAt} relative /> : <span className="muted">Never</span>) },
                          ...(canWrite
                            ? [
                                {
                                  header: <span className="visually-hidden">Actions</span>,
                                  cell: (t: ScimToken) =>
                                    tokenState(t) === 'active' ? (
                                      <div className="row-actions">
                                        <Button variant="ghost" onClick={() => setIssuing({ rotate: t })} aria-label={`Rotate ${t.name || t.prefix}`}>
                                          Rotate
                                        </Button>
                                        <Button variant="ghost" onClick={() => setRevoking(t)} aria-label={`Revoke ${t.name || t.prefix}`}>
                                          Revoke
                                        </Button>
                                      </div>
                                    ) : null,
                                },
                              ]
                            : []),
                        ]}
                      />
                    </>
                  );
                }}
              </Loaded>
            </Section>
          </>
        )}
      </Loaded>
      {issuing && (
        <IssueTokenDialog
          base={base}
          rotate={issuing.rotate}
          onClose={() => setIssuing(undefined)}
          onIssued={(result) => {
            setIssuing(undefined);
            setIssued(result);
            tokens.reload();
          }}
        />
      )}
      {issued && (
        <Dialog
          open
          title="Token issued"
          onClose={() => setIssued(undefined)}
          footer={
            <Button variant="primary" onClick={() => setIssued(undefined)}>
              I have copied the token
            </Button>
          }
        >
          <CopyBlock label="SCIM base URL" value={scimBaseUrl()} />
          <SecretBox label={`Bearer token “${issued.token.name}” (shown once)`} value={issued.token.token} />
          <Alert kind="warning">Copy the token now: Roster keeps only its digest and cannot show it again.</Alert>
          {issued.revoked && <Alert kind="success">The old token {issued.revoked.name || issued.revoked.prefix} was revoked.</Alert>}
          <ErrorAlert error={issued.revokeError} title="The old token could not be revoked; revoke it from the list." />
        </Dialog>
      )}
      {revoking && (
        <ConfirmDialog
          open
          title={`Revoke ${revoking.name || revoking.prefix}`}
          confirmLabel="Revoke token"
          onClose={() => setRevoking(undefined)}
          onConfirm={async () => {
            await api.delete(`${base}/tokens/${revoking.id}`);
            tokens.reload();
          }}
        >
          <p>The token stops working at once: a source still using it gets 401 until it is given another token.</p>
        </ConfirmDialog>
      )}
      <DeleteDialog open={deleting} title={`Delete ${name}`} confirmLabel="Delete source" path={base} then="/admin/directories" onClose={() => setDeleting(false)}>
        <p>All its tokens are revoked and it can no longer push. The users and groups it created stay in Roster; their links to this source go.</p>
      </DeleteDialog>
    </>
  );
}

function IssueTokenDialog({ base, rotate, onClose, onIssued }: { base: string; rotate?: ScimToken | undefined; onClose: () => void; onIssued: (r: { token: IssuedToken; revoked?: ScimToken; revokeError?: unknown }) => void }) {
  const [name, setName] = useState(rotate ? rotate.name : '');
  const [expires, setExpires] = useState('');
  const [revokeOld, setRevokeOld] = useState(false);
  const [local, setLocal] = useState<string>();
  const { run: issue, busy, error } = useAction(async (expiresAt: string | null) => {
    const token = await api.post<IssuedToken>(`${base}/tokens`, { name: name.trim(), expiresAt });
    if (rotate && revokeOld) {
      try {
        await api.delete(`${base}/tokens/${rotate.id}`);
        onIssued({ token, revoked: rotate });
      } catch (revokeError) {
        onIssued({ token, revokeError });
      }
    } else onIssued({ token });
  });
  const fields = fieldErrors(error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setLocal(undefined);
    let expiresAt: string | null = null;
    if (expires) {
      const end = endOfDay(expires);
      if (!end) {
        setLocal('Choose a date in the future, or none.');
        return;
      }
      expiresAt = end;
    }
    void issue(expiresAt);
  };
  return (
    <FormDialog title={rotate ? `Rotate ${rotate.name || rotate.prefix}` : 'Issue a bearer token'} formId="issue-token" submitLabel="Issue token" busy={busy} onClose={onClose} onSubmit={submit}>
      {rotate && <p>A new token is issued. The old one keeps working until you revoke it, so the source can be switched over without a gap.</p>}
      <ErrorAlert error={error} />
      <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} placeholder="provisioning" hint="To recognise the token later." error={fields.name} autoFocus />
      <TextField label="Expires on" type="date" value={expires} onChange={(e) => setExpires(e.target.value)} hint="At the end of that day, your time. Leave empty for a token that does not expire." error={local ?? fields.expiresAt} />
      {rotate && <Checkbox label="Revoke the old token at once" checked={revokeOld} onChange={(e) => setRevokeOld(e.target.checked)} hint="Only if the source is not using it any more: it gets 401 until it has the new token." />}
    </FormDialog>
  );
}
