#!/usr/bin/env node
// rendercache benchmark. Run through `npm run bench` (which builds dist/ first), or
//
//   node bench/run.mjs [--pages 200] [--heavy-pages 100] [--kinds light,heavy] [--concurrency 8]
//                      [--render-concurrency R] [--no-bare] [--bare-block cdp|intercept] [--cold-only]
//                      [--service-node-args="--cpu-prof --cpu-prof-dir=DIR"]
//
// (--render-concurrency sets the service's render.concurrency, default its own default;
// --no-bare skips the bare loop; --bare-block intercept makes the loop block through
// puppeteer's request interception instead of CDP Fetch patterns; --cold-only skips
// section 2; --service-node-args passes node flags to the service, for a profile.)
// Sections, in this order:
//   1. Cold render, for each page kind of bench/fixture-site.mjs (light: /page/<i>, one
//      fetch; heavy: /heavy/<i>, 5 stylesheets, 10 scripts and 15 fetch/XHR calls; both
//      reference an image and a font):
//      a. rendercache: every page through GET /render?url=, with --concurrency keep-alive
//         client connections; pages/s, CPU time per page of the service's whole tree
//         (node and Chromium, reaped children included, from /proc/<pid>/stat, per process
//         kind too), latency, correctness, the image/font requests that reached the
//         fixture, and the peak RSS/PSS of the tree, sampled every 200 ms from /proc, with
//         the PSS per process kind (node, browser, renderer, zygote, gpu, utility:...) at
//         the peak, and the peak PSS the tree would have alone on the machine.
//      b. the bare puppeteer loop (bench/bare-loop.mjs, a child process: the project's
//         puppeteer, the same Chromium binary, --concurrency reused tabs, images, media
//         and fonts blocked through CDP, a 50 ms network-idle window, page.content()) over
//         the very same page list, after rendercache's pass (never at the same time); the
//         same figures, its CPU time measured the same way over its own tree.
//      c. the ratios: rendercache's pages/s as % of the loop's (target >= 90 %) and its
//         CPU per page as a multiple of the loop's (target <= 1.15x), and the CPU per page
//         of each process kind side by side. A summary table of every kind follows.
//   2. Cache hits under load: wrk against one cached page on rendercache, then against a
//      bare node:http server (a child process) that answers the same bytes from memory;
//      each gets an unmeasured 2 s wrk first. Skipped (with how to install it) without wrk.
//   3. Scale and memory growth: bench/scale.mjs and bench/memory-growth.mjs, run after this
//      script by `npm run bench`.
// Prints human-readable figures, then one JSON line (cold: the light kind, heavy: the
// heavy kind, bare and vsBare: the loop's figures and the ratios per kind); also writes
// that JSON to bench/results/. Only 127.0.0.1 is used. Every child process is stopped by
// its pid at the end (also on error or Ctrl-C), and the whole run is bounded by
// RUN_DEADLINE_MS.
//
// Internal mode: `node bench/run.mjs --bare-server FILE` is the bare server of section 2.

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
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { PAGE_KINDS, isRendered, startFixture } from './fixture-site.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, '..');
const RUN_DEADLINE_MS = 15 * 60_000;
const SAMPLE_EVERY_MS = 200;
const ALONE_EVERY_SAMPLES = 5;
const WRK_ARGS = ['-t2', '-c64', '-d10s', '--latency'];
const WRK_WARMUP_ARGS = ['-t2', '-c64', '-d2s']; // not measured
const TARGETS = { coldPagesPerSec: 12, peakPssMb: 500, hitRatioPct: 80, hitP99Ms: 10, throughputPctOfBare: 90, cpuRatioToBare: 1.15 };

// Entry point: at the end of this file (classes and helpers below must be initialised first).

