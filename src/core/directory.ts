import { AdminSignInService } from './services/admin-sign-in.js';
import type { ApplicationId, DirectoryId, RadiusServerId } from './ids.js';
import type { Application, Directory, RadiusServer } from './model.js';
import type { Store } from './ports.js';
import { VerificationCache } from './verification-cache.js';
import type { SecretBox } from './secrets.js';
import { AdministratorService } from './services/administrators.js';
import { ApiKeyService } from './services/api-keys.js';
import { ApplicationService } from './services/applications.js';
import { AssociationService } from './services/associations.js';
import { AuthenticationService } from './services/authentication.js';
import { bootstrap } from './services/bootstrap.js';
import { CredentialService } from './services/credentials.js';
import type { Deps } from './services/deps.js';
import { DirectoryService } from './services/directories.js';
import { DirectoryViewService, directoryOfType } from './services/directory-view.js';
import { GroupService } from './services/groups.js';
import { IdentityLinkService } from './services/identity-links.js';
import { JournalService } from './services/journal.js';
import { OidcService } from './services/oidc.js';
import { SamlReplayService } from './services/saml-replay.js';
import { OrganizationService } from './services/organizations.js';
import { ProvisioningService } from './services/provisioning.js';
import { RadiusServerService } from './services/radius-servers.js';
import { ScimSourceService } from './services/scim-sources.js';
import { RecoveryCodeService } from './services/recovery-codes.js';
import { DEFAULT_SESSION_POLICY, SignInService, type SessionPolicy } from './services/sign-in.js';
import { UserImportService } from './services/user-import.js';
import { UserService } from './services/users.js';
import { WebAuthnService } from './services/webauthn.js';
import { MfaService } from './services/mfa.js';
import { ActiveDirectoryService } from './services/active-directory.js';
import { DirectorySyncService } from './services/directory-sync.js';
import { AgentTaskService } from './services/agent-tasks.js';
import { DirectoryExportService } from './services/directory-export.js';
import { CloudDirectoryService } from './services/cloud-directories.js';
import { DirectoryPasswordService, type DirectoryPasswordOptions } from './services/directory-passwords.js';

export interface CoreOptions {
  /** How long a verified password is remembered (VerificationCache); 0 turns the cache off. */
  passwordCacheSeconds: number;
  /** Sign-in sessions' idle and absolute timeouts. */
  sessions?: SessionPolicy;
  /** How often each process reads the OIDC provider's keys again; a key rotated through the API signs this long after it is made. */
  oidcKeyRefreshSeconds?: number;
  /** How long password writes to Active Directory and delegated logins wait for the domain's agent. */
  directoryPasswords?: DirectoryPasswordOptions;
}

/** The directory core: every service, each already restricted to the calling principal. */
export class DirectoryCore {
  readonly users: UserService;
  readonly userImport: UserImportService;
  readonly authentication: AuthenticationService;
  readonly groups: GroupService;
  readonly associations: AssociationService;
  readonly applications: ApplicationService;
  readonly directories: DirectoryService;
  readonly organizations: OrganizationService;
  readonly administrators: AdministratorService;
  readonly apiKeys: ApiKeyService;
  readonly journal: JournalService;
  readonly radiusServers: RadiusServerService;
  /** TOTP second factors and NT hashes. */
  readonly credentials: CredentialService;
  /** SCIM sources and their bearer tokens. */
  readonly scimSources: ScimSourceService;
  /** How users and groups are known in the directories that feed Roster: (directory, kind, local id) ↔ external id. */
  readonly identityLinks: IdentityLinkService;
  /** Who each application admits (by application id): its users directly or through groups, and its groups. */
  readonly applicationViews: DirectoryViewService<Application>;
  /** One-time recovery codes, the second factor for a lost authenticator. */
  readonly recoveryCodes: RecoveryCodeService;
  /** Security keys and passkeys (WebAuthn): registration, sign-in, and administrators' view and removal. */
  readonly webauthn: WebAuthnService;
  /** The second-factor policy, which factors users have, and an administrator's reset of them. */
  readonly mfa: MfaService;
  /** Active Directory domains, their sync settings and their agents. */
  readonly activeDirectory: ActiveDirectoryService;
  /** Imports from directories through their agents: plans, safety checks, cursors, runs. */
  readonly directorySync: DirectorySyncService;
  /** Requests to directory agents that Roster waits for (password writes, delegated logins). */
  readonly agentTasks: AgentTaskService;
  /** What each AD domain exposes: the users and groups associated with it. */
  readonly adView: DirectoryViewService;
  /** What each Google Workspace and Microsoft 365 directory exposes. */
  readonly cloudViews: Record<'g_suite' | 'office_365', DirectoryViewService>;
  readonly directoryExport: DirectoryExportService;
  readonly directoryPasswords: DirectoryPasswordService;
  /** Google Workspace and Microsoft 365 directories: settings and sealed credentials. */
  readonly cloudDirectories: CloudDirectoryService;
  /** Users signing in (single sign-on, the user portal) and their sessions. */
  readonly signIn: SignInService;
  readonly adminSignIn: AdminSignInService;
  /** Outbound SCIM provisioning of applications: settings, records, and what the worker needs. */
  readonly provisioning: ProvisioningService;
  /** OpenID Connect clients of applications, their users' claims, and the provider's keys. */
  readonly oidc: OidcService;
  /** SAML AuthnRequest IDs seen recently, shared by every process on the store. */
  readonly samlReplay: SamlReplayService;
  /** What the LDAP service exposes, kept current from the journal. */
  readonly ldapView: DirectoryViewService;
  /** Who each RADIUS server admits (by server id), kept current the same way. */
  readonly radiusView: DirectoryViewService<RadiusServer>;

