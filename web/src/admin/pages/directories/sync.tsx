import { useEffect, useMemo, useState, type FormEvent, type ReactNode, type TextareaHTMLAttributes } from 'react';
import { Link } from 'react-router';
import { api, qs } from '../../../shared/api';
import { Alert, Badge, Button, Checkbox, ConfirmDialog, DataTable, ErrorAlert, Field, Loaded, Pager, Progress, Properties, SelectField, TabPanel, TextField, Time, useAction, useAsync } from '../../../shared/ui';
import { SaveActions } from '../../components/forms';
import { groupsByIds, userLabel, usersByIds } from '../../lookups';
import { useSession } from '../../session';
import { fieldErrors, Section, usePolling, useTab, wholeNumber } from './common';

// ---------------------------------------------------------------------------------------------
// Wire shapes shared by Active Directory, Google Workspace and Microsoft 365.

export interface AttributeChange {
  before: unknown;
  after: unknown;
}

/** One step of a run's plan: what happens to one object, attribute by attribute, and why. */
export interface PlanItem {
  action: string;
  kind: 'user' | 'user_group' | string;
  externalId: string;
  localId?: string;
  name: string;
  changes?: Record<string, AttributeChange>;
  member?: string;
  reason?: string;
  held?: boolean;
}

export interface SyncRun {
  id: string;
  agentId: string | null;
  kind: 'import' | 'export' | string;
  mode: string;
  dryRun: boolean;
  status: 'running' | 'succeeded' | 'failed' | 'held' | string;
  started: string;
  finished: string | null;
  counts: Record<string, number>;
  plan?: PlanItem[];
  error: string | null;
}

/** An operation of the export's dry run (what Roster would write to the directory now). */
export interface ExportOp {
  op: 'create_user' | 'update_user' | 'delete_user' | 'create_group' | 'update_group' | string;
  localId: string;
  name: string;
  externalId?: string;
  parentDn?: string;
  attributes?: Record<string, string>;
  changes?: Record<string, string | null>;
  disabled?: boolean;
  deletedInRoster?: boolean;
  add?: string[];
  remove?: string[];
  reason?: string;
}

export interface ExportPlan {
  ops: ExportOp[];
  more: boolean;
  held?: { count: number; reason: string };
}

/** What every directory sync shares in its state (GET …/sync). */
export interface SyncStateBase {
  fullImportWanted: boolean;
  dryRunWanted: boolean;
  cursor: boolean;
  lastImportAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  lastRun: SyncRun | null;
}

export type Authority = 'import' | 'export' | 'both' | 'ignore';

/** The sync rules every directory has. */
export interface SyncRules {
  configuration: string;
  attributeMap: Record<string, string>;
  authority: Record<string, Authority>;
  removal: { action: 'suspend' | 'delete'; graceDays: number | null };
  deleteThreshold: { count: number; percent: number };
}

/** Who does the work: an agent next to the domain controllers, or Roster's own worker. */
export type Worker = 'agent' | 'worker';
const workerName = (w: Worker) => (w === 'agent' ? "the agent's next contact" : "the sync worker's next turn");

// ---------------------------------------------------------------------------------------------
// Small pieces.

export function RunStatus({ run }: { run: Pick<SyncRun, 'status'> }) {
  switch (run.status) {
    case 'running':
      return <Badge kind="info">Running</Badge>;
    case 'succeeded':
      return <Badge kind="good">Succeeded</Badge>;
    case 'failed':
      return <Badge kind="bad">Failed</Badge>;
    case 'held':
      return <Badge kind="warn">Removals held</Badge>;
    default:
      return <Badge>{run.status}</Badge>;
  }
}

const COUNT_LABELS: Record<string, string> = {
  create: 'created',
  update: 'updated',
  link: 'linked',
  suspend: 'suspended',
  unsuspend: 'unsuspended',
  delete: 'deleted',
  member_add: 'members added',
  member_remove: 'members removed',
  skip: 'skipped',
  conflict: 'conflicts',
  failed: 'failed',
  held: 'held back',
};

export function Counts({ counts }: { counts: Record<string, number> }) {
  const entries = Object.entries(counts).filter(([, n]) => n > 0);
  if (entries.length === 0) return <span className="muted">No changes</span>;
  return (
    <span className="counts">
      {entries.map(([k, n], i) => (
        <span key={k} className={k === 'failed' || k === 'conflict' ? 'count-bad' : k === 'held' ? 'count-warn' : undefined}>
          {i > 0 && ' · '}
          {n.toLocaleString()} {n === 1 ? (COUNT_LABELS[k] ?? k).replace(/^members/, 'member').replace(/^conflicts$/, 'conflict') : (COUNT_LABELS[k] ?? k)}
        </span>
      ))}
    </span>
  );
}

const runKind = (run: SyncRun) => `${run.kind === 'export' ? 'Export' : 'Import'}${run.mode === 'full' ? ' (full)' : run.mode === 'incremental' ? ' (changes)' : ''}`;

