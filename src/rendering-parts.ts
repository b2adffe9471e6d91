import type { RendercacheConfig } from './config/schema.js';
import { PageDiscovery } from './jobs/discovery/discover-pages.js';
import type { Logger } from './observability/logger.js';
import { BrowserPool } from './render/browser-pool.js';
import { resolveChromePath } from './render/chromium-launch.js';
import { EgressProxy } from './render/egress/egress-proxy.js';

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
