import { useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { api, qs } from '../../shared/api';
import { Alert, Badge, Button, ConfirmDialog, DataTable, ErrorAlert, Loaded, PageHeader, Pager, SelectField, TabPanel, Tabs, TextField, useAction, useAsync } from '../../shared/ui';
import { DeleteDialog, useSubmit } from '../components/forms';
import { GroupPicker, UserPicker } from '../components/Pickers';
import { groupsByIds, userLabel, usersByIds, type GraphConnection, type GraphObject, type UserGroup } from '../lookups';
import { useSession } from '../session';

const PAGE = 50;

/** One user group: its members (users and nested groups), everyone it reaches, the groups it is in, and what it grants. */
export function GroupDetail() {
  const { id = '' } = useParams();
  const session = useSession();
  const [tab, setTab] = useState('members');
  const [deleting, setDeleting] = useState(false);
  const group = useAsync((signal) => api.get<UserGroup>(`/api/v2/usergroups/${id}`, { signal }), [id]);
  const canWrite = session.can('groups:write');
  return (
    <Loaded state={group} label="Loading group…">
      {(g) => (
        <>
          <PageHeader
            back={<Link to="/admin/groups">← User groups</Link>}
            title={g.name}
            description={g.description || undefined}
            actions={
              canWrite && (
                <Button variant="danger" onClick={() => setDeleting(true)}>
                  Delete group
                </Button>
              )
            }
          />
          <Tabs
            label="Group"
            current={tab}
            onChange={setTab}
            tabs={[
              { id: 'members', label: 'Members' },
              { id: 'membership', label: 'Everyone in it' },
              { id: 'memberof', label: 'Member of' },
              { id: 'access', label: 'Access' },
              { id: 'details', label: 'Details' },
            ]}
          />
          {tab === 'members' && (
            <TabPanel id="members">
              <Members groupId={g.id} canWrite={canWrite} />
            </TabPanel>
          )}
          {tab === 'membership' && (
            <TabPanel id="membership">
              <Membership groupId={g.id} />
            </TabPanel>
          )}
          {tab === 'memberof' && (
            <TabPanel id="memberof">
              <MemberOf groupId={g.id} />
            </TabPanel>
          )}
          {tab === 'access' && (
            <TabPanel id="access">
              <GroupAccess groupId={g.id} canWrite={session.can('associations:write')} />
            </TabPanel>
          )}
          {tab === 'details' && (
            <TabPanel id="details">
              <GroupForm group={g} canWrite={canWrite} onSaved={group.setData} />
            </TabPanel>
          )}
          {deleting && (
            <DeleteDialog title={`Delete ${g.name}?`} confirmLabel="Delete group" path={`/api/v2/usergroups/${g.id}`} then="/admin/groups" onClose={() => setDeleting(false)}>
              <p>Its members lose what the group grants them, unless something else grants it. The users themselves are not deleted.</p>
            </DeleteDialog>
          )}
        </>
      )}
    </Loaded>
  );
}

function GroupForm({ group, canWrite, onSaved }: { group: UserGroup; canWrite: boolean; onSaved: (g: UserGroup) => void }) {
  const [name, setName] = useState(group.name);
  const [description, setDescription] = useState(group.description ?? '');
  const [saved, setSaved] = useState(false);
  const { submit, error } = useSubmit(async () => {
    setSaved(false);
    onSaved(await api.patch<UserGroup>(`/api/v2/usergroups/${group.id}`, { name: name.trim(), description }));
    setSaved(true);
  });
  return (
    <form className="card" onSubmit={submit}>
      <ErrorAlert error={error} />
      {saved && <Alert kind="success">Saved.</Alert>}
      <TextField label="Name" value={name} disabled={!canWrite} onChange={(e) => setName(e.target.value)} />
      <TextField label="Description" value={description} disabled={!canWrite} onChange={(e) => setDescription(e.target.value)} />
      {canWrite && (
        <Button type="submit" variant="primary">
          Save changes
        </Button>
      )}
    </form>
  );
}

/** Direct members: users and nested groups. */
function Members({ groupId, canWrite }: { groupId: string; canWrite: boolean }) {
  const [skip, setSkip] = useState(0);
  const [tick, setTick] = useState(0);
  const [removing, setRemoving] = useState<{ type: 'user' | 'user_group'; id: string; name: string }>();
  const members = useAsync(async (signal) => {
    const page = await api.page<GraphConnection>(`/api/v2/usergroups/${groupId}/members${qs({ limit: PAGE, skip })}`, { signal });
    const [users, groups] = await Promise.all([
      usersByIds(page.items.filter((m) => m.to.type === 'user').map((m) => m.to.id)),
      groupsByIds(page.items.filter((m) => m.to.type === 'user_group').map((m) => m.to.id)),
    ]);
    return { ...page, users, groups };
  }, [groupId, skip, tick]);
  const change = async (op: 'add' | 'remove', type: 'user' | 'user_group', id: string) => {
    await api.post(`/api/v2/usergroups/${groupId}/members`, { op, type, id });
    setTick((t) => t + 1);
  };
  return (
    <>
      {canWrite && (
        <div className="grid-2">
          <UserPicker label="Add a user" action="Add user" onPick={(u) => change('add', 'user', u._id)} />
          <GroupPicker label="Nest a group in this one" action="Add group" exclude={[groupId]} onPick={(g) => change('add', 'user_group', g.id)} />
        </div>
      )}
      <Loaded state={members}>
        {(data) => (
          <>
            <DataTable
              caption="Direct members"
              rows={data.items}
              rowKey={(m) => `${m.to.type}:${m.to.id}`}
              busy={members.loading}
              empty="No members yet."
              columns={[
                {
                  header: 'Member',
                  cell: (m) =>
                    m.to.type === 'user' ? (
                      <Link to={`/admin/users/${m.to.id}`}>{userLabel(data.users.get(m.to.id), m.to.id)}</Link>
                    ) : (
                      <Link to={`/admin/groups/${m.to.id}`}>{data.groups.get(m.to.id)?.name ?? m.to.id}</Link>
                    ),
                },
                { header: 'Type', cell: (m) => (m.to.type === 'user' ? 'User' : <Badge kind="info">Group</Badge>) },
                { header: 'Username', cell: (m) => data.users.get(m.to.id)?.username ?? '' },
                {
                  header: <span className="visually-hidden">Actions</span>,
                  cell: (m) =>
                    canWrite ? (
                      <Button variant="ghost" onClick={() => setRemoving({ type: m.to.type as 'user', id: m.to.id, name: m.to.type === 'user' ? userLabel(data.users.get(m.to.id), m.to.id) : (data.groups.get(m.to.id)?.name ?? m.to.id) })}>
                        Remove
                      </Button>
                    ) : null,
                },
              ]}
            />
            <Pager skip={skip} limit={PAGE} total={data.total} onChange={setSkip} label="Member pages" />
          </>
        )}
      </Loaded>
      {removing && (
        <ConfirmDialog open title={`Remove ${removing.name} from the group?`} confirmLabel="Remove" onClose={() => setRemoving(undefined)} onConfirm={() => change('remove', removing.type, removing.id)}>
          <p>{removing.type === 'user' ? 'The user loses what this group grants, unless something else grants it.' : 'The members of that group stop being members of this one through it.'}</p>
        </ConfirmDialog>
      )}
    </>
  );
}

/** Effective membership: every user in the group, directly or through nested groups. */
function Membership({ groupId }: { groupId: string }) {
  const [skip, setSkip] = useState(0);
  const all = useAsync(async (signal) => {
    const page = await api.page<GraphObject>(`/api/v2/usergroups/${groupId}/membership${qs({ limit: PAGE, skip })}`, { signal });
    const [users, groups] = await Promise.all([usersByIds(page.items.map((o) => o.id)), groupsByIds(page.items.flatMap((o) => o.paths.flat().map((s) => s.to.id)))]);
    return { ...page, users, groups };
  }, [groupId, skip]);
  return (
    <Loaded state={all}>
      {(data) => (
        <>
          <DataTable
            caption="Everyone in the group"
            rows={data.items}
            rowKey={(o) => o.id}
            empty="Nobody is in this group, directly or through a nested group."
            columns={[
              { header: 'User', cell: (o) => <Link to={`/admin/users/${o.id}`}>{userLabel(data.users.get(o.id), o.id)}</Link> },
              {
                header: 'How',
                cell: (o) => (
                  <ul className="plain-list">
                    {o.paths.map((p, i) => {
                      const via = p.filter((s) => s.to.type === 'user_group' && s.to.id !== groupId).map((s) => data.groups.get(s.to.id)?.name ?? s.to.id);
                      return <li key={i}>{via.length === 0 ? 'Direct member' : `Through ${via.join(' → ')}`}</li>;
                    })}
                  </ul>
                ),
              },
            ]}
          />
          <Pager skip={skip} limit={PAGE} total={data.total} onChange={setSkip} label="Membership pages" />
        </>
      )}
    </Loaded>
  );
}

function MemberOf({ groupId }: { groupId: string }) {
  const parents = useAsync(async (signal) => {
    const page = await api.page<GraphObject>(`/api/v2/usergroups/${groupId}/memberof${qs({ limit: 100 })}`, { signal });
    return { ...page, groups: await groupsByIds(page.items.map((o) => o.id)) };
  }, [groupId]);
  return (
    <Loaded state={parents}>
      {(data) => (
        <DataTable
          caption="Groups this group is in"
          rows={data.items}
          rowKey={(o) => o.id}
          empty="This group is not nested in another."
          columns={[
            { header: 'Group', cell: (o) => <Link to={`/admin/groups/${o.id}`}>{data.groups.get(o.id)?.name ?? o.id}</Link> },
            { header: 'How', cell: (o) => (o.paths.some((p) => p.length <= 1) ? 'Directly' : 'Through a nested group') },
          ]}
        />
      )}
    </Loaded>
  );
}

interface Resource {
  type: string;
  id: string;
  name: string;
}

const RESOURCE_TYPES: { type: string; label: string; list: () => Promise<Resource[]>; link: (id: string) => string }[] = [
  {
    type: 'application',
    label: 'Application',
    list: () => api.get<{ results: { _id: string; displayLabel?: string; name: string }[] }>(`/api/applications${qs({ limit: 100, sort: 'displayLabel' })}`).then((r) => r.results.map((a) => ({ type: 'application', id: a._id, name: a.displayLabel || a.name }))),
    link: (id) => `/admin/applications/${id}`,
  },
  {
    type: 'ldap_server',
    label: 'LDAP service',
    list: () => api.get<{ id: string; name: string }[]>('/api/v2/ldapservers').then((r) => r.map((l) => ({ type: 'ldap_server', id: l.id, name: l.name }))),
    link: (id) => `/admin/directories/ldap/${id}`,
  },
  {
    type: 'radius_server',
    label: 'RADIUS server',
    list: () => api.get<{ results: { _id: string; id?: string; name: string }[] }>(`/api/radiusservers${qs({ limit: 100 })}`).then((r) => r.results.map((s) => ({ type: 'radius_server', id: s._id ?? s.id, name: s.name }))),
    link: (id) => `/admin/radius/${id}`,
  },
];

/** What the group grants its members: the resources it is associated with; connect more. */
function GroupAccess({ groupId, canWrite }: { groupId: string; canWrite: boolean }) {
  const [tick, setTick] = useState(0);
  const [removing, setRemoving] = useState<Resource>();
  const state = useAsync(async (signal) => {
    const resources = (await Promise.all(RESOURCE_TYPES.map((t) => t.list().catch(() => [] as Resource[])))).flat();
    const edges = await api.page<GraphConnection>(`/api/v2/usergroups/${groupId}/associations${qs({ targets: RESOURCE_TYPES.map((t) => t.type).join(',') })}`, { signal });
    const names = new Map(resources.map((r) => [`${r.type}:${r.id}`, r.name]));
    return { resources, edges: edges.items, names };
  }, [groupId, tick]);
  const change = async (op: 'add' | 'remove', r: { type: string; id: string }) => {
    await api.post(`/api/v2/usergroups/${groupId}/associations`, { op, type: r.type, id: r.id });
    setTick((t) => t + 1);
  };
  return (
    <Loaded state={state}>
      {(data) => (
        <>
          {canWrite && <ConnectResource resources={data.resources.filter((r) => !data.edges.some((e) => e.to.type === r.type && e.to.id === r.id))} onConnect={(r) => change('add', r)} />}
          <DataTable
            caption="Resources this group grants"
            rows={data.edges}
            rowKey={(e) => `${e.to.type}:${e.to.id}`}
            empty="The group is not connected to any resource yet."
            columns={[
              { header: 'Resource', cell: (e) => <Link to={RESOURCE_TYPES.find((t) => t.type === e.to.type)?.link(e.to.id) ?? '#'}>{data.names.get(`${e.to.type}:${e.to.id}`) ?? e.to.id}</Link> },
              { header: 'Type', cell: (e) => RESOURCE_TYPES.find((t) => t.type === e.to.type)?.label ?? e.to.type },
              {
                header: <span className="visually-hidden">Actions</span>,
                cell: (e) =>
                  canWrite ? (
                    <Button variant="ghost" onClick={() => setRemoving({ type: e.to.type, id: e.to.id, name: data.names.get(`${e.to.type}:${e.to.id}`) ?? e.to.id })}>
                      Disconnect
                    </Button>
                  ) : null,
              },
            ]}
          />
          {removing && (
            <ConfirmDialog open title={`Disconnect from ${removing.name}?`} confirmLabel="Disconnect" onClose={() => setRemoving(undefined)} onConfirm={() => change('remove', removing)}>
              <p>The group's members lose access to {removing.name}, unless they are connected directly or through another group.</p>
            </ConfirmDialog>
          )}
        </>
      )}
    </Loaded>
  );
}

function ConnectResource({ resources, onConnect }: { resources: Resource[]; onConnect: (r: Resource) => Promise<void> }) {
  const [chosen, setChosen] = useState('');
  const { run: connect, busy, error } = useAction(async (r: Resource) => {
    await onConnect(r);
    setChosen('');
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const r = resources.find((x) => `${x.type}:${x.id}` === chosen);
    if (r) void connect(r);
  };
  return (
    <form className="toolbar" onSubmit={submit}>
      <SelectField
        label="Connect to a resource"
        value={chosen}
        onChange={(e) => setChosen(e.target.value)}
        options={[{ value: '', label: resources.length === 0 ? 'Nothing more to connect' : 'Choose…' }, ...resources.map((r) => ({ value: `${r.type}:${r.id}`, label: `${RESOURCE_TYPES.find((t) => t.type === r.type)?.label}: ${r.name}` }))]}
      />
      <Button type="submit" variant="primary" busy={busy} disabled={!chosen}>
        Connect
      </Button>
      <ErrorAlert error={error} />
    </form>
  );
}