  constructor(
    private readonly deps: Deps,
    options: CoreOptions = { passwordCacheSeconds: 0 },
  ) {
    this.users = new UserService(deps);
    this.userImport = new UserImportService(deps, this.users);
    this.groups = new GroupService(deps);
    this.associations = new AssociationService(deps);
    this.applications = new ApplicationService(deps);
    this.directories = new DirectoryService(deps);
    this.organizations = new OrganizationService(deps);
    this.administrators = new AdministratorService(deps);
    this.apiKeys = new ApiKeyService(deps);
    this.journal = new JournalService(deps);
    this.radiusServers = new RadiusServerService(deps);
    this.credentials = new CredentialService(deps);
    this.scimSources = new ScimSourceService(deps, this.directories);
    this.identityLinks = new IdentityLinkService(deps);
    this.applicationViews = new DirectoryViewService<Application>(deps, 'application', (repos, orgId, id) => repos.applications.findById(orgId, id as ApplicationId));
    this.provisioning = new ProvisioningService(deps, this.applicationViews);
    this.authentication = new AuthenticationService(deps, this.users, this.credentials, new VerificationCache(options.passwordCacheSeconds * 1000));
    this.oidc = new OidcService(deps, this.applicationViews, options.oidcKeyRefreshSeconds !== undefined ? { keyRefreshMs: options.oidcKeyRefreshSeconds * 1000 } : {});
    this.samlReplay = new SamlReplayService(deps);
    this.recoveryCodes = new RecoveryCodeService(deps);
    this.webauthn = new WebAuthnService(deps);
    this.mfa = new MfaService(deps);
    this.activeDirectory = new ActiveDirectoryService(deps, this.directories);
    this.directorySync = new DirectorySyncService(deps, this.users, this.groups);
    this.signIn = new SignInService(deps, this.authentication, this.credentials, this.recoveryCodes, this.applicationViews, this.mfa, this.webauthn, options.sessions ?? DEFAULT_SESSION_POLICY);
    this.adminSignIn = new AdminSignInService(deps, options.sessions ?? DEFAULT_SESSION_POLICY);
    this.radiusView = new DirectoryViewService(deps, 'radius_server', (repos, orgId, id) => repos.radiusServers.findById(orgId, id as RadiusServerId));
    this.ldapView = new DirectoryViewService(deps, 'ldap_server', directoryOfType('ldap_server'));
    this.agentTasks = new AgentTaskService(deps);
    this.adView = new DirectoryViewService<Directory>(deps, 'active_directory', (repos, orgId, id) => repos.directories.findById(orgId, id as DirectoryId));
    const directoryView = (type: 'g_suite' | 'office_365') => new DirectoryViewService<Directory>(deps, type, (repos, orgId, id) => repos.directories.findById(orgId, id as DirectoryId));
    this.cloudViews = { g_suite: directoryView('g_suite'), office_365: directoryView('office_365') };
    this.directoryExport = new DirectoryExportService(deps, { active_directory: this.adView, ...this.cloudViews });
    this.cloudDirectories = new CloudDirectoryService(deps, this.directories, this.directoryExport);
    this.directoryPasswords = new DirectoryPasswordService(deps, this.agentTasks, this.directoryExport, options.directoryPasswords);
    this.users.useDirectoryPasswords(this.directoryPasswords);
    this.authentication.useDelegate(this.directoryPasswords);
  }

  get store(): Store {
    return this.deps.store;
  }

  bootstrap(options: { orgName: string; adminEmail: string }) {
    return bootstrap(this.deps, this.organizations, options);
  }
}

export function createDirectoryCore(
  store: Store,
  secrets: SecretBox,
  clock: () => Date = () => new Date(),
  options: CoreOptions = { passwordCacheSeconds: 0 },
): DirectoryCore {
  return new DirectoryCore({ store, secrets, clock }, options);
}
