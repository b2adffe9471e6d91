/**
 * How many renders to run at once, learned from what they achieve: a hill climb on
 * throughput. Most of a render is waiting (the origin, the idle window), so more renders at
 * once go faster until Chromium has the CPU to itself; past that point they only queue inside
 * it, take memory and lengthen every render. The tuner tries one step up, keeps it if
 * throughput rose, goes back if not and waits longer before trying again; it tries a step down
 * when the CPU is saturated, and keeps it when throughput held. Memory above the budget always
 * wins: it steps down at once, and grows no higher until memory is back under the budget.
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
  /** Share of the window (0-1) in which every slot was taken and work was waiting: below ~1, demand set the pace. */
  busyShare: number;
  /** Share of the machine's CPU in use (0-1), all processes. */
  cpuBusy: number;
  /** Resident memory of the process tree at the window's end. */
  memoryBytes: number;
}

export type TunerReason =
  | 'memory above the budget'
  | 'demand below capacity'
  | 'first measure'
  | 'throughput rose'
  | 'no gain: back'
  | 'same throughput with fewer'
  | 'throughput fell: back'
  | 'trying one step up'
  | 'CPU saturated: trying one step down'
  | 'holding';

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
/** Machine CPU use at which more renders cannot help: the tuner tries fewer instead. */
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
      this.ceiling = Math.max(limits.min, Math.min(this.current - 1, Math.floor(this.current * 0.75)));
      return this.settle(this.ceiling, 'memory above the budget', null);
    }
    if (window.memoryBytes < limits.memoryBudgetBytes * 0.8) this.ceiling = limits.max;
    if (window.busyShare < DEMAND_FILLED || window.elapsedMs <= 0) {
      // Throughput says nothing about capacity when demand set the pace; a trial is void.
      this.baseline = null;
      return this.settle(this.trialFrom ?? this.current, 'demand below capacity', null);
    }
    const throughput = (window.renders * 1000) / window.elapsedMs;
    if (this.trialFrom !== null) {
      const judged = this.judgeTrial(this.trialFrom, throughput);
      // A step up that paid: the next one at once, while the climb goes well.
      return judged.reason === 'throughput rose' ? (this.tryStep(window, throughput) ?? judged) : judged;
    }
    if (!this.baseline || this.baseline.concurrency !== this.current) {
      this.baseline = { concurrency: this.current, throughput };
      if (this.hold === 0) return this.tryStep(window, throughput) ?? this.decision('first measure', throughput);
      return this.decision('first measure', throughput);
    }
    // The same setting again: follow the work as it changes, smoothed.
    this.baseline.throughput = (this.baseline.throughput + throughput) / 2;
    if (this.hold > 0) {
      this.hold--;
      return this.decision('holding', throughput);
    }
    return this.tryStep(window, throughput) ?? this.decision('holding', throughput);
  }

  private judgeTrial(from: number, throughput: number): TunerDecision {
    const base = this.baseline?.throughput ?? 0;
    this.trialFrom = null;
    if (this.current > from) {
      if (throughput >= base * (1 + MIN_GAIN)) {
        this.baseline = { concurrency: this.current, throughput };
        this.holdLength = FIRST_HOLD;
        return this.decision('throughput rose', throughput);
      }
      return this.back(from, 'no gain: back', throughput);
    }
    if (throughput >= base * (1 - MIN_GAIN)) {
      this.baseline = { concurrency: this.current, throughput };
      this.hold = this.holdLength;
      return this.decision('same throughput with fewer', throughput);
    }
    return this.back(from, 'throughput fell: back', throughput);
  }

  /** One step up while the CPU has room, one step down when it has none; null when neither is possible. */
  private tryStep(window: CapacityWindow, throughput: number): TunerDecision | null {
    const up = Math.min(this.ceiling, this.current + Math.max(1, Math.ceil(this.current * 0.25)));
    const down = Math.max(this.limits.min, this.current - Math.max(1, Math.floor(this.current * 0.2)));
    if (window.cpuBusy >= CPU_SATURATED && down < this.current) return this.trial(down, 'CPU saturated: trying one step down', throughput);
    if (up > this.current) return this.trial(up, 'trying one step up', throughput);
    return null;
  }

  private trial(to: number, reason: TunerReason, throughput: number): TunerDecision {
    this.trialFrom = this.current;
    this.current = to;
    return this.decision(reason, throughput);
  }

  /** Back to where a failed trial started, and a longer wait before the next. */
  private back(from: number, reason: TunerReason, throughput: number): TunerDecision {
    this.current = from;
    this.hold = this.holdLength;
    this.holdLength = Math.min(LONGEST_HOLD, this.holdLength * 2);
    return this.decision(reason, throughput);
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