// ---------------------------------------------------------------------------------
// Bare server (child process): the same status, headers and body for every request.
// ---------------------------------------------------------------------------------
function bareServer(file) {
  const spec = JSON.parse(fs.readFileSync(file, 'utf8'));
  const body = Buffer.from(spec.bodyBase64, 'base64');
  const headers = spec.headers; // flat [name, value, ...] as rendercache sent them
  const server = http.createServer((req, res) => {
    res.writeHead(spec.status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`);
  });
  // Stop with the parent: when it closes our stdin, on SIGTERM, or after 15 minutes.
  const bye = () => process.exit(0);
  process.stdin.on('end', bye).on('close', bye).resume();
  process.once('SIGTERM', bye);
  setTimeout(bye, 15 * 60_000).unref();
}

// ---------------------------------------------------------------------------------
// Benchmark
// ---------------------------------------------------------------------------------
async function runBenchmark() {
  const { values: flags } = parseArgs({
    options: {
      pages: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '8' },
      'render-concurrency': { type: 'string' },
      'heavy-pages': { type: 'string', default: '100' },
      kinds: { type: 'string', default: PAGE_KINDS.join(',') },
      'no-bare': { type: 'boolean', default: false },
      'bare-block': { type: 'string', default: 'cdp' },
      'cold-only': { type: 'boolean', default: false },
      'service-node-args': { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (flags.help) {
    console.log(
      'usage: node bench/run.mjs [--pages N light pages (200)] [--heavy-pages N (100)] [--kinds light,heavy] [--concurrency C client connections and bare-loop tabs (8)] [--render-concurrency R (the service default)] [--no-bare (skip the bare loop)] [--bare-block cdp|intercept (how the loop blocks images, media and fonts)] [--cold-only (skip the cache-hit section)] [--service-node-args="ARGS" (node flags for the service, e.g. --cpu-prof --cpu-prof-dir=DIR)]',
    );
    return;
  }
  const pages = positiveInt(flags.pages, '--pages');
  const clients = positiveInt(flags.concurrency, '--concurrency');
  if (!['cdp', 'intercept'].includes(flags['bare-block'])) {
    console.error(`--bare-block takes cdp or intercept, got "${flags['bare-block']}"`);
    process.exit(2);
  }
  const heavyPages = positiveInt(flags['heavy-pages'], '--heavy-pages');
  const kinds = [...new Set(flags.kinds.split(',').map((k) => k.trim()))];
  if (!kinds.length || kinds.some((k) => !PAGE_KINDS.includes(k))) {
    console.error(`--kinds takes ${PAGE_KINDS.join(', ')} (comma-separated), got "${flags.kinds}"`);
    process.exit(2);
  }
  const renderConcurrency = flags['render-concurrency'] === undefined ? undefined : positiveInt(flags['render-concurrency'], '--render-concurrency');
  const serviceNodeArgs = flags['service-node-args'].split(' ').filter(Boolean);

  const cleanup = new Cleanup();
  const deadline = setTimeout(() => {
    console.error(`\nbench: the run exceeded ${RUN_DEADLINE_MS / 60_000} min; stopping everything`);
    cleanup.run().finally(() => process.exit(2));
  }, RUN_DEADLINE_MS);
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      console.error(`\nbench: ${sig}; stopping everything`);
      cleanup.run().finally(() => process.exit(130));
    });
  }

  let exitCode = 0;
  let result = null;
  try {
    result = await benchmark({
      pages,
      heavyPages,
      kinds,
      withBare: !flags['no-bare'],
      bareBlock: flags['bare-block'],
      clients,
      renderConcurrency,
      serviceNodeArgs,
      coldOnly: flags['cold-only'],
      cleanup,
    });
  } catch (err) {
    if (cleanup.done) console.error('bench: aborted');
    else console.error(`\nbench failed: ${err?.stack ?? err}`);
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
    const file = path.join(BENCH_DIR, 'results', `${result.startedAt.replace(/[:.]/g, '-')}-${result.runId}.json`);
    await fsp.writeFile(file, `${line}\n`);
    console.log(`result written to ${path.relative(REPO, file)}`);
    console.log(line);
  }
  process.exit(exitCode);
}

async function benchmark({ pages, heavyPages, kinds, withBare, bareBlock, clients, renderConcurrency, serviceNodeArgs, coldOnly, cleanup }) {
  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const startedAt = new Date().toISOString();
  const distMain = path.join(REPO, 'dist/cli/main.js');
  if (!fs.existsSync(distMain)) throw new Error('dist/cli/main.js is missing: run `npm run build` (or `npm run bench`)');

  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'rendercache-bench-'));
  cleanup.add(() => fsp.rm(tmp, { recursive: true, force: true }));

  const fixture = await startFixture({ port: 0, pages: Math.max(pages, heavyPages) });
  cleanup.add(() => fixture.close());

  // The service logs at "warn", where its "rendercache listening" line (level info) is
  // not written: so it gets a port chosen here (config and PORT, which would override
  // the file anyway). Should the line appear, its url is used instead.
  const port = await freePort();
  const configFile = path.join(tmp, 'config.json');
  const config = {
    server: { port, host: '127.0.0.1' },
    log: { level: 'warn' },
    backend: 'embedded',
    cache: { dir: path.join(tmp, 'cache') },
    sites: [{ id: 'bench', name: 'Bench', origin: fixture.url }],
    ...(renderConcurrency ? { render: { concurrency: renderConcurrency } } : {}),
  };
  await fsp.writeFile(configFile, JSON.stringify(config, null, 2));

  // The marker lets the sampler find the service's processes that left its tree.
  const marker = `RENDERCACHE_BENCH_RUN=${runId}`;
  const env = { ...process.env, PORT: String(port), RENDERCACHE_BENCH_RUN: runId };
  delete env.LOG_LEVEL; // the file's level, not the caller's
  delete env.REDIS_URL; // the embedded store, always

  const chromium = chromiumVersion(env.CHROME_PATH);
  const loadBefore = round(os.loadavg()[0], 2);
  const busyBefore = await machineBusyPct(1000);
  console.log(`rendercache benchmark  run=${runId}  ${os.availableParallelism()} cores  Node ${process.version}${chromium ? `  ${chromium}` : ''}`);
  console.log(
    `machine CPU busy in the second before the start: ${fmt(busyBefore, 0)} % (load average ${loadBefore})${busyBefore > 15 ? '   NOTE: something else is running; figures may be low' : ''}`,
  );
  console.log(
    `fixture ${fixture.url} (${kinds.map((k) => `${k === 'heavy' ? heavyPages : pages} ${k} pages`).join(', ')})   config ${configFile}${withBare ? '' : '   (no bare loop)'}`,
  );

  const svc = spawn(process.execPath, [...serviceNodeArgs, distMain, 'serve', '--config', configFile], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const service = watchService(svc);
  cleanup.addProcess('rendercache', svc);

  const sampler = new TreeSampler(svc.pid, marker);
  cleanup.addTree(sampler);
  sampler.start('startup');

  const baseUrl = await waitReady(service, `http://127.0.0.1:${port}`, 90_000);
  console.log(`service ${baseUrl} pid ${svc.pid} (render.concurrency: ${renderConcurrency ?? 'default'})`);

  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  cleanup.addFirst(() => agent.destroy()); // open keep-alive sockets would hold up the service's stop
  const lookupUrl = (pageUrl) => `${baseUrl}/render?url=${encodeURIComponent(pageUrl)}`;

  // Warm-up: two renders of URLs outside the measured set, not measured.
  for (const [i, tag] of [
    [0, 'a'],
    [Math.min(1, pages - 1), 'b'],
  ]) {
    const r = await get(lookupUrl(`${fixture.url}/page/${i}?run=${runId}-warmup-${tag}`), { agent, timeoutMs: 60_000 });
    if (r.status !== 200) throw new Error(`warm-up render answered ${r.status}: ${r.body.toString().slice(0, 300)}`);
  }

  // ---- 1. Cold render, each kind: rendercache, then the bare loop (never at the same time) ----
  const byKind = {};
  for (const kind of kinds) {
    cleanup.check();
    const n = kind === 'heavy' ? heavyPages : pages;
    const urls = Array.from({ length: n }, (_, i) => `${fixture.pageUrl(kind, i)}?run=${runId}`);
    const rc = await coldPass({ kind, urls, fixture, sampler, marker, svcPid: svc.pid, lookupUrl, agent, clients, cleanup, baseUrl });
    const bare = withBare ? await barePass({ kind, urls, fixture, tabs: clients, block: bareBlock, tmp, runId, cleanup }) : null;
    const vs = bare ? compareWithBare(kind, rc, bare) : null;
    byKind[kind] = { urls, rc, bare, vs };
  }
  await sampler.stop(); // not during wrk: reading /proc would steal CPU from both servers
  const memAll = sampler.peak();
  const cost = sampler.cost();
  console.log(`\n(rendercache, start-up + warm-up + cold render: peak PSS ${fmt(memAll.pssMb)} MB, RSS ${fmt(memAll.rssMb)} MB)`);
  console.log(`(memory sampler: ${fmt(cost.meanSampleMs, 1)} ms per sample, ${fmt(cost.cpuPctOfOneCore, 1)} % of one core, in a worker thread of the bench)`);
  const rcChromium = chromiumExe(svc.pid, marker);
  if (withBare) printSummary(kinds, byKind, rcChromium, renderConcurrency);

  // ---- 2. Cache hits under load ----
  console.log(`\n== Cache hits under load: wrk ${WRK_ARGS.join(' ')} (after an unmeasured wrk ${WRK_WARMUP_ARGS.join(' ')} each) ==`);
  cleanup.check();
  const hits = coldOnly
    ? (console.log('  skipped (--cold-only)'), { skipped: '--cold-only' })
    : await cacheHits({ pageUrl: byKind[kinds[0]].urls[0], lookup: lookupUrl(byKind[kinds[0]].urls[0]), tmp, cleanup, agent });

  // ---- 3. Scale ----
  const loadAfter = round(os.loadavg()[0], 2);
  console.log(`\nload average (1 min) at the end ${loadAfter} (includes this benchmark's own load)`);

  const svcLog = service.summary();
  if (svcLog.warnOrError > 0) {
    console.log(`\nservice logged ${svcLog.warnOrError} warning/error lines; first ones:`);
    for (const l of svcLog.first) console.log(`  ${l.slice(0, 300)}`);
  }

  return {
    bench: 'rendercache',
    runId,
    startedAt,
    machine: {
      cores: os.availableParallelism(),
      node: process.version,
      chromium,
      busyPctBefore: round(busyBefore, 1),
      loadAvg1Start: loadBefore,
      loadAvg1End: loadAfter,
    },
    // cold: the light kind (as before the heavy kind existed); heavy: the same for the heavy kind.
    cold: byKind.light?.rc ?? null,
    heavy: byKind.heavy?.rc ?? null,
    bare: Object.fromEntries(kinds.map((k) => [k, byKind[k].bare])),
    vsBare: Object.fromEntries(kinds.map((k) => [k, byKind[k].vs])),
    chromium: { rendercache: rcChromium, bare: kinds.map((k) => byKind[k].bare?.chromium.exe).find(Boolean) ?? null },
    peakMemoryWholeRun: memAll,
    samplerCost: cost,
    hits,
    targets: {
      ...(byKind.light
        ? {
            coldPagesPerSec: {
              target: TARGETS.coldPagesPerSec,
              value: byKind.light.rc.pagesPerSec,
              met: byKind.light.rc.pagesPerSec >= TARGETS.coldPagesPerSec,
            },
          }
        : {}),
      ...Object.fromEntries(
        kinds.map((k) => [
          `${k}PeakPssMb`,
          { target: TARGETS.peakPssMb, value: byKind[k].rc.peakMemory.pssMb, met: byKind[k].rc.peakMemory.pssMb <= TARGETS.peakPssMb },
        ]),
      ),
      ...Object.fromEntries(
        kinds.flatMap((k) => {
          const vs = byKind[k].vs;
          if (!vs) return [];
          return [
            [`${k}ThroughputPctOfBare`, { target: TARGETS.throughputPctOfBare, value: vs.throughputPct, met: vs.throughputMet }],
            [`${k}CpuRatioToBare`, { target: TARGETS.cpuRatioToBare, value: vs.cpuRatio, met: vs.cpuMet }],
          ];
        }),
      ),
      hitRatioPct: { target: TARGETS.hitRatioPct, value: hits.ratioPct ?? null, met: hits.ratioPct != null ? hits.ratioPct >= TARGETS.hitRatioPct : null },
      hitP99Ms: { target: TARGETS.hitP99Ms, value: hits.rendercache?.p99Ms ?? null, met: hits.rendercache ? hits.rendercache.p99Ms <= TARGETS.hitP99Ms : null },
    },
    serviceLog: svcLog,
  };
}

const phaseName = (kind) => (kind === 'light' ? 'cold' : `cold-${kind}`);

/** rendercache's cold pass over one kind's pages: prints its figures and returns them. */
/** The service's rendercache_render_concurrency gauge, or null when /metrics does not answer. */
async function serviceRenderConcurrency(baseUrl, agent) {
  try {
    const r = await get(`${baseUrl}/metrics`, { agent, timeoutMs: 10_000 });
    const line = r.body.toString('utf8').match(/^rendercache_render_concurrency (\d+)/m);
    return line ? Number(line[1]) : null;
  } catch {
    return null;
  }
}

async function coldPass({ kind, urls, fixture, sampler, marker, svcPid, lookupUrl, agent, clients, cleanup, baseUrl }) {
  const pages = urls.length;
  const before = fixture.stats();
  sampler.phase(phaseName(kind));
  const cpuBefore = treeCpuSync(svcPid, marker);
  const results = new Array(pages);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(clients, pages) }, async () => {
      while (next < pages) {
        cleanup.check();
        const i = next++;
        try {
          const r = await get(lookupUrl(urls[i]), { agent, timeoutMs: 60_000 });
          results[i] = {
            ms: r.ms,
            status: r.status,
            cache: r.headers['x-rendercache-cache'] ?? '-',
            correct: r.status === 200 && isRendered(kind, r.body.toString('utf8'), i),
          };
        } catch (err) {
          results[i] = { ms: NaN, status: 0, cache: 'error', correct: false, error: String(err?.message ?? err) };
        }
      }
    }),
  );
  const wallS = (performance.now() - t0) / 1000;
  const cpu = cpuDelta(cpuBefore, treeCpuSync(svcPid, marker), pages);
  const renderConcurrency = await serviceRenderConcurrency(baseUrl, agent);
  await sleep(SAMPLE_EVERY_MS + 50); // one more sample at the end of the phase
  sampler.phase(null); // paused while the bare loop runs
  const peakMemory = await sampler.peek(phaseName(kind));
  const fixtureDelta = statsDelta(before, fixture.stats());

  const lat = results
    .map((r) => r.ms)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const byCache = {};
  for (const r of results) byCache[r.cache] = (byCache[r.cache] ?? 0) + 1;
  const errors = results.filter((r) => r.error);
  const badStatus = results.filter((r) => !r.error && r.status !== 200);
  const cold = {
    kind,
    pages,
    clients,
    wallSeconds: round(wallS, 2),
    pagesPerSec: round(pages / wallS, 2),
    cpuMsPerPage: round(cpu.msPerPage, 1),
    cpuMsPerPageByProcess: cpu.byKindMsPerPage,
    p50Ms: round(pct(lat, 0.5)),
    p95Ms: round(pct(lat, 0.95)),
    maxMs: round(lat.at(-1)),
    correct: results.filter((r) => r.correct).length,
    cacheHeader: byCache,
    errors: errors.length,
    non200: badStatus.length,
    fixtureRequests: fixtureDelta,
    peakMemory,
    renderConcurrency,
  };

  console.log(`\n== Cold render, ${kind} pages (${KIND_TEXT[kind]}): ${pages} pages, ${clients} client connections (keep-alive) ==`);
  console.log(
    `  throughput      ${fmt(cold.pagesPerSec, 2)} pages/s in ${fmt(cold.wallSeconds, 1)} s${kind === 'light' ? `   ${verdict(cold.pagesPerSec >= TARGETS.coldPagesPerSec, `target >= ${TARGETS.coldPagesPerSec} pages/s`)}` : ''}`,
  );
  console.log(
    `  CPU per page    ${fmt(cold.cpuMsPerPage, 1)} ms   (user + system time of the whole tree, node and Chromium, reaped children included, over the pass / pages)`,
  );
  console.log(`  latency         p50 ${cold.p50Ms} ms   p95 ${cold.p95Ms} ms   max ${cold.maxMs} ms`);
  console.log(
    `  renders at once ${renderConcurrency ?? 'n/a'} at the end of the pass   (rendercache_render_concurrency: render.concurrency, or what "auto" learned)`,
  );
  console.log(`  correct pages   ${cold.correct}/${pages}   (${CHECK_TEXT[kind]})`);
  console.log(
    `  cache header    ${Object.entries(byCache)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  if (errors.length || badStatus.length) {
    console.log(
      `  failures        ${errors.length} errors, ${badStatus.length} non-200 ${[...errors, ...badStatus]
        .slice(0, 3)
        .map((r) => r.error ?? r.status)
        .join('; ')}`,
    );
  }
  printFixtureRequests(fixtureDelta);
  printMemory(peakMemory);
  return cold;
}

function printFixtureRequests(d) {
  const others = Object.entries(d)
    .filter(([k, v]) => !['img', 'font', 'total'].includes(k) && v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(`  reached fixture img ${d.img}, font ${d.font}   ${verdict(d.img === 0 && d.font === 0, 'should be 0')}   (${others})`);
}

function printMemory(m) {
  console.log(
    `  peak memory     PSS ${fmt(m.pssMb)} MB   RSS ${fmt(m.rssMb)} MB   (${m.processes} processes, ${m.samples} samples @ ${SAMPLE_EVERY_MS} ms)   ${verdict(m.pssMb <= TARGETS.peakPssMb, `target PSS <= ${TARGETS.peakPssMb} MB`)}`,
  );
  console.log(
    `                  as if alone  ${fmt(m.pssAloneMb)} MB   (file and shared pages counted once within the tree; other processes mapping the same files lower the plain PSS)`,
  );
  console.log(
    `                  at the peak: ${Object.entries(m.pssAtPeakByKind)
      .map(([kind, k]) => `${kind} ${fmt(k.pssMb)}${k.processes > 1 ? ` (${k.processes})` : ''}`)
      .join(', ')} MB`,
  );
}

/**
 * The bare puppeteer loop (bench/bare-loop.mjs) over the same pages, in a child process
 * of its own: its start-up and warm-up first, then the measured pass between a "go" and
 * its "done", with the CPU time of its tree read at both ends and its memory sampled.
 */
async function barePass({ kind, urls, fixture, tabs, block, tmp, runId, cleanup }) {
  cleanup.check();
  const file = path.join(tmp, `bare-${kind}.json`);
  const warmup = ['a', 'b'].map((tag, k) => `${fixture.pageUrl(kind, Math.min(k, urls.length - 1))}?run=${runId}-bare-warmup-${tag}`);
  await fsp.writeFile(file, JSON.stringify({ kind, urls, warmup }));
  const bareRun = `${runId}-${kind}`;
  const marker = `RENDERCACHE_BENCH_BARE=${bareRun}`;
  const child = spawn(process.execPath, [path.join(BENCH_DIR, 'bare-loop.mjs'), '--urls-file', file, '--tabs', String(tabs), '--block', block, '--wait-go'], {
    cwd: REPO,
    env: { ...process.env, RENDERCACHE_BENCH_BARE: bareRun },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  cleanup.addProcess(`bare loop (${kind})`, child);
  const messages = jsonMessages(child, 'bare loop');
  const sampler = new TreeSampler(child.pid, marker);
  cleanup.addTree(sampler);

  const ready = await messages.next('ready', 120_000);
  const exe = exeOf(ready.browserPid);
  sampler.start('bare');
  const before = fixture.stats();
  const cpuBefore = treeCpuSync(child.pid, marker);
  const t0 = performance.now();
  child.stdin.write('go\n');
  const done = await messages.next('done', 15 * 60_000);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = cpuDelta(cpuBefore, treeCpuSync(child.pid, marker), urls.length);
  await sleep(SAMPLE_EVERY_MS + 50);
  await sampler.stop();
  const fixtureDelta = statsDelta(before, fixture.stats());
  child.stdin.end(); // it closes Chromium and exits
  await Promise.race([new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve))), sleep(20_000)]);
  await cleanup.stopProcess(child); // whatever is left of its tree

  const lat = done.ms.filter(Number.isFinite).sort((a, b) => a - b);
  const peakMemory = sampler.peak('bare');
  const bare = {
    kind,
    pages: urls.length,
    tabs: ready.tabs,
    block: ready.block,
    chromium: { exe, version: ready.version },
    wallSeconds: round(wallS, 2),
    pagesPerSec: round(urls.length / wallS, 2),
    cpuMsPerPage: round(cpu.msPerPage, 1),
    cpuMsPerPageByProcess: cpu.byKindMsPerPage,
    p50Ms: round(pct(lat, 0.5)),
    p95Ms: round(pct(lat, 0.95)),
    maxMs: round(lat.at(-1)),
    correct: done.correct,
    timedOut: done.timedOut,
    errors: done.errors.length,
    fixtureRequests: fixtureDelta,
    peakMemory,
  };
  console.log(`\n== Bare puppeteer loop, ${kind} pages: ${urls.length} pages, ${bare.tabs} reused tabs ==`);
  const how = ready.block === 'cdp' ? 'failed through CDP Fetch (only they pause)' : "aborted through puppeteer's request interception (every request pauses)";
  console.log(
    `  (${exe ?? ready.executablePath}, ${ready.version}; images, media and fonts ${how}; ready after 50 ms without a request in flight; page.content())`,
  );
  console.log(`  throughput      ${fmt(bare.pagesPerSec, 2)} pages/s in ${fmt(bare.wallSeconds, 1)} s`);
  console.log(`  CPU per page    ${fmt(bare.cpuMsPerPage, 1)} ms   (the same measure: the loop's node process and its Chromium)`);
  console.log(`  latency         p50 ${bare.p50Ms} ms   p95 ${bare.p95Ms} ms   max ${bare.maxMs} ms`);
  console.log(
    `  correct pages   ${bare.correct}/${bare.pages}${bare.timedOut ? `   ${bare.timedOut} reached the deadline` : ''}${bare.errors ? `   ${bare.errors} errors: ${done.errors.slice(0, 2).join('; ')}` : ''}`,
  );
  printFixtureRequests(fixtureDelta);
  console.log(`  peak memory     PSS ${fmt(peakMemory.pssMb)} MB   RSS ${fmt(peakMemory.rssMb)} MB   (${peakMemory.processes} processes)`);
  return bare;
}

/** rendercache against the bare loop for one kind: printed, and returned for the JSON. */
function compareWithBare(kind, rc, bare) {
  const throughputPct = round((rc.pagesPerSec / bare.pagesPerSec) * 100, 1);
  const cpuRatio = round(rc.cpuMsPerPage / bare.cpuMsPerPage, 2);
  const vs = {
    throughputPct,
    throughputMet: throughputPct >= TARGETS.throughputPctOfBare,
    cpuRatio,
    cpuMet: cpuRatio <= TARGETS.cpuRatioToBare,
    cpuMsPerPageExtra: round(rc.cpuMsPerPage - bare.cpuMsPerPage, 1),
  };
  console.log(`\n== rendercache against the bare loop, ${kind} pages (same run, one after the other) ==`);
  console.log(
    `  throughput      ${fmt(rc.pagesPerSec, 2)} / ${fmt(bare.pagesPerSec, 2)} pages/s = ${fmt(throughputPct, 1)} % of the bare loop   ${verdict(vs.throughputMet, `target >= ${TARGETS.throughputPctOfBare} %`)}`,
  );
  console.log(
    `  CPU per page    ${fmt(rc.cpuMsPerPage, 1)} / ${fmt(bare.cpuMsPerPage, 1)} ms = ${fmt(cpuRatio, 2)}× the bare loop   ${verdict(vs.cpuMet, `target <= ${TARGETS.cpuRatioToBare}×`)}`,
  );
  console.log(`  CPU per page by process kind (ms; "reaped" = children that ended, counted in their parent):`);
  const kinds = [...new Set([...Object.keys(rc.cpuMsPerPageByProcess), ...Object.keys(bare.cpuMsPerPageByProcess)])]
    .map((k) => [k, rc.cpuMsPerPageByProcess[k] ?? 0, bare.cpuMsPerPageByProcess[k] ?? 0])
    .filter(([, a, b]) => Math.abs(a) >= 0.05 || Math.abs(b) >= 0.05)
    .sort((x, y) => Math.max(y[1], y[2]) - Math.max(x[1], x[2]));
  console.log(`    ${'process'.padEnd(34)}${'rendercache'.padStart(12)}${'bare'.padStart(9)}${'diff'.padStart(9)}`);
  for (const [k, a, b] of kinds) console.log(`    ${k.padEnd(34)}${fmt(a, 1).padStart(12)}${fmt(b, 1).padStart(9)}${fmt(a - b, 1).padStart(9)}`);
  return vs;
}

function printSummary(kinds, byKind, rcChromium, renderConcurrency) {
  const config = renderConcurrency ? `render.concurrency ${renderConcurrency}` : 'default config';
  console.log(`\n== Summary: rendercache (${config}) against the bare puppeteer loop, same run (${rcChromium ?? 'Chromium'}) ==`);
  const cols = ['kind', 'pages', 'rc pages/s', 'bare pages/s', '% of bare', 'rc CPU ms/p', 'bare CPU ms/p', '× bare', 'rc PSS MB', 'correct rc/bare'];
  const w = [7, 7, 12, 13, 11, 13, 14, 8, 11, 16];
  console.log(`  ${cols.map((c, k) => c.padStart(w[k])).join('')}`);
  for (const kind of kinds) {
    const { rc, bare, vs } = byKind[kind];
    if (!bare) continue;
    const row = [
      kind,
      String(rc.pages),
      fmt(rc.pagesPerSec, 2),
      fmt(bare.pagesPerSec, 2),
      `${fmt(vs.throughputPct, 1)} ${vs.throughputMet ? 'ok' : '--'}`,
      fmt(rc.cpuMsPerPage, 1),
      fmt(bare.cpuMsPerPage, 1),
      `${fmt(vs.cpuRatio, 2)} ${vs.cpuMet ? 'ok' : '--'}`,
      fmt(rc.peakMemory.pssMb),
      `${rc.correct}/${bare.correct}`,
    ];
    console.log(`  ${row.map((c, k) => c.padStart(w[k])).join('')}`);
  }
  console.log(
    `  targets: >= ${TARGETS.throughputPctOfBare} % of the bare loop's pages/s, <= ${TARGETS.cpuRatioToBare}× its CPU per page, PSS <= ${TARGETS.peakPssMb} MB; ok = met`,
  );
}

const KIND_TEXT = {
  light: 'one fetch, an image and a font',
  heavy: '5 stylesheets, 10 scripts, 15 fetch/XHR calls, an image and a font',
};
const CHECK_TEXT = {
  light: 'exactly one <div id="rendered" data-page="i"> of the right page',
  heavy: 'exactly one <div id="rendered" data-page="i"> of the right page, with 10 scripts run, 5 stylesheets and 15 calls answered',
};

function statsDelta(before, after) {
  return Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)]));
}

