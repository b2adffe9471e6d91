#!/usr/bin/env node
// The bare puppeteer loop: the reference rendercache's render path is measured against.
// Run by bench/run.mjs as a child process of its own, so that the CPU time of its whole
// tree (this node process and its Chromium) is measured apart from rendercache's:
//
//   node bench/bare-loop.mjs --urls-file FILE [--tabs 8] [--idle-ms 50] [--deadline-ms 20000]
//                            [--block cdp|intercept] [--wait-go]
//
// FILE holds {"kind": "light"|"heavy", "urls": [...], "warmup": [...]}: the pages of one
// kind of bench/fixture-site.mjs, page i at urls[i] (the same list rendercache renders).
// What it does, and nothing more:
//   - the project's own puppeteer, and the Chromium binary rendercache would use, found by
//     rendercache's own code (dist/render/chromium-launch.js: CHROME_PATH, then Debian's
//     headless shell, then /usr/bin/chromium, ...), with only the container flags every
//     Chromium needs there (CONTAINER_ARGS) and headless 'shell' for the headless shell;
//   - --tabs tabs opened once and reused for every page (the start-up tab is closed);
//   - images, media and fonts blocked through CDP: `--block cdp` (default) enables the
//     Fetch domain for those resource types only and fails them, so no other request
//     waits on node; `--block intercept` is puppeteer's request interception instead
//     (every request paused, then continued or aborted), for comparison only: in it a
//     few pages in a hundred wait until the deadline with a request never answered
//     (puppeteer's interception, as plain as here; not investigated further);
//   - goto(url, domcontentloaded), then a network-idle window: done when no request has
//     been in flight for --idle-ms (50 ms), or at --deadline-ms; then page.content();
//   - the page checked with the fixture's own isRendered(kind, html, i).
// First the warm-up URLs are rendered one after the other (not measured), like the two
// warm-up renders rendercache gets. With --wait-go it then writes {"type":"ready",...} on
// stdout and waits for a line "go" on stdin (run.mjs reads the tree's CPU time in
// between); without it, it starts at once. It writes {"type":"done",...} with every
// page's latency and correctness, then closes Chromium and exits when stdin ends (or at
// once without --wait-go).

import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import puppeteer from 'puppeteer';
import { isRendered } from './fixture-site.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, '..');
const BLOCKED_TYPES = ['Image', 'Media', 'Font']; // CDP's names (Network.ResourceType)
const BLOCKED_PUPPETEER = new Set(['image', 'media', 'font']);
const LIFETIME_MS = 15 * 60_000; // never outlive a run that forgot us

const { values: flags } = parseArgs({
  options: {
    'urls-file': { type: 'string' },
    tabs: { type: 'string', default: '8' },
    'idle-ms': { type: 'string', default: '50' },
    'deadline-ms': { type: 'string', default: '20000' },
    block: { type: 'string', default: 'cdp' },
    'wait-go': { type: 'boolean', default: false },
  },
});
if (!flags['urls-file'] || !['cdp', 'intercept'].includes(flags.block)) {
  console.error('usage: node bench/bare-loop.mjs --urls-file FILE [--tabs 8] [--idle-ms 50] [--deadline-ms 20000] [--block cdp|intercept] [--wait-go]');
  process.exit(2);
}
const { kind, urls, warmup = [] } = JSON.parse(fs.readFileSync(flags['urls-file'], 'utf8'));
const tabs = Math.max(1, Math.min(Number(flags.tabs), urls.length));
const idleMs = Number(flags['idle-ms']);
const deadlineMs = Number(flags['deadline-ms']);

const send = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
setTimeout(() => process.exit(3), LIFETIME_MS).unref();

// The same binary and mode as rendercache: its own resolution code, from dist/.
const launchModule = path.join(REPO, 'dist/render/chromium-launch.js');
if (!fs.existsSync(launchModule)) {
  console.error('dist/render/chromium-launch.js is missing: run `npm run build`');
  process.exit(2);
}
const { resolveChromePath, isHeadlessShell, CONTAINER_ARGS } = await import(launchModule);
const executablePath = resolveChromePath(process.env.CHROME_PATH);

