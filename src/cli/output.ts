import { DirectoryError } from '../core/errors.js';

/** Prints an error for a person at a terminal and sets a failing exit code. */
export function reportError(e: unknown): void {
  if (e instanceof DirectoryError) {
    process.stderr.write(`error: ${e.message}\n`);
    for (const d of e.details) process.stderr.write(`  ${d.field ? `${d.field}: ` : ''}${d.message}\n`);
  } else {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
  }
  process.exitCode = 1;
}

export const say = (line = '') => process.stderr.write(`${line}\n`);
