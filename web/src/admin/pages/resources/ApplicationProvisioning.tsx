import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { api, qs } from '../../../shared/api';
import { Alert, Badge, Button, Checkbox, DataTable, ErrorAlert, Loaded, Pager, Properties, SelectField, Spinner, TextField, Time, useAction, useAsync } from '../../../shared/ui';
import { SaveActions, useSubmit } from '../../components/forms';
import { groupsByIds, type GraphObject, type UserGroup } from '../../lookups';
import { fieldError } from './common';
import { appLabel, type Application, type Provisioning, type ProvisionedObject, type ProvisioningPlan, type ProvisioningRun } from './types';

const STATUS: Record<Provisioning['status'], { kind: 'neutral' | 'good' | 'bad' | 'info'; label: string }> = {
  disabled: { kind: 'neutral', label: 'Off' },
  idle: { kind: 'good', label: 'Up to date' },
  running: { kind: 'info', label: 'Running' },
  error: { kind: 'bad', label: 'Error' },
};

const COUNTER_LABELS: Record<string, string> = {
  created: 'Created',
  updated: 'Updated',
  deactivated: 'Deactivated',
  deleted: 'Deleted',
  adopted: 'Existing accounts taken over',
  failed: 'Failed',
  retries: 'Retries',
  requests: 'Requests',
  reconciled: 'Reconciled',
};

function Counters({ counters }: { counters: Record<string, number> }) {
  const entries = Object.entries(counters).filter(([, n]) => n > 0);
  if (entries.length === 0) return <span className="muted">Nothing to send.</span>;
  return (
    <ul className="plain-list rs-inline">
      {entries.map(([k, n]) => (
        <li key={k}>
          <Badge kind={k === 'failed' ? 'bad' : 'neutral'}>
            {COUNTER_LABELS[k] ?? k}: {n.toLocaleString()}
          </Badge>
        </li>
      ))}
    </ul>
  );
}

/** The Provisioning tab: outbound SCIM to the application (docs/provisioning.md). */
export function ApplicationProvisioning({ app, canWrite }: { app: Application; canWrite: boolean }) {
  const target = useAsync((signal) => api.get<Provisioning>(`/api/v2/applications/${app._id}/provisioning`, { signal }), [app._id]);
  const running = target.data?.status === 'running';
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(target.reload, 4000);
    return () => clearInterval(timer);
  }, [running, target.reload]);

  return (
    <Loaded state={target}>
      {(t) => (
        <>
          <Status app={app} target={t} canWrite={canWrite} onChanged={target.setData} reload={target.reload} />
          <ProvisioningSettings app={app} target={t} canWrite={canWrite} onSaved={target.setData} />
          {(t.enabled || t.hasToken || t.baseUrl) && <Preview app={app} />}
          {t.lastRunAt && <Objects app={app} />}
        </>
      )}
    </Loaded>
  );
}

