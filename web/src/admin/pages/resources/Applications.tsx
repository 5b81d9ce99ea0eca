import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api } from '../../../shared/api';
import { Alert, Badge, Button, Dialog, ErrorAlert, Field, Loaded, PageHeader, Pager, SecretBox, SelectField, TextField, Time, DataTable } from '../../../shared/ui';
import { FormDialog, useSubmit } from '../../components/forms';
import { SearchField, useListSearch } from '../../components/list-state';
import { useSession } from '../../session';
import { contains, EmptyState, fieldError, lines, useV1List } from './common';
import { appLabel, OIDC_AUTH_METHODS, SSO_LABELS, ssoTypeOf, type Application, type OidcClient, type SsoType } from './types';

const PAGE = 20;

/** The applications list: search, paging, and a new application. */
export function Applications() {
  const session = useSession();
  const canWrite = session.can('applications:write');
  const { search, setSearch, term, skip, setSkip } = useListSearch();
  const [creating, setCreating] = useState(false);
  const list = useV1List<Application>('/api/applications', {
    search: term,
    skip,
    limit: PAGE,
    sort: 'displayLabel',
    fields: 'name displayName displayLabel active sso created',
    matches: (a, t) => contains(t, a.name, a.displayLabel, a.displayName, a._id),
  });

  return (
    <>
      <PageHeader
        title="Applications"
        description="The applications your people sign in to with Roster (SAML 2.0 or OpenID Connect) and the accounts Roster provisions in them over SCIM."
        actions={
          canWrite && (
            <Button variant="primary" onClick={() => setCreating(true)}>
              New application
            </Button>
          )
        }
      />
      <form className="toolbar rs-toolbar" role="search" onSubmit={(e) => e.preventDefault()}>
        <SearchField label="Search applications" hint="Name or label" value={search} onChange={setSearch} />
      </form>
      <Loaded state={list}>
        {(data) =>
          data.total === 0 && !term ? (
            <EmptyState
              title="No applications yet"
              action={
                canWrite && (
                  <Button variant="primary" onClick={() => setCreating(true)}>
                    New application
                  </Button>
                )
              }
            >
              Add an application to give users single sign-on to it (SAML 2.0 or OpenID Connect), to provision their accounts in it over SCIM, or both. Then connect the users or groups who may use it.
            </EmptyState>
          ) : (
            <>
              <DataTable
                caption="Applications"
                rows={data.items}
                rowKey={(a) => a._id}
                busy={list.loading}
                empty={`No application matches “${term}”.`}
                columns={[
                  {
                    header: 'Application',
                    cell: (a) => (
                      <>
                        <Link to={`/admin/applications/${a._id}`}>{appLabel(a)}</Link>
                        {a.name !== appLabel(a) && <div className="muted rs-small">{a.name}</div>}
                      </>
                    ),
                  },
                  { header: 'Single sign-on', cell: (a) => (ssoTypeOf(a) === 'none' ? <span className="muted">None</span> : <Badge kind="info">{SSO_LABELS[ssoTypeOf(a)]}</Badge>) },
                  { header: 'Status', cell: (a) => (a.active === false ? <Badge kind="warn">Inactive</Badge> : <Badge kind="good">Active</Badge>) },
                  { header: 'Created', cell: (a) => <Time iso={a.created} /> },
                ]}
              />
              <Pager skip={skip} limit={PAGE} total={data.total} onChange={setSkip} label="Application pages" />
            </>
          )
        }
      </Loaded>
      {creating && <NewApplicationDialog onClose={() => setCreating(false)} />}
    </>
  );
}

/**
 * A new application: its name and how users sign in to it. SAML needs the service provider's
 * entity id and ACS URL (the API checks them); OpenID Connect makes the client at once and shows
 * its secret here, the only time it is shown.
 */