function formatValue(v: unknown): string {
  if (v === null || v === undefined || v === '') return '(empty)';
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.map(formatValue).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Attribute changes as before → after, the removed value struck through. */
export function Diff({ changes }: { changes: Record<string, AttributeChange> | undefined }) {
  const entries = Object.entries(changes ?? {}).filter(([, c]) => formatValue(c.before) !== formatValue(c.after));
  if (entries.length === 0) return null;
  return (
    <ul className="diff-list">
      {entries.map(([attr, c]) => (
        <li key={attr}>
          <code>{attr}</code>: <span className="visually-hidden">from</span>
          <span className={c.before === null || c.before === undefined || c.before === '' ? 'muted' : 'diff-remove'}>{formatValue(c.before)}</span>
          <span aria-hidden="true"> → </span>
          <span className="visually-hidden">to</span>
          <span className={c.after === null || c.after === undefined || c.after === '' ? 'muted' : 'diff-add'}>{formatValue(c.after)}</span>
        </li>
      ))}
    </ul>
  );
}

const ACTION_LABELS: Record<string, { label: string; kind: 'good' | 'bad' | 'warn' | 'info' | 'neutral' }> = {
  create: { label: 'Create', kind: 'good' },
  update: { label: 'Update', kind: 'info' },
  link: { label: 'Link', kind: 'info' },
  suspend: { label: 'Suspend', kind: 'warn' },
  unsuspend: { label: 'Unsuspend', kind: 'good' },
  delete: { label: 'Delete', kind: 'bad' },
  member_add: { label: 'Add member', kind: 'good' },
  member_remove: { label: 'Remove member', kind: 'warn' },
  skip: { label: 'Skip', kind: 'neutral' },
  conflict: { label: 'Conflict', kind: 'bad' },
  failed: { label: 'Failed', kind: 'bad' },
};

export function ActionBadge({ action }: { action: string }) {
  const a = ACTION_LABELS[action] ?? { label: action, kind: 'neutral' as const };
  return <Badge kind={a.kind}>{a.label}</Badge>;
}

function ObjectName({ kind, localId, name }: { kind: string; localId?: string | undefined; name: string }) {
  const label = name || localId || '(unnamed)';
  const what = kind === 'user_group' ? 'Group' : 'User';
  if (!localId) return <>{label} <span className="muted">({what.toLowerCase()})</span></>;
  return (
    <>
      <Link to={kind === 'user_group' ? `/admin/groups/${localId}` : `/admin/users/${localId}`}>{label}</Link> <span className="muted">({what.toLowerCase()})</span>
    </>
  );
}

const PLAN_PAGE = 25;

/** A run's plan: per object the action, the attributes before → after, and the reason; filtered by action, paged. */
export function PlanTable({ items, caption, empty = 'The plan is empty: nothing to change.', dryRun = false }: { items: PlanItem[]; caption: string; empty?: ReactNode; dryRun?: boolean }) {
  const [action, setAction] = useState('');
  const [skip, setSkip] = useState(0);
  const actions = useMemo(() => [...new Set(items.map((i) => (i.held ? 'held' : i.action)))].sort(), [items]);
  const shown = action ? items.filter((i) => (i.held ? 'held' : i.action) === action) : items;
  useEffect(() => setSkip(0), [action, items]);
  const page = shown.slice(skip, skip + PLAN_PAGE);
  // Removals of objects that left the directory come without a name: Roster's name of the object is shown instead.
  const unnamed = page.filter((i) => !i.name && i.localId);
  const names = useAsync(async () => {
    const users = await usersByIds(unnamed.filter((i) => i.kind === 'user').map((i) => i.localId!));
    const groups = await groupsByIds(unnamed.filter((i) => i.kind === 'user_group').map((i) => i.localId!));
    const out = new Map<string, string>();
    for (const [id, u] of users) out.set(id, u.username);
    for (const [id, g] of groups) out.set(id, g.name);
    return out;
  }, [unnamed.map((i) => i.localId).join(',')]);
  return (
    <div className="plan">
      {actions.length > 1 && (
        <div className="toolbar">
          <SelectField
            label="Show"
            value={action}
            onChange={(e) => setAction(e.target.value)}
            options={[{ value: '', label: `Every step (${items.length})` }, ...actions.map((a) => ({ value: a, label: `${a === 'held' ? 'Held back' : (ACTION_LABELS[a]?.label ?? a)} (${items.filter((i) => (i.held ? 'held' : i.action) === a).length})` }))]}
          />
        </div>
      )}
      <DataTable
        caption={caption}
        rows={page}
        rowKey={(i) => `${i.action}:${i.kind}:${i.externalId}:${i.member ?? ''}:${items.indexOf(i)}`}
        empty={empty}
        columns={[
          {
            header: 'Action',
            cell: (i) => (
              <>
                <ActionBadge action={i.action} /> {i.held && <Badge kind="warn">Held back</Badge>}
              </>
            ),
          },
          { header: 'Object', cell: (i) => <ObjectName kind={i.kind} localId={dryRun && i.action === 'create' ? undefined : i.localId} name={i.name || (i.localId ? (names.data?.get(i.localId) ?? '') : '')} /> },
          {
            header: 'Changes',
            cell: (i) => (
              <>
                <Diff changes={i.changes} />
                {i.member && (
                  <span>
                    Member <code>{i.member}</code>
                  </span>
                )}
                {!i.changes && !i.member && <span className="muted">—</span>}
              </>
            ),
          },
          { header: 'Reason', cell: (i) => i.reason ?? <span className="muted">—</span> },
        ]}
      />
      {shown.length > PLAN_PAGE && <Pager skip={skip} limit={PLAN_PAGE} total={shown.length} onChange={setSkip} label="Plan pages" />}
    </div>
  );
}

const OP_LABELS: Record<string, string> = {
  create_user: 'Create user',
  update_user: 'Update user',
  delete_user: 'Delete user',
  create_group: 'Create group',
  update_group: 'Update group',
};

function opBadge(op: ExportOp) {
  if (op.op === 'delete_user') return <Badge kind="bad">Delete user</Badge>;
  if (op.op === 'update_user' && op.disabled === true) return <Badge kind="warn">{op.deletedInRoster ? 'Disable (deleted in Roster)' : 'Disable user'}</Badge>;
  if (op.op.startsWith('create')) return <Badge kind="good">{OP_LABELS[op.op]}</Badge>;
  return <Badge kind="info">{OP_LABELS[op.op] ?? op.op}</Badge>;
}

/** The export's dry run as a table: per operation the object, the values it writes, and why. */
export function ExportOpsTable({ ops, caption }: { ops: ExportOp[]; caption: string }) {
  const [skip, setSkip] = useState(0);
  useEffect(() => setSkip(0), [ops]);
  return (
    <>
      <DataTable
        caption={caption}
        rows={ops.slice(skip, skip + PLAN_PAGE)}
        rowKey={(o) => `${o.op}:${o.localId}:${ops.indexOf(o)}`}
        empty="Nothing to write: the directory already holds what Roster has."
        columns={[
          { header: 'Operation', cell: opBadge },
          { header: 'Object', cell: (o) => <ObjectName kind={o.op.endsWith('group') ? 'user_group' : 'user'} localId={o.localId} name={o.name} /> },
          {
            header: 'Writes',
            cell: (o) => {
              const changes = o.attributes ?? o.changes ?? {};
              return (
                <>
                  {o.parentDn ? (
                    <p className="muted small">
                      In <code>{o.parentDn}</code>
                    </p>
                  ) : null}
                  {Object.keys(changes).length > 0 ? (
                    <ul className="diff-list">
                      {Object.entries(changes).map(([attr, v]) => (
                        <li key={attr}>
                          <code>{attr}</code>: {v === null || v === '' ? <span className="diff-remove-plain">cleared</span> : <span className="diff-add">{v}</span>}
                        </li>
                      ))}
                    </ul>
                  ) : null}
                  {o.add && o.add.length > 0 && <p className="small diff-add">{o.add.length} member{o.add.length === 1 ? '' : 's'} added</p>}
                  {o.remove && o.remove.length > 0 && <p className="small diff-remove-plain">{o.remove.length} member{o.remove.length === 1 ? '' : 's'} removed</p>}
                  {o.op === 'create_user' && o.disabled && <p className="small muted">Created disabled until the user has a password</p>}
                  {o.op === 'update_user' && o.disabled === false && Object.keys(changes).length === 0 && <p className="small muted">Account kept enabled</p>}
                  {Object.keys(changes).length === 0 && !o.add?.length && !o.remove?.length && !o.parentDn && o.disabled === undefined && <span className="muted">—</span>}
                </>
              );
            },
          },
          { header: 'Reason', cell: (o) => o.reason ?? <span className="muted">—</span> },
        ]}
      />
      {ops.length > PLAN_PAGE && <Pager skip={skip} limit={PLAN_PAGE} total={ops.length} onChange={setSkip} label="Operation pages" />}
    </>
  );
}

// ---------------------------------------------------------------------------------------------
// The sync's state at the top of a detail page.

/**
 * The sync of a directory's detail page (`base`, as /api/v2/activedirectories/{id}): its state
 * (GET …/sync), read again every 3 s while a run, a full import or a plan is under way and every
 * 15 s otherwise; the page's tab (?tab=, "overview" first); `refresh`, which reads the state and the
 * run history again; and `syncNow`, which asks for a full import (its error in `syncError`).
 * `runsKey` changes whenever the run history should be read again.
 */
export function useDirectorySync<S extends SyncStateBase>(base: string) {
  const state = useAsync((signal) => api.get<S>(`${base}/sync`, { signal }), [base]);
  const busy = state.data?.lastRun?.status === 'running' || state.data?.fullImportWanted === true || state.data?.dryRunWanted === true;
  usePolling(state.reload, state.data !== undefined, busy ? 3000 : 15000);
  const [tab, setTab] = useTab('overview');
  const [refreshes, setRefreshes] = useState(0);
  const refresh = () => {
    state.reload();
    setRefreshes((n) => n + 1);
  };
  const full = useAction(async () => {
    await api.post(`${base}/sync/full`);
    refresh();
  });
  return {
    state,
    tab,
    setTab,
    refresh,
    syncNow: full.run,
    syncError: full.error,
    runsKey: `${refreshes}:${state.data?.lastRun?.id ?? ''}:${state.data?.lastRun?.status ?? ''}`,
  };
}

/** A directory page's actions: ask for a full import now (`label`; `requestedLabel` once asked), and disconnect. */
export function SyncActions<S extends SyncStateBase>({ sync, label, requestedLabel, onDisconnect }: { sync: ReturnType<typeof useDirectorySync<S>>; label: string; requestedLabel: string; onDisconnect: () => void }) {
  const requested = sync.state.data?.fullImportWanted;
  return (
    <>
      <Button onClick={sync.syncNow} disabled={requested}>
        {requested ? requestedLabel : label}
      </Button>
      <Button variant="danger" onClick={onDisconnect}>
        Disconnect
      </Button>
    </>
  );
}

/**
 * The sync's tabs of a directory page, whichever of them is `sync.tab`: Sync runs, Dry run (the
 * import's, with `note`, and the export's) and Held & conflicts. `onRulesChanged` reads the
 * directory again once held removals were let through.
 */
export function SyncTabPanels<S extends SyncStateBase>({
  sync,
  base,
  worker,
  canWrite,
  dir,
  directoryName,
  exportsTo,
  withExport,
  note,
  onRulesChanged,
}: {
  sync: ReturnType<typeof useDirectorySync<S>>;
  base: string;
  worker: Worker;
  canWrite: boolean;
  dir: SyncRules & { id: string };
  directoryName: string;
  exportsTo: boolean;
  withExport: boolean;
  note?: ReactNode;
  onRulesChanged: () => void;
}) {
  const { tab, state, refresh } = sync;
  return (
    <>
      {tab === 'runs' && (
        <TabPanel id="runs">
          <RunHistory base={base} worker={worker} refreshKey={sync.runsKey} />
        </TabPanel>
      )}
      {tab === 'dry-run' && (
        <TabPanel id="dry-run">
          <ImportDryRun base={base} worker={worker} canWrite={canWrite} requested={state.data?.dryRunWanted ?? false} onRequested={refresh} note={note} />
          <ExportDryRun base={base} worker={worker} canWrite={canWrite} exportsTo={exportsTo} onRequested={refresh} />
        </TabPanel>
      )}
      {tab === 'safety' && (
        <TabPanel id="safety">
          <HeldRemovals
            base={base}
            worker={worker}
            threshold={dir.deleteThreshold}
            canWrite={canWrite}
            withExport={withExport}
            onChanged={() => {
              onRulesChanged();
              refresh();
            }}
          />
          <Conflicts base={base} directoryId={dir.id} directoryName={directoryName} />
        </TabPanel>
      )}
    </>
  );
}

/** The last error, and what is under way (a run, a requested import or plan), for the page's top. */
export function SyncBanner({ state, worker }: { state: SyncStateBase; worker: Worker }) {
  const run = state.lastRun;
  return (
    <div className="sync-banner" aria-live="polite">
      {state.lastError && (
        <Alert kind="error" title="The sync reported a problem">
          <p className="pre-wrap">{state.lastError}</p>
          {state.lastErrorAt && (
            <p className="small">
              Since <Time iso={state.lastErrorAt} />
            </p>
          )}
        </Alert>
      )}
      {run?.status === 'running' && (
        <div className="card card-tight">
          <Progress label={`${runKind(run)}${run.dryRun ? ' dry run' : ''} in progress`} />
          <p className="small muted">
            Started <Time iso={run.started} relative /> · <Counts counts={run.counts} />
          </p>
        </div>
      )}
      {run?.status !== 'running' && (state.fullImportWanted || state.dryRunWanted) && (
        <div className="card card-tight">
          <Progress label={`${state.dryRunWanted ? 'A plan (dry run)' : 'A full import'} waits for ${workerName(worker)}`} />
        </div>
      )}
    </div>
  );
}

/** The sync's facts for an overview. */
export function syncFacts(state: SyncStateBase): [ReactNode, ReactNode][] {
  const run = state.lastRun;
  return [
    ['Last import', state.lastImportAt ? <Time iso={state.lastImportAt} /> : <span className="muted">Never</span>],
    ['Next import', state.fullImportWanted ? 'Reads everything (full)' : state.cursor ? 'Changes since the last one' : 'Reads everything (full)'],
    [
      'Last run',
      run ? (
        <>
          {runKind(run)}
          {run.dryRun ? ' dry run' : ''} <RunStatus run={run} />
          <br />
          <span className="small">
            <Time iso={run.started} /> · <Counts counts={run.counts} />
          </span>
        </>
      ) : (
        <span className="muted">None yet</span>
      ),
    ],
  ];
}

// ---------------------------------------------------------------------------------------------
// Run history.

const RUN_PAGE = 20;

/** A directory's runs, newest first, paged; each run's plan opens below the table. Polls while one runs. */
export function RunHistory({ base, refreshKey = '', worker }: { base: string; refreshKey?: string; worker: Worker }) {
  const [skip, setSkip] = useState(0);
  const [open, setOpen] = useState<string>();
  const runs = useAsync((signal) => api.page<SyncRun>(`${base}/sync/runs${qs({ limit: RUN_PAGE, skip })}`, { signal }), [base, skip, refreshKey]);
  usePolling(runs.reload, Boolean(runs.data?.items.some((r) => r.status === 'running')));
  return (
    <Section title="Sync runs" description="Imports read the directory into Roster; exports write Roster's changes to the directory. Each run keeps its plan: per object what changed, before → after, and why.">
      <Loaded state={runs}>
        {(data) => (
          <>
            <DataTable
              caption="Sync runs, newest first"
              rows={data.items}
              rowKey={(r) => r.id}
              busy={runs.loading}
              empty={<>No run yet. The first import runs at {workerName(worker)}.</>}
              columns={[
                { header: 'Started', cell: (r) => <Time iso={r.started} /> },
                {
                  header: 'Run',
                  cell: (r) => (
                    <>
                      {runKind(r)} {r.dryRun && <Badge kind="info">Dry run</Badge>}
                    </>
                  ),
                },
                { header: 'Status', cell: (r) => <RunStatus run={r} /> },
                { header: 'Result', cell: (r) => (r.error ? <span className="count-bad">{r.error}</span> : <Counts counts={r.counts} />) },
                { header: 'Finished', cell: (r) => <Time iso={r.finished} /> },
                {
                  header: <span className="visually-hidden">Plan</span>,
                  cell: (r) => (
                    <Button variant="ghost" aria-expanded={open === r.id} aria-controls="run-detail" onClick={() => setOpen(open === r.id ? undefined : r.id)}>
                      {open === r.id ? 'Hide plan' : 'View plan'}
                    </Button>
                  ),
                },
              ]}
            />
            <Pager skip={skip} limit={RUN_PAGE} total={data.total} onChange={setSkip} label="Run pages" />
          </>
        )}
      </Loaded>
      <div id="run-detail">{open && <RunDetail base={base} runId={open} onClose={() => setOpen(undefined)} />}</div>
    </Section>
  );
}

/** One run with its plan. */
export function RunDetail({ base, runId, onClose }: { base: string; runId: string; onClose?: () => void }) {
  const run = useAsync((signal) => api.get<SyncRun>(`${base}/sync/runs/${runId}`, { signal }), [base, runId]);
  usePolling(run.reload, run.data?.status === 'running');
  return (
    <div className="run-detail">
      <Loaded state={run} label="Loading the plan…">
        {(r) => (
          <>
            <div className="section-head">
              <h3>
                {runKind(r)}
                {r.dryRun ? ' dry run' : ''} of <Time iso={r.started} />
              </h3>
              {onClose && (
                <Button variant="ghost" onClick={onClose}>
                  Close
                </Button>
              )}
            </div>
            <Properties
              items={[
                ['Status', <RunStatus run={r} />],
                ['Started', <Time iso={r.started} />],
                ['Finished', <Time iso={r.finished} />],
                ['Result', <Counts counts={r.counts} />],
                ...(r.agentId ? ([[r.agentId.startsWith('cloud-') ? 'Worker' : 'Agent', <code>{r.agentId}</code>]] as [ReactNode, ReactNode][]) : []),
              ]}
            />
            {r.status === 'running' && <Progress label="Running" />}
            {r.error && (
              <Alert kind="error" title="The run failed">
                {r.error}
              </Alert>
            )}
            {r.status === 'held' && (
              <Alert kind="warning" title="Removals held back">
                More objects would have been removed than the delete threshold allows. Everything else was applied; the removals marked “Held back” wait. Raise the threshold (or fix the scope) and run a full import to apply them.
              </Alert>
            )}
            <PlanTable items={r.plan ?? []} dryRun={r.dryRun} caption="The run's plan" empty={r.status === 'running' ? 'Planning…' : 'Nothing changed.'} />
          </>
        )}
      </Loaded>
    </div>
  );
}

// ---------------------------------------------------------------------------------------------
// Dry runs.

/**
 * The import's dry run: ask for a plan (POST …/sync/plan), wait for the run it makes (polling the
 * runs), show it as a diff, and apply it with a full import (POST …/sync/full).
 */
export function ImportDryRun({ base, worker, canWrite, requested, note, onRequested }: { base: string; worker: Worker; canWrite: boolean; requested: boolean; note?: ReactNode; onRequested: () => void }) {
  const [tick, setTick] = useState(0);
  const runs = useAsync((signal) => api.page<SyncRun>(`${base}/sync/runs${qs({ limit: 100 })}`, { signal }), [base, tick]);
  const latest = runs.data?.items.find((r) => r.dryRun && r.kind !== 'export');
  /** The newest dry run's id when the administrator asked for a new one ('' when there was none). */
  const [before, setBefore] = useState<string | null>(null);
  const [applying, setApplying] = useState(false);
  const [applied, setApplied] = useState(false);
  const fresh = before === null || (latest !== undefined && latest.id !== before);
  const waiting = (before !== null && !fresh) || requested || latest?.status === 'running';
  usePolling(() => setTick((t) => t + 1), waiting);
  useEffect(() => {
    if (before !== null && latest && latest.id !== before && latest.status !== 'running') setBefore(null);
  }, [before, latest]);

  const { run: ask, busy: asking, error: askError } = useAction(async () => {
    setApplied(false);
    await api.post(`${base}/sync/plan`);
    setBefore(latest?.id ?? '');
    onRequested();
  });

  return (
    <Section
      title="Import dry run"
      description={<>What an import would change in Roster, without applying anything: the whole scope is read at {workerName(worker)} and planned against Roster.</>}
      actions={
        canWrite ? (
          <Button variant="primary" busy={asking} disabled={waiting} onClick={ask}>
            Plan an import
          </Button>
        ) : undefined
      }
    >
      {note}
      <ErrorAlert error={askError} />
      {waiting && <Progress label={latest?.status === 'running' ? 'Planning the import…' : `Waiting for ${workerName(worker)} to make the plan…`} />}
      {applied && <Alert kind="success">The import was requested: it runs at {workerName(worker)}. Follow it under Sync runs.</Alert>}
      <Loaded state={runs}>
        {() =>
          latest && fresh ? (
            <>
              <div className="section-head">
                <p className="muted">
                  Plan made <Time iso={latest.started} /> · <Counts counts={latest.counts} />
                </p>
                {canWrite && latest.status !== 'running' && (
                  <Button variant="primary" onClick={() => setApplying(true)}>
                    Apply
                  </Button>
                )}
              </div>
              <RunDetail base={base} runId={latest.id} />
            </>
          ) : !waiting ? (
            <p className="muted">No plan yet. {canWrite ? 'Plan an import to see what it would change.' : ''}</p>
          ) : null
        }
      </Loaded>
      <ApplyDialog
        open={applying}
        base={base}
        title="Apply the import"
        confirmLabel="Run the import"
        onClose={() => setApplying(false)}
        onApplied={() => {
          setApplied(true);
          onRequested();
        }}
      >
        Roster reads the whole scope again at {workerName(worker)} and applies what it finds. The directory may have changed since the plan was made; removals beyond the delete threshold are still held back.
      </ApplyDialog>
    </Section>
  );
}

/** Asks before applying a dry run: a full sync (POST …/sync/full), which reads the directory again and applies what it finds. */
function ApplyDialog({ open, base, title, confirmLabel, onClose, onApplied, children }: { open: boolean; base: string; title: string; confirmLabel: string; onClose: () => void; onApplied: () => void; children: ReactNode }) {
  return (
    <ConfirmDialog
      open={open}
      danger={false}
      title={title}
      confirmLabel={confirmLabel}
      onClose={onClose}
      onConfirm={async () => {
        await api.post(`${base}/sync/full`);
        onApplied();
      }}
    >
      <p>{children}</p>
    </ConfirmDialog>
  );
}

/** The export's dry run (GET …/sync/export): what Roster would write to the directory now, and applying it. */
export function ExportDryRun({ base, worker, canWrite, exportsTo, onRequested }: { base: string; worker: Worker; canWrite: boolean; exportsTo: boolean; onRequested: () => void }) {
  const plan = useAsync((signal) => api.get<ExportPlan>(`${base}/sync/export${qs({ limit: 500 })}`, { signal }), [base]);
  const [applying, setApplying] = useState(false);
  const [applied, setApplied] = useState(false);
  return (
    <Section
      title="Export dry run"
      description="What Roster would write to the directory now, planned against what the directory last held. Nothing is written."
      actions={
        <>
          <Button onClick={plan.reload} busy={plan.loading && plan.data !== undefined}>
            Refresh
          </Button>
          {canWrite && exportsTo && (
            <Button variant="primary" disabled={!plan.data || plan.data.ops.length === 0} onClick={() => setApplying(true)}>
              Apply
            </Button>
          )}
        </>
      }
    >
      {!exportsTo && <Alert kind="info">In this configuration Roster does not write to the directory, so there is nothing to export. Switch to two-way or Roster authoritative in Settings to write to it.</Alert>}
      {applied && <Alert kind="success">A sync was requested: the writes go out at {workerName(worker)}. Follow them under Sync runs.</Alert>}
      <Loaded state={plan} label="Planning the export…">
        {(p) => (
          <>
            {p.held && (
              <Alert kind="warning" title={`${p.held.count.toLocaleString()} deprovisioning operations held back`}>
                {p.held.reason}
              </Alert>
            )}
            {p.more && <Alert kind="info">More operations wait than shown here: the first {p.ops.length.toLocaleString()} are listed.</Alert>}
            <ExportOpsTable ops={p.ops} caption="Operations the export would write" />
          </>
        )}
      </Loaded>
      <ApplyDialog
        open={applying}
        base={base}
        title="Apply the export"
        confirmLabel="Sync now"
        onClose={() => setApplying(false)}
        onApplied={() => {
          setApplied(true);
          onRequested();
        }}
      >
        Roster asks for a full sync at {workerName(worker)}: the directory is read again and these operations are written (Roster also writes them on its own as changes happen). Deprovisioning beyond the delete threshold stays held back.
      </ApplyDialog>
    </Section>
  );
}

// ---------------------------------------------------------------------------------------------
// Safety: held removals and conflicts.

/**
 * What the delete threshold holds back: the removals of the last import (status `held`), and for
 * cloud directories the export's held deprovisioning. Raising the threshold and syncing applies them.
 */
export function HeldRemovals({ base, worker, threshold, canWrite, withExport, onChanged }: { base: string; worker: Worker; threshold: SyncRules['deleteThreshold']; canWrite: boolean; withExport: boolean; onChanged: () => void }) {
  const [tick, setTick] = useState(0);
  const held = useAsync(
    async (signal) => {
      const runs = await api.page<SyncRun>(`${base}/sync/runs${qs({ limit: 100 })}`, { signal });
      const lastImport = runs.items.find((r) => r.kind !== 'export' && !r.dryRun && r.status !== 'running');
      const run = lastImport?.status === 'held' ? await api.get<SyncRun>(`${base}/sync/runs/${lastImport.id}`, { signal }) : undefined;
      const exportPlan = withExport ? await api.get<ExportPlan>(`${base}/sync/export${qs({ limit: 1 })}`, { signal }) : undefined;
      return { run, items: run?.plan?.filter((i) => i.held) ?? [], exportHeld: exportPlan?.held };
    },
    [base, tick, withExport],
  );
  const [raising, setRaising] = useState(false);
  const heldCount = Math.max(held.data?.items.length ?? 0, held.data?.exportHeld?.count ?? 0);
  return (
    <Section
      title="Held deprovisioning"
      description={
        <>
          A run that would remove more than {threshold.count.toLocaleString()} objects and more than {threshold.percent}% of those linked holds the removals back and applies everything else, so that a mistake in the scope does not empty the directory.
        </>
      }
      actions={
        canWrite && heldCount > 0 ? (
          <Button variant="primary" onClick={() => setRaising(true)}>
            Raise the threshold and apply
          </Button>
        ) : undefined
      }
    >
      <Loaded state={held}>
        {(h) =>
          h.items.length === 0 && !h.exportHeld ? (
            <p className="muted">Nothing is held back.</p>
          ) : (
            <>
              {h.run && (
                <>
                  <Alert kind="warning" title={<>{h.items.length.toLocaleString()} removals from the import of <Time iso={h.run.started} /> are held back</>}>
                    Check that these objects really left the directory. If the scope is wrong, fix it in Settings instead: the next import brings them back in.
                  </Alert>
                  <PlanTable items={h.items} caption="Removals held back" />
                </>
              )}
              {h.exportHeld && (
                <Alert kind="warning" title={`${h.exportHeld.count.toLocaleString()} accounts to suspend or delete in the directory are held back`}>
                  {h.exportHeld.reason}. Check the Export dry run for the accounts concerned.
                </Alert>
              )}
            </>
          )
        }
      </Loaded>
      {raising && (
        <RaiseThresholdDialog
          base={base}
          worker={worker}
          threshold={threshold}
          heldCount={heldCount}
          onClose={() => setRaising(false)}
          onDone={() => {
            setTick((t) => t + 1);
            onChanged();
          }}
        />
      )}
    </Section>
  );
}

function RaiseThresholdDialog({ base, worker, threshold, heldCount, onClose, onDone }: { base: string; worker: Worker; threshold: SyncRules['deleteThreshold']; heldCount: number; onClose: () => void; onDone: () => void }) {
  const [count, setCount] = useState(String(Math.max(threshold.count, heldCount)));
  const [percent, setPercent] = useState(String(threshold.percent));
  const [invalid, setInvalid] = useState<string>();
  return (
    <ConfirmDialog
      open
      title="Let the held removals through"
      confirmLabel="Save and sync"
      onClose={onClose}
      onConfirm={async () => {
        const c = wholeNumber(count);
        const p = Number(percent);
        if (c === undefined || percent.trim() === '' || !Number.isFinite(p) || p < 0 || p > 100) {
          setInvalid('Enter a whole number of objects and a percentage from 0 to 100.');
          throw new Error('Enter a whole number of objects and a percentage from 0 to 100.');
        }
        await api.patch(base, { deleteThreshold: { count: c, percent: p } });
        await api.post(`${base}/sync/full`);
        onDone();
      }}
    >
      <p>
        {heldCount.toLocaleString()} removals are held back. A run holds its removals when they exceed the count and the percentage. Raise them, and Roster runs a full sync at {workerName(worker)} that applies the removals.
      </p>
      <TextField label="Objects a run may remove" inputMode="numeric" value={count} onChange={(e) => setCount(e.target.value)} error={invalid} />
      <TextField label="Percentage of linked objects a run may remove" inputMode="decimal" value={percent} onChange={(e) => setPercent(e.target.value)} />
      <p className="muted small">Lower the threshold again in Settings once the removals went through.</p>
    </ConfirmDialog>
  );
}

interface JournalEntry {
  seq: number;
  at: string;
  objectType: string;
  objectId: string;
  operation: string;
  changes: Record<string, AttributeChange>;
  details: { winners?: Record<string, 'roster' | 'directory'>; rosterChangedAt?: string; directoryChangedAt?: string | null } | null;
}

const CONFLICT_PAGE = 50;

/**
 * Sync conflicts: attributes changed on both sides (two-way), from the journal (`sync_conflict`
 * on the user: the losing value → the kept one), and the conflicts of the last import's plan
 * (an account re-created with the name of a linked one, never merged).
 */
export function Conflicts({ base, directoryId, directoryName }: { base: string; directoryId: string; directoryName: string }) {
  const session = useSession();
  const canJournal = session.can('journal:read');
  const [pages, setPages] = useState(1);
  const journal = useAsync(
    async (signal) => {
      if (!canJournal) return { entries: [] as JournalEntry[], names: new Map(), more: false };
      const entries: JournalEntry[] = [];
      let since = 0;
      let more = false;
      for (let i = 0; i < pages; i++) {
        const page = await api.get<JournalEntry[]>(`/api/v2/journal${qs({ since, limit: CONFLICT_PAGE, filter: ['operation:eq:sync_conflict', `origin:eq:sync:${directoryId}`] })}`, { signal });
        entries.push(...page);
        more = page.length === CONFLICT_PAGE;
        if (!more) break;
        since = page[page.length - 1]!.seq;
      }
      const names = await usersByIds(entries.map((e) => e.objectId));
      return { entries: entries.reverse(), names, more };
    },
    [directoryId, pages, canJournal],
  );
  const lastImport = useAsync(
    async (signal) => {
      const runs = await api.page<SyncRun>(`${base}/sync/runs${qs({ limit: 100 })}`, { signal });
      const run = runs.items.find((r) => r.kind !== 'export' && !r.dryRun && (r.counts.conflict ?? 0) > 0);
      return run ? await api.get<SyncRun>(`${base}/sync/runs/${run.id}`, { signal }) : null;
    },
    [base],
  );
  return (
    <Section title="Sync conflicts" description={<>Attributes changed in Roster and in {directoryName} since the last sync go to the newer change; the losing value is kept here. Accounts re-created in the directory with the name of a linked one are reported, never merged.</>}>
      <h3>Changed on both sides</h3>
      {!canJournal ? (
        <p className="muted">Reading conflicts needs the permission to read the change journal.</p>
      ) : (
        <Loaded state={journal}>
          {(j) => (
            <>
              <DataTable
                caption="Attributes changed on both sides"
                rows={j.entries}
                rowKey={(e) => String(e.seq)}
                empty="No conflict: no attribute was changed on both sides (conflicts happen in two-way configurations only)."
                columns={[
                  { header: 'When', cell: (e) => <Time iso={e.at} /> },
                  { header: 'User', cell: (e) => <Link to={`/admin/users/${e.objectId}`}>{userLabel(j.names.get(e.objectId), e.objectId)}</Link> },
                  {
                    header: 'Attribute: lost → kept',
                    cell: (e) => (
                      <ul className="diff-list">
                        {Object.entries(e.changes).map(([attr, c]) => (
                          <li key={attr}>
                            <code>{attr}</code>: <span className="diff-remove">{formatValue(c.before)}</span> <span aria-hidden="true">→</span>
                            <span className="visually-hidden">replaced by</span> <span className="diff-add">{formatValue(c.after)}</span>{' '}
                            <span className="muted small">({e.details?.winners?.[attr] === 'directory' ? "the directory's change was newer" : "Roster's change was newer"})</span>
                          </li>
                        ))}
                      </ul>
                    ),
                  },
                ]}
              />
              {j.more && (
                <div className="form-actions">
                  <Button onClick={() => setPages((p) => p + 1)}>Show more</Button>
                </div>
              )}
            </>
          )}
        </Loaded>
      )}
      <h3 className="spaced">In the last import with conflicts</h3>
      <Loaded state={lastImport}>
        {(run) =>
          run ? (
            <>
              <p className="muted">
                Import of <Time iso={run.started} />
              </p>
              <PlanTable items={(run.plan ?? []).filter((i) => i.action === 'conflict')} caption="Conflicts of the last import" />
            </>
          ) : (
            <p className="muted">No recent import reported a conflict.</p>
          )
        }
      </Loaded>
    </Section>
  );
}

// ---------------------------------------------------------------------------------------------
// Settings: attribute map, authority, removal, delete threshold.

export const ATTRIBUTE_LABELS: Record<string, string> = {
  username: 'Username',
  email: 'Email',
  firstname: 'First name',
  middlename: 'Middle name',
  lastname: 'Last name',
  displayname: 'Display name',
  jobTitle: 'Job title',
  department: 'Department',
  company: 'Company',
  costCenter: 'Cost center',
  description: 'Description',
  location: 'Location',
  employeeIdentifier: 'Employee ID',
  employeeType: 'Employee type',
  alternateEmail: 'Alternate email',
  suspended: 'Suspension (account enabled or disabled)',
  membership: 'Group membership',
  password: 'Password',
};

/** Roster attributes an attribute map may name. */
export const MAPPABLE = ['username', 'email', 'firstname', 'middlename', 'lastname', 'displayname', 'jobTitle', 'department', 'company', 'costCenter', 'description', 'location', 'employeeIdentifier', 'employeeType', 'alternateEmail'];

const AUTHORITY_LABELS: Record<Authority, string> = {
  import: 'Import: the directory wins',
  export: 'Export: Roster wins',
  both: 'Both: the newer change wins',
  ignore: 'Ignore: not synced',
};

/** The authority each configuration presets for every attribute. */
export const PRESETS: Record<string, Authority> = { ad_authoritative: 'import', directory_authoritative: 'import', two_way: 'both', roster_authoritative: 'export' };

/** The settings form's draft of the sync rules, as text where the administrator types numbers. */
export interface RulesDraft {
  attributeMap: { attribute: string; source: string }[];
  authority: Record<string, Authority | ''>;
  removalAction: 'suspend' | 'delete';
  graceDays: string;
  graceNever: boolean;
  thresholdCount: string;
  thresholdPercent: string;
}

export function rulesDraft(s: SyncRules): RulesDraft {
  return {
    attributeMap: Object.entries(s.attributeMap).map(([attribute, source]) => ({ attribute, source })),
    authority: { ...s.authority },
    removalAction: s.removal.action,
    graceDays: s.removal.graceDays === null ? '30' : String(s.removal.graceDays),
    graceNever: s.removal.graceDays === null,
    thresholdCount: String(s.deleteThreshold.count),
    thresholdPercent: String(s.deleteThreshold.percent),
  };
}

/** The changed rules as a PATCH body, or the errors of the draft. */
export function rulesPatch(draft: RulesDraft, s: SyncRules): { patch: Record<string, unknown>; errors: Record<string, string> } {
  const patch: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  const map = Object.fromEntries(draft.attributeMap.filter((r) => r.attribute && r.source.trim()).map((r) => [r.attribute, r.source.trim()]));
  if (JSON.stringify(map) !== JSON.stringify(s.attributeMap)) patch.attributeMap = map;
  const authority = Object.fromEntries(Object.entries(draft.authority).filter(([, v]) => v !== ''));
  const same = (a: Record<string, unknown>, b: Record<string, unknown>) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
  if (!same(authority, s.authority)) patch.authority = authority;
  const grace = draft.graceNever ? null : wholeNumber(draft.graceDays);
  if (grace === undefined) errors['removal.graceDays'] = 'Enter a whole number of days (0 to 3650).';
  else if (draft.removalAction !== s.removal.action || grace !== s.removal.graceDays) patch.removal = { action: draft.removalAction, graceDays: grace };
  const count = wholeNumber(draft.thresholdCount);
  const percent = Number(draft.thresholdPercent);
  if (count === undefined) errors['deleteThreshold.count'] = 'Enter a whole number, 0 or more.';
  if (draft.thresholdPercent.trim() === '' || !Number.isFinite(percent) || percent < 0 || percent > 100) errors['deleteThreshold.percent'] = 'Enter a percentage from 0 to 100.';
  if (count !== undefined && !errors['deleteThreshold.percent'] && (count !== s.deleteThreshold.count || percent !== s.deleteThreshold.percent)) patch.deleteThreshold = { count, percent };
  return { patch, errors };
}

/**
 * A directory's settings form: the draft (`draftOf` the directory, made again whenever the directory
 * changes), the errors found here and the API's by field, and the save (PATCH `path`). `submit`
 * turns the draft into a patch (`patchOf`); a patch that `needsConfirm` waits in `confirming` until
 * the administrator confirms it (`confirm`) or not (`cancelConfirm`).
 */
export function useSettingsForm<W, D extends RulesDraft>({
  dir,
  path,
  draftOf,
  patchOf,
  needsConfirm,
  onSaved,
}: {
  dir: W;
  path: string;
  draftOf: (dir: W) => D;
  patchOf: (draft: D) => { patch: Record<string, unknown>; errors: Record<string, string> };
  needsConfirm: (patch: Record<string, unknown>) => boolean;
  onSaved: (dir: W) => void;
}) {
  const [draft, setDraft] = useState(() => draftOf(dir));
  useEffect(() => setDraft(draftOf(dir)), [dir]); // eslint-disable-line react-hooks/exhaustive-deps
  const [local, setLocal] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const [confirming, setConfirming] = useState<Record<string, unknown>>();
  const save = useAction(async (patch: Record<string, unknown>) => {
    onSaved(await api.patch<W>(path, patch));
    setSaved(true);
  });
  const set = (patch: Partial<D>) => setDraft((d) => ({ ...d, ...patch }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const { patch, errors } = patchOf(draft);
    setLocal(errors);
    if (Object.keys(errors).length > 0) return;
    if (Object.keys(patch).length === 0) {
      setSaved(true);
      return;
    }
    if (needsConfirm(patch)) setConfirming(patch);
    else void save.run(patch);
  };
  return {
    draft,
    set,
    fields: { ...fieldErrors(save.error), ...local },
    error: save.error,
    busy: save.busy,
    saved,
    submit,
    discard: () => {
      setDraft(draftOf(dir));
      setLocal({});
      save.clearError();
    },
    confirming,
    confirm: async () => {
      const patch = confirming!;
      setConfirming(undefined);
      await save.run(patch);
    },
    cancelConfirm: () => setConfirming(undefined),
  };
}

/** A directory's settings form: the save's error and "Settings saved.", the fields, then Save settings (and Discard changes, with `discard`). */
export function SettingsForm({ form, canWrite, children }: { form: { submit: (e: FormEvent) => void; error: unknown; saved: boolean; busy: boolean; discard?: () => void }; canWrite: boolean; children: ReactNode }) {
  return (
    <form onSubmit={form.submit} noValidate>
      <fieldset className="plain-fieldset" disabled={!canWrite}>
        <ErrorAlert error={form.error} />
        {form.saved && <Alert kind="success">Settings saved.</Alert>}
        {children}
        {canWrite && <SaveActions busy={form.busy} label="Save settings">{form.discard && <Button onClick={form.discard}>Discard changes</Button>}</SaveActions>}
      </fieldset>
    </form>
  );
}

/** Attribute map, authority table, removal policy and delete threshold: the rules part of a settings form. */
export function RulesFields({
  draft,
  onChange,
  configuration,
  defaults,
  authorityAttributes,
  passwordAuthority = false,
  errors,
  directoryWord,
}: {
  draft: RulesDraft;
  onChange: (draft: RulesDraft) => void;
  configuration: string;
  /** Roster attribute → the directory attribute it comes from by default. */
  defaults: Record<string, string>;
  authorityAttributes: string[];
  passwordAuthority?: boolean;
  errors: Record<string, string>;
  directoryWord: string;
}) {
  const set = (patch: Partial<RulesDraft>) => onChange({ ...draft, ...patch });
  const preset = PRESETS[configuration] ?? 'import';
  const attributes = passwordAuthority ? [...authorityAttributes, 'password'] : authorityAttributes;
  return (
    <>
      <fieldset className="fieldset">
        <legend>Attribute authority</legend>
        <p className="muted small">
          Each attribute follows the configuration ({AUTHORITY_LABELS[preset].toLowerCase()}) unless you choose otherwise here.
        </p>
        <div className="table-wrap">
          <table className="table authority-table">
            <caption className="visually-hidden">Authority per attribute</caption>
            <thead>
              <tr>
                <th scope="col">Attribute</th>
                <th scope="col">{directoryWord} attribute</th>
                <th scope="col">Authority</th>
              </tr>
            </thead>
            <tbody>
              {attributes.map((attr) => {
                const id = `authority-${attr}`;
                const options: Authority[] = attr === 'password' ? ['export', 'ignore'] : ['import', 'export', 'both', 'ignore'];
                return (
                  <tr key={attr}>
                    <th scope="row">
                      <label htmlFor={id}>{ATTRIBUTE_LABELS[attr] ?? attr}</label>
                    </th>
                    <td>
                      <code>{draft.attributeMap.find((r) => r.attribute === attr)?.source || defaults[attr] || '—'}</code>
                    </td>
                    <td>
                      <select id={id} className="input" value={draft.authority[attr] ?? ''} onChange={(e) => set({ authority: { ...draft.authority, [attr]: e.target.value as Authority | '' } })}>
                        <option value="">Configuration's preset ({attr === 'password' ? (configuration === 'directory_authoritative' ? 'ignore' : 'export') : preset})</option>
                        {options.map((o) => (
                          <option key={o} value={o}>
                            {AUTHORITY_LABELS[o]}
                          </option>
                        ))}
                      </select>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        {errors.authority && <p className="field-error">{errors.authority}</p>}
      </fieldset>

      <fieldset className="fieldset">
        <legend>Attribute map</legend>
        <p className="muted small">Read a Roster attribute from another {directoryWord} attribute than the default, or carry one more.</p>
        {draft.attributeMap.length === 0 && <p className="muted">The defaults apply to every attribute.</p>}
        {draft.attributeMap.map((row, i) => (
          <div key={i} className="map-row">
            <SelectField
              label={`Roster attribute ${i + 1}`}
              value={row.attribute}
              onChange={(e) => set({ attributeMap: draft.attributeMap.map((r, j) => (j === i ? { ...r, attribute: e.target.value } : r)) })}
              options={[{ value: '', label: 'Choose…' }, ...MAPPABLE.map((a) => ({ value: a, label: ATTRIBUTE_LABELS[a] ?? a }))]}
              error={errors[`attributeMap.${row.attribute}`]}
            />
            <TextField
              label={`${directoryWord} attribute ${i + 1}`}
              value={row.source}
              placeholder={defaults[row.attribute] ?? ''}
              onChange={(e) => set({ attributeMap: draft.attributeMap.map((r, j) => (j === i ? { ...r, source: e.target.value } : r)) })}
            />
            <Button variant="ghost" aria-label={`Remove mapping ${i + 1}`} onClick={() => set({ attributeMap: draft.attributeMap.filter((_, j) => j !== i) })}>
              Remove
            </Button>
          </div>
        ))}
        <Button onClick={() => set({ attributeMap: [...draft.attributeMap, { attribute: '', source: '' }] })}>Add a mapping</Button>
      </fieldset>

      <fieldset className="fieldset">
        <legend>Removals</legend>
        <SelectField
          label={`A user deleted in ${directoryWord} or gone from the scope`}
          value={draft.removalAction}
          onChange={(e) => set({ removalAction: e.target.value as 'suspend' | 'delete' })}
          options={[
            { value: 'suspend', label: 'Is suspended, then deleted after a grace period' },
            { value: 'delete', label: 'Is deleted at once' },
          ]}
        />
        {draft.removalAction === 'suspend' && (
          <>
            <Checkbox label="Keep suspended users: never delete them" checked={draft.graceNever} onChange={(e) => set({ graceNever: e.target.checked })} />
            {!draft.graceNever && (
              <TextField label="Grace period (days)" inputMode="numeric" value={draft.graceDays} onChange={(e) => set({ graceDays: e.target.value })} hint="Coming back in scope before then restores the user." error={errors['removal.graceDays']} />
            )}
          </>
        )}
      </fieldset>

      <fieldset className="fieldset">
        <legend>Delete threshold</legend>
        <p className="muted small">A run that would remove more objects than both of these holds its removals back until you let them through.</p>
        <div className="grid-2">
          <TextField label="Objects" inputMode="numeric" value={draft.thresholdCount} onChange={(e) => set({ thresholdCount: e.target.value })} error={errors['deleteThreshold.count']} />
          <TextField label="Percent of linked objects" inputMode="decimal" value={draft.thresholdPercent} onChange={(e) => set({ thresholdPercent: e.target.value })} error={errors['deleteThreshold.percent']} />
        </div>
      </fieldset>
    </>
  );
}

/** Radio choices with a description each (the configuration). */
export function Choices<T extends string>({ legend, name, value, onChange, choices, disabled }: { legend: string; name: string; value: T; onChange: (v: T) => void; choices: { value: T; label: string; description: ReactNode }[]; disabled?: boolean }) {
  return (
    <fieldset className="choices choice-cards" disabled={disabled}>
      <legend>{legend}</legend>
      {choices.map((c) => (
        <label key={c.value} className={`choice-card${value === c.value ? ' choice-card-current' : ''}`}>
          <input type="radio" name={name} value={c.value} checked={value === c.value} onChange={() => onChange(c.value)} />
          <span>
            <strong>{c.label}</strong>
            <span className="muted small choice-description">{c.description}</span>
          </span>
        </label>
      ))}
    </fieldset>
  );
}

/** A labelled textarea. */
export function TextArea({ label, hint, error, ...rest }: TextareaHTMLAttributes<HTMLTextAreaElement> & { label: ReactNode; hint?: ReactNode; error?: string | undefined }) {
  return <Field label={label} hint={hint} error={error}>{(p) => <textarea className="input" {...rest} {...p} />}</Field>;
}
