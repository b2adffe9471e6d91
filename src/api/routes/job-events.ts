import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import type Koa from 'koa';
import { isUnfinished, type JobRecord } from '../../jobs/types.js';
import { jobStatusBody } from '../job-view.js';
import { validate } from '../validate.js';
import type { SitesRoutesDeps } from './deps.js';
import { plainQuery } from './params.js';
import type { RouteTable } from './route-table.js';
import { jobFor } from './site-access.js';

/** How often the store is read for a change; an event goes out only when the body changed. */
export const EVENTS_CHECK_MS = 500;
/** A comment line this often keeps proxies from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

/** The progress event's body: the job status plus the rate and an estimate of the time left. */
export function progressBody(job: JobRecord, pollIntervalMs: number, now = Date.now()) {
  const status = jobStatusBody(job, pollIntervalMs);
  const done = job.completedCount + job.failedCount;
  const end = job.endTime ? Date.parse(job.endTime) : now;
  const seconds = Math.max((end - Date.parse(job.startTime)) / 1000, 0.001);
  const pagesPerSecond = done > 0 ? Math.round((100 * done) / seconds) / 100 : 0;
  const left = job.pageCount - done;
  const secondsLeft = !isUnfinished(job.progress) ? 0 : pagesPerSecond > 0 && job.pageCount > 0 ? Math.ceil(left / pagesPerSecond) : null;
  return { ...status, pagesPerSecond, secondsLeft };
}

/**
 * A job's progress as Server-Sent Events: `progress` (the status body with `pagesPerSecond`
 * and `secondsLeft`) whenever it changes, read from the store every 500 ms, then `end`
 * once the job has ended. The stream closes when the client goes away, and when the server
 * stops listening (a stop's drain never waits on it).
 */
export function jobEventsRoutes({ route }: RouteTable, deps: SitesRoutesDeps): void {
  route(
    'get',
    '/sites/_status/:jobId/events',
    'Viewer',
    async (ctx, access) => {
      validate(plainQuery, ctx.query, 'query');
      const first = await jobFor(deps, ctx, access);
      const stream = new PassThrough();
      ctx.status = 200;
      ctx.set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' });
      ctx.req.socket.setTimeout(0);
      ctx.req.socket.setNoDelay(true);
      ctx.body = stream;
      follow(ctx, stream, first, deps);
    },
    {
      summary: "A job's progress as Server-Sent Events",
      description:
        'text/event-stream: `progress` events (the job status body plus `pagesPerSecond` and `secondsLeft`), sent when the job changes (checked every 500 ms), then one `end` event, and the stream closes. It also ends when the service stops.',
      query: plainQuery,
      responses: { 200: { description: 'The event stream', mediaType: 'text/event-stream' } },
      errors: [403, 404],
    },
  );
}

function follow(ctx: Koa.Context, stream: PassThrough, first: JobRecord, deps: SitesRoutesDeps): void {
  const server = (ctx.req.socket as Socket & { server?: { listening?: boolean } }).server;
  let last = '';
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let lastWrite = Date.now();
  const send = (event: string, data: unknown) => {
    stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    lastWrite = Date.now();
  };
  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    stream.end();
  };
  ctx.req.once('close', close);
  ctx.res.once('close', close);

  const tick = (job: JobRecord | undefined): void => {
    if (closed) return;
    if (!job || server?.listening === false) {
      send('end', { id: first.id, reason: job ? 'service stopping' : 'job gone' });
      return close();
    }
    const body = progressBody(job, deps.pollIntervalMs);
    // The rate changes with the clock alone: an event only when the job itself changed.
    const key = JSON.stringify({ ...body, pagesPerSecond: 0, secondsLeft: 0 });
    if (key !== last) {
      last = key;
      send('progress', body);
    } else if (Date.now() - lastWrite > HEARTBEAT_MS) {
      stream.write(': keep-alive\n\n');
      lastWrite = Date.now();
    }
    if (!isUnfinished(job.progress)) {
      send('end', { id: job.id, progress: job.progress });
      return close();
    }
    timer = setTimeout(() => {
      deps.refresh.getJob(job.id).then(
        (next) => tick(next),
        () => {
          if (!closed) send('end', { id: job.id, reason: 'store unavailable' });
          close();
        },
      );
    }, EVENTS_CHECK_MS);
  };
  tick(first);
}
