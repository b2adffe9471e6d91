import { variantKey } from '../cache/key.js';
import type { PageCache } from '../cache/page-cache.js';
import { INSTANCE_ID } from '../observability/instance.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { renderPolicyFor } from '../render/policy.js';
import type { Renderer } from '../render/renderer.js';
import type { RenderPolicy } from '../render/types.js';
import { isIncremental } from '../freshness/freshness-rules.js';
import type { IncrementalRefresh } from '../revalidate/incremental-refresh.js';
import type { RenderOptionsConfig } from '../config/schema.js';
import type { Site } from '../sites/site.js';
import type { SiteRegistry } from '../sites/site-registry.js';
import { taskFailure, type RenderTask, type RenderTaskResult } from './render-queue.js';

/**
 * The work behind every queued task: render the page, then write it to the cache only
 * if the render succeeded. A failure leaves the cached page in place and is recorded.
 * A refresh page whose write failed is a failed attempt ('store-error'), retried like
 * a failed render.
 */
export class RenderAndStore {
  private stopping = false;

  constructor(
    private readonly renderer: Renderer,
    private readonly cache: PageCache,
    private readonly sites: SiteRegistry,
    private readonly renderDefaults: RenderOptionsConfig,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** Keeps refreshed pages whose inputs did not change; null: every refresh page is rendered. */
    private readonly incremental: IncrementalRefresh | null = null,
  ) {}

  /** The task's site, cache key and render policy; why not, when its site or device is gone. */
  private targetOf(task: RenderTask): RenderTarget | string {
    const site = this.sites.byId(task.siteId);
    if (!site) return `unknown site ${task.siteId}`;
    if (!(task.variant in this.renderDefaults.devices)) return `no device "${task.variant}" in render.devices`;
    return { site, key: variantKey(task.url, task.variant), policy: renderPolicyFor(site.config, this.renderDefaults, task.variant) };
  }

  /** Called before Chromium closes: renders cut short from now on are not recorded as failures. */
  stop(): void {
    this.stopping = true;
  }

  async run(task: RenderTask): Promise<RenderTaskResult> {
    const target = this.targetOf(task);
    // A task queued before the config changed may name what is no longer there.
    if (typeof target === 'string') return taskFailure(target);
    const { key, policy } = target;
    if (!task.inputsChecked) {
      const kept = await this.keepTargetIfUnchanged(task, target);
      if (kept) return kept;
    }
    const outcome = await this.renderer.render(task.url, policy);
    this.metrics.renderDuration.observe(outcome.renderTimeMs / 1000);
    if (!outcome.ok) {
      this.metrics.renders.labels(outcome.failure.kind).inc();
      this.logger.warn({ url: task.url, variant: task.variant, failure: outcome.failure, trigger: task.source.trigger }, 'render failed; cached page kept');
      // A render cut by this instance's stop says nothing about the page: no stale mark.
      if (!this.stopping) await this.cache.recordFailure(key, outcome.failure);
      return { ok: false, failure: outcome.failure, renderTimeMs: outcome.renderTimeMs, renderedBy: INSTANCE_ID };
    }
    this.metrics.renders.labels('ok').inc();
    const { entry, writeError } = await this.cache.put(key, {
      url: task.url,
      status: outcome.status,
      headers: outcome.headers,
      html: outcome.html,
      renderTimeMs: outcome.renderTimeMs,
      source: task.source,
      inputs: outcome.inputs,
    });
    // A refresh page is done only once the store holds it; a lookup may serve it from memory.
    if (writeError !== null && isRefreshTask(task)) {
      return {
        ok: false,
        failure: { kind: 'store-error', detail: `rendered, but not stored: ${writeError}` },
        renderTimeMs: outcome.renderTimeMs,
        renderedBy: INSTANCE_ID,
      };
    }
    this.logger.debug({ url: task.url, variant: task.variant, status: outcome.status, ms: outcome.renderTimeMs }, 'rendered');
    return {
      ok: true,
      status: outcome.status,
      bytes: entry.stored.bytes,
      renderTimeMs: outcome.renderTimeMs,
      renderedAt: entry.stored.renderedAt,
      renderedBy: INSTANCE_ID,
      unchanged: false,
      entry,
    };
  }

  /**
   * A refresh page whose inputs are unchanged: its entry kept, verified now, no render. Null
   * when the page is to be rendered: not a refresh page, not incremental, or changed. Needs
   * no browser slot, so a refresh may ask it of many pages while others render.
   */
  keepIfUnchanged(task: RenderTask): Promise<RenderTaskResult | null> {
    const target = this.targetOf(task);
    return typeof target === 'string' ? Promise.resolve(null) : this.keepTargetIfUnchanged(task, target);
  }

  private async keepTargetIfUnchanged(task: RenderTask, { site, key, policy }: RenderTarget): Promise<RenderTaskResult | null> {
    const started = performance.now();
    const jobId = task.source.jobId;
    if (!this.incremental || jobId === undefined || !isIncremental(site.config, task.url)) return null;
    const userAgent = policy.device.userAgent ?? (await this.renderer.browserUserAgent());
    const kept = await this.incremental.keepIfUnchanged({
      key,
      url: task.url,
      jobId,
      policy: { ...policy, userAgent },
      ...(task.lastmod === undefined ? {} : { lastmod: task.lastmod }),
    });
    if (!kept) return null;
    this.metrics.renders.labels('unchanged').inc();
    return {
      ok: true,
      status: kept.stored.status,
      bytes: kept.stored.bytes,
      renderTimeMs: Math.round(performance.now() - started),
      renderedAt: kept.stored.renderedAt,
      renderedBy: INSTANCE_ID,
      unchanged: true,
      entry: kept,
    };
  }
}

/** A page of a refresh job (as opposed to a crawler's lookup or its revalidation). */
const isRefreshTask = (task: RenderTask) => task.source.jobId !== undefined;

/** What a task renders: its site, its cache key, and the render policy of its variant. */
interface RenderTarget {
  site: Site;
  key: string;
  policy: RenderPolicy;
}
