import { useEffect, useState } from 'react';
import { api, ApiError } from '../../../shared/api';
import { Alert, Badge, Button, Checkbox, ConfirmDialog, Dialog, ErrorAlert, Field, Loaded, SecretBox, SelectField, TextField, Time, useAction, useAsync } from '../../../shared/ui';
import { SaveActions, useSaveForm, useSubmit } from '../../components/forms';
import { CopyButton, CopyField, downloadText, fieldError, lines } from './common';
import { appLabel, OIDC_AUTH_METHODS, OIDC_GRANT_TYPES, ssoTypeOf, type Application, type OidcClient, type SamlInfo } from './types';

type Props = { app: Application; canWrite: boolean; onChanged: (app: Application) => void };

/** The Single sign-on tab: SAML 2.0 or OpenID Connect settings, or setting one up. */
export function ApplicationSso(props: Props) {
  const type = ssoTypeOf(props.app);
  const [setup, setSetup] = useState<'saml'>();
  // Once the application has a protocol, a later "turn off" starts from the choice again.
  useEffect(() => {
    if (type !== 'none') setSetup(undefined);
  }, [type]);
  if (type === 'saml') return <SamlPanel {...props} />;
  if (type === 'oidc') return <OidcPanel {...props} />;
  if (setup === 'saml') return <SamlSettings {...props} setup onCancel={() => setSetup(undefined)} />;
  return <NoSso {...props} onSaml={() => setSetup('saml')} />;
}

function NoSso({ app, canWrite, onChanged, onSaml }: Props & { onSaml: () => void }) {
  const { run: useOidc, busy, error } = useAction(async () => onChanged(await api.put<Application>(`/api/applications/${app._id}`, { sso: { ...app.sso, type: 'oidc' } })));
  return (
    <section className="card">
      <h2>No single sign-on</h2>
      <p className="muted">Users do not sign in to {appLabel(app)} with Roster. Choose the protocol the application supports; its documentation usually calls Roster the identity provider (IdP) or OpenID provider.</p>
      <ErrorAlert error={error} />
      {canWrite ? (
        <div className="form-actions">
          <Button variant="primary" onClick={onSaml}>
            Set up SAML 2.0
          </Button>
          <Button variant="primary" busy={busy} onClick={useOidc}>
            Set up OpenID Connect
          </Button>
        </div>
      ) : (
        <p className="muted">Your role cannot change applications.</p>
      )}
    </section>
  );
}

/** Turns single sign-on off: sso.type "none" (the SAML keys and the OIDC client stay, unused). */
function TurnOff({ app, onChanged }: { app: Application; onChanged: (a: Application) => void }) {
  const [open, setOpen] = useState(false);
  return (
    <section className="card">
      <h2>Turn off single sign-on</h2>
      <p className="muted">Users can no longer sign in to {appLabel(app)} with Roster. Use this to move the application to the other protocol.</p>
      <Button variant="danger" onClick={() => setOpen(true)}>
        Turn off single sign-on
      </Button>
      <ConfirmDialog
        open={open}
        title={`Turn off single sign-on for ${appLabel(app)}?`}
        confirmLabel="Turn off"
        onClose={() => setOpen(false)}
        onConfirm={async () => onChanged(await api.put<Application>(`/api/applications/${app._id}`, { sso: { ...app.sso, type: 'none' } }))}
      >
        <p>Sign-ins to {appLabel(app)} through Roster stop at once. Its settings are kept if you turn it on again.</p>
      </ConfirmDialog>
    </section>
  );
}

/* ---------------------------------------------------------------- SAML */

