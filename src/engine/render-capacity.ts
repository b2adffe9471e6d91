import type { Logger } from '../observability/logger.js';
import type { TreeUsage } from '../observability/process-tree-usage.js';
import { ConcurrencyTuner, type TunerLimits } from './concurrency-tuner.js';

/** Time and timers of the capacity's windows; tests drive them by hand. */
export interface CapacityClock {
  now(): number;
  /** Calls `tick` every `ms` until the returned function is called. */
  every(ms: number, tick: () => void): () => void;
}

export const systemCapacityClock: CapacityClock = {
  now: () => performance.now(),
  every(ms, tick) {
    const timer = setInterval(tick, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

/** A gate in front of Chromium: its renders under way and the work waiting for a slot. A window counts as busy while every slot is taken. */
export interface GateLoad {
  running: number;
  waiting: number;
}

export type RenderCapacityOptions = { mode: 'fixed'; concurrency: number } | { mode: 'auto'; limits: TunerLimits; initial: number; windowMs: number };

export interface RenderCapacityDeps {
  /** CPU and memory now (observability/process-tree-usage). */
  usage: { read(): TreeUsage };
  clock: CapacityClock;
  logger: Logger;
}

/** Samples of the gates' load per window: the share of a window in which work waited. */
const SAMPLES_PER_WINDOW = 8;
/** Fewest renders finished before a window with work waiting is judged (or ten windows pass). */
const MIN_RENDERS = 20;

/**
 * This instance's renders at once, the one number every gate in front of its Chromium
 * follows (the local render queue, the cluster's browser slots, the queue used while Redis is
 * away). Fixed when `render.concurrency` is a number; with "auto" it is re-decided after each
 * window (windowMs, and enough renders finished to judge) by the ConcurrencyTuner from the
 * renders finished, whether work was waiting, the machine's CPU and the process tree's memory. Listeners hear each change.
 */
export class RenderCapacity {
  private value: number;
  private readonly tuner: ConcurrencyTuner | null;
  private readonly listeners: ((concurrency: number) => void)[] = [];
  private readonly gates: (() => GateLoad)[] = [];
  private window = { startedAt: 0, renders: 0, samples: 0, busy: 0, peakDemand: 0 };
  private stopTicks: (() => void) | null = null;
  /** After a change, renders are not counted until this time: the new slots' first renders are still under way. */
  private settleUntil = 0;

  constructor(
    private readonly options: RenderCapacityOptions,
    private readonly deps: RenderCapacityDeps,
  ) {
    this.tuner = options.mode === 'auto' ? new ConcurrencyTuner(options.limits, options.initial) : null;
    this.value = this.tuner ? this.tuner.concurrency : (options as { concurrency: number }).concurrency;
  }

  get concurrency(): number {
    return this.value;
  }

  get adaptive(): boolean {
    return this.tuner !== null;
  }

  /** `listener` hears every new concurrency. */
  onChange(listener: (concurrency: number) => void): void {
    this.listeners.push(listener);
  }

  /** A gate whose load is sampled: demand counts only when work waits at one. */
  addGate(load: () => GateLoad): void {
    this.gates.push(load);
  }

  /** One render finished (well or not). */
  rendered(): void {
    this.window.renders++;
  }

  /** Starts the windows (auto only). */
  start(): void {
    if (!this.tuner || this.stopTicks || this.options.mode !== 'auto') return;
    this.deps.usage.read(); // the CPU baseline of the first window
    this.window = { startedAt: this.deps.clock.now(), renders: 0, samples: 0, busy: 0, peakDemand: 0 };
    this.stopTicks = this.deps.clock.every(Math.max(1, Math.round(this.options.windowMs / SAMPLES_PER_WINDOW)), () => this.sample());
  }

  stop(): void {
    this.stopTicks?.();
    this.stopTicks = null;
  }

  private sample(): void {
    if (this.options.mode !== 'auto' || !this.tuner) return;
    const now = this.deps.clock.now();
    if (now < this.settleUntil) {
      this.window = { startedAt: now, renders: 0, samples: 0, busy: 0, peakDemand: 0 };
      return;
    }
    const window = this.window;
    window.samples++;
    let running = 0;
    let waiting = 0;
    for (const gate of this.gates) {
      const load = gate();
      running += load.running;
      waiting += load.waiting;
    }
    if (waiting > 0 || running >= this.value) window.busy++;
    window.peakDemand = Math.max(window.peakDemand, running + waiting);
    const elapsedMs = now - window.startedAt;
    const busyShare = window.busy / window.samples;
    // Throughput from a handful of renders is noise: at least MIN_RENDERS, and two per slot.
    const enough = window.renders >= Math.max(MIN_RENDERS, 2 * this.value) || busyShare < 0.75 || elapsedMs >= 10 * this.options.windowMs;
    if (elapsedMs < this.options.windowMs || !enough) return;
    const usage = this.deps.usage.read();
    const decision = this.tuner.next({
      renders: window.renders,
      elapsedMs,
      busyShare,
      peakDemand: window.peakDemand,
      cpuBusy: usage.cpuBusy,
      memoryBytes: usage.memoryBytes,
    });
    this.window = { startedAt: this.deps.clock.now(), renders: 0, samples: 0, busy: 0, peakDemand: 0 };
    const seen = {
      from: this.value,
      to: decision.concurrency,
      reason: decision.reason,
      renders: window.renders,
      elapsedMs: Math.round(elapsedMs),
      busyShare: Math.round(busyShare * 100) / 100,
      peakDemand: window.peakDemand,
      cpuBusy: Math.round(usage.cpuBusy * 100) / 100,
    };
    this.deps.logger.debug(seen, 'render capacity window');
    if (decision.concurrency === this.value) return;
    this.deps.logger.info(
      {
        from: this.value,
        to: decision.concurrency,
        reason: decision.reason,
        pagesPerSecond: decision.throughput === null ? null : Math.round(decision.throughput * 100) / 100,
        cpuBusyPercent: Math.round(usage.cpuBusy * 100),
        memoryMb: Math.round(usage.memoryBytes / 1048576),
      },
      'render concurrency changed',
    );
    // A window that starts at once would count the new slots before their first render ends,
    // and take a step up for no gain: wait about one render's time (Little's law) first.
    const renderMs = decision.throughput ? (this.value / decision.throughput) * 1000 : this.options.windowMs / 2;
    this.settleUntil = now + Math.min(renderMs * 1.5, 5 * this.options.windowMs);
    this.value = decision.concurrency;
    for (const listener of this.listeners) listener(this.value);
  }
}
