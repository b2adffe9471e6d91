#!/usr/bin/env node
// rendercache freshness benchmark: "fresh at scale, re-render only what changed". Run
// through `npm run bench:freshness` (which builds dist/ first), or
//
//   node bench/freshness.mjs [--pages 10000] [--lookup-concurrency 16] [--deadline-minutes M]
//
// Steps, on bench/freshness-fixture.mjs (pages filled by a fetch of their own JSON, with
// ETags; one shared widget script on every 100th page):
//   1. A full refresh of the site (pages from its sitemap), timed.
//   2. Changes 5% of the pages, spread over the site (every 20th page, n % 20 === 10, never
//      a widget page), through POST /_control/change; and the widget script, loaded by a
//      further 1% (n % 100 === 0), through POST /_control/change-script.
//   3. A second refresh, timed.
//   4. Prints pages/s of both refreshes, their ratio, unchangedCount (from the job status,
//      when this build has it), the outcomes of the second refresh's pages (`outcome` of
//      …/pages, when present), the fixture traffic each refresh caused, and the pages per
//      hour a machine like this one keeps fresh at a 5% hourly change rate.
//   5. Looks every page up through GET /render?url= and checks it serves the data version
//      and widget version the fixture now has: stale pages (changed, still old) and wrong
//      pages (anything else: not a cache hit, an error, a missing or doubled marker, …).
// Targets (printed MET/MISSED): 0 stale, 0 wrong, second refresh >= 10x faster than the first.
// Prints human-readable figures, then one JSON line; also writes that JSON to bench/results/.
// Only 127.0.0.1 is used. The service (and its Chromium) is stopped by its pid at the end,
// also on error or Ctrl-C, and the whole run is bounded by a deadline (default
// 10 min + 200 ms per page). Exit code 0 when every target is met, 3 when one is missed,
// 1 on an error, 2 on the deadline.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startFreshnessFixture } from './freshness-fixture.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, '..');
const TOKEN = 'bench-freshness-owner-token';
const SITE = 'fresh';
const API = '/sites/management/api/v1';
const CHANGE_EVERY = 20; // 5%: n % 20 === CHANGE_OFFSET
const CHANGE_OFFSET = 10; // never a multiple of WIDGET_EVERY
const WIDGET_EVERY = 100; // 1%: the widget pages, n % 100 === 0
const HOURLY_CHANGE = 0.05;
const TARGETS = { speedup: 10, stale: 0, wrong: 0 };
const POLL_MS = 500;
const PROGRESS_EVERY_MS = 5_000;

async function main() {
  const { values: flags } = parseArgs({
    options: {
      pages: { type: 'string', default: '10000' },
      'lookup-concurrency': { type: 'string', default: '16' },
      'deadline-minutes': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (flags.help) {
    console.log('usage: node bench/freshness.mjs [--pages N (10000)] [--lookup-concurrency C (16)] [--deadline-minutes M (10 + 0.2 s per page)]');
    return 0;
  }
  const pages = positiveInt(flags.pages, '--pages');
  const lookupConcurrency = positiveInt(flags['lookup-concurrency'], '--lookup-concurrency');
  const deadlineMs = flags['deadline-minutes'] ? positiveInt(flags['deadline-minutes'], '--deadline-minutes') * 60_000 : 10 * 60_000 + pages * 200;

  const cleanup = new Cleanup();
  const deadline = setTimeout(() => {
    console.error(`\nbench:freshness: the run exceeded ${fmt(deadlineMs / 60_000, 1)} min; stopping everything`);
    void cleanup.run().finally(() => process.exit(2));
  }, deadlineMs);
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      console.error(`\nbench:freshness: ${sig}; stopping everything`);
      void cleanup.run().finally(() => process.exit(130));
    });
  }

  let result = null;
  let exitCode = 0;
  try {
    result = await benchmark({ pages, lookupConcurrency, deadlineMs, cleanup });
    exitCode = Object.values(result.targets).every((t) => t.met) ? 0 : 3;
  } catch (err) {
    if (cleanup.done) console.error('bench:freshness: aborted');
    else console.error(`\nbench:freshness failed: ${err?.stack ?? err}`);
    exitCode = 1;
  } finally {
    const t = performance.now();
    await cleanup.run();
    clearTimeout(deadline);
    console.log(`\nall child processes stopped (${fmt((performance.now() - t) / 1000, 1)} s)`);
  }
  if (result) {
    const line = JSON.stringify(result);
    await fsp.mkdir(path.join(BENCH_DIR, 'results'), { recursive: true });
    const file = path.join(BENCH_DIR, 'results', `freshness-${result.startedAt.replace(/[:.]/g, '-')}-${result.runId}.json`);
    await fsp.writeFile(file, `${line}\n`);
    console.log(`result written to ${path.relative(REPO, file)}`);
    console.log(line);
  }
  return exitCode;
}