function SamlPanel(props: Props) {
  const { app, canWrite, onChanged } = props;
  const info = useAsync((signal) => api.get<SamlInfo>(`/api/v2/applications/${app._id}/saml`, { signal }), [app._id, app.config]);
  return (
    <>
      <section className="card" aria-labelledby="idp-info">
        <h2 id="idp-info">Roster as identity provider</h2>
        <p className="muted">Give the application Roster's metadata URL, or enter these values in its SAML settings by hand.</p>
        <Loaded state={info}>{(i) => <IdpInfo app={app} info={i} canWrite={canWrite} onChanged={onChanged} />}</Loaded>
      </section>
      <SamlSettings {...props} />
      {canWrite && <TurnOff app={app} onChanged={onChanged} />}
    </>
  );
}

function IdpInfo({ app, info, canWrite, onChanged }: { app: Application; info: SamlInfo; canWrite: boolean; onChanged: (a: Application) => void }) {
  const [confirm, setConfirm] = useState<'rotate' | 'retire'>();
  const next = info.certificates.find((c) => c.use === 'next');
  const refresh = async () => onChanged(await api.get<Application>(`/api/applications/${app._id}`));
  return (
    <>
      <CopyField label="Metadata URL" value={info.metadataUrl} hint="Most applications read everything below from this address." />
      <CopyField label="Identity provider entity id (Issuer)" value={info.idpEntityId} />
      <CopyField label="Single sign-on URL (HTTP-Redirect and HTTP-POST)" value={info.ssoUrl} />
      <CopyField label="IdP-initiated sign-in URL" value={info.startUrl} hint="A link that signs the user in to the application from Roster (an optional RelayState parameter names the page to open)." />
      <h3>Signing certificates</h3>
      {info.certificates.length === 0 && <p className="muted">No certificate yet: Roster makes one at the first sign-in or metadata request.</p>}
      <ul className="plain-list rs-stack">
        {info.certificates.map((c) => (
          <li key={c.fingerprintSha256} className="rs-cert">
            <div className="rs-inline">
              {c.use === 'signing' ? <Badge kind="good">Signing now</Badge> : <Badge kind="warn">Next: published, not signing yet</Badge>}
              <span className="rs-small">
                Valid <Time iso={c.notBefore} /> to <Time iso={c.notAfter} />
              </span>
            </div>
            <CopyField label="SHA-256 fingerprint" value={c.fingerprintSha256} />
            <div className="form-actions">
              <CopyButton value={c.certificate} label="Copy certificate" what={c.use === 'signing' ? '(signing)' : '(next)'} />
              <Button variant="ghost" onClick={() => downloadText(`roster-${app._id}-${c.use}.pem`, c.certificate)}>
                Download .pem
              </Button>
            </div>
            <details>
              <summary>Show the certificate (PEM)</summary>
              <pre className="rs-pre">{c.certificate}</pre>
            </details>
          </li>
        ))}
      </ul>
      {canWrite && (
        <div className="rs-rotation">
          <h3>Key rotation</h3>
          {next ? (
            <>
              <p className="muted">A rotation is in progress: the next certificate is in the metadata beside the current one. Once the application trusts it (it read the metadata again, or you uploaded the certificate), switch to it.</p>
              <div className="form-actions">
                <Button variant="primary" onClick={() => setConfirm('retire')}>
                  Finish rotation: sign with the new key
                </Button>
                <Button onClick={() => setConfirm('rotate')}>Replace the next key</Button>
              </div>
            </>
          ) : (
            <>
              <p className="muted">Rotation takes two steps, so the application can trust the new certificate before Roster signs with it.</p>
              <Button onClick={() => setConfirm('rotate')}>Start key rotation</Button>
            </>
          )}
        </div>
      )}
      <ConfirmDialog
        open={confirm === 'rotate'}
        danger={false}
        title={next ? 'Replace the next key?' : 'Start a key rotation?'}
        confirmLabel={next ? 'Replace the next key' : 'Start rotation'}
        onClose={() => setConfirm(undefined)}
        onConfirm={async () => {
          await api.post(`/api/v2/applications/${app._id}/saml/rotate`);
          await refresh();
        }}
      >
        <p>Roster makes a new key pair and publishes its certificate in the metadata beside the current one. The current key keeps signing until you finish the rotation.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === 'retire'}
        title="Sign with the new key?"
        confirmLabel="Finish rotation"
        onClose={() => setConfirm(undefined)}
        onConfirm={async () => {
          await api.post(`/api/v2/applications/${app._id}/saml/retire`);
          await refresh();
        }}
      >
        <p>From now on responses are signed with the new key and the old certificate leaves the metadata. An application that still trusts only the old certificate will refuse sign-ins until it gets the new one.</p>
      </ConfirmDialog>
    </>
  );
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A config entry's value: JumpCloud's `{ value }` wrapper or the bare value. */
const valueOf = (config: Json, key: string): unknown => {
  const entry = config[key];
  return isObject(entry) && 'value' in entry ? entry.value : entry;
};
const str = (v: unknown) => (typeof v === 'string' ? v : '');
const bool = (v: unknown, fallback: boolean) => (typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : fallback);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null || v === '' ? [] : [v]);

