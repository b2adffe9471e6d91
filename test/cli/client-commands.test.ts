import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureSite, type FixtureSite } from '../fixtures/fixture-site.js';
import { freePort } from '../helpers/free-port.js';
import { startTestService } from '../helpers/service.js';
import type { RunningService } from '../../src/service.js';
import { hasStack, runCli, type CliRun } from './cli-helpers.js';

const TOKEN = 'cli-test-admin-token';

interface JobJson {
  id: string;
  context: string;
  progress: string;
  pageCount: number;
  completedCount: number;
  failedCount: number;
}

const json = <T>(run: CliRun): T => JSON.parse(run.stdout) as T;

describe('rendercache client commands against a running service', () => {
  let site: FixtureSite;
  let service: RunningService;
  let env: Record<string, string>;

  beforeAll(async () => {
    site = await startFixtureSite();
    service = await startTestService({
      auth: { tokens: [{ token: TOKEN, user: 'admin', admin: true }] },
      // One failed page of two leaves the job succeeded: --fail-on-failed decides the exit code.
      refresh: { maxAttempts: 1, retryBackoffMs: 0, maxFailedPercent: 60, pollIntervalMs: 200 },
      sites: [
        { id: 'fix', name: 'Fixture', origin: site.origin, pages: { urls: ['/csr?label=one', '/page/a1'] } },
        { id: 'mixed', name: 'Mixed', origin: site.origin, pages: { urls: ['/csr?label=two', '/error'] } },
        {
          id: 'slow',
          name: 'Slow',
          origin: site.origin,
          pages: { urls: Array.from({ length: 12 }, (_, i) => `/slow?delay=3000&n=${i}`) },
        },
      ],
    });
    env = { RENDERCACHE_URL: service.url, RENDERCACHE_TOKEN: TOKEN };
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
    await site?.close();
  });

  let fixJob = '';
  let mixedJob = '';

  it('refresh --wait off a TTY: plain progress lines, then a summary; exit 0', async () => {
    const run = await runCli(['refresh', 'fix', '--wait'], env);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^refresh job [A-F0-9]{32} of fix$/m);
    expect(run.stdout).toMatch(/^progress (pending|processing|succeeded): \d+\/\d+ pages, \d+ failed/m);
    expect(run.stdout).not.toContain('\r');
    expect(run.stdout).toMatch(/^job [A-F0-9]{32} \(refresh of fix\) succeeded: 2 pages, 2 complete \(0 unchanged\), 0 failed, in /m);
    fixJob = /^refresh job ([A-F0-9]{32})/m.exec(run.stdout)?.[1] ?? '';
  });

  it('refresh --wait by name:<Name>, --json: the progress on stderr, the job on stdout', async () => {
    const run = await runCli(['refresh', 'name:Fixture', '--wait', '--json', '--pages', '/page/a1'], env);
    expect(run.status).toBe(0);
    const { job, failedPages } = json<{ job: JobJson; failedPages: unknown[] }>(run);
    expect(job).toMatchObject({ context: 'fix', progress: 'succeeded', pageCount: 1, completedCount: 1 });
    expect(failedPages).toEqual([]);
    expect(run.stderr).toMatch(/^progress /m);
  });

  it('a failed page: exit 0 without --fail-on-failed, 1 with it, and the failed pages listed', async () => {
    const plain = await runCli(['refresh', 'mixed', '--wait'], env);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toMatch(/succeeded: 2 pages, 1 complete \(0 unchanged\), 1 failed/);
    const strict = await runCli(['refresh', 'mixed', '--wait', '--fail-on-failed'], env);
    expect(strict.status).toBe(1);
    expect(strict.stdout).toMatch(/succeeded: 2 pages, 1 complete \(1 unchanged\), 1 failed/);
    expect(strict.stdout).toContain('failed pages:');
    expect(strict.stdout).toContain(`${site.origin}/error`);
    mixedJob = /^refresh job ([A-F0-9]{32})/m.exec(strict.stdout)?.[1] ?? '';
  });

  it('jobs: the history as a table and as JSON', async () => {
    const table = await runCli(['jobs', 'mixed'], env);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/^job\s+action\s+trigger\s+progress\s+pages\s+failed\s+started\s+took$/m);
    expect(table.stdout).toContain(mixedJob);
    const list = json<JobJson[]>(await runCli(['jobs', 'mixed', '--json'], env));
    expect(list.map((j) => j.id)[0]).toBe(mixedJob);
    expect(list).toHaveLength(2);
  });

  it('job: one job as a table and as JSON', async () => {
    const table = await runCli(['job', fixJob], env);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/^progress\s+succeeded \(100%\)$/m);
    expect(table.stdout).toMatch(/^pages\s+2\/2 done, 2 complete \(0 unchanged\), 0 failed$/m);
    expect(json<JobJson>(await runCli(['job', fixJob, '--json'], env))).toMatchObject({ id: fixJob, context: 'fix', progress: 'succeeded' });
  });

  it('pages --failed --json: only the failed page', async () => {
    const run = await runCli(['pages', mixedJob, '--failed', '--json'], env);
    expect(run.status).toBe(0);
    const pages = json<{ pageUrl: string; status: string; httpStatus: number | null }[]>(run);
    expect(pages).toHaveLength(1);
    expect(pages[0]).toMatchObject({ pageUrl: `${site.origin}/error`, status: 'failed' });
    const all = await runCli(['pages', mixedJob], env);
    expect(all.stdout).toMatch(/^page\s+variant\s+status\s+outcome\s+http\s+ms\s+bytes\s+error$/m);
    // The second refresh of the site: its good page's inputs had not changed, so it was kept, not rendered.
    expect(all.stdout).toMatch(/\/csr\?label=two\s+desktop\s+complete\s+unchanged\s+200\s/);
    expect(all.stdout).toContain('complete');
  });

  it('cancel: a running job is aborted; an ended one is the API refusal (exit 4)', async () => {
    const started = await runCli(['refresh', 'slow', '--json'], env);
    expect(started.status).toBe(0);
    const { id } = json<JobJson>(started);
    const cancel = await runCli(['cancel', id], env);
    expect(cancel.status).toBe(0);
    expect(cancel.stdout).toMatch(new RegExp(`^cancelled: job ${id} \\(refresh of slow\\) aborted`));
    const again = await runCli(['cancel', id], env);
    expect(again.status).toBe(4);
    expect(again.stderr).toMatch(/^rendercache: 409 Invalid Job Status: Job [A-F0-9]{32} has already ended \(aborted\)/);
    expect(hasStack(again.stderr)).toBe(false);
  });

  it('sites: the overview table', async () => {
    const run = await runCli(['sites'], env);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^id\s+name\s+origin\s+status\s+security\s+prerender\s+role\s+refreshed\s+next refresh$/m);
    expect(run.stdout).toMatch(new RegExp(`^fix\\s+Fixture\\s+${site.origin.replace(/\./g, '\\.')}\\s+online\\s+public\\s+on\\s+Owner\\s+\\d{4}-`, 'm'));
    const sites = json<{ id: string }[]>(await runCli(['sites', '--json'], env));
    expect(sites.map((s) => s.id).sort()).toEqual(['fix', 'mixed', 'slow']);
  });

  it('restart-origin on a site without a restart config: the API error title and detail', async () => {
    const run = await runCli(['restart-origin', 'fix'], env);
    expect(run.status).toBe(4);
    expect(run.stderr).toContain('409 Origin Restart Not Configured: Site fix has no origin restart configured');
  });

  it('a wrong token: "token refused (401)", exit 4, no stack trace', async () => {
    const run = await runCli(['sites', '--token', 'not-the-token'], env);
    expect(run.status).toBe(4);
    expect(run.stderr).toMatch(/^rendercache: token refused \(401\): Unauthorized: /);
    expect(hasStack(run.stderr)).toBe(false);
    const none = await runCli(['jobs', 'fix'], { RENDERCACHE_URL: service.url });
    expect(none.status).toBe(4);
    expect(none.stderr).toContain('(no token given: --token / RENDERCACHE_TOKEN)');
  });

  it('an unreachable service: "cannot reach …: connection refused", exit 3', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await runCli(['job', fixJob, '--url', url], env);
    expect(run.status).toBe(3);
    expect(run.stderr).toBe(`rendercache: cannot reach ${url}: connection refused (is the service running? --url / RENDERCACHE_URL)\n`);
  });

  it('an unknown job and a usage error', async () => {
    const missing = await runCli(['job', '0123456789ABCDEF0123456789ABCDEF'], env);
    expect(missing.status).toBe(4);
    expect(missing.stderr).toMatch(/^rendercache: 404 Job Not Found: /);
    const usage = await runCli(['refresh'], env);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("missing required argument 'site'");
  });
}, 240_000);
