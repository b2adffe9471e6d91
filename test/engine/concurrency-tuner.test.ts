import { describe, expect, it } from 'vitest';
import { ConcurrencyTuner, type CapacityWindow, type TunerLimits } from '../../src/engine/concurrency-tuner.js';

const MB = 1024 * 1024;
const LIMITS: TunerLimits = { min: 2, max: 32, memoryBudgetBytes: 1000 * MB };

/** A window in which demand filled every slot and `throughput` renders per second finished. */
const busy = (throughput: number, extra: Partial<CapacityWindow> = {}): CapacityWindow => ({
  renders: throughput * 2,
  elapsedMs: 2000,
  busyShare: 1,
  peakDemand: 100,
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
    // Each step that pays is followed by the next at once, doubling on the first climb: 4 → 8
    // reaches the knee (10 → 20 pages/s), so 8 is kept; 16 gains nothing and is left.
    expect(seen.slice(0, 4)).toEqual([4, 8, 16, 8]);
    expect(Math.max(...seen)).toBe(16);
    // Settled: later tries, +25 % now (10), are rare (the wait doubles after each one that fails).
    expect(seen.slice(4).filter((c) => c === 8).length).toBeGreaterThanOrEqual(21);
    expect(seen.slice(4).every((c) => c === 8 || c === 10)).toBe(true);
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

  it('grows no further while the CPU is saturated, and never steps down to test', () => {
    const tuner = new ConcurrencyTuner(LIMITS, 4);
    // CPU-bound from 7 on: the machine is saturated there. 4 → 8 still paid (10 → 17.5 pages/s);
    // at 8 the CPU is saturated, so no step is tried from there.
    const seen = climb(tuner, kneeAt(7), 30, (c) => ({ cpuBusy: c >= 7 ? 0.97 : 0.6 }));
    expect(seen.slice(0, 2)).toEqual([4, 8]);
    expect(seen.slice(1).every((c) => c === 8)).toBe(true);
    // Saturated from the start: it stays where it is, whatever the noise.
    const saturated = new ConcurrencyTuner(LIMITS, 6);
    const noisy = [10, 7, 12, 8, 6, 11, 9, 7, 10, 6];
    const held = noisy.map((t) => saturated.next(busy(t, { cpuBusy: 1 })).concurrency);
    expect(held.every((c) => c === 6)).toBe(true);
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
    expect(tuner.next(busy(10))).toMatchObject({ concurrency: 8, reason: 'CPU has room: one step up' });
    // Demand fell during the trial: its throughput says nothing; back to where it started.
    expect(tuner.next(busy(2, { busyShare: 0.2, peakDemand: 3 }))).toMatchObject({ concurrency: 4, reason: 'demand below capacity' });
    for (let i = 0; i < 5; i++) expect(tuner.next(busy(1, { busyShare: 0.1, peakDemand: 2 })).concurrency).toBe(4);
  });

  it('cuts a step up that left slots free back to what demand asked for', () => {
    // 10 crawlers: 4 → 8 is taken in full, 8 → 16 leaves slots free (10 asked at most).
    const tuner = new ConcurrencyTuner(LIMITS, 4);
    expect(tuner.next(busy(10, { peakDemand: 10 })).concurrency).toBe(8);
    expect(tuner.next(busy(18, { peakDemand: 10 })).concurrency).toBe(16);
    expect(tuner.next(busy(20, { busyShare: 0.1, peakDemand: 10 }))).toMatchObject({ concurrency: 10, reason: 'demand below capacity' });
    // Then it holds there a while: demand, not capacity, is what limits.
    for (let i = 0; i < 3; i++) expect(tuner.next(busy(20, { peakDemand: 10 }))).toMatchObject({ concurrency: 10, reason: 'holding' });
  });
});
