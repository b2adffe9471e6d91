#!/usr/bin/env node
// rendercache memory growth. Run through `npm run bench` (which builds dist/ first), or
//
//   node bench/memory-growth.mjs [--renders 3000] [--concurrency 8] [--render-concurrency R] [--main dist/cli/main.js]
//
// Renders --renders distinct pages of bench/fixture-site.mjs through GET /render?url= of a
// real `rendercache serve` with its default settings (embedded store), with --concurrency
// keep-alive client connections, and samples the RSS of the service's whole process tree
// (node + Chromium, from /proc) every second. Prints the mean RSS over the first tenth of
// the renders and over the last tenth, and the growth between them (target < 10 %), with
// the same for node alone and Chromium alone, and PSS (shared pages split between the
// processes that map them) beside it. Writes the JSON result to bench/results/.
// Only 127.0.0.1 is used; the service is stopped by its pid at the end (also on error or
// Ctrl-C), with any Chromium process it leaves; the run is bounded by RUN_DEADLINE_MS.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, '..');
const RUN_DEADLINE_MS = 20 * 60_000;
const SAMPLE_EVERY_MS = 1000;
const TARGET_GROWTH_PCT = 10;

const { values: flags } = parseArgs({
  options: {
    renders: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '8' },
    // The service's render.concurrency; default: its own default ("auto").
    'render-concurrency': { type: 'string' },
    main: { type: 'string', default: path.join(REPO, 'dist/cli/main.js') },
  },
});
const renders = Number(flags.renders);
const clients = Number(flags.concurrency);
if (!Number.isInteger(renders) || renders < 10 || !Number.isInteger(clients) || clients < 1) {
  console.error('usage: node bench/memory-growth.mjs [--renders N >= 10] [--concurrency C] [--render-concurrency R] [--main dist/cli/main.js]');
  process.exit(2);
}
if (!fs.existsSync(flags.main)) {
  console.error(`${flags.main} is missing: run \`npm run build\` (or \`npm run bench\`)`);
  process.exit(2);
}

// ---- /proc: the service's process tree, and its memory ----
function stat(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), ppid: Number(f[1]), state: f[0], start: f[19] };
  } catch {
    return null;
  }
}

/** Descendants of root, plus processes carrying the run's marker (Chromium helpers re-parented away). */
function treeOf(root, marker) {
  const table = new Map();
  for (const name of fs.readdirSync('/proc'))
    if (/^\d+$/.test(name)) {
      const s = stat(Number(name));
      if (s && s.state !== 'Z') table.set(Number(name), s);
    }
  const kids = new Map();
  for (const [pid, { ppid }] of table) kids.set(ppid, [...(kids.get(ppid) ?? []), pid]);
  const tree = new Set([root]);
  const stack = [...(kids.get(root) ?? [])];
  while (stack.length) {
    const pid = stack.pop();
    tree.add(pid);
    stack.push(...(kids.get(pid) ?? []));
  }
  for (const pid of table.keys()) {
    if (tree.has(pid)) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(marker)) tree.add(pid);
    } catch {
      /* not ours, or gone */
    }
  }
  return [...tree].filter((pid) => table.has(pid)).map((pid) => ({ pid, ...table.get(pid) }));
}

function rollup(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
    return { rssKb: kb('Rss'), pssKb: kb('Pss') };
  } catch {
    return null;
  }
}

/** node, browser, renderer, zygote, gpu-process, utility…: from Chromium's --type flag. */
function kindOf(pid, root) {
  if (pid === root) return 'node';
  try {
    // Chromium rewrites its command line as one space-separated string.
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
    const type = args.find((a) => a.startsWith('--type='))?.slice('--type='.length);
    return type ?? (/node$/.test(args[0] ?? '') ? 'node' : 'browser');
  } catch {
    return 'gone';
  }
}

function sample(root, marker) {
  const total = { rssKb: 0, pssKb: 0, nodeRssKb: 0, nodePssKb: 0, processes: 0, byKind: {} };
  for (const p of treeOf(root, marker)) {
    const m = rollup(p.pid);
    if (!m) continue;
    total.rssKb += m.rssKb;
    total.pssKb += m.pssKb;
    total.processes++;
    if (p.pid === root) {
      total.nodeRssKb = m.rssKb;
      total.nodePssKb = m.pssKb;
    }
    const kind = kindOf(p.pid, root);
    const k = (total.byKind[kind] ??= { processes: 0, rssKb: 0, pssKb: 0 });
    k.processes++;
    k.rssKb += m.rssKb;
    k.pssKb += m.pssKb;
  }
  return total;
}

