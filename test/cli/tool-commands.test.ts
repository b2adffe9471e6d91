import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureSite, type FixtureSite } from '../fixtures/fixture-site.js';
import { freePort } from '../helpers/free-port.js';
import { tempDir } from '../helpers/service.js';
import { hasStack, runCli } from './cli-helpers.js';

/** Writes a YAML config file in a fresh folder, its store there too. */
function configFile(raw: Record<string, unknown>): string {
  const dir = tempDir('rendercache-cli-');
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, YAML.stringify({ cache: { dir: path.join(dir, 'data') }, log: { level: 'silent' }, ...raw }));
  return file;
}

describe('rendercache commands that need no service: check-config, render, doctor', () => {
  let site: FixtureSite;

  beforeAll(async () => {
    site = await startFixtureSite();
  });

  afterAll(async () => {
    await site?.close();
  });

  it('check-config: the effective config, defaults filled, secrets masked', async () => {
    const file = configFile({
      backend: 'redis',
      redis: { url: 'redis://app:redis-pass-123@127.0.0.1:6379/2' },
      auth: { tokens: [{ token: 'super-secret-token', user: 'admin', admin: true }] },
      sites: [
        {
          id: 'gis',
          name: 'GIS',
          origin: 'https://gis.example.com',
          restart: {
            adapter: 'arcgis-deployment',
            when: 'manual',
            portalUrl: 'https://gis.example.com/portal',
            username: 'publisher',
            password: 'arcgis-pass-456',
            deploymentId: 'dep1',
          },
        },
      ],
    });
    const run = await runCli(['check-config', file]);
    expect(run.stderr).toBe(`${file}: valid (1 site, backend redis); environment overrides applied, secrets masked\n`);
    expect(run.status).toBe(0);
    for (const secret of ['redis-pass-123', 'super-secret-token', 'arcgis-pass-456']) expect(run.stdout).not.toContain(secret);
    const shown = YAML.parse(run.stdout) as {
      redis: { url: string };
      auth: { tokens: { token: string; user: string }[] };
      sites: { restart: { password: string; username: string }; schedule: string }[];
      render: { deadlineMs: number };
    };
    expect(shown.redis.url).toBe('redis://app:***@127.0.0.1:6379/2');
    expect(shown.auth.tokens[0]).toMatchObject({ token: '***', user: 'admin' });
    expect(shown.sites[0]?.restart).toMatchObject({ password: '***', username: 'publisher' });
    // Defaults filled.
    expect(shown.sites[0]?.schedule).toBe('0 * * * *');
    expect(shown.render.deadlineMs).toBe(20_000);
    // JSON for scripts; the environment's overrides apply.
    const viaEnv = await runCli(['check-config', file, '--json'], { REDIS_URL: 'rediss://:env-pass-789@redis.example.com:6380' });
    expect(viaEnv.status).toBe(0);
    expect((JSON.parse(viaEnv.stdout) as { redis: { url: string } }).redis.url).toBe('rediss://:***@redis.example.com:6380');
  });

  it('check-config: an invalid file is named with its fields, exit 1, no stack trace', async () => {
    const file = configFile({ sites: [{ id: 'bad id', name: 'B', origin: 'nope' }] });
    const run = await runCli(['check-config', file]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('sites[0].id');
    expect(run.stderr).toContain('sites[0].origin');
    expect(hasStack(run.stderr)).toBe(false);
  });

  it("render: a fixture page's JS-rendered HTML on stdout, stripped of scripts; the timing on stderr", async () => {
    const file = configFile({ sites: [{ id: 'fix', name: 'Fixture', origin: site.origin }] });
    const run = await runCli(['render', `${site.origin}/csr?label=cli-rendered`, '--config', file]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('<h1 id="rendered">cli-rendered</h1>');
    expect(run.stdout).not.toContain('<script>');
    expect(run.stderr).toMatch(new RegExp(`^rendered ${site.origin}/csr\\?label=cli-rendered \\(site fix, desktop\\)$`, 'm'));
    expect(run.stderr).toMatch(/^ {2}status 200, \d+ bytes, \d+ ms$/m);
    expect(run.stderr).toMatch(/^ {2}\d+ requests blocked, \d+ other requests failed$/m);
  });

  it('render without a config (the URL is the site), --device mobile, --out FILE; blocked requests counted', async () => {
    const out = path.join(tempDir(), 'page.html');
    const run = await runCli(['render', `${site.origin}/assets`, '--device', 'mobile', '--out', out]);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('');
    expect(fs.readFileSync(out, 'utf8')).toContain('</html>');
    expect(run.stderr).toContain('(site url, mobile)');
    expect(run.stderr).toMatch(/^ {2}[1-9]\d* requests blocked/m);
    expect(site.lastHeaders.get('/assets')?.['user-agent']).toMatch(/Mobile/);
  });

  it('render: a URL outside the configured sites is a usage error; a failed render exits 1', async () => {
    const file = configFile({ sites: [{ id: 'fix', name: 'Fixture', origin: site.origin }] });
    const outside = await runCli(['render', 'https://elsewhere.example.com/', '--config', file]);
    expect(outside.status).toBe(2);
    expect(outside.stderr).toContain('https://elsewhere.example.com/ is not a page of a configured site');
    const failed = await runCli(['render', `${site.origin}/error`, '--config', file]);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/^render failed \(origin-error\)/);
  });

  it('doctor on a good config: every check ok, exit 0', async () => {
    const file = configFile({ sites: [{ id: 'fix', name: 'Fixture', origin: site.origin }] });
    const run = await runCli(['doctor', '--config', file], {}, 90_000);
    expect(run.stderr).toBe('everything looks fine\n');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^check\s+result\s+status\s+fix$/m);
    expect(run.stdout).toMatch(/^chromium launch\s+launched and closed in \d+ ms\s+ok/m);
    expect(run.stdout).toMatch(/^store\s+SQLite under .* \(writable\)\s+ok/m);
    expect(run.stdout).toMatch(/^site fix origin\s+.* answered \d{3}\s+ok/m);
    // The fixture's sitemap index: /page/a1, /page/a2 and /page/b1.
    expect(run.stdout).toMatch(/^site fix pages\s+3 pages \(sitemap \/sitemap\.xml\)\s+ok/m);
  });

  it('doctor with an unreachable origin: the problem and its fix, exit 1', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const file = configFile({ sites: [{ id: 'gone', name: 'Gone', origin: closed }] });
    const run = await runCli(['doctor', '--config', file, '--json'], {}, 90_000);
    expect(run.status).toBe(1);
    const checks = JSON.parse(run.stdout) as { check: string; ok: boolean; result: string; fix: string }[];
    const origin = checks.find((c) => c.check === 'site gone origin');
    expect(origin).toMatchObject({ ok: false, result: `${closed} unreachable: connection refused` });
    expect(origin?.fix).toContain('start the site or correct sites[].origin');
    expect(checks.filter((c) => !c.ok)).toHaveLength(1);
  });
}, 300_000);
