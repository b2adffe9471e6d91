import type { HTTPRequest } from 'puppeteer';
import type { RendercacheConfig } from '../config/schema.js';
import { type BrowserPool, BrowserCrashedError } from '../render/browser-pool.js';
import { renderPolicyFor } from '../render/policy.js';
import { renderPage } from '../render/render-page.js';
import type { RenderOutcome } from '../render/types.js';
import { buildRenderingParts } from '../rendering-parts.js';
import { SiteRegistry } from '../sites/site-registry.js';
import { toolLogger } from './tool-logger.js';

export interface OneRender {
  siteId: string;
  /** The device the page was rendered as. */
  device: string;
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
export async function renderOneUrl(config: RendercacheConfig, url: string, options: { logLevel?: string; device?: string } = {}): Promise<OneRender> {
  const pageUrl = new URL(url).href;
  const site = new SiteRegistry(config.sites).forUrl(pageUrl);
  if (!site) throw new NotASitePageError(`${pageUrl} is not a page of a configured site (${config.sites.map((s) => s.origin).join(', ') || 'none'})`);
  const own: RendercacheConfig = { ...config, cluster: { ...config.cluster, role: 'all' } };
  const parts = buildRenderingParts(own, toolLogger(options.logLevel));
  const pool = parts.pool as BrowserPool;
  // The site's default variant, or the device asked for (any of render.devices).
  const policy = renderPolicyFor(site.config, own.render, options.device);
  const failedRequests: OneRender['failedRequests'] = [];
  const started = performance.now();
  try {
    const outcome = await pool
      .withPage(policy, async (lease) => {
        const onFailed = (request: HTTPRequest) => failedRequests.push({ url: request.url(), reason: request.failure()?.errorText ?? 'failed' });
        lease.page.on('requestfailed', onFailed);
        try {
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
    return { siteId: site.id, device: policy.device.name, outcome, failedRequests };
  } finally {
    await pool.close().catch(() => undefined);
    await parts.egress.close().catch(() => undefined);
  }
}
