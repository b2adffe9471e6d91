import type { Logger } from '../observability/logger.js';
import { BrowserCrashedError, type BrowserPool } from './browser-pool.js';
import { renderPage } from './render-page.js';
import type { RenderOutcome, RenderPolicy } from './types.js';

/**
 * Renders one URL with the shared browser. A render that Chromium's death interrupted
 * is tried once more on the relaunched browser; any other problem is a failed outcome.
 */
export class Renderer {
  constructor(
    private readonly pool: BrowserPool,
    private readonly logger: Logger,
  ) {}

  /** Chromium's own User-Agent: what a device without its own presents. */
  browserUserAgent(): Promise<string> {
    return this.pool.browserUserAgent();
  }

  get isReady(): boolean {
    return this.pool.isReady;
  }

  async render(url: string, policy: RenderPolicy): Promise<RenderOutcome> {
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.pool.withPage(policy, (lease) => renderPage(lease, url, policy));
      } catch (err) {
        const crashed = err instanceof BrowserCrashedError;
        this.logger.warn({ url, attempt, err: (err as Error).message }, crashed ? 'Chromium died during a render' : 'render error');
        if (!crashed || attempt >= 2) {
          return {
            ok: false,
            failure: { kind: crashed ? 'browser-crashed' : 'chromium-error', detail: (err as Error).message },
            renderTimeMs: Math.round(performance.now() - started),
          };
        }
      }
    }
  }
}
