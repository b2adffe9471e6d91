#!/usr/bin/env node
// `npm run lint`: ESLint, the Prettier check and the dependency rules of docs/architecture.md,
// each run to the end even when an earlier one failed, then one line per check and a last line
// "lint: ok" or "lint: failed (…)". Exit 0 only when all three pass.
//
//   node scripts/lint.mjs                 all three
//   node scripts/lint.mjs eslint deps     some of them (eslint, format, deps)
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(ROOT, 'node_modules', '.bin', name);

export const CHECKS = {
  // The files in scope are set by eslint.config.js (src, test, bench, scripts, top-level configs).
  eslint: [bin('eslint'), '--max-warnings=0', '.'],
  // The files in scope are set by .prettierignore (code only: no Markdown, JSON or YAML).
  format: [bin('prettier'), '--check', '--log-level=warn', '.'],
  deps: [process.execPath, path.join(ROOT, 'scripts/check-architecture.mjs')],
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !CHECKS[w]);
if (unknown.length) {
  console.error(`lint: unknown check ${unknown.join(', ')} (known: ${Object.keys(CHECKS).join(', ')})`);
  process.exit(2);
}

const results = [];
for (const name of wanted.length ? wanted : Object.keys(CHECKS)) {
  const [cmd, ...args] = CHECKS[name];
  console.log(`\n> lint: ${name}`);
  const t0 = Date.now();
  const run = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  const ok = run.status === 0;
  if (run.error) console.error(`lint: ${name} could not start: ${run.error.message}`);
  results.push({ name, ok, seconds });
}

console.log('');
for (const r of results) console.log(`lint: ${r.name.padEnd(6)} ${r.ok ? 'ok    ' : 'FAILED'} ${r.seconds} s`);
const failed = results.filter((r) => !r.ok).map((r) => r.name);
console.log(failed.length ? `lint: failed (${failed.join(', ')})` : 'lint: ok');
process.exit(failed.length ? 1 : 0);
