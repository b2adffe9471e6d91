import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bullPrefix, CONTROL_JOB, CONTROL_QUEUE, type TickJobData } from '../../../src/engine/cluster/queues.js';
import { isUnfinished, type JobRecord } from '../../../src/jobs/types.js';
import { createLogger } from '../../../src/observability/logger.js';
import { siteJitterMs } from '../../../src/schedule/jitter.js';
import type { RunningService } from '../../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../../fixtures/fixture-site.js';
import { openRedisClient, REDIS } from '../../helpers/backends.js';
import { startTestService, uniqueNamespace } from '../../helpers/service.js';
import { waitFor } from '../../helpers/wait-for.js';

/**
 * Scheduling in a cluster: two in-process instances (each with its own Chromium) share
 * one Redis namespace, as two machines would. The ticks are added by the test, as the
 * site's BullMQ job scheduler adds them, at the moments it chooses: no test waits for the
 * clock. That real job schedulers fire is proven once, by "starts exactly one refresh per
 * cron tick across three instances" (cluster.test.ts).
 */
/** Once a year: the site's own job scheduler never fires during a test. */
const YEARLY = '0 0 1 1 *';
/** How late after its tick (plus the site's offset) a refresh may start. */
const START_TOLERANCE_MS = 700;

let site: FixtureSite;
let services: RunningService[] = [];
let client: Redis | undefined;
let queues: Queue[] = [];

beforeAll(async () => {
  site = await startFixtureSite();
});
afterEach(async () => {
  await Promise.all(services.map((s) => s.stop()));
  services = [];
  await Promise.all(queues.map((q) => q.close()));
  queues = [];
  client?.disconnect();
  client = undefined;
});
afterAll(async () => site?.close());

const config = (namespace: string, schedule: Record<string, unknown>, sites: Array<Record<string, unknown>>) => ({
  ...REDIS.serviceConfig('cl-schedule', { namespace }),
  schedule,
  render: { concurrency: 2 },
  sites: sites.map((s) => ({ name: String(s.id), origin: site.origin, pages: { urls: ['/page/sched'] }, ...s })),
});

async function jobsOf(namespace: string, siteId: string): Promise<JobRecord[]> {
  const store = await REDIS.openJobStore('cl-schedule', { namespace });
  try {
    return (await store.jobsOfSite(siteId, 100)).sort((a, b) => a.startTime.localeCompare(b.startTime));
  } finally {
    await store.close();
  }
}

/** The jobs of a site with this trigger, once every one of them has ended and there are `count` at least. */
async function endedJobs(namespace: string, siteId: string, trigger: JobRecord['trigger'], count: number): Promise<JobRecord[] | undefined> {
  const jobs = (await jobsOf(namespace, siteId)).filter((j) => j.trigger === trigger);
  return jobs.length >= count && jobs.every((j) => !isUnfinished(j.progress)) ? jobs : undefined;
}

/** The cluster's control queue in Redis, as the instances of `namespace` use it (closed after the test). */
function controlQueue(namespace: string): Queue {
  client ??= openRedisClient();
  const queue = new Queue(CONTROL_QUEUE, { connection: client, prefix: bullPrefix(namespace) });
  queues.push(queue);
  return queue;
}

/**
 * Adds a tick of `siteId` at `tickAt` as the site's BullMQ job scheduler does: a "tick" job
 * created now and delayed until its tick, so that the control worker reads the tick's time as
 * job.timestamp + delay. Its BullMQ job id.
 */
async function addTick(control: Queue, siteId: string, tickAt: number): Promise<string> {
  const now = Date.now();
  const data: TickJobData = { siteId };
  const job = await control.add(CONTROL_JOB.tick, data, { jobId: `test-tick-${siteId}-${tickAt}`, timestamp: now, delay: Math.max(0, tickAt - now) });
  return job.id!;
}

/** Whether every one of these control jobs has been run to its end. */
async function allCompleted(control: Queue, jobIds: string[]): Promise<boolean> {
  const states = await Promise.all(jobIds.map((id) => control.getJobState(id)));
  return states.every((state) => state === 'completed');
}

/** The catch-up jobs of the control queue: those done, once none is left to run. */
async function catchUpsHandled(control: Queue): Promise<number | undefined> {
  const open = await control.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children']);
  if (open.some((job) => job.name === CONTROL_JOB.catchUp)) return undefined;
  const done = (await control.getJobs(['completed'])).filter((job) => job.name === CONTROL_JOB.catchUp);
  return done.length > 0 ? done.length : undefined;
}

async function schedulerIds(namespace: string): Promise<string[]> {
  return (await controlQueue(namespace).getJobSchedulers()).map((s) => s.key).sort();
}

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