// ---- HTTP ----
function get(url, agent, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      let bytes = 0;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        bytes += c.length;
        if (body.length < 4096) body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode, body, bytes }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${url}`)));
    req.on('error', reject);
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mb = (kb) => Math.round((kb / 1024) * 10) / 10;
const pct = (a, b) => Math.round(((b - a) / a) * 1000) / 10;
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

// ---- the run ----
const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const marker = `RENDERCACHE_BENCH_RUN=${runId}`;
let service = null;
let fixture = null;
let tmp = null;
let cleaning = null;

/** SIGTERM the service, SIGKILL what is left of its tree (by pid, same start time only). */
function cleanup() {
  cleaning ??= (async () => {
    if (service && service.exitCode === null && service.signalCode === null) {
      const tree = treeOf(service.pid, marker);
      const exited = new Promise((resolve) => service.once('exit', resolve));
      try {
        process.kill(service.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      if (!(await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)]))) {
        try {
          process.kill(service.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await sleep(200);
      for (const p of tree) {
        const now = stat(p.pid);
        if (now && now.start === p.start && now.state !== 'Z')
          try {
            process.kill(p.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
      }
    }
    await fixture?.close().catch(() => {});
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => cleanup().finally(() => process.exit(130)));
const deadline = setTimeout(() => {
  console.error(`memory-growth: the run exceeded ${RUN_DEADLINE_MS / 60_000} min; stopping`);
  cleanup().finally(() => process.exit(2));
}, RUN_DEADLINE_MS);

async function run() {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'rendercache-memgrowth-'));
  const { startFixture } = await import('./fixture-site.mjs');
  fixture = await startFixture({ port: 0, pages: renders });
  const port = await freePort();
  const configFile = path.join(tmp, 'config.json');
  // Default settings: only what a bench must set (port, quiet logs, the store's folder, the site).
  await fsp.writeFile(
    configFile,
    JSON.stringify({
      server: { port, host: '127.0.0.1' },
      log: { level: 'warn' },
      backend: 'embedded',
      cache: { dir: path.join(tmp, 'cache') },
      sites: [{ id: 'bench', name: 'Bench', origin: fixture.url }],
      ...(flags['render-concurrency'] ? { render: { concurrency: Number(flags['render-concurrency']) } } : {}),
    }),
  );
  const env = { ...process.env, PORT: String(port), RENDERCACHE_BENCH_RUN: runId };
  delete env.LOG_LEVEL;
  delete env.REDIS_URL;
  service = spawn(process.execPath, [flags.main, 'serve', '--config', configFile], { cwd: REPO, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  service.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const base = `http://127.0.0.1:${port}`;
  for (let until = Date.now() + 90_000; ; await sleep(200)) {
    if (service.exitCode !== null) throw new Error(`rendercache exited with ${service.exitCode}: ${stderr}`);
    if (Date.now() > until) throw new Error('rendercache was not ready within 90 s');
    const ready = await get(`${base}/readyz`, false, 2000).catch(() => null);
    if (ready?.status === 200) break;
  }

  console.log(`rendercache memory growth  run=${runId}  ${os.availableParallelism()} cores  Node ${process.version}`);
  console.log(
    `${renders} renders of distinct pages, ${clients} keep-alive client connections, default settings (${path.relative(REPO, flags.main)}, pid ${service.pid})`,
  );

  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  let done = 0;
  let failed = 0;
  const samples = [];
  const take = () => samples.push({ at: Date.now(), done, ...sample(service.pid, marker) });
  take();
  const sampler = setInterval(take, SAMPLE_EVERY_MS);
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < renders) {
        const i = next++;
        const r = await get(`${base}/render?url=${encodeURIComponent(`${fixture.url}/page/${i}?run=${runId}`)}`, agent, 60_000).catch(() => null);
        if (!r || r.status !== 200 || !r.body.includes(`data-page="${i}"`)) failed++;
        done++;
        if (done % 500 === 0) process.stdout.write(`  ${done} renders, ${Math.round((Date.now() - t0) / 1000)} s, tree RSS ${mb(samples.at(-1).rssKb)} MB\n`);
      }
    }),
  );
  clearInterval(sampler);
  take();
  const wallS = (Date.now() - t0) / 1000;
  agent.destroy();

  const tenth = renders / 10;
  const first = samples.filter((s) => s.done > 0 && s.done <= tenth);
  const last = samples.filter((s) => s.done >= renders - tenth);
  if (first.length === 0 || last.length === 0) throw new Error('too few samples: use more renders');
  const figure = (key) => {
    const a = mean(first.map((s) => s[key]));
    const b = mean(last.map((s) => s[key]));
    return { firstTenthMb: mb(a), lastTenthMb: mb(b), growthPct: pct(a, b) };
  };
  const chromium = (s) => ({ ...s, chromiumRssKb: s.rssKb - s.nodeRssKb, chromiumPssKb: s.pssKb - s.nodePssKb });
  first.splice(0, first.length, ...first.map(chromium));
  last.splice(0, last.length, ...last.map(chromium));
  const result = {
    bench: 'rendercache-memory-growth',
    runId,
    startedAt: new Date(t0).toISOString(),
    machine: { cores: os.availableParallelism(), node: process.version },
    renders,
    clients,
    failed,
    wallSeconds: Math.round(wallS),
    pagesPerSec: Math.round((renders / wallS) * 10) / 10,
    samples: samples.length,
    treeRss: figure('rssKb'),
    treePss: figure('pssKb'),
    nodeRss: figure('nodeRssKb'),
    chromiumRss: figure('chromiumRssKb'),
    chromiumPss: figure('chromiumPssKb'),
    peakTreeRssMb: mb(Math.max(...samples.map((s) => s.rssKb))),
  };
  // Where the growth is: PSS per process kind (and how many processes of each).
  const kinds = [...new Set([...first, ...last].flatMap((x) => Object.keys(x.byKind)))];
  result.pssByKind = Object.fromEntries(
    kinds.map((kind) => {
      const of = (list, key) => mean(list.map((x) => x.byKind[kind]?.[key] ?? 0));
      return [
        kind,
        {
          firstTenthMb: mb(of(first, 'pssKb')),
          lastTenthMb: mb(of(last, 'pssKb')),
          processesFirst: Math.round(of(first, 'processes') * 10) / 10,
          processesLast: Math.round(of(last, 'processes') * 10) / 10,
        },
      ];
    }),
  );
  result.target = { growthPct: TARGET_GROWTH_PCT, met: result.treeRss.growthPct < TARGET_GROWTH_PCT };

  const line = (label, f) =>
    console.log(
      `  ${label.padEnd(14)} first tenth ${String(f.firstTenthMb).padStart(6)} MB   last tenth ${String(f.lastTenthMb).padStart(6)} MB   growth ${f.growthPct} %`,
    );
  console.log(`\n== Memory over ${renders} renders (${result.pagesPerSec} pages/s, ${failed} failed, ${samples.length} samples) ==`);
  line('tree RSS', result.treeRss);
  line('tree PSS', result.treePss);
  line('node RSS', result.nodeRss);
  line('Chromium RSS', result.chromiumRss);
  line('Chromium PSS', result.chromiumPss);
  console.log(
    `  PSS by kind    ${Object.entries(result.pssByKind)
      .map(([kind, k]) => `${kind} ${k.firstTenthMb} → ${k.lastTenthMb} MB (${k.processesFirst} → ${k.processesLast})`)
      .join(', ')}`,
  );
  console.log(
    `  tree RSS growth ${result.treeRss.growthPct} %   [target < ${TARGET_GROWTH_PCT} %: ${result.target.met ? 'MET' : 'MISSED'}]   (peak ${result.peakTreeRssMb} MB)`,
  );
  return result;
}

let code = 0;
try {
  const result = await run();
  await cleanup();
  const json = JSON.stringify(result);
  await fsp.mkdir(path.join(BENCH_DIR, 'results'), { recursive: true });
  const file = path.join(BENCH_DIR, 'results', `${result.startedAt.replace(/[:.]/g, '-')}-memory-${runId}.json`);
  await fsp.writeFile(file, `${json}\n`);
  console.log(`result written to ${path.relative(REPO, file)}`);
  console.log(json);
} catch (err) {
  console.error(`\nmemory-growth failed: ${err?.stack ?? err}`);
  code = 1;
} finally {
  await cleanup();
  clearTimeout(deadline);
}
process.exit(code);
