import { z } from 'zod';

/** The management API's answers, as the CLI reads them (extra fields are kept, not checked). */

export const errorBodySchema = z.looseObject({
  title: z.string(),
  detail: z.string().optional(),
  status: z.string().optional(),
  'o:errorCode': z.string().optional(),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

export const jobSchema = z.looseObject({
  id: z.string(),
  context: z.string(),
  action: z.string(),
  trigger: z.string(),
  startTime: z.string(),
  endTime: z.string().nullable(),
  progress: z.enum(['pending', 'processing', 'succeeded', 'failed', 'aborted']),
  completed: z.boolean(),
  completedPercentage: z.number(),
  intervalToPoll: z.number(),
  pageCount: z.number(),
  completedCount: z.number(),
  /** Absent from servers older than incremental refresh. */
  unchangedCount: z.number().optional(),
  failedCount: z.number(),
  restartSteps: z.array(z.looseObject({})).optional(),
  error: errorBodySchema.optional(),
});
export type Job = z.infer<typeof jobSchema>;

export const pageSchema = z.looseObject({
  pageUrl: z.string(),
  /** Absent from servers older than device variants. */
  variant: z.string().optional(),
  outcome: z.string().nullable().optional(),
  status: z.string(),
  httpStatus: z.number().nullable(),
  renderedAt: z.string().nullable(),
  renderTimeMs: z.number().nullable(),
  bytes: z.number().nullable(),
  renderedBy: z.string().optional(),
  error: z.looseObject({ title: z.string().optional(), detail: z.string().optional() }).optional(),
});
export type Page = z.infer<typeof pageSchema>;

export const siteSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  origin: z.string(),
  runtimeStatus: z.string(),
  securityStatus: z.string(),
  prerender: z.boolean(),
  isDeleted: z.boolean(),
  schedule: z.string(),
  role: z.string().nullable(),
});
export type Site = z.infer<typeof siteSchema>;

export const cacheStateSchema = z.looseObject({
  refreshedAt: z.string().nullable(),
  expiresAt: z.string(),
  trigger: z.string().nullable().optional(),
});
export type CacheState = z.infer<typeof cacheStateSchema>;

/** One page of a paged list (sites, a site's jobs, a job's pages). */
export const listOf = <T extends z.ZodType>(item: T) =>
  z.looseObject({
    items: z.array(item),
    offset: z.number(),
    limit: z.number(),
    count: z.number(),
    hasMore: z.boolean(),
    totalResults: z.number().optional(),
  });
