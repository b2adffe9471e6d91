import { describe, expect, it } from 'vitest';
import { renderJobPages, type KeepIfUnchanged } from '../../../src/engine/local/render-job-pages.js';
import type { RenderQueue, RenderTask, RenderTaskResult } from '../../../src/engine/render-queue.js';
import { newJobRecord } from '../../../src/jobs/refresh-service.js';
import type { JobRecord } from '../../../src/jobs/types.js';
import { createLogger } from '../../../src/observability/logger.js';
import { BACKENDS, type TestJobStore } from '../../helpers/backends.js';
import { waitFor } from '../../helpers/wait-for.js';

/**
 * The local engine's refresh pipeline on a real job store: every page asked once whether
 * it changed, the changed ones rendered once, within both bounds, across several reads of
 * pages from the store (500 at a time); a cancelled job leaves no page "processing". The
 * browser is a stand-in here (this is about the pipeline; renders are tested elsewhere).
 */
const PAGES = 1234; // three reads of 500
const OPTIONS = { siteConcurrency: 3, revalidateConcurrency: 7, maxAttempts: 2, retryBackoffMs: 0 };
const changed = (url: string) => Number(/\/p\/(\d+)$/.exec(url)?.[1]) % 10 === 0;

const ok = (unchanged: boolean): RenderTaskResult => ({
  ok: true,
  status: 200,
  bytes: 10,
  renderTimeMs: 1,
  renderedAt: new Date().toISOString(),
  renderedBy: 'test',
  unchanged,
});

/**
 * Counts what runs at once, and can hold renders until released. Asks are let through in
 * groups, no clock involved: each waits until `revalidateConcurrency` of them are waiting
 * (or every page has been asked, or the renders are released), so the pipeline shows how
 * many it asks at once.
 */
function pipelineProbe() {
  const asked: string[] = [];
  const rendered: RenderTask[] = [];
  const peak = { asking: 0, rendering: 0 };
  let asking = 0;
  let rendering = 0;
  let held: Promise<void> = Promise.resolve();
  let release = () => {};
  const waitingAsks: Array<() => void> = [];
  let asksFree = false;
  const letAsksThrough = () => {
    for (const resolve of waitingAsks.splice(0)) resolve();
  };
  const keep: KeepIfUnchanged = async (task) => {
    asked.push(task.url);
    peak.asking = Math.max(peak.asking, ++asking);
    const answered = new Promise<void>((resolve) => waitingAsks.push(resolve));
    if (asksFree || waitingAsks.length >= OPTIONS.revalidateConcurrency || asked.length === PAGES) letAsksThrough();
    await answered;
    asking--;
    return changed(task.url) ? null : ok(true);
  };
  const queue: RenderQueue = {
    async submit(task) {
      peak.rendering = Math.max(peak.rendering, ++rendering);
      await held;
      rendering--;
      rendered.push(task);
      return ok(false);
    },
    unanswered: () => rendering,
    close: () => Promise.resolve(),
  };
  const hold = () => {
    held = new Promise((resolve) => (release = resolve));
  };
  return {
    asked,
    rendered,
    peak,
    keep,
    queue,
    hold,
    release: () => {
      // Asks are let through on their own from now on.
      asksFree = true;
      letAsksThrough();
      release();
    },
    rendering: () => rendering,
  };
}

async function jobOf(store: TestJobStore): Promise<JobRecord> {
  const job = newJobRecord('pipeline', 'refresh', { trigger: 'api', requestedBy: 'test' });
  await store.createJob(job);
  await store.addPages(
    job.id,
    Array.from({ length: PAGES }, (_, i) => ({ url: `https://s.test/p/${i}`, variant: 'desktop' })),
  );
  await store.updateJob(job.id, { progress: 'processing' });
  return job;
}

const statuses = async (store: TestJobStore, jobId: string) => {
  const counts: Record<string, number> = {};
  for (let offset = 0; offset < PAGES; offset += 500) {
    for (const page of (await store.listPages(jobId, { offset, limit: 500 })).items) counts[page.status] = (counts[page.status] ?? 0) + 1;
  }
  return counts;
};

describe.each(BACKENDS)('the refresh pipeline of the local engine, on the $name backend', (backend) => {
  it('asks every page once, renders each changed page once, within both bounds, over several reads', async () => {
    const store = await backend.openJobStore('pipeline');
    try {
      const job = await jobOf(store);
      const probe = pipelineProbe();
      await renderJobPages(job, store, probe.queue, probe.keep, OPTIONS, new AbortController().signal, createLogger('silent'));
      const changedCount = Math.ceil(PAGES / 10);
      expect(new Set(probe.asked).size).toBe(PAGES);
      expect(probe.asked).toHaveLength(PAGES);
      expect(probe.rendered.map((t) => t.url).every(changed)).toBe(true);
      expect(new Set(probe.rendered.map((t) => t.url)).size).toBe(changedCount);
      expect(probe.rendered).toHaveLength(changedCount);
      // A changed page is rendered without being asked again.
      expect(probe.rendered.every((t) => t.inputsChecked === true)).toBe(true);
      expect(probe.peak.asking).toBeLessThanOrEqual(OPTIONS.revalidateConcurrency);
      expect(probe.peak.asking).toBeGreaterThan(1);
      expect(probe.peak.rendering).toBeLessThanOrEqual(OPTIONS.siteConcurrency);
      expect(await store.getJob(job.id)).toMatchObject({ completedCount: PAGES, unchangedCount: PAGES - changedCount, failedCount: 0 });
    } finally {
      await store.close();
    }
  });

  it('leaves no page processing when its job is cancelled: renders under way finish, the rest go back to pending', async () => {
    const store = await backend.openJobStore('pipeline-cancel');
    try {
      const job = await jobOf(store);
      const probe = pipelineProbe();
      probe.hold();
      const controller = new AbortController();
      const run = renderJobPages(job, store, probe.queue, probe.keep, OPTIONS, controller.signal, createLogger('silent'));
      // Renders held: the pipeline fills up to its bounds, then waits.
      await waitFor('renders under way', () => probe.rendering() === OPTIONS.siteConcurrency, 10_000);
      controller.abort();
      probe.release();
      await run;
      const counts = await statuses(store, job.id);
      expect(counts['processing']).toBeUndefined();
      expect(counts['complete']).toBeGreaterThanOrEqual(OPTIONS.siteConcurrency);
      expect(counts['pending']).toBeGreaterThan(PAGES / 2);
      expect((counts['complete'] ?? 0) + (counts['pending'] ?? 0)).toBe(PAGES);
    } finally {
      await store.close();
    }
  });
});