const USER_FIELDS = ['email', 'username', 'firstname', 'middlename', 'lastname', 'displayname', 'id', 'employeeIdentifier', 'employeeType', 'jobTitle', 'department', 'company', 'costCenter', 'location', 'alternateEmail', 'description', 'unixUid', 'unixGuid'];
const DEFAULT_ATTRIBUTES = [
  { name: 'email', field: 'email' },
  { name: 'username', field: 'username' },
  { name: 'firstName', field: 'firstname' },
  { name: 'lastName', field: 'lastname' },
];
const NAME_ID_FORMATS = [
  { value: 'emailAddress', label: 'Email address (the user’s email)' },
  { value: 'persistent', label: 'Persistent (an opaque id, stable per user and application)' },
  { value: 'unspecified', label: 'Unspecified (the username)' },
];

function nameIdFormatOf(v: unknown): string {
  const s = str(v);
  if (!s) return 'emailAddress';
  for (const f of ['emailAddress', 'persistent', 'unspecified']) if (s === f || s.endsWith(`:${f}`)) return f;
  return s;
}

/** PEM blocks of a text box; anything else (base64 DER) is sent as it is for the API to judge. */
function certificatesOf(text: string): string[] {
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (pems) return pems;
  return text.trim() ? [text.trim()] : [];
}

interface Row {
  name: string;
  field: string;
}