describe('scheduled refresh across instances', () => {
  it('catches up once for the whole cluster when instances start together', async () => {
    const namespace = uniqueNamespace('cl-catchup');
    const control = controlQueue(namespace);
    const cfg = config(namespace, { enabled: true, catchUp: true, jitterSeconds: 0 }, [{ id: 'late', schedule: YEARLY }]);
    services = await Promise.all([startTestService(cfg), startTestService(cfg)]);
    // Until the catch-up has run and the refresh it started has ended.
    await waitFor('the catch-up to be handled', () => catchUpsHandled(control), 30_000);
    const jobs = await waitFor('the catch-up refresh to end', () => endedJobs(namespace, 'late', 'startup', 1), 30_000);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ progress: 'succeeded', trigger: 'startup' });
    // A later instance finds the site fresh: no second catch-up. Its start has queued its
    // catch-up; once no catch-up is left to run, it has been handled.
    services.push(await startTestService(cfg));
    await waitFor("the later instance's catch-up to be handled", () => catchUpsHandled(control), 30_000);
    expect((await jobsOf(namespace, 'late')).filter((j) => j.trigger === 'startup')).toHaveLength(1);
  });

  it("starts each tick's refresh at the site's jitter offset, once", async () => {
    const namespace = uniqueNamespace('cl-jitter');
    const jitterSeconds = 3;
    // An offset over 1 s: the tick goes back to BullMQ's delayed set until the offset.
    const id =
      Array.from({ length: 100 }, (_, i) => `cj-${i}`).find((candidate) => {
        const offset = siteJitterMs(candidate, YEARLY, 'UTC', jitterSeconds);
        return offset >= 1200 && offset <= 2200;
      }) ?? 'none';
    const offset = siteJitterMs(id, YEARLY, 'UTC', jitterSeconds);
    const cfg = config(namespace, { enabled: true, catchUp: false, jitterSeconds }, [{ id, schedule: YEARLY }]);
    services = await Promise.all([startTestService(cfg), startTestService(cfg)]);
    const control = controlQueue(namespace);
    // Two ticks, far enough apart for the first refresh to end before the second starts.
    const first = Date.now() + 1000;
    const ticks = [first, first + 4000];
    const tickJobs = await Promise.all(ticks.map((tickAt) => addTick(control, id, tickAt)));
    await waitFor('both ticks to be run', () => allCompleted(control, tickJobs), 20_000);
    const jobs = await waitFor('both scheduled refreshes to end', () => endedJobs(namespace, id, 'schedule', 2), 20_000);
    // One refresh per tick, whichever instance ran it…
    expect(jobs).toHaveLength(ticks.length);
    // …each started at its tick plus the site's offset.
    jobs.forEach((job, i) => {
      const sinceTick = Date.parse(job.startTime) - ticks[i]!;
      expect(sinceTick).toBeGreaterThanOrEqual(offset);
      expect(sinceTick).toBeLessThan(offset + START_TOLERANCE_MS);
    });
    expect(jobs.map((j) => j.progress)).toEqual(['succeeded', 'succeeded']);
  });

  it('keeps one scheduler per configured site in Redis, and removes them all when scheduling is disabled', async () => {
    const namespace = uniqueNamespace('cl-sched');
    const sites = [
      { id: 'a', schedule: '0 * * * *' },
      { id: 'b', schedule: '30 * * * *' },
    ];
    services = [await startTestService(config(namespace, { enabled: true, catchUp: false }, sites))];
    services.push(await startTestService(config(namespace, { enabled: true, catchUp: false }, sites)));
    expect(await schedulerIds(namespace)).toEqual(['refresh:a', 'refresh:b']);
    await Promise.all(services.map((s) => s.stop()));
    // A site removed from the config loses its schedule.
    services = [await startTestService(config(namespace, { enabled: true, catchUp: false }, [sites[0]!]))];
    expect(await schedulerIds(namespace)).toEqual(['refresh:a']);
    await services[0]!.stop();
    services = [await startTestService(config(namespace, { enabled: false }, sites))];
    expect(await schedulerIds(namespace)).toEqual([]);
  });

  it("never overlaps a site's refreshes across instances: a tick while one runs anywhere starts nothing", async () => {
    const namespace = uniqueNamespace('cl-overlap');
    const { logger, lines } = capturingLogger();
    const cfg = config(namespace, { enabled: true, catchUp: false, jitterSeconds: 0 }, [
      { id: 'slowsite', schedule: YEARLY, pages: { urls: ['/slow?delay=2500'] } },
    ]);
    services = await Promise.all([startTestService(cfg, { logger }), startTestService(cfg, { logger })]);
    const control = controlQueue(namespace);
    // Three ticks 0.7 s apart: the first starts a refresh of at least 2.5 s, the two others
    // come while it runs, on whichever instance.
    const first = Date.now() + 500;
    const during = await Promise.all([first, first + 700, first + 1400].map((tickAt) => addTick(control, 'slowsite', tickAt)));
    await waitFor('the ticks during the refresh to be run', () => allCompleted(control, during), 20_000);
    const [running] = await waitFor('the first refresh to end', () => endedJobs(namespace, 'slowsite', 'schedule', 1), 20_000);
    const skipped = lines.filter((l) => l.msg === 'scheduled refresh skipped' && l.reason === 'already-running');
    expect(skipped.map((l) => l.runningJobId)).toEqual([running!.id, running!.id]);
    // A tick once it has ended starts the next one.
    const after = await addTick(control, 'slowsite', Date.now() + 200);
    await waitFor('the tick after the refresh to be run', () => allCompleted(control, [after]), 20_000);
    const jobs = await waitFor('the second refresh to end', () => endedJobs(namespace, 'slowsite', 'schedule', 2), 20_000);
    expect(jobs).toHaveLength(2);
    expect(Date.parse(jobs[1]!.startTime)).toBeGreaterThanOrEqual(Date.parse(jobs[0]!.endTime!));
    expect(jobs.map((j) => j.progress)).toEqual(['succeeded', 'succeeded']);
  });
});
