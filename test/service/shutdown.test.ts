import fs from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureSite, type FixtureSite } from '../fixtures/fixture-site.js';
import { processesPerTest, startServiceProcess, type ServiceProcess } from '../helpers/cluster-process.js';
import { managementApi, type JobStatusBody } from '../helpers/management-api.js';
import { REDIS_URL, uniqueNamespace } from '../helpers/service.js';
import { onRedis } from '../helpers/redis-backend.js';

/**
 * SIGTERM on a real `rendercache serve` process: answers in flight finish with
 * `Connection: close`, keep-alive clients do not hold the stop, Chromium and the stores
 * are closed, and the process exits 0 in a few seconds. In a cluster, the refresh pages
 * a stopping instance was rendering go back to the queue at once.
 */
const TOKEN = 'shutdown-owner-token';
let site: FixtureSite;
const processes = processesPerTest();

beforeAll(async () => {
  site = await startFixtureSite();
});
afterAll(async () => site?.close());

/** Pids of the Chromium processes under `root` (puppeteer gives Chromium a process group of its own). */
function chromiumPids(root: number): number[] {
  const table = new Map<number, { ppid: number; comm: string }>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      table.set(Number(name), { ppid, comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {
      /* gone meanwhile */
    }
  }
  const under = (pid: number): boolean => {
    for (let p = table.get(pid)?.ppid; p !== undefined && p > 1; p = table.get(p)?.ppid) if (p === root) return true;
    return false;
  };
  return [...table].filter(([pid, { comm }]) => /chrom|headless/i.test(comm) && under(pid)).map(([pid]) => pid);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

async function until<T>(what: string, check: () => T | null | false | Promise<T | null | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(url: string, agent: http.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

const exitOf = (p: ServiceProcess) =>
  new Promise<{ code: number | null; at: number }>((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) resolve({ code: p.child.exitCode, at: Date.now() });
    else p.child.once('exit', (code) => resolve({ code, at: Date.now() }));
  });

function siteConfig(urls: string[]) {
  return { id: 'sd', name: 'Shutdown', origin: site.origin, members: { owner: 'Owner' }, pages: { urls } };
}

describe('SIGTERM with keep-alive clients', () => {
  it('answers the request in flight with Connection: close, closes idle connections, exits 0 in seconds with Chromium gone', async () => {
    const service = await startServiceProcess({
      auth: { tokens: [{ token: TOKEN, user: 'owner' }] },
      schedule: { enabled: false },
      sites: [siteConfig(['/page/s1'])],
    });
    processes.push(service);
    const chromium: number[] = await until(
      'Chromium started',
      () => {
        const pids = chromiumPids(service.pid);
        return pids.length > 0 ? pids : null;
      },
      30_000,
    );

    // Several keep-alive connections, idle in their agent after one answer each.
    const idleAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const idle = await Promise.all([0, 1, 2, 3].map(() => get(`${service.url}/healthz`, idleAgent)));
    expect(idle.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    const idleSockets = Object.values(idleAgent.freeSockets).flat();
    expect(idleSockets.length).toBe(4);
    const idleClosed = Promise.all(idleSockets.map((s) => new Promise<void>((resolve) => s!.once('close', () => resolve()))));

    // One slow lookup in flight on a keep-alive connection of its own.
    const slowAgent = new http.Agent({ keepAlive: true });
    const slowPage = `${site.origin}/slow?delay=2500`;
    const slow = get(`${service.url}/render?url=${encodeURIComponent(slowPage)}`, slowAgent);
    await until('Chromium fetched the slow page', () => (site.hits.get('/slow') ?? 0) > 0, 30_000);

    const exited = exitOf(service);
    const sentAt = Date.now();
    service.child.kill('SIGTERM');

    await idleClosed; // closed by the server at once, not after keepAliveTimeout
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('slow-data');
    expect(answer.headers.connection).toBe('close');

    const { code, at } = await exited;
    expect(code).toBe(0);
    expect(at - sentAt).toBeLessThan(8_000);
    expect(service.logs.some((l) => l.msg === 'rendercache stopped')).toBe(true);
    await until('Chromium gone', () => chromium.every((pid) => !alive(pid)), 5_000);
    idleAgent.destroy();
    slowAgent.destroy();
  });
});

describe('SIGTERM on one of two cluster instances in mid-job', () => {
  it('hands its refresh pages back at once: the other instance renders them long before the lock would lapse', async () => {
    const namespace = uniqueNamespace('shutdown-cluster');
    const PAGES = 16;
    const urls = Array.from({ length: PAGES }, (_, i) => `/slow?delay=1200&n=${i}`);
    const config = {
      ...onRedis(REDIS_URL),
      cache: { namespace, commandTimeoutMs: 3000 },
      auth: { tokens: [{ token: TOKEN, user: 'owner' }] },
      api: { rateLimit: { points: 100_000, windowSeconds: 60 } },
      render: { concurrency: 2 },
      // A minute: taking over only after the lock lapsed would show as a job of 60 s and more.
      cluster: { lockDurationMs: 60_000, stalledIntervalMs: 15_000 },
      schedule: { enabled: false },
      sites: [siteConfig(urls)],
    };
    processes.push(...(await Promise.all([startServiceProcess(config), startServiceProcess(config)])));
    const [victim, survivor] = processes as [ServiceProcess, ServiceProcess];
    const api = managementApi(() => survivor, { owner: TOKEN });

    const started = await api.refresh('owner', 'sd');
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as JobStatusBody;
    const pagesOf = async () =>
      (
        (await (await api.call('owner', 'GET', `/sites/_status/${id}/pages?limit=100`)).json()) as {
          items: Array<{ status: string; renderedBy: string | null }>;
        }
      ).items;
    // The victim has finished a page and, at concurrency 2 with pages waiting, holds others.
    await until('the victim rendered a page', async () => (await pagesOf()).some((p) => p.renderedBy === victim.instance), 60_000);

    // A crawler's lookup in flight on a keep-alive connection to the victim.
    const crawler = new http.Agent({ keepAlive: true });
    const csrHits = site.hits.get('/csr') ?? 0;
    const lookup = get(`${victim.url}/render?url=${encodeURIComponent(`${site.origin}/csr?delay=1500&label=in-flight`)}`, crawler);
    await until('the lookup is rendering', () => (site.hits.get('/csr') ?? 0) > csrHits, 30_000);

    const exited = exitOf(victim);
    const sentAt = Date.now();
    victim.child.kill('SIGTERM');
    const answer = await lookup;
    expect(answer).toMatchObject({ status: 200, headers: { connection: 'close' } });
    expect(answer.body).toContain('in-flight');
    const { code, at } = await exited;
    expect(code).toBe(0);
    expect(at - sentAt).toBeLessThan(8_000);

    const job = await api.waitForEnd(id, 'owner', 45_000);
    expect(job).toMatchObject({ progress: 'succeeded', pageCount: PAGES, completedCount: PAGES, failedCount: 0 });
    // Well inside the 60 s lock: the pages came back to the queue when the victim stopped.
    expect(Date.now() - sentAt).toBeLessThan(40_000);
    const pages = await pagesOf();
    expect(pages.every((p) => p.status === 'complete')).toBe(true);
    expect(pages.filter((p) => p.renderedBy === survivor.instance).length).toBeGreaterThan(PAGES / 2 - 1);
    expect(victim.logs.some((l) => l.msg === 'rendercache stopped')).toBe(true);
    // The pages it was rendering went back to the queue rather than finishing there.
    expect(victim.logs.filter((l) => l.msg === 'stopping: refresh page handed back to the render queue').length).toBeGreaterThan(0);
    crawler.destroy();
  });
});
