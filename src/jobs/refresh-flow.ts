/**
 * The order of a refresh job, written once: restart first (before-refresh); fail or
 * discover; processing; render; restart on failure; end. Rendering is each engine's own;
 * every other step is here, and both engines call these three in this order:
 *
 *   beginRefresh ─► render the pending pages ─► finishRendering ─┬─► ended
 *                        ▲                                       └─► restartOnFailure
 *                        └────────── 'render' (failed pages pending again) ◄┘
 *
 * The local engine runs them one after the other in one process; a cluster runs each
 * where its event happens: the "discover" control job begins, the page job that records
 * the last page finishes, the "restart-origin" control job restarts.
 */
import type { Logger } from '../observability/logger.js';
import type { Site } from '../sites/site.js';
import type { SiteDirectory } from '../sites/site-directory.js';
import type { PageDiscovery } from './discovery/discover-pages.js';
import { DiscoveryFailedError } from './job-errors.js';
import type { JobStore } from './job-store.js';
import { moveToFailed, moveToFinished, moveToProcessing, type JobEndOptions } from './job-states.js';
import { afterPagesDone, failedPagesRequeued, restartBeforeRefresh, restartThenRetryFailedPages } from './origin-restart.js';
import type { JobRecord, PageTarget, RequestedPage } from './types.js';

/**
 * What a refresh's pages go through before they are stored: which of them are due, and in
 * which order they render (freshness rules, crawler demand). Implemented in src/freshness.
 */
export interface PagePlanner {
  plan(site: Site, job: JobRecord, pages: PageTarget[]): Promise<PageTarget[]>;
}

/** What the discover step needs: where pages come from, and what plans them. */
export interface PageSources {
  discovery: PageDiscovery;
  planner: PagePlanner;
}

/** What a step leaves to the engine: render the job's pending pages, or nothing more here. */
export type NextStep = 'render' | 'done';

/** What ending a job needs. */
export interface JobEndDeps {
  store: JobStore;
  sites: SiteDirectory;
  options: JobEndOptions;
  /** The job's logger. */
  logger: Logger;
}

/** What the steps that may restart an origin need besides. */
export interface RefreshStepDeps extends JobEndDeps {
  /** Aborted when the job was cancelled here or this instance is stopping: a restart stops, nothing more is started. */
  signal: AbortSignal;
}

/**
 * Restart first (before-refresh); then fail (the restart failed) or discover the pages (or
 * take the requested ones); then processing. 'render' when pages wait to be rendered; a job
 * without pages is ended here. 'done' too when the job ended meanwhile or `signal` stopped it.
 */
export async function beginRefresh(job: JobRecord, site: Site, requested: RequestedPage[] | undefined, deps: RefreshStepDeps & PageSources): Promise<NextStep> {
  const restartError = await restartBeforeRefresh(job, site, deps);
  if (deps.signal.aborted) return 'done';
  if (restartError) {
    await moveToFailed(job, restartError, deps.store, deps.options);
    return 'done';
  }
  const pages = await addJobPages(job, site, requested, deps.store, deps);
  if (!(await moveToProcessing(job.id, deps.store))) return 'done'; // cancelled meanwhile
  deps.logger.info({ pages }, 'refresh started');
  if (pages > 0) return 'render';
  await moveToFinished(job.id, deps.store, deps.sites, deps.options, deps.logger);
  return 'done';
}

/**
 * Every page is rendered (`job` read after the last one): 'restart' when the site restarts
 * its origin on failure and this job's restart is due (claimed by this caller, or by another
 * one still at it); otherwise the job is ended by the failure rule.
 */
export async function finishRendering(job: JobRecord, deps: JobEndDeps): Promise<'restart' | 'done'> {
  if (job.progress !== 'processing') return 'done';
  const site = deps.sites.registry.byId(job.siteId);
  if (site && (await afterPagesDone(job, site, deps.store)) !== 'end') return 'restart';
  await moveToFinished(job.id, deps.store, deps.sites, deps.options, deps.logger);
  return 'done';
}

/**
 * The on-failure restart: restart the origin, then the failed pages back to pending.
 * 'render' when pages wait to be rendered again (also when a caller taken over finds them
 * set back already); otherwise the restart failed and the job is ended by the failure rule,
 * the failed step in its record.
 */
export async function restartOnFailure(job: JobRecord, site: Site, deps: RefreshStepDeps): Promise<NextStep> {
  if (failedPagesRequeued(job)) return 'render';
  if ((await restartThenRetryFailedPages(job, site, deps)) > 0) return 'render';
  if (!deps.signal.aborted) await moveToFinished(job.id, deps.store, deps.sites, deps.options, deps.logger);
  return 'done';
}

/**
 * The discover step: the site's pages (or the requested ones) into the store. Idempotent:
 * a job whose pages were already added (a discovery taken over after a crash) keeps them.
 */
async function addJobPages(job: JobRecord, site: Site, requested: RequestedPage[] | undefined, store: JobStore, sources: PageSources): Promise<number> {
  const current = await store.getJob(job.id);
  if (current && current.pageCount > 0) return current.pageCount;
  const wanted =
    requested ??
    (await sources.discovery.discover(site).catch((err: unknown) => {
      throw new DiscoveryFailedError(err);
    }));
  return store.addPages(job.id, await sources.planner.plan(site, job, pageVariants(wanted, site.config.variants)));
}

/**
 * Every variant of each page, or the one a request named, one after the other, so that a
 * page's variants are rendered close together. A named variant the site no longer has is
 * left out (the API refuses one the site does not have).
 */
export function pageVariants(pages: readonly RequestedPage[], variants: readonly string[]): PageTarget[] {
  return pages.flatMap(({ url, variant, lastmod }) => {
    const dated = lastmod === undefined ? {} : { lastmod };
    if (variant === undefined) return variants.map((v) => ({ url, variant: v, ...dated }));
    return variants.includes(variant) ? [{ url, variant, ...dated }] : [];
  });
}
