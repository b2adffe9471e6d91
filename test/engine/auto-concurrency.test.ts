import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { ProcessTreeUsage } from '../../src/observability/process-tree-usage.js';
import { BACKENDS } from '../helpers/backends.js';
import { lookupUrl, startTestService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

const MB = 1024 * 1024;

/**
 * Pages whose content comes from a data call that is answered only when the next render's data
 * call arrives (no timer): a render mostly waits on other renders, so with c at once a page
 * takes about w·c/(c−1) and c renders finish (c−1)/w pages per second. More at once is faster,
 * which "auto" must find out by itself. `releaseAll` answers whatever is held, and from then on
 * every data call at once (the end of a test, or a single render).
 */
async function startWaitingDataSite(): Promise<{ origin: string; releaseAll(): void; close(): Promise<void> }> {
  let held: (() => void)[] = [];
  let holding = true;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/data') {
      const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ page: url.searchParams.get('page') }));
      const waiting = held;
      held = holding ? [answer] : [];
      for (const release of waiting) release();
      if (!holding) answer();
      return;
    }
    const page = url.pathname.slice(1);
    res.writeHead(200, { 'content-type': 'text/html' }).end(
      `<!doctype html><html><body><div id="app"></div><script>
        fetch('/data?page=${encodeURIComponent(page)}').then((r) => r.json()).then((d) => {
          document.getElementById('app').innerHTML = '<h1 id="done">page ' + d.page + '</h1>';
        });
      </script></body></html>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    releaseAll() {
      holding = false;
      for (const release of held.splice(0)) release();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function renderConcurrency(service: RunningService): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const line = /^rendercache_render_concurrency (\d+)/m.exec(text);
  if (!line) throw new Error('no rendercache_render_concurrency in /metrics');
  return Number(line[1]);
}

describe.each(BACKENDS)('render.concurrency "auto" on the $name backend', (backend) => {
  let site: Awaited<ReturnType<typeof startWaitingDataSite>>;
  let service: RunningService | undefined;

  beforeEach(async () => {
    site = await startWaitingDataSite();
  });
  afterEach(async () => {
    site.releaseAll();
    await service?.stop();
    service = undefined;
    await site.close();
  });

  it('grows past its start while more renders at once finish more pages, and every page is right', async () => {
    service = await startTestService({
      ...backend.serviceConfig('auto-grow'),
      sites: [{ id: 'slow', name: 'Slow', origin: site.origin }],
      render: { concurrency: 'auto', autoConcurrency: { min: 2, initial: 2, max: 8, windowMs: 500 } },
    });
    const running = service;
    expect(await renderConcurrency(running)).toBe(2);
    // 12 crawlers asking for new pages without pause: demand always above 2 renders at once.
    let stop = false;
    let asked = 0;
    const wrong: string[] = [];
    const crawlers = Array.from({ length: 12 }, async () => {
      while (!stop) {
        const page = `p${asked++}`;
        const res = await fetch(lookupUrl(running, `${site.origin}/${page}`));
        const html = await res.text();
        if (res.status !== 200 || !html.includes(`<h1 id="done">page ${page}</h1>`)) wrong.push(`${page}: ${res.status}`);
      }
    });
    try {
      const grown = await waitFor(
        'render concurrency above its start',
        async () => ((await renderConcurrency(running)) > 2 ? renderConcurrency(running) : 0),
        90_000,
        200,
      );
      expect(grown).toBeGreaterThan(2);
      expect(grown).toBeLessThanOrEqual(8);
    } finally {
      stop = true;
      // The last data calls have no next one to release them.
      site.releaseAll();
      await Promise.all(crawlers);
    }
    expect(wrong).toEqual([]);
  });

  it('renders fewer at once when the process tree uses more memory than its budget', async () => {
    service = await startTestService({
      ...backend.serviceConfig('auto-memory'),
      sites: [{ id: 'slow', name: 'Slow', origin: site.origin }],
      // Node and Chromium together are far above 64 MB: the budget is always exceeded.
      render: { concurrency: 'auto', autoConcurrency: { min: 2, initial: 8, max: 8, windowMs: 200, memoryBudgetMb: 64 } },
    });
    const running = service;
    expect(await renderConcurrency(running)).toBe(8);
    await waitFor('render concurrency down to min', async () => (await renderConcurrency(running)) === 2, 30_000, 100);
    // Still rendering, at min (one render alone: its data call is answered at once).
    site.releaseAll();
    const res = await fetch(lookupUrl(running, `${site.origin}/after`));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<h1 id="done">page after</h1>');
  });
});

describe('ProcessTreeUsage', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
    child = undefined;
  });

  it("counts the resident memory of this process's children", async () => {
    const usage = new ProcessTreeUsage();
    const before = usage.read().memoryBytes;
    expect(before).toBeGreaterThanOrEqual(process.memoryUsage.rss() * 0.9);
    // A child that touches 200 MB and says so.
    child = spawn(process.execPath, ['-e', "const b = Buffer.alloc(200 * 1024 * 1024, 1); console.log('ready'); setInterval(() => b[0]++, 1000);"], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const started = child;
    await new Promise<void>((resolve) => started.stdout?.once('data', () => resolve()));
    const after = usage.read();
    expect(after.memoryBytes - before).toBeGreaterThan(180 * MB);
    expect(after.cpuBusy).toBeGreaterThanOrEqual(0);
    expect(after.cpuBusy).toBeLessThanOrEqual(1);
  });
});
