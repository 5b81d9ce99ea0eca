import { useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { api, qs } from '../../../shared/api';
import { Badge, Button, DataTable, Loaded, PageHeader, Pager, SelectField, Time, useAsync } from '../../../shared/ui';
import { useSession } from '../../session';
import { detailPath, TYPE_LABELS, typeLabel, type DirectorySummary } from './common';
import { AddDirectoryDialog, type AddKind } from './create';
import type { SyncStateBase } from './sync';
import type { Agent } from './ActiveDirectory';
import type { ScimToken } from './ScimSource';

const PAGE = 20;

/** /admin/directories: every directory of the organization, by type, with its state; the add actions. */
export function Directories() {
  const session = useSession();
  const canWrite = session.can('directories:write');
  const [type, setType] = useState('');
  const [skip, setSkip] = useState(0);
  const [adding, setAdding] = useState<AddKind>();
  const list = useAsync(
    (signal) => api.page<DirectorySummary>(`/api/v2/directories${qs({ limit: PAGE, skip, sort: 'type,name', filter: type ? `type:eq:${type}` : undefined })}`, { signal }),
    [type, skip],
  );
  const ldap = useAsync((signal) => api.get<DirectorySummary[]>(`/api/v2/ldapservers${qs({ limit: 1 })}`, { signal }).then((l) => l[0]), []);
  return (
    <>
      <PageHeader
        title="Directories"
        description="The LDAP service Roster serves, and the directories it syncs with: Active Directory domains, Google Workspace, Microsoft 365, and SCIM sources that push users in."
        actions={
          canWrite ? (
            <>
              <Button variant="primary" onClick={() => setAdding('active_directory')}>
                Add Active Directory
              </Button>
              <Button onClick={() => setAdding('g_suite')}>Add Google Workspace</Button>
              <Button onClick={() => setAdding('office_365')}>Add Microsoft 365</Button>
              <Button onClick={() => setAdding('scim')}>Add SCIM source</Button>
            </>
          ) : undefined
        }
      />
      {ldap.data && (
        <section className="card ldap-entry" aria-labelledby="ldap-entry-title">
          <div>
            <h2 id="ldap-entry-title">LDAP service</h2>
            <p className="muted">
              {ldap.data.name ?? 'Roster LDAP'}: the directory NAS drives, network gear and Linux logins bind to.
            </p>
            <DirectoryStatus directory={{ ...ldap.data, type: 'ldap_server' }} />
          </div>
          <Link className="btn btn-secondary" to={detailPath({ ...ldap.data, type: 'ldap_server' })}>
            Manage the LDAP service
          </Link>
        </section>
      )}
      <h2 className="visually-hidden">Every directory</h2>
      <div className="toolbar">
        <SelectField
          label="Type"
          value={type}
          onChange={(e) => {
            setType(e.target.value);
            setSkip(0);
          }}
          options={[{ value: '', label: 'All directories' }, ...Object.entries(TYPE_LABELS).map(([value, label]) => ({ value, label }))]}
        />
      </div>
      <Loaded state={list}>
        {(data) => (
          <>
            <DataTable
              caption="Directories"
              rows={data.items}
              rowKey={(d) => d.id}
              busy={list.loading}
              empty={
                type ? (
                  <>No {typeLabel(type)} yet.{canWrite && ' Use the buttons above to add one.'}</>
                ) : (
                  'No directory yet.'
                )
              }
              columns={[
                { header: 'Name', cell: (d) => <Link to={detailPath(d)}>{d.name || d.id}</Link> },
                { header: 'Type', cell: (d) => typeLabel(d.type) },
                { header: 'Status', cell: (d) => <DirectoryStatus directory={d} /> },
              ]}
            />
            <Pager skip={skip} limit={PAGE} total={data.total} onChange={setSkip} label="Directory pages" />
          </>
        )}
      </Loaded>
      {adding && <AddDirectoryDialog kind={adding} onClose={() => setAdding(undefined)} />}
    </>
  );
}

type Status = { kind: 'good' | 'bad' | 'warn' | 'info' | 'neutral'; label: string; detail?: ReactNode };

async function statusOf(d: DirectorySummary, signal: AbortSignal): Promise<Status> {
  switch (d.type) {
    case 'ldap_server': {
      const users = await api.page(`/api/v2/ldapservers/${d.id}/users${qs({ limit: 1 })}`, { signal });
      return users.total === 0
        ? { kind: 'warn', label: 'No user connected', detail: 'Connect users or groups so they can bind.' }
        : { kind: 'good', label: 'Serving', detail: `${users.total.toLocaleString()} user${users.total === 1 ? '' : 's'} connected` };
    }
    case 'active_directory': {
      const s = await api.get<SyncStateBase & { agents: Agent[] }>(`/api/v2/activedirectories/${d.id}/sync`, { signal });
      const active = s.agents.filter((a) => a.state === 'active');
      if (s.lastError) return { kind: 'bad', label: 'Error', detail: s.lastError };
      if (s.agents.length === 0) return { kind: 'warn', label: 'No agent', detail: 'Add an agent to start syncing.' };
      if (active.length === 0) return { kind: 'warn', label: 'Agent not registered', detail: 'Waiting for the agent to register with its connect key.' };
      if (s.lastRun?.status === 'held') return { kind: 'warn', label: 'Removals held', detail: <>Last run <Time iso={s.lastRun.started} /></> };
      return { kind: 'good', label: 'Syncing', detail: s.lastImportAt ? <>Last import <Time iso={s.lastImportAt} relative /></> : 'No import yet' };
    }
    case 'g_suite':
    case 'office_365': {
      const path = d.type === 'g_suite' ? 'gsuites' : 'office365s';
      const s = await api.get<SyncStateBase>(`/api/v2/${path}/${d.id}/sync`, { signal });
      if (s.lastError) return { kind: 'bad', label: 'Error', detail: s.lastError };
      if (s.lastRun?.status === 'held') return { kind: 'warn', label: 'Removals held', detail: <>Last run <Time iso={s.lastRun.started} /></> };
      if (!s.lastImportAt) return { kind: 'info', label: 'Not synced yet' };
      return { kind: 'good', label: 'Syncing', detail: <>Last read <Time iso={s.lastImportAt} relative /></> };
    }
    case 'scim': {
      const tokens = await api.get<ScimToken[]>(`/api/v2/scimsources/${d.id}/tokens`, { signal });
      const now = Date.now();
      const active = tokens.filter((t) => !t.revokedAt && (!t.expiresAt || Date.parse(t.expiresAt) > now));
      const used = active.map((t) => t.lastUsedAt).filter((t): t is string => Boolean(t)).sort().pop();
      if (active.length === 0) return { kind: 'warn', label: 'No active token', detail: 'Issue a token so the source can push.' };
      return { kind: 'good', label: `${active.length} active token${active.length === 1 ? '' : 's'}`, detail: used ? <>Last push <Time iso={used} relative /></> : 'Not used yet' };
    }
    default:
      return { kind: 'neutral', label: '—' };
  }
}

function DirectoryStatus({ directory }: { directory: DirectorySummary }) {
  const status = useAsync((signal) => statusOf(directory, signal), [directory.id, directory.type]);
  if (status.error) return <span className="muted">Status unavailable</span>;
  if (!status.data) return <span className="muted">…</span>;
  return (
    <div className="status-cell">
      <Badge kind={status.data.kind}>{status.data.label}</Badge>
      {status.data.detail && <span className="small muted status-detail">{status.data.detail}</span>}
    </div>
  );
}
