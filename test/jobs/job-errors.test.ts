import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobStatusBody } from '../../src/api/job-view.js';
import { createLogger } from '../../src/observability/logger.js';
import type { PageDiscovery } from '../../src/jobs/discovery/discover-pages.js';
import { DiscoveryFailedError, JOB_ERRORS, jobError, PAGE_FAILURE_TITLES, pageError, unexpectedJobError } from '../../src/jobs/job-errors.js';
import { moveInterruptedToFailed } from '../../src/jobs/job-states.js';
import { beginRefresh, type RefreshStepDeps } from '../../src/jobs/refresh-flow.js';
import { newJobRecord } from '../../src/jobs/refresh-service.js';
import type { JobAction, JobRecord, PageTarget } from '../../src/jobs/types.js';
import type { Site } from '../../src/sites/site.js';
import { SqliteStore } from '../../src/stores/sqlite-store.js';
import { tempDir } from '../helpers/service.js';

/** Title Case: every word capitalised, as the HTTP error titles are. */
const TITLE_CASE = /^[A-Z][a-z]*(?: [A-Z][a-z]*)*$/;
const logger = createLogger('silent');

const job = (action: JobAction, progress: JobRecord['progress'] = 'pending'): JobRecord => ({
  ...newJobRecord('site-1', action, { trigger: 'api', requestedBy: 'u' }),
  progress,
});

describe('job and page errors, defined once', () => {
  it('gives every job error kind its own RENDERCACHE-JOB-… code and a Title Case title', () => {
    const definitions = Object.values(JOB_ERRORS);
    const codes = definitions.map((def) => def.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const def of definitions) {
      expect(def.code).toMatch(/^RENDERCACHE-JOB-[A-Z]+(?:-[A-Z]+)*$/);
      expect(def.code).not.toBe('RENDERCACHE-JOB-FAILED');
      expect(def.title).toMatch(TITLE_CASE);
    }
  });

  it('gives every page failure kind a Title Case title', () => {
    for (const title of Object.values(PAGE_FAILURE_TITLES)) expect(title).toMatch(TITLE_CASE);
    expect(pageError('store-error', 'rendered, but not stored')).toEqual({ title: 'Cache Write Failed', detail: 'rendered, but not stored' });
  });

  it('builds an error from its kind: title, code and detail from the table', () => {
    expect(jobError('pagesFailed', 2, 5)).toEqual({
      title: 'Pages Failed',
      code: 'RENDERCACHE-JOB-PAGES-FAILED',
      detail: '2 of 5 pages failed to render; their previously cached versions are still served.',
    });
    const notStarted = jobError('couldNotStart', new Error('store away'));
    expect(notStarted).toMatchObject({ title: 'Could Not Start', code: 'RENDERCACHE-JOB-NOT-STARTED' });
    expect(notStarted.detail).toContain('store away');
  });

  it('names what ended a job unexpectedly: discovery, another error of a refresh, a restart job', () => {
    expect(unexpectedJobError('refresh', new DiscoveryFailedError(new Error('sitemap 500')))).toEqual({
      title: 'Discovery Failed',
      code: 'RENDERCACHE-JOB-DISCOVERY-FAILED',
      detail: 'sitemap 500',
    });
    expect(unexpectedJobError('refresh', new Error('boom'))).toEqual({ title: 'Refresh Failed', code: 'RENDERCACHE-JOB-UNEXPECTED', detail: 'boom' });
    expect(unexpectedJobError('restart', new Error('boom'))).toMatchObject({ title: 'Origin Restart Failed', code: 'RENDERCACHE-JOB-ORIGIN-RESTART-FAILED' });
  });

  it('a discovery that fails is thrown by the refresh flow as DiscoveryFailedError', async () => {
    const store = await SqliteStore.open(tempDir());
    const refresh = job('refresh');
    await store.createJob(refresh);
    const site = { id: refresh.siteId, config: {} } as unknown as Site;
    const discovery = { discover: () => Promise.reject(new Error('sitemap 500')) } as unknown as PageDiscovery;
    const deps = { store, logger, signal: new AbortController().signal } as unknown as RefreshStepDeps;
    const planner = { plan: (_site: Site, _job: unknown, pages: PageTarget[]) => Promise.resolve(pages) };
    const failed = await beginRefresh(refresh, site, undefined, { ...deps, discovery, planner }).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(DiscoveryFailedError);
    expect(unexpectedJobError('refresh', failed).code).toBe('RENDERCACHE-JOB-DISCOVERY-FAILED');
  });

  it('ends jobs interrupted by a stop with their own codes: a refresh RESTARTED, a restart RESTART-UNKNOWN', async () => {
    const store = await SqliteStore.open(tempDir());
    const refresh = job('refresh', 'processing');
    const restart = { ...job('restart', 'processing'), siteId: 'site-2' };
    await store.createJob(refresh);
    await store.createJob(restart);
    expect(await moveInterruptedToFailed(store, { keepJobs: 10 }, () => false, logger)).toBe(2);
    expect((await store.getJob(refresh.id))?.error).toMatchObject({ title: 'Service Restarted', code: 'RENDERCACHE-JOB-RESTARTED' });
    const restartError = (await store.getJob(restart.id))?.error;
    expect(restartError).toMatchObject({ title: 'Service Restarted', code: 'RENDERCACHE-JOB-RESTART-UNKNOWN' });
    expect(jobStatusBody({ ...restart, progress: 'failed', error: restartError ?? null }, 1000).error).toMatchObject({
      title: 'Service Restarted',
      'o:errorCode': 'RENDERCACHE-JOB-RESTART-UNKNOWN',
    });
  });

  it('shows a job error stored before the per-kind codes with the old code', () => {
    const old = { ...job('refresh', 'failed'), error: { title: 'Service Restarted', detail: 'stopped' } };
    expect(jobStatusBody(old, 1000).error).toMatchObject({ title: 'Service Restarted', 'o:errorCode': 'RENDERCACHE-JOB-FAILED' });
  });

  it('leaves no job or page error title written anywhere else in src/ (adapters word their platform failures)', () => {
    const root = path.resolve(import.meta.dirname, '../../src');
    const files = fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
    // The OpenAPI document's `info.title` is the API's name, not an error.
    const allowed = [path.join('api', 'errors.ts'), path.join('jobs', 'job-errors.ts'), path.join('api', 'openapi', 'document.ts')];
    const titles = [...Object.values(JOB_ERRORS).map((def) => def.title), ...Object.values(PAGE_FAILURE_TITLES)];
    const offenders = files
      // The console is browser code: `title` there is an HTML attribute or a chart's caption; it shows the API's errors as they come.
      .filter((file) => !allowed.includes(file) && !file.startsWith(`adapters${path.sep}`) && !file.startsWith(`console${path.sep}`))
      .flatMap((file) => {
        const text = fs.readFileSync(path.join(root, file), 'utf8');
        const literal = /title: *['"`]/.test(text) || titles.some((title) => text.includes(`'${title}'`));
        return literal ? [file] : [];
      });
    expect(offenders).toEqual([]);
  });
});
