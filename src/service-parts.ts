import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { HTTPRequest } from 'puppeteer';
import { redactRestartConfig } from './adapters/redact.js';
import type { RendercacheConfig } from './config/schema.js';
import { PageDiscovery } from './jobs/discovery/discover-pages.js';
import { createLogger, type Logger } from './observability/logger.js';
import { describeRedis, openCommandConnection, redisPolicy } from './redis/redis-connection.js';
import { BrowserPool, BrowserCrashedError } from './render/browser-pool.js';
import { resolveChromePath } from './render/chromium-launch.js';
import { EgressProxy } from './render/egress/egress-proxy.js';
import { renderPolicyFor } from './render/policy.js';
import { renderPage } from './render/render-page.js';
import type { RenderOutcome } from './render/types.js';
import { SiteRegistry } from './sites/site-registry.js';
import { SqliteStore } from './stores/sqlite-store.js';

/**
 * Parts of the composition built from the config alone: the rendering parts the service
 * builds (service.ts buildRendering), and what the CLI does with the same parts without a
 * running service (render one URL, the doctor's probes, the config with its secrets masked).
 */

/** The egress guard, Chromium (none on role "api") and discovery, built from the config. */
export interface RenderingParts {
  egress: EgressProxy;
  pool: BrowserPool | null;
  discovery: PageDiscovery;
}

export function buildRenderingParts(config: RendercacheConfig, logger: Logger): RenderingParts {
  const egress = new EgressProxy({ logger });
  const pool =
    config.cluster.role === 'api'
      ? null
      : new BrowserPool({
          egress,
          executablePath: resolveChromePath(config.render.chromePath),
          userAgent: config.render.userAgent,
          recycleAfterRenders: config.render.recycleAfterRenders,
          recycleAfterMs: config.render.recycleAfterMinutes * 60_000,
          pageMaxRenders: config.render.pageMaxRenders,
          idleSiteContexts: config.render.idleSiteContexts,
          collectGarbageEveryRenders: config.render.collectGarbageEveryRenders,
          protocolTimeoutMs: config.render.protocolTimeoutMs,
          logger,
        });
  const { discovery: discoveryConfig } = config.refresh;
  const discovery = new PageDiscovery(egress, {
    maxPages: config.refresh.maxPagesPerJob,
    // One agent for a site: the renderer's when it is set.
    userAgent: config.render.userAgent ?? discoveryConfig.userAgent,
    timeoutMs: discoveryConfig.timeoutMs,
    maxDocumentBytes: discoveryConfig.maxDocumentBytes,
    maxSitemaps: discoveryConfig.maxSitemaps,
  });
  return { egress, pool, discovery };
}

/** The logger of a one-off tool run: to stderr, silent unless asked. */
const toolLogger = (level = 'silent') => createLogger(level, process.stderr);

/** A device a one-off render emulates: its viewport and user agent. */
export interface Device {
  name: string;
  userAgent: string;
  viewport: { width: number; height: number; deviceScaleFactor: number; isMobile: boolean; hasTouch: boolean };
}

export const MOBILE_DEVICE: Device = {
  name: 'mobile',
  userAgent: 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  viewport: { width: 412, height: 915, deviceScaleFactor: 2.625, isMobile: true, hasTouch: true },
};

export interface OneRender {
  siteId: string;
  outcome: RenderOutcome;
  /** Requests that failed during the render: blocked by the site's policy, refused by the egress guard, or failed. */
  failedRequests: { url: string; reason: string }[];
}

/** The URL is not a page of any configured site. */
export class NotASitePageError extends Error {
  override name = 'NotASitePageError';
}

/**
 * Renders one URL as the service would: the site's policy (blocking, readiness, stripping,
 * deadline), behind the same egress guard, in a Chromium of its own that is closed after.
 */
