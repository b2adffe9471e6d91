import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/load.js';
import { defaultMaxRenderConcurrency, defaultRenderMemoryBudgetMb, initialRenderConcurrency, memoryLimitBytes } from '../../src/config/schema.js';
import { tempDir } from '../helpers/service.js';

const CLI = path.resolve('src/cli/main.ts');

function runCli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
}

describe('config', () => {
  it('fills every default from the schema', () => {
    const config = parseConfig({ sites: [{ id: 's', name: 'S', origin: 'https://example.com' }] });
    expect(config.server.port).toBe(3000);
    expect(config.backend).toBe('embedded');
    expect(config.redis).toMatchObject({ url: 'redis://127.0.0.1:6379', topology: 'standalone' });
    expect(config.render.deadlineMs).toBe(20_000);
    expect(config.render.concurrency).toBe('auto');
    const auto = config.render.autoConcurrency;
    expect(auto.min).toBe(2);
    expect(auto.initial).toBeGreaterThanOrEqual(auto.min);
    expect(auto.initial).toBeLessThanOrEqual(auto.max);
    expect(auto.memoryBudgetMb).toBeGreaterThanOrEqual(256);
    expect(config.sites[0]).toMatchObject({
      pages: { sitemap: '/sitemap.xml' }, schedule: '0 * * * *', status: 'online', security: 'public', prerender: true, allowPrivateNetwork: false,
    });
  });

  it('takes render.concurrency as "auto" or a number, and refuses anything else', () => {
    const site = { id: 's', name: 'S', origin: 'https://example.com' };
    expect(parseConfig({ sites: [site], render: { concurrency: 6 } }).render.concurrency).toBe(6);
    expect(parseConfig({ sites: [site], render: { concurrency: 'auto' } }).render.concurrency).toBe('auto');
    expect(() => parseConfig({ sites: [site], render: { concurrency: 'fast' } })).toThrow(/render\.concurrency/);
    expect(() => parseConfig({ sites: [site], render: { autoConcurrency: { min: 8, max: 4 } } })).toThrow(/min must not be above max/);
  });

  it('sizes "auto" from the memory limit: a cgroup limit below the machine wins', () => {
    const GiB = 1024 ** 3;
    expect(memoryLimitBytes(24 * GiB, 2 * GiB)).toBe(2 * GiB);
    expect(memoryLimitBytes(24 * GiB, 0)).toBe(24 * GiB);
    expect(memoryLimitBytes(24 * GiB, 2 ** 62)).toBe(24 * GiB); // no limit: cgroup v2 says "max"
    expect(defaultRenderMemoryBudgetMb(2 * GiB)).toBe(512);
    expect(defaultMaxRenderConcurrency(2 * GiB)).toBe(16);
    expect(defaultMaxRenderConcurrency(64 * GiB)).toBe(64);
    expect(initialRenderConcurrency(2, 24 * GiB)).toBe(4);
    expect(initialRenderConcurrency(16, 512 * 1024 ** 2)).toBe(4);
  });

  it('applies PORT, REDIS_URL and CHROME_PATH over the file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, 'server:\n  port: 1234\n');
    const config = loadConfigFile(file, { PORT: '4321', REDIS_URL: 'redis://10.0.0.1:6379', CHROME_PATH: '/opt/chrome' });
    expect(config.server.port).toBe(4321);
    expect(config.backend).toBe('redis');
    expect(config.redis.url).toBe('redis://10.0.0.1:6379');
    expect(config.render.chromePath).toBe('/opt/chrome');
  });

  it('reads JSON as well as YAML', () => {
    const dir = tempDir();
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, JSON.stringify({ sites: [{ id: 'j', name: 'J', origin: 'http://j.test' }] }));
    expect(loadConfigFile(file, {}).sites[0]?.id).toBe('j');
  });

  it('names the field and the reason of every problem', () => {
    expect(() => parseConfig({ sites: [{ id: 'bad id', name: 'X', origin: 'ftp://x' }], redis: { url: 'memcached://x' } }))
      .toThrow(ConfigError);
    expect(() => parseConfig({ sites: [{ id: 'a', name: 'A', origin: 'http://a.test', members: { bob: 'Boss' } }] }))
      .toThrow(/sites\[0\]\.members\.bob: Invalid option/);
    expect(() => parseConfig({ sites: [{ id: 'a', name: 'A', origin: 'http://a.test' }, { id: 'a', name: 'B', origin: 'http://b.test' }] }))
      .toThrow(/sites\[1\]\.id: duplicate site id "a"/);
  });

  it('stops start-up on a bad file with a message and no stack trace', () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, 'server:\n  port: "eighty"\nsites:\n  - id: s\n    name: S\n    origin: not-a-url\n    shedule: hourly\n');
    const result = runCli(['serve', '--config', file]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('server.port');
    expect(result.stderr).toContain('sites[0].origin');
    expect(result.stderr).toContain('Unrecognized key: "shedule"');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('says so when the file is missing or not YAML', () => {
    const missing = runCli(['serve', '--config', '/nonexistent/rc.yaml']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('cannot read config file /nonexistent/rc.yaml');
    const dir = tempDir();
    const file = path.join(dir, 'broken.yaml');
    fs.writeFileSync(file, 'sites: [unclosed\n');
    const broken = runCli(['serve', '--config', file]);
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain('is not valid YAML');
  });

  it('the shipped default config is valid', () => {
    expect(loadConfigFile('config/default.yaml', {}).sites.map((s) => s.id)).toEqual(['demo']);
  });
});
