/**
 * The response bodies of the HTTP surface as zod schemas, in one place: the OpenAPI
 * document is generated from them, and the type checks at the end make `tsc` fail when a
 * body builder (job-view, site-body, the routes) answers something these do not allow.
 */
import { z } from 'zod';
import { siteRole } from '../../config/schema.js';
import type { ErrorBody } from '../errors.js';
import type { jobStatusBody, pageItem } from '../job-view.js';
import type { siteBody } from '../routes/site-body.js';

const time = z.string().describe('ISO 8601, UTC');

const errorFields = {
  type: z.string().describe('An RFC 2616 section URI, as in the OCM seed'),
  title: z.string(),
  status: z
    .string()
    .regex(/^[1-5][0-9]{2}$/)
    .describe('The HTTP status, as a string (OCM form)'),
  detail: z.string(),
  'o:errorCode': z.string(),
  'o:errorPath': z.string().optional(),
};

/** Every 4xx/5xx answer (errors.ts): the OCM error body, plus an error's own detail fields (site, job…). */
export const errorBodySchema = z.looseObject({ ...errorFields, 'o:errorDetails': z.array(z.looseObject(errorFields)).optional() }).meta({ id: 'ErrorBody' });

export const restartStepSchema = z.object({
  at: time,
  kind: z.string(),
  detail: z.string(),
  platformJobId: z.string().optional(),
  state: z.string().optional(),
});

/** GET /sites/_status/{jobId} (job-view.jobStatusBody). */
export const jobStatusSchema = z
  .object({
    id: z.string(),
    context: z.string().describe('The site id'),
    action: z.enum(['refresh', 'restart']),
    trigger: z.enum(['api', 'schedule', 'startup']),
    startTime: time,
    endTime: time.nullable(),
    progress: z.enum(['pending', 'processing', 'succeeded', 'failed', 'aborted']),
    completed: z.boolean(),
    completedPercentage: z.number().int().min(0).max(100),
    intervalToPoll: z.number().int().describe('Milliseconds'),
    pageCount: z.number().int().min(0),
    completedCount: z.number().int().min(0).describe('Pages that ended fresh: rendered, or verified unchanged'),
    unchangedCount: z.number().int().min(0).describe('Of completedCount, the pages whose inputs were unchanged: kept, not rendered'),
    failedCount: z.number().int().min(0),
    restartSteps: z.array(restartStepSchema).optional(),
    error: errorBodySchema.optional(),
  })
  .meta({ id: 'JobStatus' });

const pageError = z.object({ title: z.string(), detail: z.string(), code: z.string().optional() });

/** An item of GET /sites/_status/{jobId}/pages (job-view.pageItem). */
export const pageItemSchema = z
  .object({
    pageUrl: z.string(),
    /** The device variant this page was rendered as. */
    variant: z.string(),
    status: z.enum(['pending', 'processing', 'complete', 'failed']),
    outcome: z
      .enum(['rendered', 'unchanged', 'failed'])
      .nullable()
      .describe('How the page ended (incremental refresh keeps unchanged pages); null until it has'),
    httpStatus: z.number().int().nullable(),
    renderedAt: time.nullable(),
    renderTimeMs: z.number().nullable(),
    bytes: z.number().int().nullable(),
    renderedBy: z.string().optional(),
    error: pageError.optional(),
  })
  .meta({ id: 'PageItem' });

/** A site (routes/site-body.siteBody). */
export const siteSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    origin: z.string(),
    runtimeStatus: z.enum(['online', 'offline']),
    securityStatus: z.enum(['public', 'secure']),
    prerender: z.boolean(),
    isDeleted: z.boolean(),
    schedule: z.string(),
    originRestart: z.object({ adapter: z.string(), when: z.enum(['before-refresh', 'on-failure', 'manual']) }).nullable(),
    /** The device variants rendered for each page; the first is the default. */
    variants: z.array(z.string()),
    role: siteRole.nullable(),
    links: z.array(z.object({ rel: z.string(), href: z.string(), method: z.string() })).optional(),
  })
  .meta({ id: 'Site' });

/** The collection envelope (CONTRACTS.md §1 Conventions). */
function collection<T extends z.ZodType>(item: T, id: string, totalResults: boolean) {
  return z
    .object({
      items: z.array(item),
      offset: z.number().int().min(0),
      limit: z.number().int().min(1).max(250),
      count: z.number().int().min(0),
      hasMore: z.boolean(),
      ...(totalResults ? { totalResults: z.number().int().min(0) } : {}),
    })
    .meta({ id });
}

export const siteListSchema = collection(siteSchema, 'SiteList', true);
export const pageListSchema = collection(pageItemSchema, 'PageList', true);
/** GET /sites/{id}/jobs: no totalResults (the store reads one more than the page). */
export const jobListSchema = collection(jobStatusSchema, 'JobList', false);

/** GET /sites/{id}/cache. */
export const siteCacheSchema = z
  .object({
    refreshedAt: time.nullable(),
    expiresAt: time,
    trigger: z.enum(['api', 'schedule', 'startup']).nullable(),
    freshness: z
      .array(
        z.object({
          match: z.string().nullable().describe('The rule\u2019s glob; null for the default rule'),
          maxAgeSeconds: z.number().int(),
          pages: z.number().int().describe('Cached page variants under the rule'),
          fresh: z.number().int().describe('Of those, the ones within maxAge now'),
        }),
      )
      .optional()
      .describe('Per freshness rule (sites with `freshness` only)'),
  })
  .meta({ id: 'SiteCache' });

/** GET /healthz. */
export const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
/** GET /readyz: 200 when all are true, else 503. */
export const readySchema = z.object({ ready: z.boolean(), browser: z.boolean(), cache: z.boolean(), queue: z.boolean() }).meta({ id: 'Readiness' });

// Compile-time drift checks: each builder's return type must be a value its schema allows.
type Assert<T extends true> = T;
type Fits<Actual, Schema extends z.ZodType> = [Actual] extends [z.output<Schema>] ? true : false;
export type DriftChecks = [
  Assert<Fits<ReturnType<typeof jobStatusBody>, typeof jobStatusSchema>>,
  Assert<Fits<ReturnType<typeof pageItem>, typeof pageItemSchema>>,
  Assert<Fits<ReturnType<typeof siteBody>, typeof siteSchema>>,
  Assert<Fits<ErrorBody, typeof errorBodySchema>>,
];