export async function renderOneUrl(config: RendercacheConfig, url: string, options: { logLevel?: string; device?: Device } = {}): Promise<OneRender> {
  const pageUrl = new URL(url).href;
  const site = new SiteRegistry(config.sites).forUrl(pageUrl);
  if (!site) throw new NotASitePageError(`${pageUrl} is not a page of a configured site (${config.sites.map((s) => s.origin).join(', ') || 'none'})`);
  const device = options.device;
  const own: RendercacheConfig = {
    ...config,
    cluster: { ...config.cluster, role: 'all' },
    render: { ...config.render, ...(device ? { userAgent: device.userAgent } : {}) },
  };
  const parts = buildRenderingParts(own, toolLogger(options.logLevel));
  const pool = parts.pool as BrowserPool;
  const policy = renderPolicyFor(site.config, own.render);
  const failedRequests: OneRender['failedRequests'] = [];
  const started = performance.now();
  try {
    const outcome = await pool
      .withPage(policy, async (lease) => {
        const onFailed = (request: HTTPRequest) => failedRequests.push({ url: request.url(), reason: request.failure()?.errorText ?? 'failed' });
        lease.page.on('requestfailed', onFailed);
        try {
          if (device) await lease.page.setViewport(device.viewport);
          return await renderPage(lease, pageUrl, policy);
        } finally {
          lease.page.off('requestfailed', onFailed);
        }
      })
      .catch((err: unknown): RenderOutcome => ({
        ok: false,
        failure: { kind: err instanceof BrowserCrashedError ? 'browser-crashed' : 'chromium-error', detail: err instanceof Error ? err.message : String(err) },
        renderTimeMs: Math.round(performance.now() - started),
      }));
    return { siteId: site.id, outcome, failedRequests };
  } finally {
    await pool.close().catch(() => undefined);
    await parts.egress.close().catch(() => undefined);
  }
}

/** The Chromium binary the config picks (undefined: puppeteer's own download). */
export function chromiumPath(config: RendercacheConfig): string | undefined {
  return resolveChromePath(config.render.chromePath);
}

/** `chromium --version` of the binary, or the reason it did not answer. */
export function chromiumVersion(executable: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(executable, ['--version'], { timeout: 15_000 }, (err, stdout) => (err ? reject(new Error(err.message)) : resolve(stdout.trim())));
  });
}

/** Launches Chromium as the service does (flags, egress guard) and closes it again. */
export async function launchChromium(config: RendercacheConfig, logLevel?: string): Promise<void> {
  const parts = buildRenderingParts({ ...config, cluster: { ...config.cluster, role: 'all' } }, toolLogger(logLevel));
  try {
    await parts.pool?.start();
  } finally {
    await parts.pool?.close().catch(() => undefined);
    await parts.egress.close().catch(() => undefined);
  }
}

/** Opens the configured backend's store and proves it answers: the SQLite file opened for writing, or Redis's PING. Resolves what was checked. */
export async function probeStore(config: RendercacheConfig): Promise<string> {
  if (config.backend === 'embedded') {
    const dir = path.resolve(config.cache.dir);
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    const store = await SqliteStore.open(dir);
    await store.close();
    return `SQLite under ${dir} (writable)`;
  }
  const policy = redisPolicy(config.redis);
  const connection = await openCommandConnection(policy);
  try {
    const answer = await connection.ping();
    return `Redis ${describeRedis(policy)} answered ${answer}`;
  } finally {
    await connection.quit().catch(() => connection.disconnect());
  }
}

/** The pages discovery finds for a configured site, as a refresh would. */
export async function discoverSitePages(config: RendercacheConfig, siteId: string, logLevel?: string): Promise<string[]> {
  const site = new SiteRegistry(config.sites).byId(siteId);
  if (!site) throw new Error(`no site ${siteId}`);
  const parts = buildRenderingParts({ ...config, cluster: { ...config.cluster, role: 'api' } }, toolLogger(logLevel));
  try {
    return await parts.discovery.discover(site);
  } finally {
    await parts.egress.close().catch(() => undefined);
  }
}

const MASK = '***';

/** The config with its secrets masked: API tokens, adapter secrets and passwords, the Redis URL's password. */
export function maskedConfig(config: RendercacheConfig): unknown {
  return {
    ...config,
    redis: { ...config.redis, url: maskUrlPassword(config.redis.url) },
    auth: { ...config.auth, tokens: config.auth.tokens.map((t) => ({ ...t, token: MASK })) },
    sites: config.sites.map((site) => (site.restart ? { ...site, restart: redactRestartConfig(site.restart) } : site)),
  };
}

function maskUrlPassword(url: string): string {
  const match = /^(rediss?:\/\/)([^@/]*)@/.exec(url);
  if (!match?.[2]) return url;
  const userinfo = match[2];
  const colon = userinfo.indexOf(':');
  const masked = colon < 0 ? MASK : `${userinfo.slice(0, colon)}:${MASK}`;
  return `${match[1]}${masked}@${url.slice(match[0].length)}`;
}
