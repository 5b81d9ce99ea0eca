import type { Store } from './ports.js';
import type { SecretBox } from './secrets.js';
import { AdministratorService } from './services/administrators.js';
import { ApiKeyService } from './services/api-keys.js';
import { ApplicationService } from './services/applications.js';
import { AssociationService } from './services/associations.js';
import { AuthenticationService } from './services/authentication.js';
import { bootstrap } from './services/bootstrap.js';
import type { Deps } from './services/deps.js';
import { DirectoryService } from './services/directories.js';
import { DirectoryViewService } from './services/directory-view.js';
import { GroupService } from './services/groups.js';
import { JournalService } from './services/journal.js';
import { OrganizationService } from './services/organizations.js';
import { UserImportService } from './services/user-import.js';
import { UserService } from './services/users.js';

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
  /** What the LDAP service exposes, kept current from the journal. */
  readonly ldapView: DirectoryViewService;

  constructor(private readonly deps: Deps) {
    this.users = new UserService(deps);
    this.userImport = new UserImportService(deps, this.users);
    this.authentication = new AuthenticationService(deps, this.users);
    this.groups = new GroupService(deps);
    this.associations = new AssociationService(deps);
    this.applications = new ApplicationService(deps);
    this.directories = new DirectoryService(deps);
    this.organizations = new OrganizationService(deps);
    this.administrators = new AdministratorService(deps);
    this.apiKeys = new ApiKeyService(deps);
    this.journal = new JournalService(deps);
    this.ldapView = new DirectoryViewService(deps, 'ldap_server');
  }

  get store(): Store {
    return this.deps.store;
  }

  bootstrap(options: { orgName: string; adminEmail: string }) {
    return bootstrap(this.deps, this.organizations, options);
  }
}

export function createDirectoryCore(store: Store, secrets: SecretBox, clock: () => Date = () => new Date()): DirectoryCore {
  return new DirectoryCore({ store, secrets, clock });
}
