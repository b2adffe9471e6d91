import { z } from 'zod';
import { PAGE_READ_BATCH } from '../../jobs/job-store.js';
import type { RefreshService } from '../../jobs/refresh-service.js';
import { isUnfinished, type JobRecord } from '../../jobs/types.js';
import { nextScheduledRefresh } from '../../schedule/site-schedule.js';
import { validate } from '../validate.js';
import type { SitesRoutesDeps } from './deps.js';
import { plainQuery } from './params.js';
import type { RouteTable } from './route-table.js';
import { siteFor } from './site-access.js';

/** Pages read for the freshness share: a bigger job is sampled (its first pages, in seq order). */
export const FRESHNESS_SAMPLE = 10_000;
/** Pages read per job for its render-time percentiles (its first pages, in seq order). */
export const TIMING_SAMPLE = 1_000;
/** Jobs the charts show. */
export const CHART_JOBS = 10;

/**
 * A site's overview figures for the console: last and next refresh, the last finished
 * refresh job's counts, freshness, and per-job figures for the charts. Bounded work: at most
 * FRESHNESS_SAMPLE + CHART_JOBS × TIMING_SAMPLE page records are read, in batches.
 */
export function siteStatsRoutes({ route }: RouteTable, deps: SitesRoutesDeps): void {
  route(
    'get',
    '/sites/:id/stats',
    'Viewer',
    async (ctx, access) => {
      validate(plainQuery, ctx.query, 'query');
      const view = siteFor(deps.sites, ctx, access, false);
      const jobs = (await deps.refresh.jobsOfSite(view.site.id, CHART_JOBS * 3)).filter((job) => job.action === 'refresh');
      const finished = jobs.filter((job) => !isUnfinished(job.progress));
      const last = finished[0];
      const running = jobs.find((job) => isUnfinished(job.progress));
      const freshness = last ? await freshnessOf(deps.refresh, last, deps.staleAfterSeconds * 1000) : null;
      const recent = finished.slice(0, CHART_JOBS).reverse();
      const charts = await Promise.all(recent.map((job) => timingOf(deps.refresh, job)));
      ctx.body = {
        siteId: view.site.id,
        lastRefresh: view.state.refreshedAt,
        lastTrigger: view.state.lastTrigger,
        nextRefresh: nextScheduledRefresh(view.site, deps.jitterSeconds).toISOString(),
        runningJobId: running?.id ?? null,
        lastJob: last ? { id: last.id, progress: last.progress, startTime: last.startTime, endTime: last.endTime, pageCount: last.pageCount } : null,
        pagesCached: last?.completedCount ?? 0,
        pagesFailed: last?.failedCount ?? 0,
        staleAfterSeconds: deps.staleAfterSeconds,
        freshness,
        jobs: charts,
        sampling: { freshnessPages: FRESHNESS_SAMPLE, timingPagesPerJob: TIMING_SAMPLE, jobs: CHART_JOBS },
      };
    },
    {
      summary: "A site's overview figures: refreshes, counts, freshness, render times per job",
      description: `Freshness: the share of the last finished refresh job's pages rendered within cache.staleAfterSeconds (its first ${FRESHNESS_SAMPLE} pages when bigger: \`sampled\`). Render time p50/p95 per job from its first ${TIMING_SAMPLE} completed pages, for the last ${CHART_JOBS} finished refresh jobs.`,
      query: plainQuery,
      responses: { 200: { description: 'The figures', schema: siteStatsSchema } },
      errors: [404],
    },
  );
}

const siteStatsSchema = z.looseObject({
  siteId: z.string(),
  lastRefresh: z.string().nullable(),
  nextRefresh: z.string(),
  pagesCached: z.number(),
  pagesFailed: z.number(),
  freshness: z.looseObject({ share: z.number().nullable(), pagesRead: z.number(), sampled: z.boolean() }).nullable(),
  jobs: z.array(z.looseObject({ id: z.string(), startTime: z.string(), renderMsP50: z.number().nullable(), renderMsP95: z.number().nullable() })),
});

/** Share of the job's pages (up to the sample) that completed and were rendered within the window. */
async function freshnessOf(refresh: RefreshService, job: JobRecord, staleAfterMs: number) {
  const since = Date.now() - staleAfterMs;
  let read = 0;
  let fresh = 0;
  for (const page of await pagesOf(refresh, job, FRESHNESS_SAMPLE)) {
    read++;
    if (page.status === 'complete' && page.renderedAt && Date.parse(page.renderedAt) >= since) fresh++;
  }
  return { share: read === 0 ? null : fresh / read, fresh, pagesRead: read, pageCount: job.pageCount, sampled: read < job.pageCount };
}

/** One job's figures for the charts: counts, and render time percentiles of its first completed pages. */
async function timingOf(refresh: RefreshService, job: JobRecord) {
  const times = (await pagesOf(refresh, job, TIMING_SAMPLE, 'complete'))
    .map((page) => page.renderTimeMs)
    .filter((ms): ms is number => typeof ms === 'number')
    .sort((a, b) => a - b);
  return {
    id: job.id,
    startTime: job.startTime,
    progress: job.progress,
    pageCount: job.pageCount,
    completedCount: job.completedCount,
    failedCount: job.failedCount,
    renderMsP50: percentile(times, 0.5),
    renderMsP95: percentile(times, 0.95),
    timedPages: times.length,
  };
}

async function pagesOf(refresh: RefreshService, job: JobRecord, cap: number, status?: 'complete') {
  const pages = [];
  for (let offset = 0; offset < cap; offset += PAGE_READ_BATCH) {
    const limit = Math.min(PAGE_READ_BATCH, cap - offset);
    const { items } = await refresh.pages(job.id, { offset, limit, ...(status ? { status } : {}) });
    pages.push(...items);
    if (items.length < limit) break;
  }
  return pages;
}

/** Nearest-rank percentile of sorted values; null when there are none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? null;
}