async function benchmark({ pages, lookupConcurrency, deadlineMs, cleanup }) {
  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const startedAt = new Date().toISOString();
  const distMain = path.join(REPO, 'dist/cli/main.js');
  if (!fs.existsSync(distMain)) throw new Error('dist/cli/main.js is missing: run `npm run build` (or `npm run bench:freshness`)');

  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'rendercache-freshness-'));
  cleanup.add(() => fsp.rm(tmp, { recursive: true, force: true }));

  const fixture = await startFreshnessFixture({ port: 0, host: '127.0.0.1', pages, widgetEvery: WIDGET_EVERY });
  cleanup.add(() => fixture.close());

  // As bench/run.mjs: the service logs at "warn" (its "listening" line is not written), so
  // it gets a port chosen here. The fixture is the site's origin, which the renderer may
  // always reach: no allowPrivateNetwork needed.
  const port = await freePort();
  const config = {
    server: { port, host: '127.0.0.1' },
    log: { level: 'warn', format: 'json' },
    backend: 'embedded',
    cache: { dir: path.join(tmp, 'cache') },
    auth: { tokens: [{ token: TOKEN, user: 'bench-owner' }] },
    // Polling every 500 ms and paging through 10,000 job pages: far above the default 120/min.
    api: { rateLimit: { points: 1_000_000, windowSeconds: 60 } },
    refresh: { maxPagesPerJob: Math.max(10_000, pages), keepJobs: 20 },
    schedule: { enabled: false, catchUp: false },
    sites: [
      {
        id: SITE,
        name: 'Freshness',
        origin: fixture.url,
        pages: { sitemap: '/sitemap.xml' },
        members: { 'bench-owner': 'Owner' },
      },
    ],
  };
  const configFile = path.join(tmp, 'config.json');
  await fsp.writeFile(configFile, JSON.stringify(config, null, 2));

  // The marker lets the cleanup find the service's processes that left its tree (crashpad).
  const marker = `RENDERCACHE_BENCH_RUN=${runId}`;
  const env = { ...process.env, PORT: String(port), RENDERCACHE_BENCH_RUN: runId };
  delete env.LOG_LEVEL; // the file's level, not the caller's
  delete env.LOG_FORMAT;
  delete env.REDIS_URL; // the embedded store, always
  delete env.RENDERCACHE_ROLE;

  const cores = os.availableParallelism();
  const chromium = chromiumVersion(env.CHROME_PATH);
  console.log(`rendercache freshness benchmark  run=${runId}  ${cores} cores  Node ${process.version}${chromium ? `  ${chromium}` : ''}`);
  console.log(`deadline ${fmt(deadlineMs / 60_000, 1)} min   load average (1 min) ${fmt(os.loadavg()[0], 2)}`);
  const widgetPages = Math.ceil(pages / WIDGET_EVERY);
  const changedPages = Array.from({ length: pages }, (_, n) => n).filter((n) => n % CHANGE_EVERY === CHANGE_OFFSET);
  console.log(
    `fixture ${fixture.url}: ${pages} pages /p/0 … /p/${pages - 1} (sitemap), ${widgetPages} load ${'/js/widget-1.js'} (n % ${WIDGET_EVERY} === 0)   config ${configFile}`,
  );

  const svc = spawn(process.execPath, [distMain, 'serve', '--config', configFile], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const service = watchService(svc);
  cleanup.addProcess('rendercache', svc, marker);
  const baseUrl = await waitReady(service, `http://127.0.0.1:${port}`, 90_000);
  console.log(`service ${baseUrl} pid ${svc.pid} (embedded store, defaults for render.concurrency and refresh.siteConcurrency)`);

  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(lookupConcurrency, 4) });
  cleanup.addFirst(() => agent.destroy()); // open keep-alive sockets would hold up the service's stop
  const api = apiClient(baseUrl, agent);

  // ---- 1. Full refresh ----
  console.log('\n== 1. Full refresh ==');
  const before1 = fixture.stats();
  const first = await runRefresh(api, 'first', service, cleanup);
  const traffic1 = diffStats(before1, fixture.stats());
  printRefresh(first, traffic1);
  if (first.status.pageCount !== pages) console.log(`  WARNING         the job has ${first.status.pageCount} pages, the sitemap ${pages}`);

  // ---- 2. Changes ----
  console.log('\n== 2. Changes ==');
  const changed = await controlPost(fixture.url, '/_control/change', { pages: changedPages });
  const script = await controlPost(fixture.url, '/_control/change-script', {});
  const state = await controlGet(fixture.url, '/_control/state');
  const changedSet = new Set(changedPages);
  const widgetSet = new Set(Array.from({ length: widgetPages }, (_, k) => k * WIDGET_EVERY));
  if (changed.changed !== changedPages.length || Object.keys(state.changedVersions).length !== changedPages.length) {
    throw new Error(`the fixture changed ${changed.changed} pages, ${changedPages.length} were asked (${JSON.stringify(changed)})`);
  }
  console.log(
    `  data changed    ${changedPages.length} pages (${pct1(changedPages.length, pages)} %, every ${CHANGE_EVERY}th from /p/${CHANGE_OFFSET}), now at data version 2`,
  );
  console.log(`  script changed  /js/widget-1.js, now version ${script.widgetVersion}: ${widgetPages} more pages (${pct1(widgetPages, pages)} %) show it`);

  // ---- 3. Second refresh ----
  console.log('\n== 3. Second refresh ==');
  const before2 = fixture.stats();
  const second = await runRefresh(api, 'second', service, cleanup);
  const traffic2 = diffStats(before2, fixture.stats());
  printRefresh(second, traffic2);
  const outcomes = await pageOutcomes(api, second.status.id, changedSet, widgetSet, cleanup);

  // ---- 4. Figures ----
  const speedup = first.seconds > 0 && second.seconds > 0 ? first.seconds / second.seconds : null;
  const unchangedCount = typeof second.status.unchangedCount === 'number' ? second.status.unchangedCount : null;
  // A machine keeps fresh every page it can refresh in an hour, at this second refresh's
  // pace (one hour of changes, ~5%, between two refreshes; this one had 6%). Bounded by the
  // renders alone: the changed 5% are rendered at the full-refresh pace.
  const measuredPerHour = second.pagesPerSec * 3600;
  const renderBoundPerHour = (first.pagesPerSec * 3600) / HOURLY_CHANGE;
  const keptFreshPerHour = Math.min(measuredPerHour, renderBoundPerHour);
  console.log('\n== 4. Figures ==');
  console.log(`  first refresh   ${fmt(first.pagesPerSec, 2)} pages/s   (${first.status.pageCount} pages in ${fmt(first.seconds, 1)} s)`);
  console.log(`  second refresh  ${fmt(second.pagesPerSec, 2)} pages/s   (${second.status.pageCount} pages in ${fmt(second.seconds, 1)} s)`);
  console.log(`  ratio           ${fmt(speedup, 2)}x faster   ${verdict(speedup !== null && speedup >= TARGETS.speedup, `target >= ${TARGETS.speedup}x`)}`);
  console.log(
    `  unchangedCount  ${unchangedCount === null ? 'n/a (feature not in this build)' : `${unchangedCount} of ${second.status.pageCount} (expected ${pages - changedSet.size - widgetSet.size})`}   completedCount ${second.status.completedCount}, failedCount ${second.status.failedCount}`,
  );
  if (outcomes.present) {
    console.log(
      `  page outcomes   ${Object.entries(outcomes.counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(
          ', ',
        )}   (changed pages not re-rendered: ${outcomes.changedNotRendered}; unchanged pages re-rendered: ${outcomes.unchangedRendered}${outcomes.unchangedRenderedPages.length > 0 ? `: ${outcomes.unchangedRenderedPages.join(' ')}${outcomes.unchangedRendered > outcomes.unchangedRenderedPages.length ? ' …' : ''}` : ''})`,
    );
  } else {
    console.log(`  page outcomes   n/a (no \`outcome\` on the job's pages in this build)`);
  }
  console.log(
    `  kept fresh      ${fmtInt(keptFreshPerHour)} pages/hour on this ${cores}-core machine at a ${HOURLY_CHANGE * 100} % hourly change rate${cores !== 2 ? '  (NOTE: not a 2-core machine)' : ''}`,
  );
  console.log(
    `                  = min(pages / second-refresh seconds × 3600, first-refresh pages/s × 3600 / ${HOURLY_CHANGE}) = min(${pages} / ${fmt(second.seconds, 1)} × 3600, ${fmt(first.pagesPerSec, 2)} × 3600 / ${HOURLY_CHANGE}) = min(${fmtInt(measuredPerHour)}, ${fmtInt(renderBoundPerHour)})`,
  );
  console.log(
    `                  (a site of that size, refreshed hourly, takes the whole hour at this pace; the bound: the changed 5 % alone must be rendered in Chromium, at the full-refresh pace)`,
  );

  // ---- 5. Every page looked up ----
  console.log(`\n== 5. Every page looked up: GET /render?url=, ${lookupConcurrency} at once ==`);
  const check = await checkAllPages({ baseUrl, fixture, pages, agent, concurrency: lookupConcurrency, cleanup });
  console.log(`  looked up       ${pages} pages in ${fmt(check.seconds, 1)} s   (cache header: ${fmtCounts(check.cacheHeader)})`);
  console.log(`  changed pages   ${check.changedOk}/${check.changed} serve their new content   (data ${changedSet.size}, widget ${widgetSet.size})`);
  console.log(`  unchanged pages ${check.unchangedOk}/${pages - check.changed} serve correct content`);
  console.log(`  stale pages     ${check.stale}   ${verdict(check.stale === TARGETS.stale, 'target 0')}   (changed pages still showing old content)`);
  console.log(
    `  wrong pages     ${check.wrong}   ${verdict(check.wrong === TARGETS.wrong, 'target 0')}   (anything else incorrect${check.wrong ? `: ${fmtCounts(check.wrongReasons)}` : ''})`,
  );
  for (const s of check.samples) console.log(`    e.g. /p/${s.n}: ${s.kind} (${s.reason})`);

  const svcLog = service.summary();
  if (svcLog.warnOrError > 0) {
    console.log(`\nservice logged ${svcLog.warnOrError} warning/error lines; first ones:`);
    for (const l of svcLog.first) console.log(`  ${l.slice(0, 300)}`);
  }

  const targets = {
    speedup: { target: `>= ${TARGETS.speedup}`, value: round(speedup, 2), met: speedup !== null && speedup >= TARGETS.speedup },
    stalePages: { target: TARGETS.stale, value: check.stale, met: check.stale === TARGETS.stale },
    wrongPages: { target: TARGETS.wrong, value: check.wrong, met: check.wrong === TARGETS.wrong },
  };
  console.log(
    `\ntargets: ${Object.entries(targets)
      .map(([k, t]) => `${k} ${t.value} (${t.target}) ${t.met ? 'MET' : 'MISSED'}`)
      .join('; ')}`,
  );

  return {
    bench: 'rendercache-freshness',
    runId,
    startedAt,
    machine: { cores, node: process.version, chromium },
    pages,
    changes: { dataPages: changedSet.size, widgetPages: widgetSet.size, widgetVersion: script.widgetVersion },
    first: refreshSummary(first, traffic1),
    second: refreshSummary(second, traffic2),
    speedup: round(speedup, 2),
    unchangedCount,
    outcomes: outcomes.present ? { ...outcomes.counts, changedNotRendered: outcomes.changedNotRendered, unchangedRendered: outcomes.unchangedRendered } : null,
    keptFreshPagesPerHour: {
      value: Math.round(keptFreshPerHour),
      formula: `min(pages / secondSeconds * 3600, firstPagesPerSec * 3600 / ${HOURLY_CHANGE})`,
      measured: Math.round(measuredPerHour),
      renderBound: Math.round(renderBoundPerHour),
      hourlyChange: HOURLY_CHANGE,
    },
    lookups: {
      seconds: round(check.seconds, 1),
      cacheHeader: check.cacheHeader,
      stale: check.stale,
      wrong: check.wrong,
      wrongReasons: check.wrongReasons,
      changed: check.changed,
      changedOk: check.changedOk,
      unchangedOk: check.unchangedOk,
    },
    targets,
    serviceLog: svcLog,
  };
}