/** The service provider's side of a SAML application (config keys, docs/sso.md). */
function SamlSettings({ app, canWrite, onChanged, setup = false, onCancel }: Props & { setup?: boolean; onCancel?: () => void }) {
  const config = (app.config ?? {}) as Json;
  const initialAcs = [str(valueOf(config, 'acsUrl')), ...arr(valueOf(config, 'additionalAcsUrls')).map(str)].filter(Boolean);
  const [spEntityId, setSpEntityId] = useState(str(valueOf(config, 'spEntityId')));
  const [acsUrl, setAcsUrl] = useState(initialAcs[0] ?? '');
  const [moreAcs, setMoreAcs] = useState(initialAcs.slice(1).join('\n'));
  const [nameIdFormat, setNameIdFormat] = useState(nameIdFormatOf(valueOf(config, 'nameIdFormat')));
  const [attributes, setAttributes] = useState<Row[]>(() => {
    const v = valueOf(config, 'userAttributes');
    if (v === undefined || v === null) return DEFAULT_ATTRIBUTES;
    return arr(v).filter(isObject).map((r) => ({ name: str(r.name), field: str(r.field) }));
  });
  const groupsRaw = valueOf(config, 'groupsAttribute');
  const [sendGroups, setSendGroups] = useState(groupsRaw === undefined || groupsRaw === null || str(groupsRaw) !== '');
  const [groupsAttribute, setGroupsAttribute] = useState(groupsRaw === undefined || groupsRaw === null || str(groupsRaw) === '' ? 'groups' : str(groupsRaw));
  const [constants, setConstants] = useState<Row[]>(() => arr(valueOf(config, 'constantAttributes')).filter(isObject).map((r) => ({ name: str(r.name), field: str(r.value) })));
  const [signAssertion, setSignAssertion] = useState(bool(valueOf(config, 'signAssertion'), true));
  const [signResponse, setSignResponse] = useState(bool(valueOf(config, 'signResponse'), false));
  const [requireSigned, setRequireSigned] = useState(bool(valueOf(config, 'requireSignedAuthnRequests'), false));
  const [spCertificates, setSpCertificates] = useState(arr(valueOf(config, 'spCertificates')).map(str).join('\n'));
  const [allowSha1, setAllowSha1] = useState(bool(valueOf(config, 'allowSha1Signatures'), false));
  const [encrypt, setEncrypt] = useState(bool(valueOf(config, 'encryptAssertion'), false));
  const [encryptionCert, setEncryptionCert] = useState(arr(valueOf(config, 'spEncryptionCertificate')).map(str).join('\n'));
  const [saved, setSaved] = useState(false);

  const { submit, busy, error } = useSubmit(async () => {
    setSaved(false);
    const next: Json = { ...config };
    const set = (key: string, value: unknown) => {
      if (value === undefined || (Array.isArray(value) && value.length === 0)) delete next[key];
      else next[key] = { value };
    };
    set('spEntityId', spEntityId.trim());
    set('acsUrl', acsUrl.trim());
    set('additionalAcsUrls', lines(moreAcs));
    set('nameIdFormat', nameIdFormat);
    next.userAttributes = { value: attributes.filter((a) => a.name.trim() || a.field).map((a) => ({ name: a.name.trim(), field: a.field })) };
    set('groupsAttribute', sendGroups ? groupsAttribute.trim() : '');
    set('constantAttributes', constants.filter((c) => c.name.trim() || c.field).map((c) => ({ name: c.name.trim(), value: c.field })));
    set('signAssertion', signAssertion);
    set('signResponse', signResponse);
    set('requireSignedAuthnRequests', requireSigned);
    set('spCertificates', certificatesOf(spCertificates));
    set('allowSha1Signatures', allowSha1);
    set('encryptAssertion', encrypt);
    set('spEncryptionCertificate', certificatesOf(encryptionCert)[0]);
    const body: Json = { config: next };
    if (setup) body.sso = { ...app.sso, type: 'saml' };
    onChanged(await api.put<Application>(`/api/applications/${app._id}`, body));
    setSaved(true);
  });

  const rowsEditor = (kind: 'attributes' | 'constants') => {
    const rows = kind === 'attributes' ? attributes : constants;
    const setRows = kind === 'attributes' ? setAttributes : setConstants;
    const update = (i: number, patch: Partial<Row>) => setRows(rows.map((r, n) => (n === i ? { ...r, ...patch } : r)));
    return (
      <div className="rs-rows">
        {rows.length === 0 && <p className="muted rs-small">None.</p>}
        {rows.map((r, i) => {
          const custom = kind === 'attributes' && !USER_FIELDS.includes(r.field);
          return (
            <div className="rs-row" key={i}>
              <Field label={`Attribute name ${i + 1}`}>{(p) => <input className="input" value={r.name} onChange={(e) => update(i, { name: e.target.value })} {...p} />}</Field>
              {kind === 'attributes' ? (
                <>
                  <Field label={`User field ${i + 1}`}>
                    {(p) => (
                      <select className="input" value={custom ? 'custom' : r.field} onChange={(e) => update(i, { field: e.target.value === 'custom' ? 'attributes.' : e.target.value })} {...p}>
                        {USER_FIELDS.map((f) => (
                          <option key={f} value={f}>
                            {f}
                          </option>
                        ))}
                        <option value="custom">Custom attribute…</option>
                      </select>
                    )}
                  </Field>
                  {custom && (
                    <Field label={`Custom attribute ${i + 1}`}>
                      {(p) => <input className="input" value={r.field.replace(/^attributes\./, '')} onChange={(e) => update(i, { field: `attributes.${e.target.value}` })} {...p} />}
                    </Field>
                  )}
                </>
              ) : (
                <Field label={`Value ${i + 1}`}>{(p) => <input className="input" value={r.field} onChange={(e) => update(i, { field: e.target.value })} {...p} />}</Field>
              )}
              <Button variant="ghost" onClick={() => setRows(rows.filter((_, n) => n !== i))} aria-label={`Remove attribute ${r.name || i + 1}`}>
                Remove
              </Button>
            </div>
          );
        })}
        <Button variant="ghost" onClick={() => setRows([...rows, { name: '', field: kind === 'attributes' ? 'email' : '' }])}>
          Add attribute
        </Button>
      </div>
    );
  };

  return (
    <form className="card" onSubmit={submit} noValidate aria-labelledby="sp-settings">
      <h2 id="sp-settings">{setup ? 'Set up SAML 2.0' : 'Service provider settings'}</h2>
      {setup && <p className="muted">Enter what the application's SAML settings or metadata say about it. Roster then makes a signing key pair and shows its own metadata.</p>}
      {saved && <Alert kind="success">Saved.</Alert>}
      <ErrorAlert error={error} />
      <fieldset className="rs-fieldset" disabled={!canWrite}>
        <legend className="visually-hidden">SAML settings</legend>
        <TextField label="Service provider entity id" required hint="The Issuer of the application's requests and the Audience of Roster's assertions." value={spEntityId} onChange={(e) => setSpEntityId(e.target.value)} error={fieldError(error, 'config.spEntityId')} />
        <TextField label="Assertion consumer service (ACS) URL" type="url" required hint="Where Roster posts the SAML response: https (http only to localhost)." value={acsUrl} onChange={(e) => setAcsUrl(e.target.value)} error={fieldError(error, 'config.acsUrl')} />
        <Field label="Additional ACS URLs" hint="Optional, one per line: other addresses the application may ask for (by URL or by index; the ACS URL above is index 0)." error={fieldError(error, 'config.additionalAcsUrls')}>
          {(p) => <textarea className="input" rows={2} value={moreAcs} onChange={(e) => setMoreAcs(e.target.value)} {...p} />}
        </Field>

        <h3>NameID and attributes</h3>
        <SelectField label="NameID format" options={NAME_ID_FORMATS} value={nameIdFormat} onChange={(e) => setNameIdFormat(e.target.value)} error={fieldError(error, 'config.nameIdFormat')} />
        <fieldset className="rs-subset">
          <legend>Attributes from user fields</legend>
          {fieldError(error, 'config.userAttributes') && <p className="field-error">{fieldError(error, 'config.userAttributes')}</p>}
          {rowsEditor('attributes')}
        </fieldset>
        <Checkbox label="Send the user's groups" hint="The names of the groups connected to this application that the user is in (nested groups count)." checked={sendGroups} onChange={(e) => setSendGroups(e.target.checked)} />
        {sendGroups && <TextField label="Groups attribute name" value={groupsAttribute} onChange={(e) => setGroupsAttribute(e.target.value)} error={fieldError(error, 'config.groupsAttribute')} />}
        <fieldset className="rs-subset">
          <legend>Attributes with a fixed value</legend>
          {fieldError(error, 'config.constantAttributes') && <p className="field-error">{fieldError(error, 'config.constantAttributes')}</p>}
          {rowsEditor('constants')}
        </fieldset>

        <h3>Signatures and encryption</h3>
        <Checkbox label="Sign the assertion" checked={signAssertion} onChange={(e) => setSignAssertion(e.target.checked)} />
        <Checkbox label="Sign the whole response" checked={signResponse} onChange={(e) => setSignResponse(e.target.checked)} />
        {fieldError(error, 'config.signAssertion') && <p className="field-error">{fieldError(error, 'config.signAssertion')}</p>}
        <Checkbox label="Require signed authentication requests" hint="Refuse requests the application did not sign with one of its certificates below." checked={requireSigned} onChange={(e) => setRequireSigned(e.target.checked)} />
        <Field label="Application's signing certificates" hint="PEM (or base64 DER); several during the application's own key rotation." error={fieldError(error, 'config.spCertificates')}>
          {(p) => <textarea className="input" rows={4} value={spCertificates} onChange={(e) => setSpCertificates(e.target.value)} placeholder="-----BEGIN CERTIFICATE-----" {...p} />}
        </Field>
        <Checkbox label="Accept SHA-1 signatures from the application" hint="Only for old applications that cannot sign with SHA-256." checked={allowSha1} onChange={(e) => setAllowSha1(e.target.checked)} />
        <Checkbox label="Encrypt the assertion" hint="To the encryption certificate below, or the first signing certificate." checked={encrypt} onChange={(e) => setEncrypt(e.target.checked)} />
        {fieldError(error, 'config.encryptAssertion') && <p className="field-error">{fieldError(error, 'config.encryptAssertion')}</p>}
        {encrypt && (
          <Field label="Application's encryption certificate" hint="Optional: PEM, an RSA key." error={fieldError(error, 'config.spEncryptionCertificate')}>
            {(p) => <textarea className="input" rows={4} value={encryptionCert} onChange={(e) => setEncryptionCert(e.target.value)} placeholder="-----BEGIN CERTIFICATE-----" {...p} />}
          </Field>
        )}
      </fieldset>
      {canWrite && (
        <SaveActions busy={busy} label={setup ? 'Turn on SAML' : 'Save'}>
          {onCancel && <Button onClick={onCancel}>Cancel</Button>}
        </SaveActions>
      )}
    </form>
  );
}

/* ---------------------------------------------------------------- OpenID Connect */

function OidcPanel({ app, canWrite, onChanged }: Props) {
  const client = useAsync(
    (signal) =>
      api.get<OidcClient>(`/api/v2/applications/${app._id}/oidc`, { signal }).catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404 && e.reason === 'OIDC_CLIENT_NOT_FOUND') return null;
        throw e;
      }),
    [app._id],
  );
  const [secret, setSecret] = useState<string>();
  const [rotating, setRotating] = useState(false);
  const issuer = `${window.location.origin}/oidc`;
  return (
    <Loaded state={client}>
      {(c) => (
        <>
          {secret && (
            <Dialog open title="New client secret" onClose={() => setSecret(undefined)} footer={<Button variant="primary" onClick={() => setSecret(undefined)}>I have stored the secret</Button>}>
              <p>Give it to the application now: it is shown only this once.</p>
              <SecretBox label="Client secret" value={secret} />
            </Dialog>
          )}
          <section className="card" aria-labelledby="oidc-provider">
            <h2 id="oidc-provider">Roster as OpenID provider</h2>
            <CopyField label="Issuer" value={issuer} hint="If Roster is reached at another public address (ROSTER_PUBLIC_URL), the issuer is that address followed by /oidc." />
            <CopyField label="Discovery URL" value={`${issuer}/.well-known/openid-configuration`} />
            {c ? (
              <>
                <CopyField label="Client id" value={c.clientId} />
                <div className="rs-copy-field">
                  <span className="rs-copy-label">Client secret</span>
                  {c.tokenEndpointAuthMethod === 'none' ? (
                    <p>None: a public client proves itself with PKCE.</p>
                  ) : (
                    <p>
                      {c.hasSecret ? (
                        <>
                          Set <Time iso={c.secretUpdated} />; it is never shown again.
                        </>
                      ) : (
                        'Not set.'
                      )}
                    </p>
                  )}
                  {canWrite && c.tokenEndpointAuthMethod !== 'none' && <Button onClick={() => setRotating(true)}>{c.hasSecret ? 'Make a new secret' : 'Make a secret'}</Button>}
                </div>
                <p className="muted rs-small">Scopes: openid, profile, email, groups, offline_access.</p>
              </>
            ) : (
              <Alert kind="info">The client is not set up yet: save its settings below to get a client id and secret.</Alert>
            )}
          </section>
          <OidcSettings
            app={app}
            client={c}
            canWrite={canWrite}
            onSaved={(next) => {
              client.setData(next);
              if (next.clientSecret) setSecret(next.clientSecret);
            }}
          />
          {canWrite && <TurnOff app={app} onChanged={onChanged} />}
          <ConfirmDialog
            open={rotating}
            title="Make a new client secret?"
            confirmLabel="Make a new secret"
            onClose={() => setRotating(false)}
            onConfirm={async () => {
              const next = await api.post<OidcClient>(`/api/v2/applications/${app._id}/oidc/secret`);
              client.setData(next);
              if (next.clientSecret) setSecret(next.clientSecret);
            }}
          >
            <p>The current secret stops working at once: the application cannot sign anyone in until it has the new one. Tokens already issued stay valid until they expire.</p>
          </ConfirmDialog>
        </>
      )}
    </Loaded>
  );
}