const browser = await puppeteer.launch({
  executablePath,
  headless: isHeadlessShell(executablePath) ? 'shell' : true,
  args: [...CONTAINER_ARGS],
  handleSIGINT: false,
  handleSIGTERM: false,
  handleSIGHUP: false,
});
let closing = null;
const closeBrowser = () => (closing ??= browser.close().catch(() => {}));
process.once('SIGTERM', () => void closeBrowser().finally(() => process.exit(0)));

for (const p of await browser.pages()) await p.close();
const slots = [];
for (let t = 0; t < tabs; t++) slots.push(await openTab());

/** One reused tab: its blocking, and its in-flight request tracking for the current render. */
async function openTab() {
  const page = await browser.newPage();
  const slot = { page, inflight: new Set(), onChange: null };
  const changed = () => slot.onChange?.();
  page.on('request', (r) => {
    slot.inflight.add(r);
    changed();
  });
  page.on('requestfinished', (r) => {
    slot.inflight.delete(r);
    changed();
  });
  page.on('requestfailed', (r) => {
    slot.inflight.delete(r);
    changed();
  });
  if (flags.block === 'cdp') {
    const cdp = await page.createCDPSession();
    cdp.on('Fetch.requestPaused', (e) => {
      cdp.send('Fetch.failRequest', { requestId: e.requestId, errorReason: 'BlockedByClient' }).catch(() => {});
    });
    await cdp.send('Fetch.enable', { patterns: BLOCKED_TYPES.map((resourceType) => ({ urlPattern: '*', resourceType, requestStage: 'Request' })) });
  } else {
    await page.setRequestInterception(true);
    page.on('request', (r) => {
      if (r.isInterceptResolutionHandled()) return;
      (BLOCKED_PUPPETEER.has(r.resourceType()) ? r.abort('blockedbyclient') : r.continue()).catch(() => {});
    });
  }
  return slot;
}

/** Resolves when no request has been in flight for idleMs (true), or at the deadline (false). */
function networkIdle(slot, deadlineAt) {
  return new Promise((resolve) => {
    let quiet = null;
    const finish = (idle) => {
      clearTimeout(quiet);
      clearTimeout(deadline);
      slot.onChange = null;
      resolve(idle);
    };
    const deadline = setTimeout(() => finish(false), Math.max(0, deadlineAt - performance.now()));
    slot.onChange = () => {
      clearTimeout(quiet);
      quiet = slot.inflight.size === 0 ? setTimeout(() => finish(true), idleMs) : null;
    };
    slot.onChange();
  });
}

async function render(slot, url, i) {
  const t0 = performance.now();
  slot.inflight.clear();
  try {
    await slot.page.goto(url, { waitUntil: 'domcontentloaded', timeout: deadlineMs });
    const idle = await networkIdle(slot, t0 + deadlineMs);
    const html = await slot.page.content();
    return { ms: performance.now() - t0, correct: i === null || isRendered(kind, html, i), timedOut: !idle };
  } catch (err) {
    return { ms: performance.now() - t0, correct: false, timedOut: false, error: String(err?.message ?? err) };
  }
}

// Warm-up, not measured.
for (const [k, url] of warmup.entries()) await render(slots[k % slots.length], url, null);

if (flags['wait-go']) {
  const lines = readline.createInterface({ input: process.stdin });
  send({
    type: 'ready',
    pid: process.pid,
    browserPid: browser.process()?.pid ?? null,
    executablePath,
    version: await browser.version(),
    tabs,
    block: flags.block,
  });
  await new Promise((resolve) => lines.on('line', (l) => l.trim() === 'go' && resolve()));
  lines.close();
}

const results = new Array(urls.length);
let next = 0;
const t0 = performance.now();
await Promise.all(
  slots.map(async (slot) => {
    while (next < urls.length) {
      const i = next++;
      results[i] = await render(slot, urls[i], i);
    }
  }),
);
const wallMs = performance.now() - t0;
send({
  type: 'done',
  kind,
  pages: urls.length,
  wallMs,
  ms: results.map((r) => Math.round(r.ms)),
  correct: results.filter((r) => r.correct).length,
  timedOut: results.filter((r) => r.timedOut).length,
  errors: results.filter((r) => r.error).map((r) => r.error),
});

if (flags['wait-go']) {
  // Stay (browser open, idle) until the parent has read the tree's CPU time and closes stdin.
  await new Promise((resolve) => process.stdin.once('end', resolve).once('close', resolve).resume());
}
await closeBrowser();
process.exit(0);