/** JSON lines a child writes on stdout, awaited by their "type". */
function jsonMessages(child, name) {
  const queue = [];
  const waiters = [];
  let stderr = '';
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      const w = waiters.findIndex((x) => x.type === msg.type);
      if (w >= 0) waiters.splice(w, 1)[0].resolve(msg);
      else queue.push(msg);
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  child.once('exit', (code, signal) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`${name} exited (${code ?? signal}) before "${w.type}": ${stderr.trim().slice(-1500)}`));
  });
  return {
    next(type, timeoutMs) {
      const k = queue.findIndex((m) => m.type === type);
      if (k >= 0) return Promise.resolve(queue.splice(k, 1)[0]);
      if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`${name} has exited: ${stderr.trim().slice(-1500)}`));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no "${type}" within ${timeoutMs / 1000} s`)), timeoutMs);
        waiters.push({
          type,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e instanceof Error ? e : new Error(String(e)));
          },
        });
      });
    },
  };
}

/** The executable of a process (its /proc exe link), or null. */
function exeOf(pid) {
  try {
    return pid ? fs.readlinkSync(`/proc/${pid}/exe`) : null;
  } catch {
    return null;
  }
}

/** The executable of the Chromium browser process in the tree of root. */
function chromiumExe(root, marker) {
  const core = new TreeCore(root, marker);
  for (const pid of core.refresh()) if (pid !== root && processKindSync(pid) === 'browser') return exeOf(pid);
  return null;
}

async function cacheHits({ pageUrl, lookup, tmp, cleanup, agent }) {
  // The page as rendercache serves it to a client that sends no Accept-Encoding (like wrk).
  const first = await get(lookup, { agent, timeoutMs: 30_000 });
  if (first.status !== 200) throw new Error(`cached page answered ${first.status}`);
  const state = first.headers['x-rendercache-cache'];
  console.log(`  page            ${pageUrl}   ${first.body.length} bytes, X-Rendercache-Cache: ${state}`);
  if (state !== 'hit') console.log(`  WARNING         expected "hit" for a page rendered in the cold pass`);

  if (!hasWrk()) {
    console.log('  wrk is not installed: skipping this section. Install it with:  apt-get install -y wrk');
    return { skipped: 'wrk not installed' };
  }

  // Bare node:http server with the same status, headers and body, in its own process.
  const drop = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);
  const headers = [];
  for (let k = 0; k < first.rawHeaders.length; k += 2) {
    if (!drop.has(first.rawHeaders[k].toLowerCase())) headers.push(first.rawHeaders[k], first.rawHeaders[k + 1]);
  }
  const specFile = path.join(tmp, 'bare.json');
  await fsp.writeFile(specFile, JSON.stringify({ status: first.status, headers, bodyBase64: first.body.toString('base64') }));
  const bare = spawn(process.execPath, [fileURLToPath(import.meta.url), '--bare-server', specFile], { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanup.addProcess('bare server', bare);
  const bareUrl = await firstJsonLine(bare, 10_000).then((m) => m.url);
  const check = await get(bareUrl, { agent: false, timeoutMs: 5_000 });
  if (!check.body.equals(first.body)) throw new Error('the bare server does not answer the same body');

  // Each server gets an unmeasured 2 s of the same load first, so that neither is
  // measured while its JIT is still cold (a fresh process runs ~15 % slower at first).
  await runWrk(lookup, cleanup, WRK_WARMUP_ARGS);
  const rc = await runWrk(lookup, cleanup);
  console.log(`  rendercache     ${fmtWrk(rc)}`);
  await runWrk(`${bareUrl}/`, cleanup, WRK_WARMUP_ARGS);
  const bareRes = await runWrk(`${bareUrl}/`, cleanup);
  console.log(`  bare node:http  ${fmtWrk(bareRes)}`);
  await cleanup.stopProcess(bare);

  const ratioPct = round((rc.requestsPerSec / bareRes.requestsPerSec) * 100, 1);
  console.log(
    `  ratio           rendercache/bare ${fmt(ratioPct, 1)} % of requests/s   ${verdict(ratioPct >= TARGETS.hitRatioPct, `target >= ${TARGETS.hitRatioPct} %`)}`,
  );
  console.log(`  hit p99         ${fmt(rc.p99Ms, 2)} ms   ${verdict(rc.p99Ms <= TARGETS.hitP99Ms, `target <= ${TARGETS.hitP99Ms} ms`)}`);
  return { page: pageUrl, bytes: first.body.length, rendercache: rc, bare: bareRes, ratioPct };
}

// ---------------------------------------------------------------------------------
// wrk
// ---------------------------------------------------------------------------------
function hasWrk() {
  const r = spawnSync('wrk', ['--version'], { stdio: 'ignore', timeout: 5_000 });
  return !(r.error && r.error.code === 'ENOENT');
}

async function runWrk(url, cleanup, args = WRK_ARGS) {
  cleanup.check();
  const child = spawn('wrk', [...args, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup.addProcess('wrk', child);
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  const code = await new Promise((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${out}`);
  return parseWrk(out);
}

