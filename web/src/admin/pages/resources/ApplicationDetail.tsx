import { useState, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { api } from '../../../shared/api';
import { Alert, Badge, Button, Checkbox, ErrorAlert, Loaded, PageHeader, Properties, TabPanel, Tabs, TextField, Time, useAsync } from '../../../shared/ui';
import { DeleteDialog, SaveActions, useSaveForm } from '../../components/forms';
import { ResourceAccess } from '../../components/ResourceAccess';
import { useSession } from '../../session';
import { ApplicationProvisioning } from './ApplicationProvisioning';
import { ApplicationSso } from './ApplicationSso';
import { CopyableId, fieldError, useTab } from './common';
import { appLabel, SSO_LABELS, ssoTypeOf, type Application } from './types';

const TABS = ['general', 'sso', 'provisioning', 'access'];

/** One application: its settings, single sign-on, SCIM provisioning, and who may use it. */
export function ApplicationDetail() {
  const { id = '' } = useParams();
  const session = useSession();
  const canWrite = session.can('applications:write');
  const [tab, setTab] = useTab(TABS, 'general');
  const [deleting, setDeleting] = useState(false);
  const app = useAsync((signal) => api.get<Application>(`/api/applications/${id}`, { signal }), [id]);

  return (
    <Loaded state={app} label="Loading the application…">
      {(a) => (
        <>
          <PageHeader
            back={<Link to="/admin/applications">← Applications</Link>}
            title={appLabel(a)}
            description={
              <span className="rs-inline">
                {ssoTypeOf(a) === 'none' ? 'No single sign-on' : <Badge kind="info">{SSO_LABELS[ssoTypeOf(a)]}</Badge>}
                {a.active === false ? <Badge kind="warn">Inactive: users cannot sign in</Badge> : <Badge kind="good">Active</Badge>}
              </span>
            }
            actions={
              canWrite && (
                <Button variant="danger" onClick={() => setDeleting(true)}>
                  Delete application
                </Button>
              )
            }
          />
          <Tabs
            label="Application"
            current={tab}
            onChange={setTab}
            tabs={[
              { id: 'general', label: 'General' },
              { id: 'sso', label: 'Single sign-on' },
              { id: 'provisioning', label: 'Provisioning' },
              { id: 'access', label: 'Users and groups' },
            ]}
          />
          {tab === 'general' && (
            <TabPanel id="general">
              <GeneralSettings app={a} canWrite={canWrite} onSaved={app.setData} />
            </TabPanel>
          )}
          {tab === 'sso' && (
            <TabPanel id="sso">
              <ApplicationSso app={a} canWrite={canWrite} onChanged={app.setData} />
            </TabPanel>
          )}
          {tab === 'provisioning' && (
            <TabPanel id="provisioning">
              <ApplicationProvisioning app={a} canWrite={canWrite} />
            </TabPanel>
          )}
          {tab === 'access' && (
            <TabPanel id="access">
              <p className="muted">Only the users connected here, directly or through a group (nested groups count), can sign in to {appLabel(a)} and are provisioned to it.</p>
              <ResourceAccess path={`/api/v2/applications/${a._id}`} name={appLabel(a)} />
            </TabPanel>
          )}
          <DeleteDialog open={deleting} title={`Delete ${appLabel(a)}?`} confirmLabel="Delete application" path={`/api/applications/${a._id}`} then="/admin/applications" replace onClose={() => setDeleting(false)}>
            <p>
              Users can no longer sign in to {appLabel(a)} with Roster, its connections to users and groups are removed, and Roster stops provisioning it. This cannot be undone.
            </p>
          </DeleteDialog>
        </>
      )}
    </Loaded>
  );
}

function GeneralSettings({ app, canWrite, onSaved }: { app: Application; canWrite: boolean; onSaved: (a: Application) => void }) {
  const [displayLabel, setDisplayLabel] = useState(app.displayLabel ?? '');
  const [name, setName] = useState(app.name);
  const [ssoUrl, setSsoUrl] = useState(app.ssoUrl ?? '');
  const [learnMore, setLearnMore] = useState(app.learnMore ?? '');
  const [active, setActive] = useState(app.active !== false);

  const { submit, busy, error, saved } = useSaveForm(async () => {
    onSaved(await api.put<Application>(`/api/applications/${app._id}`, { displayLabel: displayLabel.trim(), name: name.trim(), ssoUrl: ssoUrl.trim(), learnMore: learnMore.trim(), active }));
  }, [displayLabel, name, ssoUrl, learnMore, active]);

  return (
    <div className="grid-2">
      <form className="card" onSubmit={submit} noValidate>
        <h2>Settings</h2>
        {saved && <Alert kind="success">Saved.</Alert>}
        <ErrorAlert error={error} />
        <fieldset className="rs-fieldset" disabled={!canWrite}>
          <legend className="visually-hidden">Application settings</legend>
          <TextField label="Label" hint="What users see in their portal." value={displayLabel} onChange={(e) => setDisplayLabel(e.target.value)} error={fieldError(error, 'displayLabel')} />
          <TextField label="Name" hint="The application's name in the API and the audit log." required value={name} onChange={(e) => setName(e.target.value)} error={fieldError(error, 'name')} />
          <TextField label="Launch URL" type="url" hint="Optional: the address users open to start using the application." value={ssoUrl} onChange={(e) => setSsoUrl(e.target.value)} error={fieldError(error, 'ssoUrl')} />
          <TextField label="Help link" type="url" hint="Optional: where users learn more about the application." value={learnMore} onChange={(e) => setLearnMore(e.target.value)} error={fieldError(error, 'learnMore')} />
          <Checkbox label="Active" hint="An inactive application refuses every sign-in." checked={active} onChange={(e) => setActive(e.target.checked)} />
        </fieldset>
        {canWrite && <SaveActions busy={busy} />}
      </form>
      <section className="card" aria-labelledby="app-facts">
        <h2 id="app-facts">About</h2>
        <Properties
          items={[
            ['Application id', <CopyableId key="id" id={app._id} what="application id" />],
            ['Single sign-on', SSO_LABELS[ssoTypeOf(app)]],
            ['Created', <Time key="c" iso={app.created} />],
            ...(app.sso?.idpCertExpirationAt ? ([['Signing certificate expires', <Time key="x" iso={app.sso.idpCertExpirationAt} />]] as [ReactNode, ReactNode][]) : []),
          ]}
        />
        <p className="rs-small">
          <Link to={`/admin/audit?objectType=application&objectId=${app._id}`}>Changes and sign-ins in the audit log</Link>
        </p>
      </section>
    </div>
  );
}
