import { runAgent, type AgentCliOptions } from './agent.js';
import { adExportPlan, adPlan, adStatus } from './active-directory.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, type Config } from '../app/config.js';
import { openRuntime, type Runtime } from '../app/runtime.js';
import { serve } from '../app/serve.js';
import { rosterVersion } from '../app/version.js';
import { operatorContext } from '../core/context.js';
import { isWellFormedId, type AdminId, type ApiKeyId, type OrgId } from '../core/ids.js';
import { ALL_ROWS } from '../core/query.js';
import { ROLE_NAMES, type RoleName } from '../core/roles.js';
import { randomPassword } from '../core/secrets.js';
import { migrate } from '../store/migrate.js';
import { connect } from '../store/connect.js';
import { reportError, say } from './output.js';
import { importUsersCsv } from './users-import.js';
import { provisioningPlan, provisioningRun, provisioningStatus } from './provisioning.js';

/** Runs a local command against the configured store. */
async function withRuntime<T>(work: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await openRuntime(loadConfig());
  try {
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}

/** The org a local command acts on: --org, or the only one there is. */
async function pickOrg(runtime: Runtime, requested: string | undefined): Promise<OrgId> {
  if (requested) {
    if (!isWellFormedId(requested) || !(await runtime.store.read.orgs.findById(requested as OrgId))) {
      throw new Error(`no organization with id ${requested}; see: roster org list`);
    }
    return requested as OrgId;
  }
  const orgs = await runtime.store.read.orgs.listAll({ sort: [], page: ALL_ROWS });
  if (orgs.items.length === 1) return orgs.items[0]!.id;
  if (orgs.items.length === 0) throw new Error('there is no organization yet; start `roster serve` once, or run: roster org create <name>');
  throw new Error(`there are ${orgs.items.length} organizations; choose one with --org (see: roster org list)`);
}

const role = (value: string): RoleName => {
  if (!(ROLE_NAMES as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of: ${ROLE_NAMES.join(', ')}`);
  return value as RoleName;
};

export function buildCli(): Command {
  const program = new Command('roster')
    .description('Roster: a self-hosted cloud directory with a JumpCloud-compatible API')
    .version(rosterVersion())
    .showHelpAfterError()
    .addHelpText('after', '\nConfiguration comes from the environment (DATABASE_URL, ROSTER_DATA_DIR, ROSTER_HTTP_PORT, …); see docs/configuration.md.');

  program
    .command('serve')
    .description('run the directory: REST API, documentation, health endpoints')
    .option('--host <address>', 'address to listen on (ROSTER_HTTP_HOST)')
    .option('--port <port>', 'HTTP port (ROSTER_HTTP_PORT)')
    .action(async (opts: { host?: string; port?: string }) => {
      const env = { ...process.env };
      if (opts.host) env.ROSTER_HTTP_HOST = opts.host;
      if (opts.port) env.ROSTER_HTTP_PORT = opts.port;
      const config: Config = loadConfig(env);
      const server = await serve(config);
      const stop = async (signal: string) => {
        server.app.log.info(`${signal}: shutting down`);
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });

  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(async () => {
      const config = loadConfig();
      const { db, description } = connect({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        const { applied } = await migrate(db);
        say(applied.length > 0 ? `Applied ${applied.join(', ')} to ${description}.` : `${description} is up to date.`);
      } finally {
        await db.destroy();
      }
    });

  const org = program.command('org').description('organizations (tenants)');
  org
    .command('list')
    .description('list organizations')
    .action(() =>
      withRuntime(async (runtime) => {
        const orgs = await runtime.store.read.orgs.listAll({ sort: [{ field: 'displayName', descending: false }], page: ALL_ROWS });
        for (const o of orgs.items) process.stdout.write(`${o.id}  ${o.displayName}\n`);
      }),
    );
  org
    .command('create <name>')
    .description('create an organization; --admin links an existing administrator to it')
    .option('--admin <email>', 'administrator to link to the new organization')
    .action((name: string, opts: { admin?: string }) =>
      withRuntime(async (runtime) => {
        const created = await runtime.core.organizations.create(name);
        if (opts.admin) await runtime.core.administrators.link(operatorContext(created.id), opts.admin);
        process.stdout.write(`${created.id}\n`);
        say(`Created organization "${created.displayName}".`);
      }),
    );

  const admin = program.command('admin').description('administrators');
  admin
    .command('create')
    .description('create an administrator with a random one-time password')
    .requiredOption('--email <email>', 'login email')
    .addOption(new Option('--role <role>', 'role').default('Administrator').argParser(role))
    .option('--first-name <name>', 'first name')
    .option('--last-name <name>', 'last name')
    .option('--org <id>', 'organization (needed when there are several)')
    .option('--api-key', 'also create an API key for the new administrator')
    .action((opts: { email: string; role: RoleName; firstName?: string; lastName?: string; org?: string; apiKey?: boolean }) =>
      withRuntime(async (runtime) => {
        const ctx = operatorContext(await pickOrg(runtime, opts.org));
        const password = randomPassword();
        const created = await runtime.core.administrators.create(ctx, {
          email: opts.email,
          roleName: opts.role,
          firstname: opts.firstName ?? '',
          lastname: opts.lastName ?? '',
          password,
        });
        say(`Created administrator ${created.email} (${created.roleName}).`);
        say(`  Password  ${password}   (shown once)`);
        if (opts.apiKey) {
          const issued = await runtime.core.apiKeys.issue(ctx, created.id, { name: 'cli' });
          say(`  API key   ${issued.secret}   (shown once)`);
        }
      }),
    );

  const apikey = program.command('apikey').description('API keys');
  apikey
    .command('create')
    .description('create an API key for an administrator; prints the key on stdout')
    .requiredOption('--admin <email>', 'the administrator who owns the key')
    .option('--name <name>', 'a label for the key')
    .option('--read-only', 'the key can read but not change anything')
    .option('--expires <time>', 'ISO-8601 time after which the key stops working')
    .option('--org <id>', 'organization (needed when the administrator has several)')
    .action((opts: { admin: string; name?: string; readOnly?: boolean; expires?: string; org?: string }) =>
      withRuntime(async (runtime) => {
        const found = await runtime.store.read.admins.findByEmail(opts.admin);
        if (!found) throw new Error(`no administrator ${opts.admin}`);
        const orgId = opts.org ? await pickOrg(runtime, opts.org) : found.admin.orgIds[0];
        if (!orgId) throw new Error(`${opts.admin} manages no organization`);
        const issued = await runtime.core.apiKeys.issue(operatorContext(orgId), found.admin.id as AdminId, {
          name: opts.name ?? 'cli',
          readOnly: opts.readOnly ?? false,
          expiresAt: opts.expires ?? null,
        });
        process.stdout.write(`${issued.secret}\n`);
        say(`Created API key ${issued.key.id} for ${opts.admin}${issued.key.readOnly ? ' (read-only)' : ''}${issued.key.expiresAt ? `, expiring ${issued.key.expiresAt}` : ''}. It is shown once.`);
      }),
    );
  apikey
    .command('revoke <id>')
    .description('revoke an API key by its id')
    .action((id: string) =>
      withRuntime(async (runtime) => {
        const key = isWellFormedId(id) ? await runtime.store.read.apiKeys.findById(id as ApiKeyId) : undefined;
        const owner = key ? await runtime.store.read.admins.findById(key.adminId) : undefined;
        const orgId = owner?.orgIds[0];
        if (!key || !orgId) throw new Error(`no API key with id ${id}`);
        await runtime.core.apiKeys.revoke(operatorContext(orgId), id);
        say(`Revoked API key ${id}.`);
      }),
    );

  const users = program.command('users').description('directory users');
  users
    .command('import <file>')
    .description('import users from a CSV file whose header row names the attributes')
    .option('--org <id>', 'organization (needed when there are several)')
    .option('--dry-run', 'check the file and report what would be imported, without writing')
    .option('--continue-on-error', 'import the good rows even if some rows have errors')
    .action((file: string, opts: { org?: string; dryRun?: boolean; continueOnError?: boolean }) =>
      withRuntime(async (runtime) => {
        const ctx = operatorContext(await pickOrg(runtime, opts.org));
        process.exitCode = await importUsersCsv(runtime.core, ctx, file, opts);
      }),
    );

  const provisioning = program.command('provisioning').description("applications' outbound SCIM provisioning (docs/provisioning.md)");
  provisioning
    .command('status <application-id>')
    .description('settings, status, the last run and failed objects')
    .option('--org <id>', 'organization (needed when there are several)')
    .action((id: string, opts: { org?: string }) =>
      withRuntime(async (runtime) => provisioningStatus(runtime.core, operatorContext(await pickOrg(runtime, opts.org)), id)),
    );
  provisioning
    .command('plan <application-id>')
    .description('dry run: what the next run would send to the application, and why; sends nothing')
    .option('--org <id>', 'organization (needed when there are several)')
    .option('--limit <n>', 'operations to list (all are counted)', (v) => Number.parseInt(v, 10), 100)
    .action((id: string, opts: { org?: string; limit: number }) =>
      withRuntime(async (runtime) => provisioningPlan(runtime.core, operatorContext(await pickOrg(runtime, opts.org)), id, opts.limit)),
    );
  provisioning
    .command('run <application-id>')
    .description('provision the application now and wait for the run')
    .option('--org <id>', 'organization (needed when there are several)')
    .option('--reconcile', "also read the application's accounts back and repair what drifted")
    .action((id: string, opts: { org?: string; reconcile?: boolean }) =>
      withRuntime(async (runtime) => {
        process.exitCode = await provisioningRun(runtime.core, operatorContext(await pickOrg(runtime, opts.org), 'cli'), id, opts.reconcile === true);
      }),
    );

  const ad = program.command('ad').description('Active Directory domains (docs/active-directory.md)');
  ad.command('status <domain-id>')
    .description("a domain's agents, writer lease, cursor, last run and last error")
    .option('--org <id>', 'organization (needed when there are several)')
    .action((id: string, opts: { org?: string }) => withRuntime(async (runtime) => adStatus(runtime.core, operatorContext(await pickOrg(runtime, opts.org)), id)));
  ad.command('plan <domain-id>')
    .description('dry run: what a full import from AD would change, object by object (with --export: what Roster would write to AD now); applies nothing')
    .option('--org <id>', 'organization (needed when there are several)')
    .option('--export', 'the writes to AD (two-way, Roster authoritative) instead of the import')
    .option('--wait <seconds>', "how long to wait for the agent's next contact", (v) => Number.parseInt(v, 10), 90)
    .option('--limit <n>', 'plan lines to print (all are counted)', (v) => Number.parseInt(v, 10), 200)
    .action((id: string, opts: { org?: string; export?: boolean; wait: number; limit: number }) =>
      withRuntime(async (runtime) => {
        const ctx = operatorContext(await pickOrg(runtime, opts.org), 'cli');
        if (opts.export) return adExportPlan(runtime.core, ctx, id, opts.limit);
        process.exitCode = await adPlan(runtime.core, ctx, id, opts.wait, opts.limit);
      }),
    );

  program
    .command('agent')
    .description("the directory agent: runs next to an Active Directory domain controller (or another LDAP directory) and syncs it with Roster, dialing out over HTTPS (docs/active-directory.md)")
    .option('--url <url>', "Roster's address, https://… (ROSTER_AGENT_URL)")
    .option('--connect-key <key>', "the one-time connect key from the domain's Agents page, for the first start (ROSTER_AGENT_CONNECT_KEY)")
    .option('--state-file <path>', "where the agent keeps its id and credential (owner-only)", 'roster-agent.json')
    .option('--roster-ca <file>', "a CA certificate to trust for Roster's certificate (ROSTER_AGENT_ROSTER_CA)")
    .option('--ldap-url <url>', 'the domain controller, ldaps://dc1.corp.example.com (ROSTER_AGENT_LDAP_URL)')
    .option('--bind-dn <dn>', 'the account the agent reads and writes AD as (ROSTER_AGENT_BIND_DN)')
    .option('--bind-password-file <file>', "that account's password, in a file (ROSTER_AGENT_BIND_PASSWORD_FILE, or ROSTER_AGENT_BIND_PASSWORD)")
    .option('--ldap-ca <file>', "a CA certificate to trust for the domain controller's certificate (ROSTER_AGENT_LDAP_CA)")
    .option('--start-tls', 'ldap:// with StartTLS instead of LDAPS (ROSTER_AGENT_START_TLS=1)')
    .option('--allow-plain-ldap', 'ldap:// without TLS: passwords cross the network in the clear; only for tests (ROSTER_AGENT_ALLOW_PLAIN_LDAP=1)')
    .option('--poll-seconds <n>', 'the longest wait between contacts with Roster (ROSTER_AGENT_POLL_SECONDS, 30)', (v) => Number.parseInt(v, 10))
    .option('--base-dn <dn>', "for another LDAP directory (schema ldap): where its users and groups are; the root DSE's naming context when absent (ROSTER_AGENT_BASE_DN)")
    .action(async (opts: AgentCliOptions) => runAgent(opts, say));

  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (e) {
    reportError(e);
  }
}
