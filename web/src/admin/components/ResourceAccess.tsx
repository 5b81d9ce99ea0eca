import { useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { api, qs } from '../../shared/api';
import { Badge, Button, ConfirmDialog, DataTable, Loaded, Pager, TabPanel, Tabs, useAsync } from '../../shared/ui';
import { groupsByIds, userLabel, usersByIds, type GraphObject, type SystemUser, type UserGroup } from '../lookups';
import { useSession } from '../session';
import { GroupPicker, UserPicker } from './Pickers';

const PAGE = 20;

/** How an object reaches the resource: directly, and/or through groups (the associated group, and the group it is a member of). */
interface Reach {
  direct: boolean;
  /** Each path through groups: the group associated with the resource, and the group the object is directly in. */
  through: { associated: string; memberOf: string }[];
}

function reachOf(object: GraphObject): Reach {
  const reach: Reach = { direct: false, through: [] };
  for (const path of object.paths) {
    if (path.length <= 1) {
      reach.direct = true;
      continue;
    }
    const groups = path.map((step) => step.to).filter((to) => to.type === 'user_group' && to.id !== object.id);
    if (groups.length === 0) continue;
    reach.through.push({ associated: groups[0]!.id, memberOf: groups[groups.length - 1]!.id });
  }
  return reach;
}

/** The ways an object reaches the resource, one a line: "Directly", then each path through groups. */
function ReachList({ reach, through }: { reach: Reach; through: (path: Reach['through'][number]) => ReactNode }) {
  return (
    <ul className="plain-list">
      {reach.direct && (
        <li>
          <Badge kind="info">Directly</Badge>
        </li>
      )}
      {reach.through.map((t, i) => (
        <li key={i}>{through(t)}</li>
      ))}
    </ul>
  );
}

interface Removal {
  kind: 'user' | 'user_group';
  id: string;
  name: string;
  reach: Reach;
}

/**
 * A resource's Users and User Groups tabs (an application, the LDAP service, a RADIUS server, a
 * directory): who is connected, directly or through a group, with the removal choices of each.
 * `path` is the resource's v2 path, as `/api/v2/ldapservers/{id}`.
 */
export function ResourceAccess({ path, name }: { path: string; name: string }) {
  const session = useSession();
  const [tab, setTab] = useState('users');
  const [usersSkip, setUsersSkip] = useState(0);
  const [groupsSkip, setGroupsSkip] = useState(0);
  const [removal, setRemoval] = useState<Removal>();
  const [tick, setTick] = useState(0);
  const refresh = () => setTick((t) => t + 1);
  const canEdit = session.can('associations:write');

  const users = useAsync(async (signal) => {
    const page = await api.page<GraphObject>(`${path}/users${qs({ limit: PAGE, skip: usersSkip })}`, { signal });
    const groupIds = page.items.flatMap((o) => reachOf(o).through.flatMap((t) => [t.associated, t.memberOf]));
    const [names, groups] = await Promise.all([usersByIds(page.items.map((o) => o.id)), groupsByIds(groupIds)]);
    return { ...page, names, groups };
  }, [path, usersSkip, tick]);

  const groups = useAsync(async (signal) => {
    const page = await api.page<GraphObject>(`${path}/usergroups${qs({ limit: PAGE, skip: groupsSkip })}`, { signal });
    const ids = page.items.flatMap((o) => [o.id, ...reachOf(o).through.map((t) => t.associated)]);
    return { ...page, groups: await groupsByIds(ids) };
  }, [path, groupsSkip, tick]);

  const associate = async (op: 'add' | 'remove', type: 'user' | 'user_group', id: string) => {
    await api.post(`${path}/associations`, { op, type, id });
    refresh();
  };

  const groupName = (map: Map<string, UserGroup>, id: string) => map.get(id)?.name ?? id;

  return (
    <section aria-label={`Access to ${name}`}>
      <Tabs
        label="Connections"
        current={tab}
        onChange={setTab}
        tabs={[
          { id: 'users', label: `Users${users.data ? ` (${users.data.total})` : ''}` },
          { id: 'groups', label: `User groups${groups.data ? ` (${groups.data.total})` : ''}` },
        ]}
      />
      {tab === 'users' && (
        <TabPanel id="users">
          {canEdit && <UserPicker label="Connect a user" action="Connect user" onPick={(u: SystemUser) => associate('add', 'user', u._id)} />}
          <Loaded state={users}>
            {(data) => (
              <>
                <DataTable
                  caption={`Users connected to ${name}`}
                  rows={data.items}
                  rowKey={(o) => o.id}
                  empty="No user is connected, directly or through a group."
                  busy={users.loading}
                  columns={[
                    { header: 'User', cell: (o) => <Link to={`/admin/users/${o.id}`}>{userLabel(data.names.get(o.id), o.id)}</Link> },
                    { header: 'Username', cell: (o) => data.names.get(o.id)?.username ?? '' },
                    {
                      header: 'Connected',
                      cell: (o) => (
                        <ReachList
                          reach={reachOf(o)}
                          through={(t) => (
                            <>
                              Through group <Link to={`/admin/groups/${t.memberOf}`}>{groupName(data.groups, t.memberOf)}</Link>
                              {t.associated !== t.memberOf && <> (in {groupName(data.groups, t.associated)})</>}
                            </>
                          )}
                        />
                      ),
                    },
                    ...(canEdit
                      ? [
                          {
                            header: <span className="visually-hidden">Actions</span>,
                            cell: (o: GraphObject) => (
                              <Button variant="ghost" onClick={() => setRemoval({ kind: 'user', id: o.id, name: userLabel(data.names.get(o.id), o.id), reach: reachOf(o) })} aria-label={`Remove ${userLabel(data.names.get(o.id), o.id)}'s connection`}>
                                Remove
                              </Button>
                            ),
                          },
                        ]
                      : []),
                  ]}
                />
                <Pager skip={usersSkip} limit={PAGE} total={data.total} onChange={setUsersSkip} label="User pages" />
              </>
            )}
          </Loaded>
        </TabPanel>
      )}
      {tab === 'groups' && (
        <TabPanel id="groups">
          {canEdit && <GroupPicker label="Connect a group" action="Connect group" onPick={(g) => associate('add', 'user_group', g.id)} />}
          <Loaded state={groups}>
            {(data) => (
              <>
                <DataTable
                  caption={`User groups connected to ${name}`}
                  rows={data.items}
                  rowKey={(o) => o.id}
                  empty="No group is connected."
                  busy={groups.loading}
                  columns={[
                    { header: 'Group', cell: (o) => <Link to={`/admin/groups/${o.id}`}>{groupName(data.groups, o.id)}</Link> },
                    {
                      header: 'Connected',
                      cell: (o) => <ReachList reach={reachOf(o)} through={(t) => <>Nested in {groupName(data.groups, t.associated)}</>} />,
                    },
                    ...(canEdit
                      ? [
                          {
                            header: <span className="visually-hidden">Actions</span>,
                            cell: (o: GraphObject) =>
                              reachOf(o).direct ? (
                                <Button variant="ghost" onClick={() => setRemoval({ kind: 'user_group', id: o.id, name: groupName(data.groups, o.id), reach: reachOf(o) })} aria-label={`Remove ${groupName(data.groups, o.id)}'s connection`}>
                                  Remove
                                </Button>
                              ) : null,
                          },
                        ]
                      : []),
                  ]}
                />
                <Pager skip={groupsSkip} limit={PAGE} total={data.total} onChange={setGroupsSkip} label="Group pages" />
              </>
            )}
          </Loaded>
        </TabPanel>
      )}
      {removal && <RemovalDialog removal={removal} resource={name} groupNames={users.data?.groups ?? new Map()} onClose={() => setRemoval(undefined)} onRemove={async (how) => {
        if (how.kind === 'direct') await associate('remove', removal.kind, removal.id);
        else await api.post(`/api/v2/usergroups/${how.group}/members`, { op: 'remove', type: 'user', id: removal.id });
        refresh();
      }} />}
    </section>
  );
}

type How = { kind: 'direct' } | { kind: 'group'; group: string };

/**
 * Removing a connection: a direct one is removed as such (a group may still grant access); a
 * connection through a group is removed by taking the user out of the group that grants it.
 */
function RemovalDialog({ removal, resource, groupNames, onClose, onRemove }: { removal: Removal; resource: string; groupNames: Map<string, UserGroup>; onClose: () => void; onRemove: (how: How) => Promise<void> }) {
  const choices: { how: How; label: string }[] = [];
  if (removal.reach.direct) choices.push({ how: { kind: 'direct' }, label: `Remove the direct connection between ${removal.name} and ${resource}` });
  const seen = new Set<string>();
  for (const t of removal.reach.through) {
    if (removal.kind !== 'user' || seen.has(t.memberOf)) continue;
    seen.add(t.memberOf);
    choices.push({ how: { kind: 'group', group: t.memberOf }, label: `Remove ${removal.name} from the group ${groupNames.get(t.memberOf)?.name ?? t.memberOf}` });
  }
  const [chosen, setChosen] = useState(0);
  const stillThroughGroup = removal.reach.direct && removal.reach.through.length > 0;
  return (
    <ConfirmDialog open title={`Remove ${removal.name}'s connection`} confirmLabel="Remove" onClose={onClose} onConfirm={() => onRemove(choices[chosen]!.how)}>
      <fieldset className="choices">
        <legend>How should {removal.name} lose access to {resource}?</legend>
        {choices.map((c, i) => (
          <label key={i} className="choice">
            <input type="radio" name="removal" checked={chosen === i} onChange={() => setChosen(i)} /> {c.label}
          </label>
        ))}
      </fieldset>
      {stillThroughGroup && chosen === 0 && <p className="muted">{removal.name} keeps access through group membership until removed from the group as well.</p>}
      {choices[chosen]?.how.kind === 'group' && <p className="muted">Removing the user from the group also removes what else the group grants them.</p>}
    </ConfirmDialog>
  );
}
