#!/usr/bin/env node
// Where node's CPU goes, from a V8 CPU profile of the service:
//
//   node bench/run.mjs --kinds heavy --cold-only --no-bare --service-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"
//   node bench/cpu-profile-summary.mjs /tmp/prof/CPU.*.cpuprofile [--after SECONDS]
//
// Each busy sample (idle ones left out) goes to the first frame of its stack, leaf first,
// that names a part below; garbage collection and native code without a JS frame are
// counted as such. The profile covers the service's whole life: --after leaves out its
// first seconds (start-up: module loading), and a line of busy shares per 2 s shows where
// the pass is.

import fs from 'node:fs';
import { parseArgs } from 'node:util';

/** The parts, first match wins: the order puts the narrower ones first. */
const PARTS = [
  ["puppeteer's `debug` channel", /node_modules\/debug\//],
  ['puppeteer: CDP messages, events, page and request objects', /puppeteer-core\//],
  ['egress guard (SOCKS5 listener)', /socks5-server|render\/egress\//],
  ['request interception: decide, continue or abort', /render\/(render-page|paused-requests|request-rules|network-idle)\.js/],
  ['input manifest: response bodies hashed', /render\/input-recorder\.js|node:crypto|node:internal\/crypto/],
  ['cache and job stores (SQLite, gzip)', /sqlite3|better-sqlite3|\/stores\/|\/cache\/|node:zlib/],
  ['serving and API (Koa)', /node_modules\/(koa|@koa)\/|\/serving\/|\/api\//],
  ['engine and jobs', /\/engine\/|\/jobs\//],
  ['logs and metrics', /pino|prom-client|\/observability\//],
  ['module loading', /node:internal\/modules\/cjs|node:internal\/modules\/package_json_reader|node:internal\/modules\/helpers/],
];

const { positionals, values } = parseArgs({ allowPositionals: true, options: { after: { type: 'string', default: '0' } } });
const file = positionals[0];
if (!file) {
  console.error('usage: node bench/cpu-profile-summary.mjs FILE.cpuprofile [--after SECONDS]');
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const fromUs = profile.startTime + Number(values.after) * 1e6;
let at = profile.startTime;
const sampledAt = profile.timeDeltas.map((delta) => (at += delta));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map();
for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);

const counts = new Map();
const timeline = [];
let busy = 0;
for (const [i, sampled] of profile.samples.entries()) {
  const leaf = nodes.get(sampled).callFrame;
  const slot = (timeline[Math.floor((sampledAt[i] - profile.startTime) / 2e6)] ??= { busy: 0, all: 0 });
  slot.all++;
  if (leaf.functionName === '(idle)') continue;
  slot.busy++;
  if (sampledAt[i] < fromUs) continue;
  busy++;
  const part = partOf(sampled, leaf);
  counts.set(part, (counts.get(part) ?? 0) + 1);
}

const durationS = (profile.endTime - profile.startTime) / 1e6;
console.log(`${file}: ${durationS.toFixed(1)} s; node busy per 2 s (%):`);
console.log(timeline.map((slot, i) => `${i * 2}s:${slot ? Math.round((100 * slot.busy) / slot.all) : 0}`).join(' '));
console.log(`${busy} busy samples after ${values.after} s`);
console.log("| node's CPU | share |\n|---|---|");
for (const [part, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`| ${part} | ${((100 * n) / busy).toFixed(1)} % |`);

function partOf(sampled, leaf) {
  if (leaf.functionName === '(garbage collector)') return 'garbage collection';
  if (leaf.functionName === '(program)') return 'native code without a JS frame';
  for (let id = sampled; id !== undefined; id = parentOf.get(id)) {
    const { url } = nodes.get(id).callFrame;
    const part = PARTS.find(([, pattern]) => pattern.test(url));
    if (part) return part[0];
  }
  if (/stream_base_commons|node:net|streams\//.test(leaf.url)) return "node's sockets and streams";
  return 'the rest';
}
