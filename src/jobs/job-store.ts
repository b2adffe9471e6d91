import type { JobPatch, JobProgress, JobRecord, PageQuery, PageRecord, PageStatus, PageTarget, PageUpdate } from './types.js';

/**
 * Pages read from the store at once when a job's pages are walked (queued, rendered,
 * requeued): a job of 100,000 pages never sits in memory at once. Not a setting: it bounds
 * one read's memory, and nothing a user sees depends on it.
 */
export const PAGE_READ_BATCH = 500;

/**
 * Where jobs and their pages live (embedded SQLite or Redis). Pages are paged from the
 * store; updating one page touches that page and the job's counters only.
 */
export interface JobStore {
  createJob(job: JobRecord): Promise<void>;
  /** Appends pages, each a URL and a variant (seq continues from the job's pageCount), and returns how many were added. */
  addPages(jobId: string, pages: readonly PageTarget[]): Promise<number>;
  getJob(jobId: string): Promise<JobRecord | undefined>;
  /**
   * Updates job fields other than the counters. With `onlyIf`, only while the job is in
   * one of those states (a compare-and-set: one instance ends a job, never two).
   * Resolves whether the update was made.
   */
  updateJob(jobId: string, patch: JobPatch, onlyIf?: readonly JobProgress[]): Promise<boolean>;
  /**
   * Moves a page from `from` to a new status, and so the job's counters, in one step: a
   * compare-and-set, refused (false) when the page is no longer in `from`, so of two
   * instances racing on one page (a stalled render taken over) only one records it.
   */
  updatePage(jobId: string, seq: number, from: PageStatus, patch: PageUpdate & { status: PageStatus }): Promise<boolean>;
  getPage(jobId: string, seq: number): Promise<PageRecord | undefined>;
  listPages(jobId: string, query: PageQuery): Promise<{ items: PageRecord[]; total: number }>;
  /** Seqs of the pages in a status, in order, at most `limit`. */
  pageSeqs(jobId: string, status: PageStatus, limit: number): Promise<number[]>;
  /** Jobs of a site, newest first. */
  jobsOfSite(siteId: string, limit: number): Promise<JobRecord[]>;
  /** Unfinished jobs (see UNFINISHED), of every site. */
  unfinishedJobs(): Promise<JobRecord[]>;
  /** Keeps the newest `keep` jobs of a site and deletes the rest with their pages. */
  pruneJobs(siteId: string, keep: number): Promise<number>;
  /** Claims the site's single running-job slot (refresh or restart); returns the holder's job id if taken. */
  claimSiteSlot(siteId: string, jobId: string): Promise<string | null>;
  releaseSiteSlot(siteId: string, jobId: string): Promise<void>;
  /**
   * Claims the one on-failure origin restart a job may run: true for the first caller
   * only, whichever instance it is (a compare-and-set); false for every later caller.
   */
  claimOriginRestart(jobId: string): Promise<boolean>;
  close(): Promise<void>;
}
