#!/usr/bin/env node
// Runs the whole test suite and ends with one plain line, "N passed, N failed", read
// from vitest's JSON report: a run that executed no test can never pass for green.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const report = path.resolve('.test-results/vitest.json');
fs.mkdirSync(path.dirname(report), { recursive: true });
fs.rmSync(report, { force: true });

const typecheck = spawnSync('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit'], { stdio: 'inherit' });
if (typecheck.status !== 0) {
  console.log('typecheck failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

// Lint (ESLint, the Prettier check, the dependency rules of docs/architecture.md: `npm run lint`).
// Strict: a lint failure counts as one failed test in the last line (the tests still run).
// RENDERCACHE_LINT_STRICT=0 or =1 overrides the default for one run.
const LINT_STRICT_DEFAULT = true;
const lintStrict = process.env.RENDERCACHE_LINT_STRICT === undefined ? LINT_STRICT_DEFAULT : process.env.RENDERCACHE_LINT_STRICT !== '0';
const lint = spawnSync('npm', ['run', '--silent', 'lint'], { stdio: 'inherit' });
const lintFailed = lint.status !== 0;
if (lintFailed) console.log(lintStrict ? 'lint failed (counted as 1 failed)' : 'lint failed (not counted: RENDERCACHE_LINT_STRICT is off)');

const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)];
const run = spawnSync('npx', args, { stdio: 'inherit' });

let passed = 0;
let failed = 0;
try {
  const result = JSON.parse(fs.readFileSync(report, 'utf8'));
  passed = result.numPassedTests ?? 0;
  failed = result.numFailedTests ?? 0;
  // A file that failed to load has no tests but counts as a failure.
  for (const file of result.testResults ?? []) {
    if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) failed++;
  }
} catch (err) {
  console.log(`no vitest report (${err.message})`);
  failed = Math.max(failed, 1);
}
if (lintFailed && lintStrict) failed++;
console.log(`${passed} passed, ${failed} failed`);
process.exit(run.status === 0 && failed === 0 && passed > 0 ? 0 : 1);