function Status({ app, target, canWrite, reload }: { app: Application; target: Provisioning; canWrite: boolean; onChanged: (t: Provisioning) => void; reload: () => void }) {
  const [busy, setBusy] = useState<'run' | 'reconcile'>();
  const [error, setError] = useState<unknown>();
  const [result, setResult] = useState<ProvisioningRun>();
  const run = async (reconcile: boolean) => {
    setBusy(reconcile ? 'reconcile' : 'run');
    setError(undefined);
    setResult(undefined);
    try {
      setResult(await api.post<ProvisioningRun>(`/api/v2/applications/${app._id}/provisioning/run`, { reconcile }));
      reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  };
  const status = target.status === 'idle' && !target.lastRunAt ? { kind: 'neutral' as const, label: 'Waiting for the first run' } : STATUS[target.status];
  return (
    <section className="card" aria-labelledby="prov-status">
      <div className="rs-card-head">
        <h2 id="prov-status">
          Status <Badge kind={status.kind}>{status.label}</Badge>
        </h2>
        {canWrite && target.enabled && (
          <div className="form-actions">
            <Button variant="primary" busy={busy === 'run'} disabled={!!busy} onClick={() => run(false)}>
              Run now
            </Button>
            <Button busy={busy === 'reconcile'} disabled={!!busy} onClick={() => run(true)}>
              Run and reconcile
            </Button>
          </div>
        )}
      </div>
      {!target.enabled && <p className="muted">Provisioning is off. Enter the application's SCIM base URL and bearer token below and turn it on: Roster then creates, updates and deactivates the accounts of the users connected to {appLabel(app)}.</p>}
      {busy && <Spinner label={busy === 'reconcile' ? 'Running and reading the application’s accounts back…' : 'Running…'} />}
      <ErrorAlert error={error} title="The run could not start" />
      {result && (
        <Alert kind={result.errors.length > 0 || result.stopped ? 'warning' : 'success'} title={result.stopped ? `The run stopped: ${result.stopped}` : `Run finished in ${(result.durationMs / 1000).toFixed(1)} s`}>
          <Counters counters={result.counters} />
          {result.errors.length > 0 && (
            <ul>
              {result.errors.slice(0, 10).map((e, i) => (
                <li key={i}>
                  {e.kind} {e.name}: {e.message}
                </li>
              ))}
              {result.errors.length > 10 && <li>and {result.errors.length - 10} more</li>}
            </ul>
          )}
        </Alert>
      )}
      {target.lastError && (
        <Alert kind="error" title="Last error">
          {target.lastError} (<Time iso={target.lastErrorAt} />)
        </Alert>
      )}
      <Properties
        items={[
          ['Last run', <Time key="r" iso={target.lastRunAt} />],
          ['Last successful run', <Time key="s" iso={target.lastSuccessAt} />],
          ['Last reconciliation', <Time key="c" iso={target.reconciledAt} />],
          ['Last run did', target.lastRunAt ? <Counters key="n" counters={target.counters} /> : <span key="n" className="muted">—</span>],
        ]}
      />
    </section>
  );
}

const DEPROVISION = [
  { value: 'deactivate', label: 'Deactivate the account (active: false)' },
  { value: 'delete', label: 'Delete the account' },
];
const PATCH = [
  { value: 'auto', label: 'Auto: PATCH where the application supports it' },
  { value: 'never', label: 'Never: always replace the whole resource (PUT)' },
];
const MEMBER_PATCH = [
  { value: 'filter', label: 'Filter: remove with members[value eq "…"] (RFC 7644)' },
  { value: 'value', label: 'Value: remove with path members and the values' },
  { value: 'replace', label: 'Replace: send the whole member list' },
];
const BULK = [
  { value: 'auto', label: 'Auto: bulk requests where the application offers them' },
  { value: 'never', label: 'Never: one request per user' },
];
const MATCH = [
  { value: 'userName', label: 'userName (without regard to case)' },
  { value: 'externalId', label: 'externalId' },
];

function ProvisioningSettings({ app, target, canWrite, onSaved }: { app: Application; target: Provisioning; canWrite: boolean; onSaved: (t: Provisioning) => void }) {
  const [enabled, setEnabled] = useState(target.enabled);
  const [baseUrl, setBaseUrl] = useState(target.baseUrl);
  const [token, setToken] = useState('');
  const [removeToken, setRemoveToken] = useState(false);
  const [deprovision, setDeprovision] = useState(target.deprovision);
  const [groups, setGroups] = useState(target.groups);
  const [mappings, setMappings] = useState(target.roleMappings);
  const [patch, setPatch] = useState(target.patch);
  const [memberPatch, setMemberPatch] = useState(target.memberPatch);
  const [bulk, setBulk] = useState(target.bulk);
  const [matchBy, setMatchBy] = useState(target.matchBy);
  const [concurrency, setConcurrency] = useState(String(target.concurrency));
  const [reconcileMinutes, setReconcileMinutes] = useState(String(target.reconcileMinutes));
  const [saved, setSaved] = useState(false);

  /** The groups a role mapping can name: those connected to the application (directly or nested). */
  const connected = useAsync(async (signal) => {
    const groups = await api.get<GraphObject[]>(`/api/v2/applications/${app._id}/usergroups${qs({ limit: 100 })}`, { signal });
    const names = await groupsByIds([...groups.map((g) => g.id), ...target.roleMappings.map((m) => m.groupId)]);
    return { ids: groups.map((g) => g.id), names };
  }, [app._id]);

  const { submit, busy, error } = useSubmit(async () => {
    setSaved(false);
    const body: Record<string, unknown> = {
      enabled,
      baseUrl: baseUrl.trim(),
      deprovision,
      groups,
      roleMappings: mappings.map((m) => ({ groupId: m.groupId, role: m.role.trim() })),
      patch,
      memberPatch,
      bulk,
      matchBy,
      concurrency: Number(concurrency),
      reconcileMinutes: Number(reconcileMinutes),
    };
    if (removeToken) body.token = null;
    else if (token) body.token = token;
    onSaved(await api.put<Provisioning>(`/api/v2/applications/${app._id}/provisioning`, body));
    setToken('');
    setRemoveToken(false);
    setSaved(true);
  });

  const groupOptions = (current: string) => {
    const names = connected.data?.names ?? new Map<string, UserGroup>();
    const ids = [...new Set([...(connected.data?.ids ?? []), ...(current ? [current] : [])])];
    return [{ value: '', label: connected.loading ? 'Loading…' : 'Choose a group' }, ...ids.map((id) => ({ value: id, label: names.get(id)?.name ?? id }))];
  };

  return (
    <form className="card" onSubmit={submit} noValidate aria-labelledby="prov-settings">
      <h2 id="prov-settings">Settings</h2>
      {saved && <Alert kind="success">Saved. {enabled ? 'The next run starts within a few seconds.' : ''}</Alert>}
      <ErrorAlert error={error} />
      <fieldset className="rs-fieldset" disabled={!canWrite}>
        <legend className="visually-hidden">SCIM provisioning settings</legend>
        <Checkbox label="Provision users and groups" hint="Needs the base URL and a token." checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        {fieldError(error, 'enabled') && <p className="field-error">{fieldError(error, 'enabled')}</p>}
        <TextField label="SCIM base URL" type="url" hint="From the application's SCIM settings, as https://api.example.com/scim/v2 (http only to this machine). A new URL is a new target: what was recorded of the old one is forgotten." value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} error={fieldError(error, 'baseUrl')} />
        <TextField
          label="Bearer token"
          type="password"
          autoComplete="new-password"
          hint={target.hasToken ? 'A token is stored (never shown). Enter a new one to replace it; leave empty to keep it.' : 'The application’s SCIM token. Stored encrypted and never shown again.'}
          placeholder={target.hasToken ? '•••••••• (stored)' : ''}
          value={token}
          disabled={removeToken}
          onChange={(e) => setToken(e.target.value)}
          error={fieldError(error, 'token')}
        />
        {target.hasToken && <Checkbox label="Remove the stored token" checked={removeToken} onChange={(e) => setRemoveToken(e.target.checked)} />}
        <SelectField label="When a user loses access or is deleted" options={DEPROVISION} value={deprovision} onChange={(e) => setDeprovision(e.target.value)} error={fieldError(error, 'deprovision')} />
        <Checkbox label="Push groups with their members" hint="The groups connected to the application, nesting flattened." checked={groups} onChange={(e) => setGroups(e.target.checked)} />

        <fieldset className="rs-subset">
          <legend>Role mapping</legend>
          <p className="field-hint">Members of a group (directly or through nesting) get the role in the SCIM roles attribute. The group must be connected to the application (see Users and groups).</p>
          {fieldError(error, 'roleMappings') && <p className="field-error">{fieldError(error, 'roleMappings')}</p>}
          <div className="rs-rows">
            {mappings.map((m, i) => (
              <div className="rs-row" key={i}>
                <SelectField label={`Group ${i + 1}`} options={groupOptions(m.groupId)} value={m.groupId} onChange={(e) => setMappings(mappings.map((x, n) => (n === i ? { ...x, groupId: e.target.value } : x)))} error={fieldError(error, `roleMappings[${i}].groupId`)} />
                <TextField label={`Role ${i + 1}`} value={m.role} onChange={(e) => setMappings(mappings.map((x, n) => (n === i ? { ...x, role: e.target.value } : x)))} error={fieldError(error, `roleMappings[${i}].role`)} />
                <Button variant="ghost" onClick={() => setMappings(mappings.filter((_, n) => n !== i))} aria-label={`Remove role mapping ${i + 1}`}>
                  Remove
                </Button>
              </div>
            ))}
            <Button variant="ghost" onClick={() => setMappings([...mappings, { groupId: '', role: '' }])}>
              Add role mapping
            </Button>
          </div>
        </fieldset>

        <details className="rs-details">
          <summary>Advanced</summary>
          <SelectField label="Updates" options={PATCH} value={patch} onChange={(e) => setPatch(e.target.value)} error={fieldError(error, 'patch')} />
          <SelectField label="Member removals" options={MEMBER_PATCH} value={memberPatch} onChange={(e) => setMemberPatch(e.target.value)} error={fieldError(error, 'memberPatch')} />
          <SelectField label="Bulk requests" options={BULK} value={bulk} onChange={(e) => setBulk(e.target.value)} error={fieldError(error, 'bulk')} />
          <SelectField label="Recognise existing accounts by" options={MATCH} value={matchBy} onChange={(e) => setMatchBy(e.target.value)} error={fieldError(error, 'matchBy')} />
          <TextField label="Requests at once" type="number" min={1} max={64} value={concurrency} onChange={(e) => setConcurrency(e.target.value)} error={fieldError(error, 'concurrency')} />
          <TextField label="Reconcile every (minutes)" type="number" min={0} max={10080} hint="Reads the application's accounts back and repairs what drifted; 0: never." value={reconcileMinutes} onChange={(e) => setReconcileMinutes(e.target.value)} error={fieldError(error, 'reconcileMinutes')} />
        </details>
      </fieldset>
      {canWrite && <SaveActions busy={busy} />}
    </form>
  );
}

/** The dry run: what the next run would send, computed without calling the application. */
function Preview({ app }: { app: Application }) {
  const [plan, setPlan] = useState<ProvisioningPlan>();
  const { run: load, busy, error } = useAction(async () => setPlan(await api.get<ProvisioningPlan>(`/api/v2/applications/${app._id}/provisioning/plan${qs({ limit: 200 })}`)));
  const total = plan ? Object.values(plan.summary).reduce((n, byAction) => n + Object.values(byAction).reduce((a, b) => a + b, 0), 0) : 0;
  return (
    <section className="card" aria-labelledby="prov-preview">
      <div className="rs-card-head">
        <h2 id="prov-preview">Preview the next run</h2>
        <Button busy={busy} onClick={load}>
          {plan ? 'Preview again' : 'Preview'}
        </Button>
      </div>
      <p className="muted">What Roster would send to {appLabel(app)} now, with the reason for each change. Nothing is sent.</p>
      <ErrorAlert error={error} />
      {plan && (
        <>
          {total === 0 ? (
            <Alert kind="success">Nothing to send: the application is up to date.</Alert>
          ) : (
            <p>
              {(['user', 'group'] as const).map((kind) =>
                Object.entries(plan.summary[kind] ?? {}).map(([action, n]) => (
                  <Badge key={`${kind}-${action}`}>
                    {n} {kind === 'user' ? 'user' : 'group'}
                    {n === 1 ? '' : 's'} to {action}
                  </Badge>
                )),
              )}
            </p>
          )}
          {plan.operations.length > 0 && (
            <DataTable
              caption="Planned operations"
              rows={plan.operations}
              rowKey={(o) => `${o.type}-${o.id}-${o.action}`}
              columns={[
                { header: 'Object', cell: (o) => <Link to={o.type === 'user' ? `/admin/users/${o.id}` : `/admin/groups/${o.id}`}>{o.name}</Link> },
                { header: 'Type', cell: (o) => (o.type === 'user' ? 'User' : 'Group') },
                { header: 'Action', cell: (o) => <Badge kind="info">{o.action}</Badge> },
                { header: 'Why', cell: (o) => o.reason },
              ]}
            />
          )}
          {plan.operations.length < total && <p className="muted rs-small">Showing the first {plan.operations.length} of {total} operations.</p>}
        </>
      )}
    </section>
  );
}

const PAGE = 20;

/** What was written to the application, per user and group. */
function Objects({ app }: { app: Application }) {
  const [type, setType] = useState('');
  const [failed, setFailed] = useState(false);
  const [skip, setSkip] = useState(0);
  const objects = useAsync(
    (signal) => api.page<ProvisionedObject>(`/api/v2/applications/${app._id}/provisioning/objects${qs({ type: type || undefined, failed: failed ? 'true' : undefined, limit: PAGE, skip })}`, { signal }),
    [app._id, type, failed, skip],
  );
  return (
    <section className="card" aria-labelledby="prov-objects">
      <h2 id="prov-objects">Provisioned accounts and groups</h2>
      <div className="toolbar rs-toolbar">
        <SelectField
          label="Show"
          options={[
            { value: '', label: 'Users and groups' },
            { value: 'user', label: 'Users' },
            { value: 'group', label: 'Groups' },
          ]}
          value={type}
          onChange={(e) => {
            setType(e.target.value);
            setSkip(0);
          }}
        />
        <Checkbox
          label="Only failures"
          checked={failed}
          onChange={(e) => {
            setFailed(e.target.checked);
            setSkip(0);
          }}
        />
      </div>
      <Loaded state={objects}>
        {(data) => (
          <>
            <DataTable
              caption="Provisioned objects"
              rows={data.items}
              rowKey={(o) => `${o.type}-${o.id}`}
              busy={objects.loading}
              empty={failed ? 'No failures.' : 'Nothing was written yet.'}
              columns={[
                { header: 'Name', cell: (o) => <Link to={o.type === 'user' ? `/admin/users/${o.id}` : `/admin/groups/${o.id}`}>{o.name}</Link> },
                { header: 'Type', cell: (o) => (o.type === 'user' ? 'User' : 'Group') },
                { header: 'Id in the application', cell: (o) => (o.remoteId ? <code>{o.remoteId}</code> : <span className="muted">—</span>) },
                { header: 'State', cell: (o) => <Badge kind={o.state === 'active' ? 'good' : o.state === 'deleted' ? 'bad' : 'warn'}>{o.state}</Badge> },
                { header: 'Written', cell: (o) => <Time iso={o.writtenAt} /> },
                {
                  header: 'Last error',
                  cell: (o) =>
                    o.error ? (
                      <span className="rs-error-text">
                        {o.error} ({o.attempts} attempt{o.attempts === 1 ? '' : 's'}, <Time iso={o.errorAt} />)
                      </span>
                    ) : (
                      <span className="muted">—</span>
                    ),
                },
              ]}
            />
            <Pager skip={skip} limit={PAGE} total={data.total} onChange={setSkip} label="Provisioned object pages" />
          </>
        )}
      </Loaded>
    </section>
  );
}