function parseWrk(text) {
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : NaN;
  };
  const dur = (re) => {
    const m = re.exec(text);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  const res = {
    requestsPerSec: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    p50Ms: dur(/^\s*50%\s+([\d.]+)(us|ms|s|m|h)\s*$/m),
    p99Ms: dur(/^\s*99%\s+([\d.]+)(us|ms|s|m|h)\s*$/m),
    avgMs: dur(/^\s*Latency\s+([\d.]+)(us|ms|s|m|h)/m),
    transferPerSec: /Transfer\/sec:\s+(\S+)/.exec(text)?.[1] ?? null,
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/) || 0,
    socketErrors: (/Socket errors:([^\n]*)/.exec(text)?.[1] ?? '').trim() || null,
  };
  for (const k of ['p50Ms', 'p99Ms', 'avgMs']) res[k] = round(res[k], 3);
  if (!Number.isFinite(res.requestsPerSec)) throw new Error(`cannot read wrk's output:\n${text}`);
  return res;
}

const toMs = (v, unit) => Number(v) * { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit];

function fmtWrk(r) {
  let s = `${fmt(r.requestsPerSec, 0).padStart(7)} req/s   p50 ${fmt(r.p50Ms, 2)} ms   p99 ${fmt(r.p99Ms, 2)} ms   (${r.requests} requests, ${r.transferPerSec}/s)`;
  if (r.non2xx) s += `   non-2xx ${r.non2xx}`;
  if (r.socketErrors) s += `   socket errors: ${r.socketErrors}`;
  return s;
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

/** Share of all CPUs not idle over `ms`, from /proc/stat. */
async function machineBusyPct(ms) {
  const read = () => {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0); // idle + iowait
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  try {
    const a = read();
    await sleep(ms);
    const b = read();
    return ((b.total - a.total - (b.idle - a.idle)) / (b.total - a.total)) * 100;
  } catch {
    return NaN;
  }
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
// Process tree memory from /proc
// ---------------------------------------------------------------------------------
/** All processes: pid -> {ppid, start} (start = starttime in clock ticks, tells reused pids apart). */
async function processTable() {
  const table = new Map();
  const names = (await fsp.readdir('/proc')).filter((n) => /^\d+$/.test(n));
  await Promise.all(
    names.map(async (n) => {
      const info = await procStat(Number(n));
      if (info) table.set(Number(n), info);
    }),
  );
  return table;
}

async function procStat(pid) {
  try {
    const s = await fsp.readFile(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[0] = field 3 (state)
    return { ppid: Number(f[1]), start: f[19], state: f[0] };
  } catch {
    return null;
  }
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

// ---- in the sampler worker thread: synchronous reads, so its CPU time is its own ----
function procStatSync(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), start: f[19], state: f[0] };
  } catch {
    return null;
  }
}

function rollupSync(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
    return { rssKb: kb('Rss'), pssKb: kb('Pss'), pssAnonKb: kb('Pss_Anon') };
  } catch {
    return null; // gone, or a zombie
  }
}