function OidcSettings({ app, client, canWrite, onSaved }: { app: Application; client: OidcClient | null; canWrite: boolean; onSaved: (c: OidcClient) => void }) {
  const [redirectUris, setRedirectUris] = useState((client?.redirectUris ?? []).join('\n'));
  const [logoutUris, setLogoutUris] = useState((client?.postLogoutRedirectUris ?? []).join('\n'));
  const [grants, setGrants] = useState<string[]>(client?.grantTypes ?? ['authorization_code', 'refresh_token']);
  const [method, setMethod] = useState(client?.tokenEndpointAuthMethod ?? 'client_secret_basic');

  const { submit, busy, error, saved } = useSaveForm(async () => {
    onSaved(await api.put<OidcClient>(`/api/v2/applications/${app._id}/oidc`, { redirectUris: lines(redirectUris), postLogoutRedirectUris: lines(logoutUris), grantTypes: grants, tokenEndpointAuthMethod: method }));
  }, [redirectUris, logoutUris, grants, method]);

  return (
    <form className="card" onSubmit={submit} noValidate aria-labelledby="oidc-client">
      <h2 id="oidc-client">Client settings</h2>
      {saved && <Alert kind="success">Saved.</Alert>}
      <ErrorAlert error={error} />
      <fieldset className="rs-fieldset" disabled={!canWrite}>
        <legend className="visually-hidden">OpenID Connect client</legend>
        <Field label="Redirect URIs" hint="One per line: https, http only to localhost, or a private-use scheme (com.example.app:/callback) for native apps; no fragments." error={fieldError(error, 'redirectUris')}>
          {(p) => <textarea className="input" rows={3} value={redirectUris} onChange={(e) => setRedirectUris(e.target.value)} {...p} />}
        </Field>
        <Field label="Post-logout redirect URIs" hint="Optional, one per line: where the application may send users after signing out." error={fieldError(error, 'postLogoutRedirectUris')}>
          {(p) => <textarea className="input" rows={2} value={logoutUris} onChange={(e) => setLogoutUris(e.target.value)} {...p} />}
        </Field>
        <SelectField label="Client type and authentication" options={OIDC_AUTH_METHODS} value={method} onChange={(e) => setMethod(e.target.value)} error={fieldError(error, 'tokenEndpointAuthMethod')} />
        <fieldset className="rs-subset">
          <legend>Grant types</legend>
          {fieldError(error, 'grantTypes') && <p className="field-error">{fieldError(error, 'grantTypes')}</p>}
          {OIDC_GRANT_TYPES.map((g) => (
            <Checkbox
              key={g.value}
              label={g.label}
              hint={g.hint}
              checked={grants.includes(g.value)}
              onChange={(e) => setGrants(e.target.checked ? [...grants, g.value] : grants.filter((x) => x !== g.value))}
            />
          ))}
        </fieldset>
      </fieldset>
      {canWrite && <SaveActions busy={busy} label={client ? 'Save' : 'Create client'} />}
    </form>
  );
}
