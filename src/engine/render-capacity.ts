import type { Logger } from '../observability/logger.js';
import type { TreeUsage } from '../observability/process-tree-usage.js';
import { ConcurrencyTuner, type CapacityWindow, type TunerDecision, type TunerLimits } from './concurrency-tuner.js';

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

/** A gate in front of Chromium: its renders under way and the work waiting for a slot. */
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

/** Samples of the gates' load per window: the share of a window in which every slot was taken. */
const SAMPLES_PER_WINDOW = 8;
/** Fewest renders finished before a window with work waiting is judged (or ten windows pass). */
const MIN_RENDERS = 20;

/**
 * This instance's renders at once, the one number every gate in front of its Chromium
 * follows (the local render queue, the cluster's browser slots, the queue used while Redis is
 * away). Fixed when `render.concurrency` is a number; with "auto" it is re-decided after each
 * window (windowMs, and enough renders finished to judge) by the ConcurrencyTuner from the
 * renders finished, whether every slot was taken, the machine's CPU and the process tree's
 * memory. Listeners hear each change.
 */
export class RenderCapacity {
  private value: number;
  /** Present with "auto" only. */
  private readonly auto: { tuner: ConcurrencyTuner; windowMs: number } | null;
  private readonly listeners: ((concurrency: number) => void)[] = [];
  private readonly memoryListeners: ((concurrency: number) => void)[] = [];
  private readonly gates: (() => GateLoad)[] = [];
  private window = freshWindow(0);
  private stopTicks: (() => void) | null = null;
  /** After a change, renders are not counted until this time: the new slots' first renders are still under way. */
  private settleUntil = 0;

  constructor(
    options: RenderCapacityOptions,
    private readonly deps: RenderCapacityDeps,
  ) {
    if (options.mode === 'auto') {
      this.auto = { tuner: new ConcurrencyTuner(options.limits, options.initial), windowMs: options.windowMs };
      this.value = this.auto.tuner.concurrency;
    } else {
      this.auto = null;
      this.value = options.concurrency;
    }
  }

  get concurrency(): number {
    return this.value;
  }

  /** `listener` hears every new concurrency. */
  onChange(listener: (concurrency: number) => void): void {
    this.listeners.push(listener);
  }

  /**
   * `listener` hears the number when memory above the budget brought it down: the time to
   * give memory back. Other steps down (a try that did not pay, demand gone) keep what they
   * hold: the next try would open the same tabs again, each at the cost of a renderer's start.
   */
  onMemoryPressure(listener: (concurrency: number) => void): void {
    this.memoryListeners.push(listener);
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
    const auto = this.auto;
    if (!auto || this.stopTicks) return;
    this.deps.usage.read(); // the CPU baseline of the first window
    this.window = freshWindow(this.deps.clock.now());
    this.stopTicks = this.deps.clock.every(Math.max(1, Math.round(auto.windowMs / SAMPLES_PER_WINDOW)), () => this.sample(auto.tuner, auto.windowMs));
  }

  stop(): void {
    this.stopTicks?.();
    this.stopTicks = null;
  }

  /** One look at the gates; at a window's end, the tuner's decision. */
  private sample(tuner: ConcurrencyTuner, windowMs: number): void {
    const now = this.deps.clock.now();
    if (now < this.settleUntil) {
      this.window = freshWindow(now);
      return;
    }
    const window = this.window;
    const load = this.gatesLoad();
    window.samples++;
    if (load.waiting > 0 || load.running >= this.value) window.busy++;
    window.peakDemand = Math.max(window.peakDemand, load.running + load.waiting);
    const elapsedMs = now - window.startedAt;
    const busyShare = window.busy / window.samples;
    // Throughput from a handful of renders is noise: at least MIN_RENDERS, and two per slot.
    const enough = window.renders >= Math.max(MIN_RENDERS, 2 * this.value) || busyShare < 0.75 || elapsedMs >= 10 * windowMs;
    if (elapsedMs < windowMs || !enough) return;
    this.window = freshWindow(now);
    const seen = { renders: window.renders, elapsedMs, busyShare, peakDemand: window.peakDemand, ...this.deps.usage.read() };
    this.apply(tuner.next(seen), seen, now, windowMs);
  }

  private gatesLoad(): GateLoad {
    const total = { running: 0, waiting: 0 };
    for (const gate of this.gates) {
      const load = gate();
      total.running += load.running;
      total.waiting += load.waiting;
    }
    return total;
  }

  /** Logs the tuner's decision and, when it changed the number, tells every listener. */
  private apply(decision: TunerDecision, seen: CapacityWindow, now: number, windowMs: number): void {
    const facts = {
      from: this.value,
      to: decision.concurrency,
      reason: decision.reason,
      pagesPerSecond: decision.throughput === null ? null : Math.round(decision.throughput * 100) / 100,
      renders: seen.renders,
      elapsedMs: Math.round(seen.elapsedMs),
      busyShare: Math.round(seen.busyShare * 100) / 100,
      peakDemand: seen.peakDemand,
      cpuBusyPercent: Math.round(seen.cpuBusy * 100),
      memoryMb: Math.round(seen.memoryBytes / 1048576),
    };
    this.deps.logger.debug(facts, 'render capacity window');
    if (decision.concurrency === this.value) return;
    this.deps.logger.info(facts, 'render concurrency changed');
    // A window that starts at once would count the new slots before their first render ends,
    // and take a step up for no gain: wait about 1.5 renders' time (Little's law) first.
    const renderMs = decision.throughput ? (this.value / decision.throughput) * 1000 : windowMs / 2;
    this.settleUntil = now + Math.min(renderMs * 1.5, 5 * windowMs);
    this.value = decision.concurrency;
    for (const listener of this.listeners) listener(this.value);
    if (decision.reason === 'memory above the budget') for (const listener of this.memoryListeners) listener(this.value);
  }
}

const freshWindow = (startedAt: number) => ({ startedAt, renders: 0, samples: 0, busy: 0, peakDemand: 0 });
