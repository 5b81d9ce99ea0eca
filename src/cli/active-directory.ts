import type { Context } from '../core/context.js';
import type { DirectoryCore } from '../core/directory.js';
import type { DirectorySyncRun } from '../core/model.js';
import { sleep } from '../sync/retry.js';
import { say } from './output.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

/** `roster ad status <domain>`: agents, lease, cursor, the last run and error. */
export async function adStatus(core: DirectoryCore, ctx: Context, id: string): Promise<void> {
  const domain = await core.activeDirectory.get(ctx, id);
  const state = await core.activeDirectory.state(ctx, id);
  out(`domain       ${domain.name}`);
  for (const a of await core.activeDirectory.agents(ctx, id)) {
    out(`agent        ${a.id} ${a.state.padEnd(8)} ${a.hostname || '-'} ${a.version || ''} last contact ${a.contactAt ?? 'never'}${state.writerAgentId === a.id ? ' (writer)' : ''}`);
  }
  out(`cursor       ${state.importCursor ? 'yes' : 'none'}${state.fullImportWanted ? ', a full import is due' : ''}`);
  out(`last import  ${state.lastImportAt ?? '-'}`);
  if (state.lastError) out(`last error   ${state.lastErrorAt}  ${state.lastError}`);
  const [last] = (await core.activeDirectory.runs(ctx, id, 1, 0)).items;
  if (last) out(`last run     ${last.started} ${last.mode}${last.dryRun ? ' (dry run)' : ''} ${last.status} ${JSON.stringify(last.counts)}`);
}

const line = (item: DirectorySyncRun['plan'][number]) => {
  const changes = item.changes ? ' ' + Object.entries(item.changes).map(([k, v]) => `${k}: ${JSON.stringify(v.before)} → ${JSON.stringify(v.after)}`).join(', ') : '';
  return `${(item.held ? 'HELD ' + item.action : item.action).padEnd(14)} ${item.kind === 'user' ? 'user ' : 'group'} ${item.name}${item.member ? ` ${item.member}` : ''}${changes}${item.reason ? `  — ${item.reason}` : ''}`;
};

/**
 * `roster ad plan <domain>`: asks the writing agent for a dry run and waits for its plan: what
 * a full import would change, object by object; nothing is applied. Exit code 1 when no plan
 * arrived in time (no agent running, or the agent cannot reach AD).
 */
export async function adPlan(core: DirectoryCore, ctx: Context, id: string, waitSeconds: number, limit: number): Promise<number> {
  const before = (await core.activeDirectory.runs(ctx, id, 1, 0)).items[0]?.id;
  await core.activeDirectory.requestDryRun(ctx, id);
  say(`Asked the agent for a plan; waiting up to ${waitSeconds} s for its next contact…`);
  const deadline = Date.now() + waitSeconds * 1000;
  while (Date.now() < deadline) {
    const [run] = (await core.activeDirectory.runs(ctx, id, 1, 0)).items;
    if (run && run.id !== before && run.dryRun && run.finished) {
      const full = await core.activeDirectory.run(ctx, id, run.id);
      for (const item of full.plan.slice(0, limit)) out(line(item));
      const total = Object.values(full.counts).reduce((a, b) => a + b, 0);
      if (total > Math.min(limit, full.plan.length)) out(`… ${total - Math.min(limit, full.plan.length)} more (counts: ${JSON.stringify(full.counts)})`);
      say(total === 0 ? 'Nothing to do: Roster holds what AD holds.' : `${total} change(s) planned; nothing was applied.`);
      return 0;
    }
    await sleep(500);
  }
  say('No plan arrived: is an agent running for this domain? (roster ad status)');
  return 1;
}

/** `roster ad plan --export <domain>`: what the agent would write to AD now; writes nothing. */
export async function adExportPlan(core: DirectoryCore, ctx: Context, id: string, limit: number): Promise<void> {
  const plan = await core.directoryExport.preview(ctx, id, limit);
  for (const op of plan.ops) {
    const target = 'externalId' in op ? op.externalId : `in ${op.parentDn}`;
    const detail =
      op.op === 'create_user' || op.op === 'create_group'
        ? Object.entries(op.attributes).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')
        : [
            ...('changes' in op ? Object.entries(op.changes) : []).map(([k, v]) => `${k} → ${JSON.stringify(v)}`),
            ...('disabled' in op && op.disabled !== undefined ? [op.disabled ? 'disable' : 'enable'] : []),
            ...('add' in op ? op.add.map((m) => `+member ${m}`).concat(op.remove.map((m) => `-member ${m}`)) : []),
          ].join(', ');
    out(`${op.op.padEnd(13)} ${op.name} (${target}) ${detail}${'reason' in op && op.reason ? `  — ${op.reason}` : ''}`);
  }
  if (plan.more) out(`… more (raise --limit)`);
  say(plan.ops.length === 0 ? 'Nothing to write: AD holds what Roster holds (or Roster does not write to this domain).' : `${plan.ops.length} write(s) planned; nothing was written.`);
}
