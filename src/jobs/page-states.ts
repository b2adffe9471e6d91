/**
 * Every change of a page's state within a job, one named function each, each one
 * compare-and-set in the store (JobStore.updatePage with the state the page must be in):
 *
 *   pending ─► processing ─► complete | failed ─(failed, after an origin restart)─► pending
 *              processing ─(its job cancelled before its render began)─► pending
 */
import type { RenderFailure, RenderFailureKind } from '../render/types.js';
import { pageError } from './job-errors.js';
import type { JobStore } from './job-store.js';
import type { JobError, JobRecord, PageStatus, PageUpdate } from './types.js';

/**
 * What a page record takes from a render. The render queues' results fit it; it is
 * declared here so that jobs/ needs nothing from the engines.
 */
export type RenderOutcome =
  | { ok: true; status: number; bytes: number; renderTimeMs: number; renderedAt: string; renderedBy: string; unchanged: boolean }
  | { ok: false; failure: RenderFailure; renderedBy: string };

/** A page is done once complete or failed; pending and processing pages are still to render. */
export const isPageDone = (status: PageStatus): boolean => status === 'complete' || status === 'failed';

/** Every page of the job is complete or failed. */
export const allPagesDone = (job: JobRecord): boolean => job.completedCount + job.failedCount >= job.pageCount;

/** pending → processing: a renderer took the page. False when it was not pending any more. */
export function movePageToProcessing(store: JobStore, jobId: string, seq: number): Promise<boolean> {
  return store.updatePage(jobId, seq, 'pending', { status: 'processing' });
}

/**
 * processing → complete | failed, by the render's outcome (a failed page keeps why: the
 * origin restart rule reads it). False when another caller recorded the page first.
 */
export function movePageToFinished(store: JobStore, jobId: string, seq: number, outcome: RenderOutcome, attempts: number): Promise<boolean> {
  return store.updatePage(jobId, seq, 'processing', pageOutcome(outcome, attempts));
}

/** pending | processing → failed, for an error that is no render's (an exception, the queue giving the page up). */
export function movePageToFailed(store: JobStore, jobId: string, seq: number, from: PageStatus, error: JobError, attempts: number): Promise<boolean> {
  return store.updatePage(jobId, seq, from, failedPage(error, attempts));
}

const RENDER_AGAIN: PageUpdate & { status: 'pending' } = {
  status: 'pending',
  attempts: 0,
  error: null,
  failureKind: null,
  httpStatus: null,
  renderedBy: null,
  outcome: null,
};

/** processing → pending: taken, but its job was cancelled before its render began. */
export function movePageBackToPending(store: JobStore, jobId: string, seq: number): Promise<boolean> {
  return store.updatePage(jobId, seq, 'processing', { status: 'pending' });
}

/** failed → pending: rendered again in the same job, after its origin restart. */
export function movePageToPending(store: JobStore, jobId: string, seq: number): Promise<boolean> {
  return store.updatePage(jobId, seq, 'failed', RENDER_AGAIN);
}

/** The page record that a render outcome leaves. */
function pageOutcome(outcome: RenderOutcome, attempts: number): PageUpdate & { status: PageStatus } {
  if (outcome.ok) {
    return {
      status: 'complete',
      httpStatus: outcome.status,
      renderedAt: outcome.renderedAt,
      renderTimeMs: outcome.renderTimeMs,
      bytes: outcome.bytes,
      attempts,
      renderedBy: outcome.renderedBy,
      error: null,
      failureKind: null,
      outcome: outcome.unchanged ? 'unchanged' : 'rendered',
    };
  }
  const error = pageError(outcome.failure.kind, outcome.failure.detail);
  return failedPage(error, attempts, outcome.renderedBy, outcome.failure.kind);
}

function failedPage(
  error: JobError,
  attempts: number,
  renderedBy: string | null = null,
  failureKind: RenderFailureKind | null = null,
): PageUpdate & { status: 'failed' } {
  return { status: 'failed', attempts, error, renderedBy, failureKind, outcome: 'failed' };
}
