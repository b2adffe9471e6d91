import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one process, served at GET /metrics. */
export function createMetrics() {
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
  return {
    registry,
    lookups,
    /** Pre-bound children: the hot path must not build label objects. */
    lookupHit: lookups.labels('hit'),
    renders,
    renderDuration,
    /** Where the render-queue gauge reads from. */
    watchRenderQueue(queue: { unanswered(): number }): void {
      unanswered = () => queue.unanswered();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
