#!/usr/bin/env node
// rendercache scale benchmark: the same refresh (every page of bench/fixture-site.mjs)
// run by a cluster of one "api" process and 1, 2 and 3 "worker" processes over the
// Redis at $REDIS_URL (default redis://127.0.0.1:6379). Prints pages/s for each size.
//
//   node bench/scale.mjs [--pages 200] [--workers 1,2,3]
//
// Needs a build (dist/). Each size uses a fresh key namespace; every process it starts
// is stopped (with its Chromium) at the end, also on error.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startFixture } from './fixture-site.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const TOKEN = 'bench-scale-token';
const started = [];

function startProcess(configFile, role) {
  const child = spawn(process.execPath, ['dist/cli/main.js', 'serve', '--config', configFile, '--role', role], {
    cwd: REPO,
    env: { ...process.env, REDIS_URL: '', PORT: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  started.push(child);
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'rendercache listening') resolve(entry.url);
      } catch {
        /* not a log line */
      }
    });
    child.once('exit', (code) => reject(new Error(`rendercache (${role}) exited with ${code}`)));
  });
}

function stopAll() {
  for (const child of started.splice(0)) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

async function api(url, method, pathname) {
  const res = await fetch(`${url}/sites/management/api/v1${pathname}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, prefer: 'respond-async' },
  });
  if (!res.ok) throw new Error(`${method} ${pathname}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function runOnce(fixture, pages, workers) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rendercache-scale-'));
  const config = {
    server: { port: 0, host: '127.0.0.1' },
    // The "listening" line (how this script learns each URL) is logged at info.
    log: { level: 'info' },
    backend: 'redis',
    redis: { url: REDIS_URL },
    cache: { namespace: `rcbench:scale:${process.pid}:${workers}:${Date.now().toString(36)}` },
    auth: { tokens: [{ token: TOKEN, user: 'bench' }] },
    api: { rateLimit: { points: 100000, windowSeconds: 60 } },
    schedule: { enabled: false },
    sites: [
      {
        id: 'bench',
        name: 'Bench',
        origin: fixture.url,
        members: { bench: 'Owner' },
        pages: { urls: Array.from({ length: pages }, (_, i) => `/page/${i}`) },
      },
    ],
  };
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(config));
  const apiUrl = await startProcess(file, 'api');
  await Promise.all(Array.from({ length: workers }, () => startProcess(file, 'worker')));
  const job = await api(apiUrl, 'POST', '/sites/bench/refresh');
  let status;
  for (;;) {
    status = await api(apiUrl, 'GET', `/sites/_status/${job.id}`);
    if (!['pending', 'processing'].includes(status.progress)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const seconds = (Date.parse(status.endTime) - Date.parse(status.startTime)) / 1000;
  stopAll();
  return {
    workers,
    progress: status.progress,
    pages: status.completedCount,
    failed: status.failedCount,
    seconds,
    pagesPerSec: status.completedCount / seconds,
  };
}

async function main() {
  const { values } = parseArgs({ options: { pages: { type: 'string', default: '200' }, workers: { type: 'string', default: '1,2,3' } } });
  const pages = Number(values.pages);
  const sizes = values.workers.split(',').map(Number);
  const fixture = await startFixture({ port: 0, pages });
  console.log(`scale: one refresh of ${pages} pages by 1 api process + N worker processes (Redis ${REDIS_URL}), ${os.availableParallelism()} cores`);
  const results = [];
  try {
    for (const workers of sizes) {
      const result = await runOnce(fixture, pages, workers);
      results.push(result);
      console.log(
        `  ${workers} worker(s): ${result.pagesPerSec.toFixed(2)} pages/s (${result.pages}/${pages} pages, ${result.failed} failed, ${result.seconds.toFixed(1)} s, job ${result.progress})`,
      );
    }
  } finally {
    stopAll();
    await fixture.close();
  }
  console.log(
    JSON.stringify({
      scale: results.map(({ workers, pagesPerSec, pages: done, failed }) => ({ workers, pagesPerSec: Number(pagesPerSec.toFixed(2)), pages: done, failed })),
    }),
  );
}

process.once('SIGINT', () => {
  stopAll();
  process.exit(130);
});
main().catch((err) => {
  stopAll();
  console.error(err);
  process.exit(1);
});
