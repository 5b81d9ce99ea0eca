import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, qs } from '../../shared/api';
import { Button, DataTable, Dialog, ErrorAlert, Loaded, PageHeader, Pager, TextField, useAsync } from '../../shared/ui';
import { useSubmit } from '../components/forms';
import { SearchField, useListParams } from '../components/list-state';
import type { UserGroup } from '../lookups';
import { useSession } from '../session';

const PAGE = 50;

/** User groups: search by name, page, create. */
export function Groups() {
  const session = useSession();
  const navigate = useNavigate();
  const { term, skip, typed, setTyped, setSkip } = useListParams();
  const [creating, setCreating] = useState(false);
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
        <SearchField label="Search groups" value={typed} onChange={setTyped} />
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
            <Pager skip={skip} limit={PAGE} total={data.total} onChange={setSkip} label="Group pages" />
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
  const { submit, busy, error } = useSubmit(async () => {
    onCreated(await api.post<UserGroup>('/api/v2/usergroups', { name: name.trim(), ...(description ? { description } : {}) }));
  });
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
