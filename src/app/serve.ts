import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { buildApi, type Api } from '../api/server.js';
import { LdapServer } from '../ldap/server.js';
import { RadiusListener, type RadiusListening } from '../radius/server.js';
import { canonicalScimUrl, registerScim } from '../scim/routes.js';
import { registerSaml } from '../sso/saml-routes.js';
import { SamlApplications } from '../sso/saml-apps.js';
import { registerSignIn } from '../sso/sign-in.js';
import { registerPortals } from './portals.js';
import { selfServiceRoutes } from '../sso/self-service.js';
import { registerOidc } from '../sso/oidc/index.js';
import { ProvisioningWorker } from '../integrations/scim-app/worker.js';
import { CloudDirectoryWorker } from '../integrations/cloud-directory/worker.js';
import type { FirstRun } from '../core/services/bootstrap.js';
import type { Config } from './config.js';
import { openRuntime } from './runtime.js';
import { rosterVersion } from './version.js';

export interface Server {
  url: string;
  app: Api;
  ldap: LdapServer;
  ldapUrls: string[];
  radius: RadiusListener;
  radiusPorts: RadiusListening;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function firstRunBanner(first: FirstRun, url: string): string {
  return [
    '',
    `First run: created the organization "${first.org.displayName}" and its first administrator.`,
    'These credentials are shown once; store them now.',
    '',
    `  Administrator  ${first.admin.email}  (role: ${first.admin.roleName})`,
    `  Password       ${first.password}`,
    `  API key        ${first.apiKey}`,
    '',
    `Sign in to the admin portal at ${url}/admin/ with this email and password.`,
    'Or try the API:',
    `  curl -H "x-api-key: ${first.apiKey}" ${url}/api/systemusers`,
    `API documentation: ${url}/docs`,
    '',
  ].join('\n');
}

/** `roster serve`: every listener of this process, over one store. */
export async function serve(config: Config, out: NodeJS.WritableStream = process.stdout): Promise<Server> {
  const runtime = await openRuntime(config);
  const { http } = config;
  if ((http.tlsCert === undefined) !== (http.tlsKey === undefined)) {
    await runtime.close();
    throw new Error('Set both ROSTER_TLS_CERT and ROSTER_TLS_KEY to serve HTTPS, or neither');
  }
  const https = http.tlsCert && http.tlsKey ? { cert: readFileSync(http.tlsCert), key: readFileSync(http.tlsKey) } : undefined;
  // The worker logs through the HTTP server's logger, which exists only once the server is built.
  let provisioningLog: { warn(fields: object, message: string): void } | undefined;
  const provisioning = config.provisioningWorker
    ? new ProvisioningWorker(runtime.core.provisioning, { log: (message, fields) => provisioningLog?.warn(fields, message) })
    : undefined;
  const cloud = config.cloudDirectoryWorker
    ? new CloudDirectoryWorker(runtime.core, runtime.cloudConnectors, { log: (message, fields) => provisioningLog?.warn(fields, message) })
    : undefined;
  const app = await buildApi({
    core: runtime.core,
    ...(provisioning ? { provisioningWorker: provisioning } : {}),
    version: rosterVersion(),
    trustProxy: http.trustProxy,
    rewriteUrl: canonicalScimUrl,
    ...(https ? { https } : {}),
    ...(http.publicUrl ? { publicUrl: http.publicUrl } : {}),
    saml: new SamlApplications(runtime.core),
    logger: {
      level: config.logLevel,
      redact: { paths: ['req.headers["x-api-key"]', 'req.headers.authorization', 'req.headers.cookie', '*.password'], censor: '[REDACTED]' },
    },
  });
  provisioningLog = app.log;
  await registerSignIn(app, runtime.core, http.publicUrl ? { publicUrl: http.publicUrl } : {});
  await app.register(selfServiceRoutes, http.publicUrl ? { publicUrl: http.publicUrl } : {});
  await registerSaml(app, runtime.core, http.publicUrl ? { publicUrl: http.publicUrl } : {});
  const oidc = await registerOidc(app, runtime.core, { proxy: http.trustProxy });
  await registerScim(app, runtime.core, config.scimTestToken ? { testToken: config.scimTestToken } : {});
  await registerPortals(app, runtime.core);
  const ldap = new LdapServer(
    runtime.core,
    { ...config.ldap, ...(https ? { tls: https } : {}), maxQueued: 64, version: rosterVersion() },
    app.log,
  );
  const { radius: radiusConfig } = config;
  if ((radiusConfig.tlsCert === undefined) !== (radiusConfig.tlsKey === undefined)) {
    await runtime.close();
    throw new Error('Set both ROSTER_RADIUS_TLS_CERT and ROSTER_RADIUS_TLS_KEY, or neither');
  }
  const radiusTls = radiusConfig.tlsCert && radiusConfig.tlsKey ? { cert: readFileSync(radiusConfig.tlsCert), key: readFileSync(radiusConfig.tlsKey) } : undefined;
  const radius = new RadiusListener(runtime.core, { ...radiusConfig, ...(radiusTls ? { tls: radiusTls } : {}) }, app.log);
  try {
    const first = await runtime.core.bootstrap(config.firstRun);
    await app.listen({ host: http.host, port: http.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : http.port;
    const host = isIP(http.host) === 6 ? `[${http.host}]` : http.host === '0.0.0.0' ? '127.0.0.1' : http.host;
    const url = `${https ? 'https' : 'http'}://${host}:${port}`;
    // Before the address is announced, so that whoever waits for it finds the provider ready.
    await oidc.start(http.publicUrl ?? url);
    out.write(`Roster ${rosterVersion()} is listening on ${url} (store: ${runtime.store.description})\n`);
    const ldapListening = await ldap.listen();
    const ldapHost = isIP(config.ldap.host) === 6 ? `[${config.ldap.host}]` : config.ldap.host === '0.0.0.0' ? '127.0.0.1' : config.ldap.host;
    const ldapUrls = [
      ...(ldapListening.port !== undefined ? [`ldap://${ldapHost}:${ldapListening.port}`] : []),
      ...(ldapListening.tlsPort !== undefined ? [`ldaps://${ldapHost}:${ldapListening.tlsPort}`] : []),
    ];
    if (ldapUrls.length > 0) out.write(`LDAP service on ${ldapUrls.join(' and ')} (base ${config.ldap.suffix})\n`);
    const radiusListening = await radius.listen();
    if (radiusListening.authPort !== undefined || radiusListening.acctPort !== undefined) {
      const ports = [
        ...(radiusListening.authPort !== undefined ? [`${radiusListening.authPort} (authentication)`] : []),
        ...(radiusListening.acctPort !== undefined ? [`${radiusListening.acctPort} (accounting)`] : []),
      ];
      out.write(`RADIUS service on ${radiusConfig.host} UDP ${ports.join(' and ')}\n`);
      if (!radiusTls) app.log.warn('RADIUS has no EAP certificate: PEAP and EAP-TTLS are off; set ROSTER_TLS_CERT and ROSTER_TLS_KEY (or ROSTER_RADIUS_TLS_CERT and ROSTER_RADIUS_TLS_KEY)');
    }
    out.write(`Admin portal on ${url}/admin/ and user portal on ${url}/portal/\n`);
    if (!https && config.ldap.port !== null) {
      app.log.warn('LDAP has no TLS certificate: LDAPS and StartTLS are off, and binds are refused unless the LDAP service allows plain binds; set ROSTER_TLS_CERT and ROSTER_TLS_KEY');
    }
    if (!https && !LOOPBACK.has(http.host)) {
      app.log.warn('serving plain HTTP on a non-loopback address: set ROSTER_TLS_CERT and ROSTER_TLS_KEY, or put a TLS proxy in front');
    }
    provisioning?.start();
    cloud?.start();
    // Ended sign-in and admin sessions are forgotten a day later.
    const pruneSessions = setInterval(() => {
      void runtime.core.signIn.prune().catch((e: unknown) => app.log.warn({ err: e }, 'pruning sign-in sessions failed'));
      void runtime.core.adminSignIn.prune().catch((e: unknown) => app.log.warn({ err: e }, 'pruning admin sessions failed'));
    }, 3_600_000);
    pruneSessions.unref();
    // Expired OIDC codes, tokens and sessions likewise.
    const pruneOidc = setInterval(() => void runtime.core.oidc.prune().catch((e: unknown) => app.log.warn({ err: e }, 'pruning OpenID Connect state failed')), 3_600_000);
    pruneOidc.unref();
    // SAML request IDs whose replay window has passed.
    const pruneSamlReplay = setInterval(() => void runtime.core.samlReplay.prune().catch((e: unknown) => app.log.warn({ err: e }, 'pruning SAML request IDs failed')), 3_600_000);
    pruneSamlReplay.unref();
    if (first) out.write(firstRunBanner(first, url));
    return {
      url,
      app,
      ldap,
      ldapUrls,
      radius,
      radiusPorts: radiusListening,
      async close() {
        clearInterval(pruneSessions);
        clearInterval(pruneOidc);
        clearInterval(pruneSamlReplay);
        await provisioning?.stop();
        await cloud?.stop();
        await radius.close();
        await ldap.close();
        await app.close();
        await runtime.close();
      },
    };
  } catch (e) {
    await radius.close();
    await ldap.close();
    await app.close();
    await runtime.close();
    throw e;
  }
}
