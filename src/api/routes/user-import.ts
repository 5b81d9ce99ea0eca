import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePermission, type Context } from '../../core/context.js';
import { CsvFileError, readUsersCsv } from '../../core/csv-users.js';
import { invalid, notFound } from '../../core/errors.js';
import type { ImportReport } from '../../core/services/user-import.js';
import { ctxOf } from '../context.js';
import { errorResponses } from '../wire/common.js';

const tags = ['Roster extensions'];
/** A CSV of 100,000 users with every column is about 30 MB. */
const MAX_CSV_BYTES = 64 * 1024 * 1024;
const KEEP_MS = 60 * 60_000;

interface ImportJob {
  id: string;
  orgId: string;
  status: 'running' | 'succeeded' | 'failed';
  done: number;
  total: number | null;
  started: string;
  finished: string | null;
  report: ImportReport | null;
  error: string | null;
}

const ReportSchema = Type.Object({
  rows: Type.Integer(),
  created: Type.Integer(),
  failed: Type.Integer(),
  dryRun: Type.Boolean(),
  aborted: Type.Boolean(),
  errors: Type.Array(Type.Object({ line: Type.Integer(), field: Type.Optional(Type.String()), message: Type.String() })),
});

const JobSchema = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed')]),
  done: Type.Integer({ description: 'Users written so far' }),
  total: Type.Union([Type.Integer(), Type.Null()], { description: 'Users to write, once the file is checked' }),
  started: Type.String(),
  finished: Type.Union([Type.String(), Type.Null()]),
  report: Type.Union([ReportSchema, Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
});

const Query = Type.Object({ dryRun: Type.Optional(Type.Boolean()), continueOnError: Type.Optional(Type.Boolean()) });

/**
 * CSV import of users over the API (the admin portal's "Import CSV"), the same import as
 * `roster users import` (docs/csv-import.md): a dry run answers its report at once; a real import
 * runs in the background and reports its progress until it ends. Progress lives in the process
 * that runs the import; with several processes, a load balancer must send the polls to it
 * (sticky sessions), or the poll answers 404.
 */
export const userImportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const core = app.core;
  const jobs = new Map<string, ImportJob>();
  app.addContentTypeParser(['text/csv', 'application/csv', 'text/plain'], { parseAs: 'buffer', bodyLimit: MAX_CSV_BYTES }, (_request, body, done) => done(null, body));

  const forget = () => {
    const before = Date.now() - KEEP_MS;
    for (const [id, job] of jobs) if (job.finished && Date.parse(job.finished) < before) jobs.delete(id);
  };

  const run = async (ctx: Context, csv: Buffer, options: { dryRun: boolean; continueOnError: boolean }, job?: ImportJob): Promise<ImportReport> =>
    core.userImport.import(ctx, () => readUsersCsv(csv), {
      ...options,
      ...(job
        ? {
            onProgress: (done: number, total: number) => {
              job.done = done;
              job.total = total;
            },
          }
        : {}),
    });

  app.post('/users/import', {
    bodyLimit: MAX_CSV_BYTES,
    schema: {
      tags,
      summary: 'Import users from a CSV file (the body, text/csv)',
      description:
        'The columns and rules of `roster users import` (docs/csv-import.md). With `dryRun=true`, checks every row and answers the report (200) without writing. ' +
        'Otherwise starts the import and answers 202 with a job to poll at GET /api/v2/users/import/{id}. One bad row writes nothing unless `continueOnError=true`.',
      querystring: Query,
      consumes: ['text/csv'],
      response: { 200: ReportSchema, 202: JobSchema, ...errorResponses(413, 415) },
    },
  }, async (request, reply) => {
    const ctx = ctxOf(request);
    const csv = request.body as unknown;
    if (!Buffer.isBuffer(csv) || csv.length === 0) throw invalid('CSV_REQUIRED', 'Send the CSV file as the body, with content-type text/csv');
    const options = { dryRun: request.query.dryRun === true, continueOnError: request.query.continueOnError === true };
    const guard = async (promise: Promise<ImportReport>) => {
      try {
        return await promise;
      } catch (e) {
        if (e instanceof CsvFileError) throw invalid('CSV_INVALID', `The file is not a usable CSV file: ${e.message}`);
        throw e;
      }
    };
    if (options.dryRun) return guard(run(ctx, csv, options));
    requirePermission(ctx, 'users:write');
    forget();
    const job: ImportJob = { id: randomBytes(12).toString('hex'), orgId: ctx.orgId, status: 'running', done: 0, total: null, started: new Date().toISOString(), finished: null, report: null, error: null };
    jobs.set(job.id, job);
    void run(ctx, csv, options, job).then(
      (report) => {
        job.report = report;
        job.status = report.aborted ? 'failed' : 'succeeded';
        if (report.aborted) job.error = `${report.failed} of ${report.rows} rows have errors; nothing was imported`;
        job.finished = new Date().toISOString();
      },
      (e: unknown) => {
        job.status = 'failed';
        job.error = e instanceof CsvFileError ? `The file is not a usable CSV file: ${e.message}` : e instanceof Error ? e.message : String(e);
        job.finished = new Date().toISOString();
        request.log.warn({ err: e }, 'user import failed');
      },
    );
    return reply.code(202).send(job);
  });

  app.get('/users/import/:id', {
    schema: { tags, summary: 'The progress and report of a CSV import', params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 200: JobSchema, ...errorResponses(404) } },
  }, async (request) => {
    const ctx = ctxOf(request);
    requirePermission(ctx, 'users:read');
    const job = jobs.get(request.params.id);
    if (!job || job.orgId !== ctx.orgId) throw notFound('IMPORT_NOT_FOUND', 'No such import in this process (imports are kept for an hour after they end)');
    return job;
  });
};
