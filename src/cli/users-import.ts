import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { Context } from '../core/context.js';
import type { DirectoryCore } from '../core/directory.js';
import { parseUsersCsv } from './csv-users.js';
import { say } from './output.js';

export interface ImportCommandOptions {
  dryRun?: boolean;
  continueOnError?: boolean;
}

/** `roster users import`: parse, check everything, then write in one transaction. Returns the exit code. */
export async function importUsersCsv(core: DirectoryCore, ctx: Context, file: string, options: ImportCommandOptions): Promise<number> {
  const started = Date.now();
  const parsed = parseUsersCsv(readFileSync(file));
  if (parsed.fileErrors.length > 0) {
    for (const e of parsed.fileErrors) say(`${file}: ${e}`);
    say('Nothing was imported.');
    return 1;
  }
  const bar = process.stderr.isTTY && !options.dryRun
    ? new cliProgress.SingleBar({ format: 'importing [{bar}] {value}/{total} users', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
    : undefined;
  let barStarted = false;
  const report = await core.userImport.import(ctx, parsed.rows, {
    dryRun: options.dryRun ?? false,
    continueOnError: options.continueOnError ?? false,
    onProgress: (done, total) => {
      if (!bar) return;
      if (!barStarted) {
        bar.start(total, 0);
        barStarted = true;
      }
      bar.update(done);
    },
  });
  bar?.stop();

  const errors = [...parsed.cellErrors, ...report.errors].sort((a, b) => a.line - b.line);
  for (const e of errors) say(`${file}:${e.line}: ${e.message}`);
  const failedLines = new Set(errors.map((e) => e.line)).size;
  const seconds = (Date.now() - started) / 1000;
  const rate = report.created > 0 ? ` (${Math.round(report.created / seconds).toLocaleString('en-US')} users/s)` : '';
  const total = parsed.rows.length + new Set(parsed.cellErrors.map((e) => e.line)).size;
  if (failedLines > 0 && !options.continueOnError) {
    say(`${failedLines} of ${total} rows have errors. Nothing was imported; fix them, or pass --continue-on-error to import the other rows.`);
    return 1;
  }
  if (options.dryRun) {
    say(`Dry run: ${report.created} of ${total} rows would be imported${failedLines > 0 ? `, ${failedLines} skipped for errors` : ''}. Nothing was written.`);
    return failedLines > 0 ? 1 : 0;
  }
  say(`Imported ${report.created} of ${total} users in ${seconds.toFixed(1)} s${rate}${failedLines > 0 ? `; ${failedLines} rows skipped for errors` : ''}.`);
  return failedLines > 0 ? 1 : 0;
}