// ---------------------------------------------------------------------------------
// Refresh jobs
// ---------------------------------------------------------------------------------
/** Starts a refresh of the site, polls it until it ends, prints progress; its status and time. */
async function runRefresh(api, label, service, cleanup) {
  cleanup.check();
  const t0 = performance.now();
  const started = await api.json('POST', `/sites/${SITE}/refresh`, { headers: { prefer: 'respond-async' }, expect: [202] });
  const id = started.id;
  if (!id) throw new Error(`the refresh answered no job id: ${JSON.stringify(started)}`);
  console.log(`  job ${id} (${label} refresh) started`);
  let status = started;
  let lastPrint = performance.now();
  let lastDone = 0;
  while (['pending', 'processing'].includes(status.progress)) {
    cleanup.check();
    if (service.exited) throw new Error(`rendercache exited during the ${label} refresh (${JSON.stringify(service.exited)}):\n${service.tail.join('\n')}`);
    await sleep(POLL_MS);
    status = await api.json('GET', `/sites/_status/${id}`);
    const now = performance.now();
    if (now - lastPrint >= PROGRESS_EVERY_MS) {
      const done = status.completedCount + status.failedCount;
      const rate = ((done - lastDone) * 1000) / (now - lastPrint);
      const left = status.pageCount - done;
      console.log(
        `  ${fmt((now - t0) / 1000, 0).padStart(5)} s  ${status.progress.padEnd(10)} ${done}/${status.pageCount} pages (${status.completedPercentage} %), ${status.failedCount} failed${typeof status.unchangedCount === 'number' ? `, ${status.unchangedCount} unchanged` : ''}   ${fmt(rate, 1)} pages/s${rate > 0 && left > 0 ? `, ~${fmt(left / rate, 0)} s left` : ''}`,
      );
      lastPrint = now;
      lastDone = done;
    }
  }
  const clientSeconds = (performance.now() - t0) / 1000;
  // The job's own start and end (the server's clock) when it has them: a poll every 500 ms
  // would otherwise add up to half a second to a short refresh.
  const serverSeconds = status.startTime && status.endTime ? (Date.parse(status.endTime) - Date.parse(status.startTime)) / 1000 : NaN;
  const seconds = Number.isFinite(serverSeconds) && serverSeconds > 0 ? serverSeconds : clientSeconds;
  return { status, seconds, clientSeconds, timedBy: seconds === serverSeconds ? 'job startTime/endTime' : 'client', pagesPerSec: status.pageCount / seconds };
}