function NewApplicationDialog({ onClose }: { onClose: () => void }) {
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [type, setType] = useState<SsoType>('saml');
  const [spEntityId, setSpEntityId] = useState('');
  const [acsUrl, setAcsUrl] = useState('');
  const [redirectUris, setRedirectUris] = useState('');
  const [authMethod, setAuthMethod] = useState('client_secret_basic');
  const [created, setCreated] = useState<Application>();
  const [secret, setSecret] = useState<OidcClient>();
  const { submit, busy, error } = useSubmit(async () => {
    let app = created;
    if (!app) {
      const body: Record<string, unknown> = { name: name.trim(), displayLabel: name.trim() };
      if (type === 'saml') {
        body.sso = { type: 'saml' };
        body.config = { spEntityId: { value: spEntityId.trim() }, acsUrl: { value: acsUrl.trim() } };
      } else if (type === 'oidc') body.sso = { type: 'oidc' };
      app = await api.post<Application>('/api/applications', body);
      setCreated(app);
    }
    if (type === 'oidc') {
      const client = await api.put<OidcClient>(`/api/v2/applications/${app._id}/oidc`, {
        redirectUris: lines(redirectUris),
        tokenEndpointAuthMethod: authMethod,
        grantTypes: ['authorization_code', 'refresh_token'],
      });
      if (client.clientSecret) {
        setSecret(client);
        return;
      }
    }
    navigate(`/admin/applications/${app._id}${type === 'none' ? '' : '?tab=sso'}`);
  });

  if (secret && created) {
    return (
      <Dialog
        open
        title={`${appLabel(created)} is ready`}
        onClose={() => navigate(`/admin/applications/${created._id}?tab=sso`)}
        footer={
          <Button variant="primary" onClick={() => navigate(`/admin/applications/${created._id}?tab=sso`)}>
            I have stored the secret
          </Button>
        }
      >
        <p>Give the application its client id and secret. The secret is shown only now; you can make a new one later, which replaces it.</p>
        <SecretBox label="Client id" value={secret.clientId} />
        <SecretBox label="Client secret" value={secret.clientSecret!} />
      </Dialog>
    );
  }

  return (
    <FormDialog title="New application" formId="new-application" submitLabel={created ? 'Save client settings' : 'Create application'} busy={busy} onClose={onClose} onSubmit={submit}>
      {created && <Alert kind="info">The application was created; its OpenID Connect client still needs valid settings.</Alert>}
      <ErrorAlert error={error} />
      <TextField label="Name" hint="What users see in their portal." required value={name} disabled={!!created} onChange={(e) => setName(e.target.value)} error={fieldError(error, 'name')} autoFocus />
      <fieldset className="choices" disabled={!!created}>
        <legend>How users sign in</legend>
        {(['saml', 'oidc', 'none'] as SsoType[]).map((t) => (
          <label key={t} className="choice">
            <input type="radio" name="sso-type" value={t} checked={type === t} onChange={() => setType(t)} />
            <span>
              {t === 'saml' && 'SAML 2.0: the application is a SAML service provider'}
              {t === 'oidc' && 'OpenID Connect: the application is an OAuth 2.0 / OpenID Connect client'}
              {t === 'none' && 'No single sign-on (SCIM provisioning only, or a bookmark)'}
            </span>
          </label>
        ))}
      </fieldset>
      {type === 'saml' && (
        <>
          <TextField label="Service provider entity id" hint="The application's SAML entity id (Issuer), from its SAML settings or metadata." required value={spEntityId} onChange={(e) => setSpEntityId(e.target.value)} error={fieldError(error, 'config.spEntityId')} />
          <TextField label="Assertion consumer service (ACS) URL" type="url" hint="Where Roster posts the SAML response: https (http only to localhost)." required value={acsUrl} onChange={(e) => setAcsUrl(e.target.value)} error={fieldError(error, 'config.acsUrl')} />
        </>
      )}
      {type === 'oidc' && (
        <>
          <Field label="Redirect URIs" hint="One per line: https, http only to localhost, or a private-use scheme (com.example.app:/callback) for native apps." error={fieldError(error, 'redirectUris')}>
            {(p) => <textarea className="input" rows={3} value={redirectUris} onChange={(e) => setRedirectUris(e.target.value)} {...p} />}
          </Field>
          <SelectField label="Client type" options={OIDC_AUTH_METHODS} value={authMethod} onChange={(e) => setAuthMethod(e.target.value)} error={fieldError(error, 'tokenEndpointAuthMethod')} />
        </>
      )}
    </FormDialog>
  );
}
