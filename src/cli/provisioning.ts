import type { Context } from '../core/context.js';
import type { DirectoryCore } from '../core/directory.js';
import type { ApplicationId } from '../core/ids.js';
import { dryRun } from '../integrations/scim-app/provisioner.js';
import { ProvisioningWorker } from '../integrations/scim-app/worker.js';
import { say } from './output.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

/** `roster provisioning status <app>`: settings and how the last run went. */
export async function provisioningStatus(core: DirectoryCore, ctx: Context, applicationId: string): Promise<void> {
  const t = await core.provisioning.get(ctx, applicationId);
  out(`status       ${t.status}${t.config.enabled ? '' : ' (provisioning is off)'}`);
  out(`target       ${t.config.baseUrl || '-'}  token ${t.hasToken ? 'set' : 'not set'}`);
  out(`cursor       ${t.cursor}`);
  out(`last run     ${t.lastRunAt ?? '-'}  ${JSON.stringify(t.counters)}`);
  out(`last success ${t.lastSuccessAt ?? '-'}`);
  if (t.lastError) out(`last error   ${t.lastErrorAt}  ${t.lastError}`);
  const failed = await core.provisioning.objects(ctx, applicationId, { failed: true, page: { limit: 10, skip: 0 } });
  for (const o of failed.items) out(`failed       ${o.objectType} ${o.name}: ${o.error} (${o.attempts} attempts)`);
  if (failed.total > failed.items.length) out(`             … and ${failed.total - failed.items.length} more`);
}

/** `roster provisioning plan <app>`: the dry run, one line per operation. */
export async function provisioningPlan(core: DirectoryCore, ctx: Context, applicationId: string, limit: number): Promise<void> {
  const target = await core.provisioning.get(ctx, applicationId);
  const result = await dryRun(core.provisioning, target);
  const ops = result ? [...result.plan.users, ...result.plan.groups] : [];
  for (const op of ops.slice(0, limit)) out(`${op.action.padEnd(10)} ${op.kind.padEnd(5)} ${op.name}  — ${op.reason}`);
  if (ops.length > limit) out(`… and ${ops.length - limit} more`);
  say(ops.length === 0 ? 'Nothing to do: the application holds what it should.' : `${ops.length} operation(s) would be sent; nothing was sent.`);
  if (!target.config.enabled) say('Provisioning is off for this application: this is what enabling it would send.');
}

/** `roster provisioning run <app>`: one run now, waiting for it; exit code 1 when it failed. */
export async function provisioningRun(core: DirectoryCore, ctx: Context, applicationId: string, reconcile: boolean): Promise<number> {
  const target = await core.provisioning.runnableBy(ctx, applicationId);
  if (!target.config.enabled) throw new Error('provisioning is not enabled for this application');
  const result = await new ProvisioningWorker(core.provisioning).runNow(ctx.orgId, target.applicationId as ApplicationId, reconcile);
  if (!result) throw new Error('another process is running this application now; try again shortly');
  out(JSON.stringify(result.counters));
  for (const e of result.errors.slice(0, 20)) say(`failed: ${e.kind} ${e.name}: ${e.message}`);
  if (result.stopped) say(`stopped: ${result.stopped}`);
  return result.errors.length > 0 || result.stopped ? 1 : 0;
}