function printRefresh(r, traffic) {
  const s = r.status;
  console.log(
    `  ended ${s.progress}: ${s.pageCount} pages in ${fmt(r.seconds, 1)} s (${r.timedBy}; ${fmt(r.clientSeconds, 1)} s as polled) = ${fmt(r.pagesPerSec, 2)} pages/s   completed ${s.completedCount}, failed ${s.failedCount}${typeof s.unchangedCount === 'number' ? `, unchanged ${s.unchangedCount}` : ''}`,
  );
  if (s.error) console.log(`  error           ${s.error.title}: ${s.error.detail}`);
  console.log(`  fixture traffic ${fmtTraffic(traffic)}`);
}

function refreshSummary(r, traffic) {
  const s = r.status;
  return {
    jobId: s.id,
    progress: s.progress,
    pageCount: s.pageCount,
    completedCount: s.completedCount,
    failedCount: s.failedCount,
    unchangedCount: typeof s.unchangedCount === 'number' ? s.unchangedCount : null,
    seconds: round(r.seconds, 2),
    timedBy: r.timedBy,
    pagesPerSec: round(r.pagesPerSec, 2),
    fixtureTraffic: traffic,
  };
}

/** The `outcome` of every page of a job (…/pages, 250 at a time), when the build has it. */
async function pageOutcomes(api, jobId, changedSet, widgetSet, cleanup) {
  const counts = {};
  let present = false;
  let changedNotRendered = 0;
  let unchangedRendered = 0;
  const unchangedRenderedPages = [];
  for (let offset = 0; ; offset += 250) {
    cleanup.check();
    const list = await api.json('GET', `/sites/_status/${jobId}/pages?offset=${offset}&limit=250`);
    for (const item of list.items ?? []) {
      if (item.outcome === undefined) continue;
      present = true;
      counts[item.outcome] = (counts[item.outcome] ?? 0) + 1;
      const n = pageNumber(item.pageUrl);
      const changed = changedSet.has(n) || widgetSet.has(n);
      if (changed && item.outcome !== 'rendered') changedNotRendered++;
      if (!changed && item.outcome === 'rendered') {
        unchangedRendered++;
        if (unchangedRenderedPages.length < 10) unchangedRenderedPages.push(new URL(item.pageUrl).pathname);
      }
    }
    if (!list.hasMore || !(list.items?.length > 0)) break;
    if (!present && offset === 0) break; // no outcome on the first page of items: none anywhere
  }
  return { present, counts, changedNotRendered, unchangedRendered, unchangedRenderedPages };
}

