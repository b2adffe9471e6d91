import fs from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { optionsOf, print } from '../client-options.js';
import { EXIT } from '../errors.js';
import { networkReason } from '../network.js';
import { table } from '../table.js';
import { configFileOf, loadConfig, type RendercacheConfig, type SiteConfig } from './config-file.js';

interface Check {
  check: string;
  ok: boolean;
  result: string;
  /** How to fix it; empty when ok. */
  fix: string;
}

const ORIGIN_TIMEOUT_MS = 10_000;

/** Loaded when a check runs: the other commands start faster without Chromium's and the stores' modules. */
const probes = () => import('../../tools/doctor-probes.js');

/** doctor: Chromium, the store and each site's origin, checked; exit 1 when anything is wrong. */
export function doctorCommand(program: Command, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command('doctor')
    .description("checks Chromium, the store and each site's origin (reachable, sitemap, page count); exit 1 when something is wrong")
    .option('-c, --config <file>', 'config file (default: $RENDERCACHE_CONFIG, then config/default.yaml)')
    .option('--json', 'print the checks as JSON')
    .action((raw: unknown) =>
      run(async () => {
        const options = optionsOf(z.object({ config: z.string().optional(), json: z.boolean().optional() }), raw);
        const file = configFileOf(options.config);
        const config = loadConfig(file);
        const checks: Check[] = [
          {
            check: 'config',
            ok: true,
            result: `${file}: valid, ${config.sites.length} site${config.sites.length === 1 ? '' : 's'}, backend ${config.backend}`,
            fix: '',
          },
        ];
        checks.push(...(await chromiumChecks(config)));
        checks.push(await storeCheck(config));
        for (const site of config.sites) checks.push(...(await siteChecks(config, site)));
        if (options.json) print(checks);
        else
          print(
            table(
              ['check', 'result', 'status', 'fix'],
              checks.map((c) => [c.check, c.result, c.ok ? 'ok' : 'PROBLEM', c.fix || '-']),
            ),
          );
        const problems = checks.filter((c) => !c.ok).length;
        if (!options.json) process.stderr.write(problems ? `${problems} problem${problems === 1 ? '' : 's'} found\n` : 'everything looks fine\n');
        return problems ? EXIT.failed : EXIT.ok;
      }),
    );
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';

async function chromiumChecks(config: RendercacheConfig): Promise<Check[]> {
  const { chromiumPath, chromiumVersion, launchChromium } = await probes();
  const path = chromiumPath(config);
  const fixPath = 'install Chromium (apt-get install chromium-headless-shell or chromium) or set render.chromePath / env CHROME_PATH';
  if (path !== undefined && !fs.existsSync(path)) {
    return [{ check: 'chromium', ok: false, result: `${path}: no such file`, fix: fixPath }];
  }
  const checks: Check[] = [];
  if (path === undefined) checks.push({ check: 'chromium path', ok: true, result: "none found on the system: puppeteer's own download", fix: '' });
  else {
    const version = await chromiumVersion(path).then(
      (v) => ({ ok: true, result: `${path}: ${v}` }),
      (err: unknown) => ({ ok: false, result: `${path}: --version failed: ${message(err)}` }),
    );
    checks.push({ check: 'chromium path', ...version, fix: version.ok ? '' : fixPath });
  }
  const started = Date.now();
  const launch = await launchChromium(config).then(
    () => ({ ok: true, result: `launched and closed in ${Date.now() - started} ms` }),
    (err: unknown) => ({ ok: false, result: `does not launch: ${message(err)}` }),
  );
  checks.push({ check: 'chromium launch', ...launch, fix: launch.ok ? '' : `${fixPath}; in a container, check /dev/shm and that its libraries are installed` });
  return checks;
}

async function storeCheck(config: RendercacheConfig): Promise<Check> {
  const { probeStore } = await probes();
  const fix =
    config.backend === 'embedded'
      ? `make cache.dir (${config.cache.dir}) a writable folder`
      : 'check redis.url (host, port, password, TLS) and that Redis is running; or leave backend out for the embedded store';
  return probeStore(config).then(
    (result) => ({ check: 'store', ok: true, result, fix: '' }),
    (err: unknown) => ({ check: 'store', ok: false, result: `${config.backend}: ${message(err)}`, fix }),
  );
}

async function siteChecks(config: RendercacheConfig, site: SiteConfig): Promise<Check[]> {
  const name = `site ${site.id}`;
  const reach = await fetch(site.origin, { redirect: 'manual', signal: AbortSignal.timeout(ORIGIN_TIMEOUT_MS) }).then(
    async (res) => {
      await res.body?.cancel().catch(() => undefined);
      return { ok: res.status < 500, result: `${site.origin} answered ${res.status}` };
    },
    (err: unknown) => ({ ok: false, result: `${site.origin} unreachable: ${networkReason(err, ORIGIN_TIMEOUT_MS)}` }),
  );
  const checks: Check[] = [
    {
      check: `${name} origin`,
      ...reach,
      fix: reach.ok ? '' : `start the site or correct sites[].origin (${site.origin}); the renderer and discovery reach it from this host`,
    },
  ];
  if (!reach.ok) return checks;
  const { discoverSitePages } = await probes();
  const source =
    'sitemap' in site.pages
      ? `sitemap ${site.pages.sitemap}`
      : 'urls' in site.pages
        ? `${site.pages.urls.length} listed URLs`
        : `crawl from ${site.pages.crawl.start}`;
  const pages = await discoverSitePages(config, site.id).then(
    (found) => ({ ok: found.length > 0, result: `${found.length} pages (${source})` }),
    (err: unknown) => ({ ok: false, result: `${source}: ${message(err)}` }),
  );
  checks.push({
    check: `${name} pages`,
    ...pages,
    fix: pages.ok
      ? ''
      : 'sitemap' in site.pages
        ? `serve a sitemap at ${new URL(site.pages.sitemap, site.origin).href} (or name it in robots.txt), or set the site's pages to {urls: [...]} or {crawl: {...}}`
        : "check the site's pages setting: no page of the site was found",
  });
  return checks;
}
