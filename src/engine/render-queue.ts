import { INSTANCE_ID } from '../observability/instance.js';
import type { EntrySource, ServableEntry } from '../cache/entry.js';
import type { JobRecord, PageRecord } from '../jobs/types.js';
import type { RenderFailure } from '../render/types.js';

/** One page to render and store. */
export interface RenderTask {
  /** Normalised page URL. */
  url: string;
  /** The device variant rendered (a name of the site's `variants`); with the URL, the cache key. */
  variant: string;
  /** A refresh page's sitemap <lastmod> (ms): newer than its cached render, the page is rendered. */
  lastmod?: number;
  siteId: string;
  source: EntrySource;
  /** The refresh already asked whether its inputs changed (they did): render without asking again. */
  inputsChecked?: true;
}

/** The render task of one page (one variant of a URL) of a refresh job, in both engines. */
export const refreshPageTask = (job: JobRecord, page: PageRecord): RenderTask => ({
  url: page.pageUrl,
  variant: page.variant,
  ...(page.lastmod === null ? {} : { lastmod: page.lastmod }),
  siteId: job.siteId,
  source: { trigger: job.trigger, jobId: job.id },
});

/** What became of a render task: the cache holds the page only when ok. */
export type RenderTaskResult =
  | {
      ok: true;
      status: number;
      bytes: number;
      renderTimeMs: number;
      renderedAt: string;
      renderedBy: string;
      /** A refresh page whose inputs had not changed: the cached page was kept, not rendered. */
      unchanged: boolean;
      entry?: ServableEntry;
    }
  | { ok: false; failure: RenderFailure; renderTimeMs: number; renderedBy: string };

/** A task that failed before or outside Chromium's render (its site gone, an error of ours). */
export const taskFailure = (detail: string): RenderTaskResult => ({
  ok: false,
  failure: { kind: 'chromium-error', detail },
  renderTimeMs: 0,
  renderedBy: INSTANCE_ID,
});

/** Lookups go before refresh work. */
export const PRIORITY = { lookup: 10, revalidate: 5, refresh: 0 } as const;

/** The render queue is full: the caller should come back later. */
export class QueueFullError extends Error {
  override name = 'QueueFullError';
  constructor(readonly retryAfterSeconds: number) {
    super(`render queue is full; retry in ${retryAfterSeconds} s`);
  }
}

/** Where render tasks wait for a browser: p-queue in one process, BullMQ across many. */
export interface RenderQueue {
  submit(task: RenderTask, priority: number): Promise<RenderTaskResult>;
  /** Tasks submitted here and not answered yet: waiting for a browser or rendering. */
  unanswered(): number;
  close(): Promise<void>;
}