/**
 * kB of file and shared-memory pages mapped by `pids`, each page counted once: with
 * Pss_Anon, the tree's PSS as if no process outside it mapped the same files (other
 * Chromium or node processes on the machine lower the plain PSS, by 200 MB and more).
 * Null without the privilege to read page frame numbers.
 */
function sharedPagesOnceKbSync(pids) {
  const frames = new Set();
  let readable = false;
  for (const pid of pids) {
    let maps;
    let fd;
    try {
      maps = fs.readFileSync(`/proc/${pid}/maps`, 'latin1');
      fd = fs.openSync(`/proc/${pid}/pagemap`, 'r');
    } catch {
      continue;
    }
    try {
      for (const line of maps.split('\n')) {
        const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ (\d+)/.exec(line);
        if (!m || m[3] === '0') continue; // no inode: private anonymous memory, in Pss_Anon
        const first = parseInt(m[1], 16) / 4096;
        const entries = new Uint32Array((parseInt(m[2], 16) / 4096 - first) * 2); // little-endian u64s
        try {
          fs.readSync(fd, entries, 0, entries.byteLength, first * 8);
        } catch {
          continue;
        }
        for (let i = 0; i < entries.length; i += 2) {
          const hi = entries[i + 1];
          if ((hi & 0xa0000000) >>> 0 !== 0xa0000000) continue; // present, and a file or shared page (not a private copy)
          const frame = (hi & 0x7fffff) * 2 ** 32 + entries[i];
          if (frame) {
            frames.add(frame);
            readable = true;
          }
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return readable ? frames.size * 4 : null;
}

function hasMarkerSync(pid, marker) {
  try {
    const env = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
    return env.startsWith(`${marker}\0`) || env.includes(`\0${marker}\0`);
  } catch {
    return false;
  }
}

/**
 * User + system CPU time (ms) of a tree: the root, its descendants and the processes
 * carrying `marker`, plus the time of their children already reaped (Chromium's zygote
 * reaps the renderers it replaces), in all and per process kind (node, browser, renderer,
 * zygote, gpu-process, utility:..., with "reaped by <kind>" for the reaped children).
 */
function treeCpuSync(root, marker) {
  const core = new TreeCore(root, marker);
  let ticks = 0;
  const byKind = {};
  const add = (kind, t) => {
    byKind[kind] = (byKind[kind] ?? 0) + t;
    ticks += t;
  };
  for (const pid of core.refresh()) {
    let f;
    try {
      const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    } catch {
      continue; // gone between the listing and the read
    }
    const kind = pid === root ? 'node' : processKindSync(pid);
    add(kind, Number(f[11]) + Number(f[12]));
    const reaped = Number(f[13]) + Number(f[14]);
    if (reaped) add(`reaped by ${kind}`, reaped);
  }
  const ms = (t) => (t * 1000) / CLOCK_TICKS_PER_SEC;
  return { ms: ms(ticks), byKindMs: Object.fromEntries(Object.entries(byKind).map(([k, t]) => [k, ms(t)])) };
}

/** CPU time between two treeCpuSync readings, per page: in all and per process kind. */
function cpuDelta(a, b, pages) {
  const kinds = new Set([...Object.keys(a.byKindMs), ...Object.keys(b.byKindMs)]);
  const byKindMsPerPage = {};
  for (const k of kinds) {
    const v = round(((b.byKindMs[k] ?? 0) - (a.byKindMs[k] ?? 0)) / pages, 2);
    if (v) byKindMsPerPage[k] = v;
  }
  return { msPerPage: (b.ms - a.ms) / pages, byKindMsPerPage };
}

/** USER_HZ: 100 on every Linux platform Node runs on. */
const CLOCK_TICKS_PER_SEC = 100;

/** On-CPU time of the calling thread, ms. */
function threadCpuMs() {
  try {
    return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/**
 * The service's process tree and the peaks of its RSS/PSS sums, per phase.
 *
 * Members: the root, its descendants, and any process that carries `marker` in its
 * environment (the service gets it; Chromium passes it on to its crashpad handlers,
 * which double-fork and are re-parented to init) with their descendants. Only processes
 * not seen before are classified (a parent is classified no later than its child), so
 * a sample costs one readdir of /proc plus one smaps_rollup per member.
 */
class TreeCore {
  constructor(root, marker) {
    this.root = root;
    this.marker = marker;
    this.known = new Map(); // pid -> {ppid, start, member}
    this.seen = new Map(); // every member ever: pid -> start (for the final cleanup)
    this.peaks = {};
    this.samples = 0;
    this.sampleMsAfterFirst = 0;
  }

  refresh() {
    const live = new Set(
      fs
        .readdirSync('/proc')
        .filter((n) => /^\d+$/.test(n))
        .map(Number),
    );
    for (const pid of this.known.keys()) if (!live.has(pid)) this.known.delete(pid);
    for (const pid of live) {
      if (this.known.has(pid)) continue;
      const st = procStatSync(pid);
      if (st) this.known.set(pid, { ...st, member: pid === this.root || hasMarkerSync(pid, this.marker) ? true : null });
    }
    for (let changed = true; changed;) {
      changed = false;
      for (const info of this.known.values()) {
        if (info.member === null && this.known.get(info.ppid)?.member === true) {
          info.member = true;
          changed = true;
        }
      }
    }
    const members = [];
    for (const [pid, info] of this.known) {
      if (info.member === null) info.member = false;
      if (info.member) {
        members.push(pid);
        this.seen.set(pid, info.start);
      }
    }
    return members;
  }

  sample(phase) {
    const t = performance.now();
    let rssKb = 0;
    let pssKb = 0;
    let pssAnonKb = 0;
    let processes = 0;
    const perPid = [];
    const members = this.refresh();
    for (const pid of members) {
      const m = rollupSync(pid);
      if (m) {
        rssKb += m.rssKb;
        pssKb += m.pssKb;
        pssAnonKb += m.pssAnonKb;
        processes++;
        perPid.push([pid, m.pssKb]);
      }
    }
    // Every fifth sample (about 1 s): reading every page frame costs far more than smaps_rollup.
    const sharedOnceKb = this.samples % ALONE_EVERY_SAMPLES === 0 ? sharedPagesOnceKbSync(members) : null;
    if (this.samples > 0) this.sampleMsAfterFirst += performance.now() - t; // the first classifies every process
    this.samples++;
    if (!processes) return;
    const p = (this.peaks[phase] ??= { rssKb: 0, pssKb: 0, aloneKb: null, processes: 0, samples: 0, byKind: {} });
    p.samples++;
    p.rssKb = Math.max(p.rssKb, rssKb);
    if (sharedOnceKb !== null) p.aloneKb = Math.max(p.aloneKb ?? 0, pssAnonKb + sharedOnceKb);
    // Where the peak PSS sits; kinds are read at the peak only (a renderer forked by the
    // zygote renames itself after the fork).
    if (pssKb > p.pssKb) p.byKind = pssByKind(perPid, this.root);
    p.pssKb = Math.max(p.pssKb, pssKb);
    p.processes = Math.max(p.processes, processes);
  }
}

/** PSS (kB) and process count per kind: node, browser, zygote, renderer, gpu, network, ... */
function pssByKind(perPid, root) {
  const out = {};
  for (const [pid, pssKb] of perPid) {
    const kind = pid === root ? 'node' : processKindSync(pid);
    const k = (out[kind] ??= { processes: 0, pssKb: 0 });
    k.processes++;
    k.pssKb += pssKb;
  }
  return out;
}

function processKindSync(pid) {
  let argv;
  try {
    argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return 'gone';
  }
  // A renamed renderer has one space-joined argument.
  const args = argv.length === 2 && argv[1] === '' ? argv[0].split(' ') : argv;
  const opt = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  if (/crashpad/.test(args[0])) return 'crashpad';
  const type = opt('type');
  if (!type) return /chrom/.test(args[0]) ? 'browser' : path.basename(args[0]);
  if (type === 'utility') {
    const sub = opt('utility-sub-type') ?? '';
    return `utility:${sub.replace(/\.mojom\..*$/, '').replace(/^.*\./, '') || '?'}`;
  }
  return type;
}

/** Worker thread body: samples every `everyMs` until told to stop, then reports. */
function samplerWorker({ root, marker, everyMs, phase: firstPhase }) {
  const core = new TreeCore(root, marker);
  const cpu0 = threadCpuMs();
  const wall0 = performance.now();
  let phase = firstPhase;
  let timer = null;
  const tick = () => {
    const t = performance.now();
    try {
      if (phase !== null) core.sample(phase); // null: paused
    } catch {
      /* /proc race: next time */
    }
    timer = setTimeout(tick, Math.max(0, everyMs - (performance.now() - t)));
  };
  parentPort.on('message', (m) => {
    if (m.type === 'phase') phase = m.name;
    if (m.type === 'peek') parentPort.postMessage({ type: 'peaks', peaks: core.peaks });
    if (m.type === 'stop') {
      clearTimeout(timer);
      try {
        core.refresh();
      } catch {
        /* keep what we have */
      }
      parentPort.postMessage({
        type: 'final',
        peaks: core.peaks,
        seen: [...core.seen],
        samples: core.samples,
        meanSampleMs: core.samples > 1 ? core.sampleMsAfterFirst / (core.samples - 1) : null,
        cpuMs: threadCpuMs() - cpu0,
        wallMs: performance.now() - wall0,
      });
      parentPort.close();
    }
  });
  tick();
}

/** Main-thread side of the sampler (the sampling runs in a worker thread). */
class TreeSampler {
  constructor(rootPid, marker) {
    this.root = rootPid;
    this.marker = marker;
    this.seen = new Map();
    this.result = null;
  }

  start(phase) {
    this.worker = new Worker(fileURLToPath(import.meta.url), {
      workerData: { role: 'sampler', root: this.root, marker: this.marker, everyMs: SAMPLE_EVERY_MS, phase },
    });
    this.worker.on('error', (err) => console.error(`bench: memory sampler: ${err}`));
    this.final = new Promise((resolve) => this.worker.on('message', (m) => m.type === 'final' && resolve(m)));
  }

  /** Samples go to phase `name` from now on; null pauses the sampling. */
  phase(name) {
    this.worker?.postMessage({ type: 'phase', name });
  }

  /** The peak of one phase so far, while the sampling goes on (or is paused). */
  async peek(phase) {
    if (!this.worker || this.stopped) return this.peak(phase);
    const peaks = await Promise.race([
      new Promise((resolve) => {
        const on = (m) => {
          if (m.type !== 'peaks') return;
          this.worker.off('message', on);
          resolve(m.peaks);
        };
        this.worker.on('message', on);
        this.worker.postMessage({ type: 'peek' });
      }),
      sleep(5_000).then(() => null),
    ]);
    return this.peak(phase, peaks ?? {});
  }

  /** Stops sampling; afterwards peak(), cost() and seen are final. */
  async stop() {
    if (!this.worker || this.stopped) return this.stopped;
    this.worker.postMessage({ type: 'stop' });
    this.stopped = Promise.race([this.final, sleep(5_000).then(() => null)]).then(async (r) => {
      await this.worker.terminate();
      this.result = r;
      if (r) this.seen = new Map(r.seen);
    });
    return this.stopped;
  }

  /** Peak of one phase, or of every phase (from the final report, or from `peaks`). */
  peak(phase, peaks = this.result?.peaks ?? {}) {
    const list = phase ? [peaks[phase]].filter(Boolean) : Object.values(peaks);
    const r = { rssKb: 0, pssKb: 0, aloneKb: null, processes: 0, samples: 0, byKind: {} };
    for (const p of list) {
      r.rssKb = Math.max(r.rssKb, p.rssKb);
      if (p.aloneKb !== null) r.aloneKb = Math.max(r.aloneKb ?? 0, p.aloneKb);
      if (p.pssKb > r.pssKb) r.byKind = p.byKind;
      r.pssKb = Math.max(r.pssKb, p.pssKb);
      r.processes = Math.max(r.processes, p.processes);
      r.samples += p.samples;
    }
    const byKind = Object.fromEntries(
      Object.entries(r.byKind)
        .sort((a, b) => b[1].pssKb - a[1].pssKb)
        .map(([kind, k]) => [kind, { processes: k.processes, pssMb: round(k.pssKb / 1024, 1) }]),
    );
    return {
      rssMb: round(r.rssKb / 1024, 1),
      pssMb: round(r.pssKb / 1024, 1),
      pssAloneMb: r.aloneKb === null ? null : round(r.aloneKb / 1024, 1),
      processes: r.processes,
      samples: r.samples,
      pssAtPeakByKind: byKind,
    };
  }

  /** What sampling cost: mean ms per sample, and CPU share of one core over the sampling time. */
  cost() {
    const r = this.result;
    if (!r) return { meanSampleMs: null, cpuMs: null, cpuPctOfOneCore: null };
    return { meanSampleMs: round(r.meanSampleMs, 1), cpuMs: round(r.cpuMs), cpuPctOfOneCore: round((r.cpuMs / r.wallMs) * 100, 1) };
  }
}

// ---------------------------------------------------------------------------------
// Cleanup: every child by pid, SIGTERM first, then SIGKILL of whatever is left of its tree.
// ---------------------------------------------------------------------------------
class Cleanup {
  constructor() {
    this.tasks = []; // functions, run last-in first-out, after the processes are stopped
    this.firstTasks = []; // functions run before the processes are stopped
    this.processes = []; // {name, child}
    this.trees = []; // TreeSampler instances (their seen descendants)
    this.done = null;
  }

  add(fn) {
    this.tasks.push(fn);
  }
  addFirst(fn) {
    this.firstTasks.push(fn);
  }
  addProcess(name, child) {
    this.processes.push({ name, child });
    if (this.done) this.stopProcess(child).catch(() => {}); // started after an abort
  }
  /** Throws once the run is being stopped (deadline, signal): no new work after that. */
  check() {
    if (this.done) throw new Error('run aborted');
  }
  addTree(sampler) {
    this.trees.push(sampler);
  }

  /** Stops one child and its descendants now. */
  async stopProcess(child) {
    const alive = () => child.exitCode === null && child.signalCode === null;
    if (!child.pid || !alive()) return;
    const table = await processTable();
    const tree = descendantsOf(child.pid, table).map((pid) => [pid, table.get(pid).start]);
    for (const s of this.trees) {
      if (s.root !== child.pid) continue;
      await s.stop(); // its final refresh: members that appeared since the last sample
      for (const [pid, start] of s.seen) if (pid !== child.pid) tree.push([pid, start]);
    }
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
    // Leftover descendants (e.g. Chromium helpers re-parented to init): SIGKILL by pid,
    // only if the pid still belongs to the same process (same start time).
    await sleep(200);
    let killed = 0;
    for (const [pid, start] of new Map(tree)) {
      const now = await procStat(pid);
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
      for (const s of this.trees) await s.stop().catch(() => {});
      for (const fn of this.firstTasks) {
        try {
          await fn();
        } catch (err) {
          console.error(`bench: cleanup: ${String(err)}`);
        }
      }
      for (const { name, child } of this.processes.reverse()) {
        try {
          const killed = await this.stopProcess(child);
          if (killed) console.error(`bench: ${name}: SIGKILLed ${killed} leftover descendant(s)`);
        } catch (err) {
          console.error(`bench: stopping ${name} (pid ${child.pid}): ${String(err)}`);
        }
      }
      for (const fn of this.tasks.reverse()) {
        try {
          await fn();
        } catch (err) {
          console.error(`bench: cleanup: ${String(err)}`);
        }
      }
    })();
    return this.done;
  }
}

// ---------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------
function get(url, { agent, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get(url, { agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks),
          ms: performance.now() - t0,
        }),
      );
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${url}`)));
    req.on('error', reject);
  });
}

function firstJsonLine(child, timeoutMs) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('child did not report its URL')), timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(buf.slice(0, nl)));
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited with ${code}`));
    });
  });
}

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
const pct = (sorted, q) => (sorted.length ? sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] : NaN);
const round = (v, d = 0) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : null);
const fmt = (v, d = 0) => (v == null || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));
const verdict = (ok, label) => `[${label}: ${ok ? 'MET' : 'MISSED'}]`;

// ---------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------
if (!isMainThread && workerData?.role === 'sampler') {
  samplerWorker(workerData);
} else if (process.argv[2] === '--bare-server') {
  bareServer(process.argv[3]);
} else {
  await runBenchmark();
}
