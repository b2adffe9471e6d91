import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from './logger.js';

/** What a crawler lookup came to. */
export type LookupResult = 'hit' | 'stale' | 'miss' | 'error';

/**
 * Prometheus metrics of one process, served at GET /metrics. Crawler lookups are counted
 * here, and logged one by one only at level debug (`logger`).
 */
export function createMetrics(logger: Logger) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rendercache_' });
  const lookups = new Counter({
    name: 'rendercache_lookups_total',
    help: 'Crawler lookups by cache state (hit, stale, miss) or error.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const renders = new Counter({
    name: 'rendercache_renders_total',
    help: 'Renders by outcome (ok or the failure kind).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const renderDuration = new Histogram({
    name: 'rendercache_render_duration_seconds',
    help: 'Time to render one page.',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30],
    registers: [registry],
  });
  // Read when scraped, from the render queue the engine builds after the metrics.
  let unanswered: () => number = () => 0;
  new Gauge({
    name: 'rendercache_render_queue_waiting',
    help: 'Render tasks submitted by this instance and not answered yet (queued or rendering).',
    registers: [registry],
    collect() {
      this.set(unanswered());
    },
  });
  let renderCapacity: () => number = () => 0;
  new Gauge({
    name: 'rendercache_render_concurrency',
    help: 'Renders at once on this instance: render.concurrency, or what "auto" decided last.',
    registers: [registry],
    collect() {
      this.set(renderCapacity());
    },
  });
  // Pre-bound children and a level read once: the hot path builds no label objects and asks nothing.
  const counted = { hit: lookups.labels('hit'), stale: lookups.labels('stale'), miss: lookups.labels('miss'), error: lookups.labels('error') };
  const logEach = logger.isLevelEnabled('debug');
  return {
    registry,
    /** Counts one crawler lookup of `url`. */
    countLookup(result: LookupResult, url: string): void {
      counted[result].inc();
      if (logEach) logger.debug({ url, result }, 'crawler lookup');
    },
    renders,
    renderDuration,
    /** Where the render-queue gauge reads from. */
    watchRenderQueue(queue: { unanswered(): number }): void {
      unanswered = () => queue.unanswered();
    },
    /** Where the render-concurrency gauge reads from. */
    watchRenderCapacity(capacity: { readonly concurrency: number }): void {
      renderCapacity = () => capacity.concurrency;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
