/** What the routes that start a job (refresh, origin restart) share: how they are asked and how they answer. */
import type Koa from 'koa';
import type { JobRecord } from '../../jobs/types.js';
import type { SiteView } from '../../sites/site-directory.js';
import { errors } from '../errors.js';
import { jobStatusBody } from '../job-view.js';
import { jobStatusUrl } from './links.js';

/** The Prefer header of the routes that start a job (their OpenAPI doc). */
export const respondAsyncDoc = { prefer: { description: 'Must include respond-async (else 400 OCE-SITEMGMT-009001)', required: true } };

/** The 400 of an operation that is asynchronous only. */
export function requireRespondAsync(ctx: Koa.Context): void {
  if (!/(^|[,;\s])respond-async($|[,;\s])/i.test(ctx.get('prefer'))) {
    throw errors.asyncRequired('This operation only supports asynchronous processing: send the header "Prefer: respond-async".');
  }
}

/** The request body api-edge read; undefined when there is none. */
export function requestBody(ctx: Koa.Context): unknown {
  return (ctx.request as Koa.Request & { body?: unknown }).body;
}

/** Whether the request came with a body. */
export function hasBody(ctx: Koa.Context): boolean {
  return requestBody(ctx) !== undefined;
}

/** The 409 of a site that is busy with another job. */
export function siteBusy(ctx: Koa.Context, publicUrl: string | undefined, view: SiteView, job: JobRecord) {
  return errors.siteJobRunning(`Site ${view.site.id} is busy with ${job.action} job ${job.id} (${job.progress}); try again when it has ended.`, {
    site: { id: view.site.id },
    job: { id: job.id, action: job.action, progress: job.progress, href: jobStatusUrl(ctx, publicUrl, job.id) },
  });
}

/** 202 with the job's status and where to poll it. */
export function accepted(ctx: Koa.Context, publicUrl: string | undefined, job: JobRecord, pollIntervalMs: number): void {
  ctx.status = 202;
  ctx.set('location', jobStatusUrl(ctx, publicUrl, job.id));
  ctx.body = jobStatusBody(job, pollIntervalMs);
}
