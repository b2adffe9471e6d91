/**
 * Origin restarts inside jobs, in one place for both engines: the site's `restart` block
 * is run through the adapter registry (the jobs code never names an adapter), each step
 * is appended to the job record as it happens, and the rules say when a restart runs.
 */
import { createRestartContext, runRestart, type RestartResult, type RestartStep } from '../adapters/index.js';
import type { Logger } from '../observability/logger.js';
import type { RenderFailureKind } from '../render/types.js';
import type { Site } from '../sites/site.js';
import { jobError, restartJobError, restartNotConfigured } from './job-errors.js';
import { PAGE_READ_BATCH, type JobStore } from './job-store.js';
import { moveRestartToFinished, moveToProcessing, recordRestartSteps, type JobEndOptions } from './job-states.js';
import { movePageToPending } from './page-states.js';
import type { JobError, JobRecord, RestartStepRecord } from './types.js';

export interface OriginRestartDeps {
  store: JobStore;
  /** The job's logger: its lines name the job and the site already. */
  logger: Logger;
  /** Aborts the restart: the job was cancelled here, or this instance is stopping. */
  signal: AbortSignal;
}

/**
 * The step that says a job's failed pages were set back to pending after its restart.
 * Besides telling the user, it tells every instance that the job's one restart is over.
 */
export const PAGES_REQUEUED_STEP = 'pages-requeued';

/** The job's on-failure restart is over: its failed pages were set back to pending. */
export const failedPagesRequeued = (job: JobRecord): boolean => job.restartSteps.some((step) => step.kind === PAGES_REQUEUED_STEP);

/** Chromium's words for a connection the origin refused, reset or never answered. */
const CONNECTION_ERROR = /net::ERR_(CONNECTION_(REFUSED|RESET|CLOSED|ABORTED|FAILED|TIMED_OUT)|EMPTY_RESPONSE|TIMED_OUT|ADDRESS_UNREACHABLE)/;

/** Connection errors, timeouts and 5xx: failures a restart of the origin may cure (not a 404, a blocked navigation, an empty page). */
export function isOriginSideFailure(kind: RenderFailureKind | null, detail = ''): boolean {
  if (kind === 'timeout' || kind === 'origin-error') return true;
  return kind === 'chromium-error' && CONNECTION_ERROR.test(detail);
}

const toRecord = (step: RestartStep): RestartStepRecord => ({
  at: step.at,
  kind: step.kind,
  detail: step.detail,
  ...(step.platformJobId !== undefined ? { platformJobId: step.platformJobId } : {}),
  ...(step.state !== undefined ? { state: step.state } : {}),
});

/**
 * Writes steps to the job record in order, as they come. A job that is no longer running
 * (cancelled, maybe on another instance) refuses the write: `onRefused` stops the restart.
 */
function stepRecorder(jobId: string, store: JobStore, initial: readonly RestartStepRecord[], onRefused: () => void, log: Logger) {
  const steps = [...initial];
  let writes = Promise.resolve();
  return {
    append(step: RestartStepRecord): void {
      steps.push(step);
      const snapshot = [...steps];
      writes = writes
        .then(async () => {
          if (!(await recordRestartSteps(jobId, snapshot, store))) onRefused();
        })
        .catch((err: unknown) => log.warn({ err: String(err) }, 'could not record a restart step'));
    },
    flushed: () => writes,
  };
}

/**
 * Runs the site's origin restart for a job and waits until the origin is healthy or the
 * restart failed. Never rejects on the adapter's account; every step is in the job record
 * before it resolves.
 */
export async function restartOrigin(job: JobRecord, site: Site, deps: OriginRestartDeps): Promise<RestartResult> {
  const config = site.config.restart;
  if (!config) {
    return { ok: false, steps: [], error: restartNotConfigured(site.id) };
  }
  const log = deps.logger.child({ restartAdapter: config.adapter });
  const current = await deps.store.getJob(job.id);
  const refused = new AbortController();
  const recorder = stepRecorder(job.id, deps.store, current?.restartSteps ?? job.restartSteps, () => refused.abort(), log);
  log.info({ when: config.when }, 'origin restart started');
  const result = await runRestart(
    config,
    createRestartContext({
      signal: AbortSignal.any([deps.signal, refused.signal]),
      logger: log,
      onStep: (step) => recorder.append(toRecord(step)),
    }),
  );
  await recorder.flushed();
  if (result.ok) log.info('origin restart done: the origin is healthy');
  else log.warn({ code: result.error.code, title: result.error.title }, `origin restart failed: ${result.error.detail}`);
  return result;
}

/**
 * `before-refresh`: restarts the origin before a refresh discovers its pages. Resolves the
 * error to fail the job with when the restart failed, else null. A job that already has
 * pages or a healthy restart (discovery taken over after a crash) is past this step.
 */
