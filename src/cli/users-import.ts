import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { Context } from '../core/context.js';
import type { DirectoryCore } from '../core/directory.js';
import { CsvFileError, readUsersCsv } from '../core/csv-users.js';
import { say } from './output.js';

export interface ImportCommandOptions {
  dryRun?: boolean;
  continueOnError?: boolean;
}

/** `roster users import`: check every row, then write them all in one transaction. Returns the exit code. */
export async function importUsersCsv(core: DirectoryCore, ctx: Context, file: string, options: ImportCommandOptions): Promise<number> {
  const started = Date.now();
  const content = readFileSync(file);
  const bar = process.stderr.isTTY && !options.dryRun
    ? new cliProgress.SingleBar({ format: 'importing [{bar}] {value}/{total} users', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
    : undefined;
  let barStarted = false;
  let report;
  try {
    report = await core.userImport.import(ctx, () => readUsersCsv(content), {
      dryRun: options.dryRun ?? false,
      continueOnError: options.continueOnError ?? false,
      onProgress: (done, total) => {
        if (!bar) return;
        if (!barStarted) bar.start(total, 0);
        barStarted = true;
        bar.update(done);
      },
    });
  } catch (e) {
    if (!(e instanceof CsvFileError)) throw e;
    for (const problem of e.problems) say(`${file}: ${problem}`);
    say('Nothing was imported.');
    return 1;
  } finally {
    bar?.stop();
  }

  for (const e of report.errors) say(`${file}:${e.line}: ${e.message}`);
  const failedRows = report.failed;
  const seconds = (Date.now() - started) / 1000;
  if (failedRows > 0 && !options.continueOnError) {
    say(`${failedRows} of ${report.rows} rows have errors. Nothing was imported; fix them, or pass --continue-on-error to import the other rows.`);
    return 1;
  }
  if (options.dryRun) {
    say(`Dry run: ${report.created} of ${report.rows} rows would be imported${failedRows > 0 ? `, ${failedRows} skipped for errors` : ''}. Nothing was written.`);
    return failedRows > 0 ? 1 : 0;
  }
  const rate = report.created > 0 ? ` (${Math.round(report.created / seconds).toLocaleString('en-US')} users/s)` : '';
  say(`Imported ${report.created} of ${report.rows} users in ${seconds.toFixed(1)} s${rate}${failedRows > 0 ? `; ${failedRows} rows skipped for errors` : ''}.`);
  return failedRows > 0 ? 1 : 0;
}
