/**
 * How many renders to run at once, learned from what they achieve. Most of a render is
 * waiting (the origin, the idle window), so more renders at once go faster until Chromium has
 * the CPU to itself; past that point they only queue inside it, take memory and lengthen every
 * render. While work waits for a slot and the machine's CPU has room, the tuner tries one step
 * up (doubling until a step first fails to pay, +25 % after) and keeps it when throughput rose; when it did not, it goes back and waits longer before
 * trying again. It never steps down to test for noise (short windows are noisy, and such tests
 * drifted down: 3 renders at once where 5-8 paid). Memory above the budget always wins: it
 * steps down at once and grows no higher until memory is back under 80 % of the budget.
 * Pure: what it sees comes in as windows, and it answers the concurrency for the next one.
 */

export interface TunerLimits {
  /** Fewest renders at once. */
  min: number;
  /** Most renders at once. */
  max: number;
  /** Resident memory of the process tree (node and Chromium) above which the tuner steps down. */
  memoryBudgetBytes: number;
}

/** What one window of time saw, at one concurrency. */
export interface CapacityWindow {
  /** Renders finished in the window. */
  renders: number;
  elapsedMs: number;
  /** Share of the window (0-1) in which every slot was taken: below ~1, demand set the pace. */
  busyShare: number;
  /** The most renders running and waiting at once in the window: what demand asked for. */
  peakDemand: number;
  /** Share of the machine's CPU in use (0-1), all processes. */
  cpuBusy: number;
  /** Resident memory of the process tree at the window's end. */
  memoryBytes: number;
}

export type TunerReason =
  'memory above the budget' | 'demand below capacity' | 'throughput rose' | 'no gain: back' | 'CPU has room: one step up' | 'CPU saturated' | 'holding';

export interface TunerDecision {
  concurrency: number;
  reason: TunerReason;
  /** Renders per second in the window, when demand filled it. */
  throughput: number | null;
}

/** A gain smaller than this share is noise: the step is not worth its memory. */
const MIN_GAIN = 0.05;
/** Windows to wait after a failed try before the next; doubled by each failure in a row. */
const FIRST_HOLD = 3;
const LONGEST_HOLD = 30;
/** Machine CPU use from which more renders cannot help: no step up from here. */
const CPU_SATURATED = 0.95;
/** Demand filled the window when every slot was taken this share of the time. */
const DEMAND_FILLED = 0.75;

export class ConcurrencyTuner {
  private current: number;
  /** The throughput measured at the concurrency the tuner last settled on. */
  private baseline: { concurrency: number; throughput: number } | null = null;
  /** The concurrency a trial step started from. */
  private trialFrom: number | null = null;
  private hold = 0;
  private holdLength = FIRST_HOLD;
  /** Until the first step that did not pay, steps double (a quick climb from the start); then +25 %. */
  private firstClimb = true;
  /** No growth above this while memory is over the budget. */
  private ceiling: number;

  constructor(
    private readonly limits: TunerLimits,
    initial: number,
  ) {
    this.ceiling = limits.max;
    this.current = clamp(initial, limits.min, limits.max);
  }

  get concurrency(): number {
    return this.current;
  }

  /** The concurrency for the next window, from what this one saw. */
  next(window: CapacityWindow): TunerDecision {
    const { limits } = this;
    if (window.memoryBytes > limits.memoryBudgetBytes) {
      this.firstClimb = false;
      this.ceiling = Math.max(limits.min, Math.min(this.current - 1, Math.floor(this.current * 0.75)));
      return this.settle(this.ceiling, 'memory above the budget', null);
    }
    if (window.memoryBytes < limits.memoryBudgetBytes * 0.8) this.ceiling = limits.max;
    if (window.busyShare < DEMAND_FILLED || window.elapsedMs <= 0) {
      // Throughput says nothing about capacity when demand set the pace. A step up that left
      // slots free is cut back to what demand asked for: going back further would make it wait.
      this.baseline = null;
      if (this.trialFrom === null) return this.decision('demand below capacity', null);
      // And no new try for a while: demand, not capacity, is what limits now.
      this.waitLonger();
      return this.settle(clamp(window.peakDemand, this.trialFrom, this.current), 'demand below capacity', null);
    }
    const throughput = (window.renders * 1000) / window.elapsedMs;
    if (this.trialFrom !== null) {
      const from = this.trialFrom;
      this.trialFrom = null;
      if (throughput < (this.baseline?.throughput ?? 0) * (1 + MIN_GAIN)) return this.back(from, 'no gain: back', throughput);
      this.baseline = { concurrency: this.current, throughput };
      this.holdLength = FIRST_HOLD;
      // A step that paid: the next one at once, while the CPU has room.
      return this.stepUp(window, throughput) ?? this.decision('throughput rose', throughput);
    }
    if (!this.baseline || this.baseline.concurrency !== this.current) {
      this.baseline = { concurrency: this.current, throughput };
    } else {
      // The same setting again: follow the work as it changes, smoothed.
      this.baseline.throughput = (this.baseline.throughput + throughput) / 2;
    }
    if (this.hold > 0) {
      this.hold--;
      return this.decision('holding', throughput);
    }
    return this.stepUp(window, throughput) ?? this.decision(window.cpuBusy >= CPU_SATURATED ? 'CPU saturated' : 'holding', throughput);
  }

  /** One step up (×2 on the first climb, then +25 %), when the CPU has room and the ceiling allows; null otherwise. */
  private stepUp(window: CapacityWindow, throughput: number): TunerDecision | null {
    const step = this.firstClimb ? this.current : Math.max(1, Math.ceil(this.current * 0.25));
    const up = Math.min(this.ceiling, this.current + step);
    if (window.cpuBusy >= CPU_SATURATED || up <= this.current) return null;
    this.trialFrom = this.current;
    this.current = up;
    return this.decision('CPU has room: one step up', throughput);
  }

  /** Back to where a failed trial started, and a longer wait before the next. */
  private back(from: number, reason: TunerReason, throughput: number): TunerDecision {
    this.current = from;
    this.waitLonger();
    return this.decision(reason, throughput);
  }

  /** Holds for a while before the next try; each wait in a row is twice the last. */
  private waitLonger(): void {
    this.firstClimb = false;
    this.hold = this.holdLength;
    this.holdLength = Math.min(LONGEST_HOLD, this.holdLength * 2);
  }

  private settle(concurrency: number, reason: TunerReason, throughput: number | null): TunerDecision {
    this.current = concurrency;
    this.trialFrom = null;
    return this.decision(reason, throughput);
  }

  private decision(reason: TunerReason, throughput: number | null): TunerDecision {
    return { concurrency: this.current, reason, throughput };
  }
}

const clamp = (n: number, low: number, high: number) => Math.max(low, Math.min(high, n));