export async function restartBeforeRefresh(job: JobRecord, site: Site, deps: OriginRestartDeps): Promise<JobError | null> {
  if (job.action !== 'refresh' || site.config.restart?.when !== 'before-refresh') return null;
  const current = await deps.store.getJob(job.id);
  if (current && (current.pageCount > 0 || current.restartSteps.some((step) => step.kind === 'healthy'))) return null;
  const result = await restartOrigin(job, site, deps);
  if (result.ok) return null;
  return jobError('originRestartFailed', `${result.error.title}: ${result.error.detail}. No page was rendered; the pages cached before are still served.`);
}

/** What a refresh job whose pages are all done does next. */
export type AfterPagesDone =
  | 'end' // end it by the failure rule
  | 'restart' // this caller won the job's one on-failure restart: run it
  | 'wait'; // another caller won it and the restart is not over

const reaches = (count: number, total: number, percent: number) => count > 0 && total > 0 && (100 * count) / total >= percent;

async function countOriginSideFailures(jobId: string, store: JobStore): Promise<number> {
  let count = 0;
  for (let offset = 0; ; offset += PAGE_READ_BATCH) {
    const { items } = await store.listPages(jobId, { offset, limit: PAGE_READ_BATCH, status: 'failed' });
    count += items.filter((page) => isOriginSideFailure(page.failureKind, page.error?.detail)).length;
    if (items.length < PAGE_READ_BATCH) return count;
  }
}

/**
 * `on-failure`, for a refresh job whose pages are all done (`job` read after the last
 * one): restart when origin-side failures reach the site's threshold and no restart ran in
 * this job yet. Of several instances finishing pages at once, the store's claim lets one
 * restart; the others wait for it instead of ending the job.
 */
export async function afterPagesDone(job: JobRecord, site: Site, store: JobStore): Promise<AfterPagesDone> {
  const config = site.config.restart;
  if (job.action !== 'refresh' || config?.when !== 'on-failure') return 'end';
  if (failedPagesRequeued(job)) return 'end';
  // The failed share bounds the origin-side share: most jobs stop here without reading pages.
  if (!reaches(job.failedCount, job.pageCount, config.failureThresholdPercent)) return 'end';
  if (!reaches(await countOriginSideFailures(job.id, store), job.pageCount, config.failureThresholdPercent)) return 'end';
  return (await store.claimOriginRestart(job.id)) ? 'restart' : 'wait';
}

/**
 * The claimed on-failure restart: restarts the origin, then sets the job's failed pages
 * back to pending to render again in this job. Resolves how many are pending again; 0
 * when the restart failed (the job then ends by the failure rule, the failed step shown).
 */
export async function restartThenRetryFailedPages(job: JobRecord, site: Site, deps: OriginRestartDeps): Promise<number> {
  const result = await restartOrigin(job, site, deps);
  if (!result.ok || deps.signal.aborted) return 0;
  let again = 0;
  for (;;) {
    const seqs = await deps.store.pageSeqs(job.id, 'failed', PAGE_READ_BATCH);
    if (seqs.length === 0) break;
    for (const seq of seqs) if (await movePageToPending(deps.store, job.id, seq)) again++;
  }
  // Written after the pages moved: an instance that sees it also sees the job unfinished.
  const steps = (await deps.store.getJob(job.id))?.restartSteps ?? [];
  const requeued: RestartStepRecord = {
    at: new Date().toISOString(),
    kind: PAGES_REQUEUED_STEP,
    detail: `${again} failed page${again === 1 ? '' : 's'} set back to pending, to render again in this job`,
  };
  await recordRestartSteps(job.id, [...steps, requeued], deps.store);
  deps.logger.info({ pages: again }, 'failed pages queued again after the origin restart');
  return again;
}

/**
 * A restart job (action "restart", no pages): processing, the restart, then succeeded or
 * failed with the adapter's error; the site's slot is freed. Stopped (deps.signal) before
 * the end, it is left unfinished for the caller to decide.
 */
export async function runRestartJob(job: JobRecord, site: Site, deps: OriginRestartDeps, options: Pick<JobEndOptions, 'keepJobs'>): Promise<void> {
  // Taken over after a crash it is processing already; cancelled meanwhile it is not ours.
  if (!(await moveToProcessing(job.id, deps.store))) return;
  const result = await restartOrigin(job, site, deps);
  if (deps.signal.aborted) return;
  const error: JobError | null = result.ok ? null : restartJobError(result.error);
  await moveRestartToFinished(job, error, deps.store, options);
  deps.logger.info({ progress: error ? 'failed' : 'succeeded' }, 'restart job ended');
}
