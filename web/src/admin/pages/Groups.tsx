import { useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { api, qs } from '../../shared/api';
import { Button, DataTable, Dialog, ErrorAlert, Field, Loaded, PageHeader, Pager, TextField, useAsync, useDebounced } from '../../shared/ui';
import type { UserGroup } from '../lookups';
import { useSession } from '../session';

const PAGE = 50;

/** User groups: search by name, page, create. */
export function Groups() {
  const session = useSession();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const term = params.get('q') ?? '';
  const skip = Number(params.get('skip') ?? 0) || 0;
  const [typed, setTyped] = useState(term);
  const debounced = useDebounced(typed.trim(), 300);
  const [creating, setCreating] = useState(false);
  useEffect(() => {
    if (debounced === term) return;
    const next = new URLSearchParams(params);
    if (debounced) next.set('q', debounced);
    else next.delete('q');
    next.delete('skip');
    setParams(next, { replace: true });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [debounced]);
  const groups = useAsync((signal) => api.page<UserGroup>(`/api/v2/usergroups${qs({ limit: PAGE, skip, sort: 'name', filter: term ? `name:search:${term}` : undefined })}`, { signal }), [term, skip]);
  return (
    <>
      <PageHeader
        title="User groups"
        description="Groups grant access to applications, directories and RADIUS to all their members, including the members of groups nested in them."
        actions={
          session.can('groups:write') && (
            <Button variant="primary" onClick={() => setCreating(true)}>
              New group
            </Button>
          )
        }
      />
      <div className="toolbar" role="search">
        <Field label="Search groups">{(p) => <input className="input" type="search" value={typed} onChange={(e) => setTyped(e.target.value)} {...p} />}</Field>
      </div>
      <Loaded state={groups} label="Loading groups…">
        {(data) => (
          <>
            <DataTable
              caption="User groups"
              rows={data.items}
              rowKey={(g) => g.id}
              busy={groups.loading}
              empty={term ? 'No group matches this search.' : 'No groups yet.'}
              columns={[
                { header: 'Name', cell: (g) => <Link to={`/admin/groups/${g.id}`}>{g.name}</Link> },
                { header: 'Description', cell: (g) => g.description || <span className="muted">—</span> },
              ]}
            />
            <Pager
              skip={skip}
              limit={PAGE}
              total={data.total}
              onChange={(s) => {
                const next = new URLSearchParams(params);
                next.set('skip', String(s));
                setParams(next, { replace: true });
              }}
              label="Group pages"
            />
          </>
        )}
      </Loaded>
      {creating && <CreateGroup onClose={() => setCreating(false)} onCreated={(g) => navigate(`/admin/groups/${g.id}`)} />}
    </>
  );
}

function CreateGroup({ onClose, onCreated }: { onClose: () => void; onCreated: (g: UserGroup) => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onCreated(await api.post<UserGroup>('/api/v2/usergroups', { name: name.trim(), ...(description ? { description } : {}) }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open title="New user group" onClose={onClose}>
      <form onSubmit={submit}>
        <ErrorAlert error={error} />
        <TextField label="Name" required value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        <TextField label="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={busy} disabled={!name.trim()}>
            Create group
          </Button>
          <Button onClick={onClose}>Cancel</Button>
        </div>
      </form>
    </Dialog>
  );
}
