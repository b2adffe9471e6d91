import { describe, expect, it } from 'vitest';
import { ConcurrencyTuner, type CapacityWindow, type TunerLimits } from '../../src/engine/concurrency-tuner.js';

const MB = 1024 * 1024;
const LIMITS: TunerLimits = { min: 2, max: 32, memoryBudgetBytes: 1000 * MB };

/** A window in which demand filled every slot and `throughput` renders per second finished. */
const busy = (throughput: number, extra: Partial<CapacityWindow> = {}): CapacityWindow => ({
  renders: throughput * 2,
  elapsedMs: 2000,
  busyShare: 1,
  cpuBusy: 0.5,
  memoryBytes: 400 * MB,
  ...extra,
});

/**
 * Runs the tuner against a machine whose throughput is `curve(concurrency)`, for `windows`
 * windows; returns the concurrency of each window.
 */
function climb(tuner: ConcurrencyTuner, curve: (c: number) => number, windows: number, extra: (c: number) => Partial<CapacityWindow> = () => ({})): number[] {
  const seen: number[] = [];
  for (let i = 0; i < windows; i++) {
    const c = tuner.concurrency;
    seen.push(c);
    tuner.next(busy(curve(c), extra(c)));
  }
  return seen;
}

/** Throughput that grows with concurrency up to a knee, then stays flat (CPU-bound). */
const kneeAt =
  (knee: number, perRender = 2.5) =>
  (c: number) =>
    Math.min(c, knee) * perRender;

describe('ConcurrencyTuner', () => {
  it('grows while throughput rises and settles at the knee', () => {
    const tuner = new ConcurrencyTuner(LIMITS, 4);
    const seen = climb(tuner, kneeAt(8), 30);
    // Each step that pays is followed by the next at once: 7 → 9 crosses the knee at 8 (17.5 →
    // 20 pages/s, +14 %), so 9 is kept; 12 gains nothing and is left.
    expect(seen.slice(0, 6)).toEqual([4, 5, 7, 9, 12, 9]);
    expect(Math.max(...seen)).toBe(12);
    // Settled: later tries of 12 are rare (the wait doubles after each one that fails).
    expect(seen.slice(5).filter((c) => c === 9).length).toBeGreaterThanOrEqual(21);
    expect(seen.slice(5).every((c) => c === 9 || c === 12)).toBe(true);
  });

  it('goes back from a step that gained nothing, and waits longer after each failure', () => {
    const tuner = new ConcurrencyTuner(LIMITS, 8);
    const seen = climb(tuner, kneeAt(8), 40);
    const trials = seen.filter((c) => c > 8).length;
    // Trials after 3, 6, 12 and 24 windows of holding: few windows spent above the knee.
    expect(trials).toBeGreaterThanOrEqual(2);
    expect(trials).toBeLessThanOrEqual(5);
    expect(seen.at(-1)).toBe(8);
  });

  it('tries fewer when the CPU is saturated, and keeps fewer when throughput held', () => {
    const tuner = new ConcurrencyTuner(LIMITS, 16);
    // CPU-bound from 6 on: every concurrency above gives the same throughput at 100 % CPU.
    const seen = climb(tuner, kneeAt(6), 30, (c) => ({ cpuBusy: c >= 6 ? 1 : 0.6 }));
    expect(seen[1]).toBeLessThan(16);
    expect(tuner.concurrency).toBeGreaterThanOrEqual(6);
    expect(tuner.concurrency).toBeLessThanOrEqual(8);
  });

  it('steps down at once when memory is above the budget, and grows no higher until it is back under', () => {
    const tuner = new ConcurrencyTuner(LIMITS, 12);
    const first = tuner.next(busy(30, { memoryBytes: 1100 * MB }));
    expect(first).toMatchObject({ concurrency: 9, reason: 'memory above the budget' });
    // Throughput would rise with more renders, but memory stays near the budget (above 80 %).
    const seen = climb(
      tuner,
      (c) => c * 3,
      10,
      () => ({ memoryBytes: 900 * MB }),
    );
    expect(Math.max(...seen)).toBe(9);
    // Under 80 % of the budget: growth resumes.
    const after = climb(
      tuner,
      (c) => c * 3,
      4,
      () => ({ memoryBytes: 500 * MB }),
    );
    expect(Math.max(...after)).toBeGreaterThan(9);
  });

  it('never goes below min or above max', () => {
    const tuner = new ConcurrencyTuner({ min: 3, max: 6, memoryBudgetBytes: 100 * MB }, 40);
    expect(tuner.concurrency).toBe(6);
    for (let i = 0; i < 10; i++) tuner.next(busy(10, { memoryBytes: 500 * MB }));
    expect(tuner.concurrency).toBe(3);
    const grown = new ConcurrencyTuner({ min: 3, max: 6, memoryBudgetBytes: 1000 * MB }, 3);
    expect(Math.max(...climb(grown, (c) => c * 10, 20))).toBe(6);
  });

  it('decides nothing from windows that demand did not fill, and a trial such a window ends is void', () => {
    const tuner = new ConcurrencyTuner(LIMITS, 4);
    expect(tuner.next(busy(10))).toMatchObject({ concurrency: 5, reason: 'trying one step up' });
    // Demand fell during the trial: its throughput says nothing; back to where it started.
    expect(tuner.next(busy(2, { busyShare: 0.2 }))).toMatchObject({ concurrency: 4, reason: 'demand below capacity' });
    for (let i = 0; i < 5; i++) expect(tuner.next(busy(1, { busyShare: 0.1 })).concurrency).toBe(4);
  });
});