// ---------------------------------------------------------------------------------
// Looking every page up
// ---------------------------------------------------------------------------------
async function checkAllPages({ baseUrl, fixture, pages, agent, concurrency, cleanup }) {
  const cacheHeader = {};
  const wrongReasons = {};
  const samples = [];
  let stale = 0;
  let wrong = 0;
  let changedOk = 0;
  let unchangedOk = 0;
  let changedCount = 0;
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  let lastPrint = t0;
  const note = (n, kind, reason) => {
    if (kind === 'stale') stale++;
    else {
      wrong++;
      wrongReasons[reason.replace(/[\d]+/g, '#')] = (wrongReasons[reason.replace(/[\d]+/g, '#')] ?? 0) + 1;
    }
    if (samples.length < 5) samples.push({ n, kind, reason });
  };
  await Promise.all(
    Array.from({ length: Math.min(concurrency, pages) }, async () => {
      while (next < pages) {
        cleanup.check();
        const n = next++;
        const pageUrl = `${fixture.url}/p/${n}`;
        const want = fixture.expected(n);
        // Changed: what the fixture now has differs from what the first refresh rendered
        // (every page started at data version 1 and widget version 1).
        const changed = want.dataVersion > 1 || (want.widgetVersion ?? 1) > 1;
        if (changed) changedCount++;
        let r;
        try {
          r = await get(`${baseUrl}/render?url=${encodeURIComponent(pageUrl)}`, { agent, timeoutMs: 60_000 });
        } catch (err) {
          note(n, 'wrong', `lookup failed: ${String(err?.message ?? err).slice(0, 80)}`);
          continue;
        } finally {
          done++;
        }
        const cache = r.headers['x-rendercache-cache'] ?? '-';
        cacheHeader[cache] = (cacheHeader[cache] ?? 0) + 1;
        const verdictOf = judge(r, n, want, cache);
        if (verdictOf.ok) {
          if (changed) changedOk++;
          else unchangedOk++;
        } else note(n, verdictOf.old ? 'stale' : 'wrong', verdictOf.reason);
        const now = performance.now();
        if (now - lastPrint >= PROGRESS_EVERY_MS) {
          console.log(`  ${fmt((now - t0) / 1000, 0).padStart(5)} s  ${done}/${pages} looked up, ${stale} stale, ${wrong} wrong`);
          lastPrint = now;
        }
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, cacheHeader, stale, wrong, wrongReasons, changed: changedCount, changedOk, unchangedOk, samples };
}

/**
 * Is the answer page n as the fixture has it now? `old`: it is well-formed but shows an
 * older data or widget version than the fixture has now (stale: the page changed).
 */
function judge(r, n, want, cache) {
  if (r.status !== 200) return { ok: false, reason: `status ${r.status}` };
  const html = r.body.toString('utf8');
  const contents = [...html.matchAll(/<main id="content" data-page="(\d+)" data-version="(\d+)">/g)];
  if (contents.length !== 1) return { ok: false, reason: `${contents.length} content markers` };
  const [, page, version] = contents[0];
  if (Number(page) !== n) return { ok: false, reason: `content of page ${page}` };
  if (!html.includes(`Content of page ${n} at data version ${version}.`)) return { ok: false, reason: 'content text does not match its version' };
  const widgets = [...html.matchAll(/<aside id="widget" data-widget-version="(\d+)">Widget version (\d+)<\/aside>/g)];
  if (want.widgetVersion === null && widgets.length > 0) return { ok: false, reason: 'a widget on a page without one' };
  if (want.widgetVersion !== null && widgets.length !== 1) return { ok: false, reason: `${widgets.length} widget markers` };
  const dataOld = Number(version) < want.dataVersion;
  const widgetOld = want.widgetVersion !== null && Number(widgets[0][1]) < want.widgetVersion;
  if (dataOld || widgetOld) {
    return {
      ok: false,
      old: true,
      reason: `data v${version}/${want.dataVersion}${want.widgetVersion !== null ? `, widget v${widgets[0][1]}/${want.widgetVersion}` : ''}`,
    };
  }
  if (Number(version) !== want.dataVersion) return { ok: false, reason: 'data version from the future' };
  if (want.widgetVersion !== null && (Number(widgets[0][1]) !== want.widgetVersion || widgets[0][2] !== widgets[0][1])) {
    return { ok: false, reason: 'widget version does not match' };
  }
  // A miss is rendered on the spot: the content is right, but the refresh did not cache it.
  if (cache !== 'hit') return { ok: false, reason: `served as "${cache}", not from the cache` };
  return { ok: true };
}

const pageNumber = (url) => Number(/\/p\/(\d+)(?:[?#]|$)/.exec(url ?? '')?.[1] ?? NaN);

// ---------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------
function apiClient(baseUrl, agent) {
  return {
    async json(method, pathname, { headers = {}, body, expect = [200] } = {}) {
      const r = await request(`${baseUrl}${API}${pathname}`, {
        method,
        agent,
        timeoutMs: 30_000,
        headers: { authorization: `Bearer ${TOKEN}`, ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      if (!expect.includes(r.status)) throw new Error(`${method} ${pathname}: ${r.status} ${r.body.toString('utf8').slice(0, 500)}`);
      return JSON.parse(r.body.toString('utf8'));
    },
  };
}

async function controlPost(fixtureUrl, pathname, body) {
  const r = await request(`${fixtureUrl}${pathname}`, {
    method: 'POST',
    agent: false,
    timeoutMs: 30_000,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (r.status !== 200) throw new Error(`POST ${pathname}: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
  return JSON.parse(r.body.toString('utf8'));
}

async function controlGet(fixtureUrl, pathname) {
  const r = await request(`${fixtureUrl}${pathname}`, { method: 'GET', agent: false, timeoutMs: 30_000 });
  if (r.status !== 200) throw new Error(`GET ${pathname}: ${r.status}`);
  return JSON.parse(r.body.toString('utf8'));
}

const get = (url, { agent, timeoutMs }) => request(url, { method: 'GET', agent, timeoutMs });

function request(url, { method, agent, timeoutMs, headers = {}, body }) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(url, { method, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** What a refresh made the fixture serve: requests per kind, 304s, and how many came from Chromium. */
function diffStats(a, b) {
  const d = (group) => Object.fromEntries(Object.keys(b[group]).map((k) => [k, b[group][k] - a[group][k]]));
  return { requests: d('requests'), notModified: d('notModified'), browser: d('browser'), node: d('node') };
}

function fmtTraffic(t) {
  const r = t.requests;
  return `${r.total} requests: html ${r.html}, data ${r.data}, script ${r.script}, sitemap ${r.sitemap}, other ${r.other}; 304 ${t.notModified.total} (data ${t.notModified.data}, script ${t.notModified.script}, html ${t.notModified.html}); from Chromium ${t.browser.total}, from Node ${t.node.total}`;
}

// ---------------------------------------------------------------------------------
// Service process
// ---------------------------------------------------------------------------------
function watchService(child) {
  const state = { listeningUrl: null, exited: null, warnOrError: 0, first: [], tail: [] };
  const onLine = (line) => {
    if (!line.trim()) return;
    state.tail.push(line);
    if (state.tail.length > 20) state.tail.shift();
    let rec = null;
    try {
      rec = JSON.parse(line);
    } catch {
      /* not JSON: stderr text */
    }
    if (rec?.msg === 'rendercache listening' && rec.url) state.listeningUrl = rec.url;
    if (!rec || rec.level >= 40) {
      state.warnOrError++;
      if (state.first.length < 5) state.first.push(line);
    }
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
  }
  child.once('exit', (code, signal) => {
    state.exited = { code, signal };
  });
  state.summary = () => ({ warnOrError: state.warnOrError, first: [...state.first] });
  return state;
}

async function waitReady(service, fallbackUrl, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (service.exited) {
      throw new Error(`rendercache exited (${JSON.stringify(service.exited)}) before it was ready; last output:\n${service.tail.join('\n')}`);
    }
    const base = service.listeningUrl ?? fallbackUrl;
    try {
      const r = await get(`${base}/readyz`, { agent: false, timeoutMs: 2_000 });
      if (r.status === 200) return base;
    } catch {
      /* not listening yet */
    }
    await sleep(200);
  }
  throw new Error(`rendercache was not ready within ${timeoutMs / 1000} s; last output:\n${service.tail.join('\n')}`);
}

function chromiumVersion(configured) {
  const bin =
    configured ||
    ['/usr/lib/chromium/chromium-headless-shell', '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => fs.existsSync(p));
  if (!bin) return null;
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 15_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

// ---------------------------------------------------------------------------------
// Cleanup: every child by pid, SIGTERM first, then SIGKILL of whatever is left of its tree
// (its descendants, and the processes carrying its marker in their environment: Chromium's
// crashpad handlers double-fork and are re-parented to init).
// ---------------------------------------------------------------------------------
class Cleanup {
  constructor() {
    this.tasks = []; // run last-in first-out, after the processes are stopped
    this.firstTasks = []; // run before the processes are stopped
    this.processes = []; // {name, child, marker}
    this.done = null;
  }

  add(fn) {
    this.tasks.push(fn);
  }
  addFirst(fn) {
    this.firstTasks.push(fn);
  }
  addProcess(name, child, marker) {
    this.processes.push({ name, child, marker });
    if (this.done) this.stopProcess(child, marker).catch(() => {}); // started after an abort
  }
  /** Throws once the run is being stopped (deadline, signal): no new work after that. */
  check() {
    if (this.done) throw new Error('run aborted');
  }

  async stopProcess(child, marker) {
    const alive = () => child.exitCode === null && child.signalCode === null;
    const table = await processTable();
    const tree = new Map(descendantsOf(child.pid, table).map((pid) => [pid, table.get(pid).start]));
    if (marker) for (const pid of await markedPids(table, marker)) if (pid !== child.pid) tree.set(pid, table.get(pid).start);
    if (child.pid && alive()) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const gone = await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]);
      if (!gone && alive()) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        await Promise.race([exited, sleep(2_000)]);
      }
    }
    // Leftovers: SIGKILL by pid, only if the pid still belongs to the same process (same start time).
    await sleep(200);
    const after = await processTable();
    if (marker) for (const pid of await markedPids(after, marker)) if (pid !== child.pid) tree.set(pid, after.get(pid).start);
    let killed = 0;
    for (const [pid, start] of tree) {
      const now = after.get(pid);
      if (now && now.start === start && now.state !== 'Z') {
        try {
          process.kill(pid, 'SIGKILL');
          killed++;
        } catch {
          /* gone */
        }
      }
    }
    return killed;
  }

  run() {
    this.done ??= (async () => {
      for (const fn of this.firstTasks) {
        try {
          await fn();
        } catch (err) {
          console.error(`bench:freshness: cleanup: ${String(err)}`);
        }
      }
      for (const { name, child, marker } of this.processes.reverse()) {
        try {
          const killed = await this.stopProcess(child, marker);
          if (killed) console.error(`bench:freshness: ${name}: SIGKILLed ${killed} leftover process(es)`);
        } catch (err) {
          console.error(`bench:freshness: stopping ${name} (pid ${child.pid}): ${String(err)}`);
        }
      }
      for (const fn of this.tasks.reverse()) {
        try {
          await fn();
        } catch (err) {
          console.error(`bench:freshness: cleanup: ${String(err)}`);
        }
      }
    })();
    return this.done;
  }
}

/** All processes: pid -> {ppid, start, state} (start = starttime in clock ticks, tells reused pids apart). */
async function processTable() {
  const table = new Map();
  const names = (await fsp.readdir('/proc')).filter((n) => /^\d+$/.test(n));
  await Promise.all(
    names.map(async (n) => {
      try {
        const s = await fsp.readFile(`/proc/${n}/stat`, 'utf8');
        const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[0] = field 3 (state)
        table.set(Number(n), { ppid: Number(f[1]), start: f[19], state: f[0] });
      } catch {
        /* gone */
      }
    }),
  );
  return table;
}

function descendantsOf(root, table) {
  const kids = new Map();
  for (const [pid, { ppid }] of table) {
    if (!kids.has(ppid)) kids.set(ppid, []);
    kids.get(ppid).push(pid);
  }
  const out = [];
  const stack = [...(kids.get(root) ?? [])];
  while (stack.length) {
    const pid = stack.pop();
    out.push(pid);
    stack.push(...(kids.get(pid) ?? []));
  }
  return out;
}

/** Our own processes whose environment carries `marker` (NAME=value). */
async function markedPids(table, marker) {
  const uid = process.getuid?.();
  const out = [];
  await Promise.all(
    [...table.keys()].map(async (pid) => {
      if (pid === process.pid) return;
      try {
        if (uid !== undefined && (await fsp.stat(`/proc/${pid}`)).uid !== uid) return;
        const env = await fsp.readFile(`/proc/${pid}/environ`, 'utf8');
        if (env.split('\0').includes(marker)) out.push(pid);
      } catch {
        /* gone, or not ours */
      }
    }),
  );
  return out;
}

// ---------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function positiveInt(v, name) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`${name} must be a positive integer, got "${v}"`);
    process.exit(2);
  }
  return n;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (v, d = 0) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : null);
const fmt = (v, d = 0) => (v == null || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));
const fmtInt = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
const pct1 = (a, b) => fmt((100 * a) / b, 1);
const fmtCounts = (o) =>
  Object.entries(o)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';
const verdict = (ok, label) => `[${label}: ${ok ? 'MET' : 'MISSED'}]`;

process.exit(await main());
