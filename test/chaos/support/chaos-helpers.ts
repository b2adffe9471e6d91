import { Writable } from 'node:stream';
import { expect } from 'vitest';
import { createLogger, type Logger } from '../../../src/observability/logger.js';
import { API_BASE, type JobStatusBody, type ManagementApi } from '../../helpers/management-api.js';
import { generationOf, pagePath } from './chaos-origin.js';

import { waitFor } from '../../helpers/wait-for.js';

export { waitFor };

/**
 * A thrown value or a logged `err` as text, for failure messages: an Error as String() shows it,
 * a string as it is, anything else (pino's serialised error: type, message, stack) as JSON.
 */
export function errorText(value: unknown): string {
  if (value === undefined) return '';
  if (value instanceof Error) return String(value);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Starts a refresh of `siteId` on `starter` (202) and waits, asking `watcher`, until at least
 * `pages` of its pages are complete: the moment to kill an instance in mid-job. The job's id,
 * and its status at that moment. Both calls as 'owner'.
 */
export async function refreshUntilPagesComplete(
  starter: ManagementApi,
  watcher: ManagementApi,
  siteId: string,
  pages: number,
  timeoutMs: number,
): Promise<{ jobId: string; status: JobStatusBody }> {
  const started = await starter.refresh('owner', siteId);
  expect(started.status).toBe(202);
  const jobId = ((await started.json()) as JobStatusBody).id;
  const status = await waitFor(
    `${pages} pages complete`,
    async () => {
      const job = await watcher.jobStatus(jobId, 'owner');
      return job.completedCount >= pages ? job : null;
    },
    timeoutMs,
  );
  return { jobId, status };
}

export type LogEntry = Record<string, unknown> & { msg: string; level: number };

/** A pino logger (the service's own) whose JSON lines land in an array. */
export function captureLogs(level = 'info'): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) entries.push(JSON.parse(line) as LogEntry);
      done();
    },
  });
  return { logger: createLogger(level, stream), entries };
}

export interface PageItem {
  pageUrl: string;
  status: string;
  httpStatus: number | null;
  renderedBy?: string;
  error?: { title: string; detail: string };
}

/** Every page record of a job, through GET /sites/_status/{id}/pages. */
export async function jobPages(baseUrl: string, token: string, jobId: string): Promise<PageItem[]> {
  const pages: PageItem[] = [];
  for (let offset = 0; ; offset += 250) {
    const res = await fetch(`${baseUrl}${API_BASE}/sites/_status/${jobId}/pages?offset=${offset}&limit=250`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`GET pages of ${jobId}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { items: PageItem[] };
    pages.push(...body.items);
    if (body.items.length < 250) return pages;
  }
}

/** One crawler lookup as the tests judge it. */
export interface LookupResult {
  name: string;
  status: number;
  cache: string | null;
  /** The generation in the served page's marker, null when the page has none. */
  generation: string | null;
  ms: number;
}

/** GET /render?url=… for the chaos page `name` of `origin`, read whole. */
export async function lookupPage(serviceUrl: string, origin: string, name: string, timeoutMs = 30_000): Promise<LookupResult> {
  const started = Date.now();
  const res = await fetch(`${serviceUrl}/render?url=${encodeURIComponent(`${origin}${pagePath(name)}`)}`, { signal: AbortSignal.timeout(timeoutMs) });
  const html = await res.text();
  return { name, status: res.status, cache: res.headers.get('x-rendercache-cache'), generation: generationOf(html, name), ms: Date.now() - started };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Page names n0…n(count-1) with a prefix. */
export const pageNames = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);
