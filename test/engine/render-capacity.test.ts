import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { RenderCapacity, type CapacityClock, type GateLoad } from '../../src/engine/render-capacity.js';
import type { TreeUsage } from '../../src/observability/process-tree-usage.js';

const MB = 1024 * 1024;

/** A clock whose ticks the test fires: no timer runs. */
class ManualClock implements CapacityClock {
  time = 0;
  private ticks: { ms: number; tick: () => void }[] = [];
  now(): number {
    return this.time;
  }
  every(ms: number, tick: () => void): () => void {
    const entry = { ms, tick };
    this.ticks.push(entry);
    return () => {
      this.ticks = this.ticks.filter((t) => t !== entry);
    };
  }
  /** Moves time on by `ms`, one tick at a time. */
  advance(ms: number): void {
    const step = this.ticks[0]?.ms ?? ms;
    for (let t = 0; t < ms; t += step) {
      this.time += step;
      for (const { tick } of [...this.ticks]) tick();
    }
  }
  get running(): number {
    return this.ticks.length;
  }
}

function setup(usage: TreeUsage = { cpuBusy: 0.5, memoryBytes: 300 * MB }) {
  const clock = new ManualClock();
  const reading = { ...usage };
  const capacity = new RenderCapacity(
    { mode: 'auto', limits: { min: 2, max: 16, memoryBudgetBytes: 1000 * MB }, initial: 4, windowMs: 2000 },
    { usage: { read: () => ({ ...reading }) }, clock, logger: pino({ level: 'silent' }) },
  );
  const load: GateLoad = { running: 0, waiting: 0 };
  capacity.addGate(() => load);
  const heard: number[] = [];
  capacity.onChange((c) => heard.push(c));
  const memoryShort: number[] = [];
  capacity.onMemoryPressure((c) => memoryShort.push(c));
  return { clock, capacity, load, reading, heard, memoryShort };
}

/** A capacity with its windows running and the gate's load set to `load`. */
function started(load: Partial<GateLoad> = {}) {
  const s = setup();
  Object.assign(s.load, load);
  s.capacity.start();
  return s;
}

/**
 * One window with demand filling every slot and `perSecond` renders finishing, after half a
 * second in which the renders of a new concurrency settle (they are not counted).
 */
function busyWindow(s: ReturnType<typeof setup>, perSecond: number): void {
  s.load.running = s.capacity.concurrency;
  s.load.waiting = 10;
  s.clock.advance(500);
  for (let i = 0; i < (perSecond * 2000) / 1000; i++) s.capacity.rendered();
  s.clock.advance(2000);
}

describe('RenderCapacity', () => {
  it('a fixed concurrency never changes and runs no timer', () => {
    const clock = new ManualClock();
    const capacity = new RenderCapacity(
      { mode: 'fixed', concurrency: 6 },
      { usage: { read: () => ({ cpuBusy: 1, memoryBytes: 1e12 }) }, clock, logger: pino({ level: 'silent' }) },
    );
    capacity.start();
    expect(capacity.concurrency).toBe(6);
    expect(clock.running).toBe(0);
  });

  it('grows while renders finish faster, and every listener hears each change', () => {
    const s = started();
    // Throughput grows with concurrency: each render takes the same time.
    for (let i = 0; i < 3; i++) busyWindow(s, s.capacity.concurrency * 4);
    expect(s.heard).toEqual([8, 16]);
    expect(s.capacity.concurrency).toBe(16);
  });

  it('decides nothing while demand leaves slots free', () => {
    const s = started({ running: 2, waiting: 0 });
    for (let i = 0; i < 5; i++) {
      for (let r = 0; r < 20; r++) s.capacity.rendered();
      s.clock.advance(2000);
    }
    expect(s.heard).toEqual([]);
    expect(s.capacity.concurrency).toBe(4);
  });

  it('waits for enough renders before judging a window, up to ten windows', () => {
    const s = started({ running: 4, waiting: 3 });
    s.capacity.rendered(); // 1 render in 2 s: too few to judge
    s.clock.advance(2000);
    expect(s.heard).toEqual([]);
    s.clock.advance(18_000);
    expect(s.heard).toEqual([8]);
  });

  it("renders fewer at once when the tree's memory passes the budget", () => {
    const s = started();
    for (let i = 0; i < 3; i++) busyWindow(s, s.capacity.concurrency * 4);
    expect(s.capacity.concurrency).toBe(16);
    s.reading.memoryBytes = 1200 * MB;
    busyWindow(s, 30);
    expect(s.capacity.concurrency).toBe(12);
    busyWindow(s, 30);
    expect(s.capacity.concurrency).toBe(9);
    // Only these steps down ask for memory back (idle tabs closed).
    expect(s.memoryShort).toEqual([12, 9]);
  });

  it('does not count the renders that end while a new concurrency settles', () => {
    const s = started({ running: 4, waiting: 10 });
    for (let i = 0; i < 32; i++) s.capacity.rendered();
    s.clock.advance(2000); // 16 pages/s at 4: one step up, to 8
    expect(s.heard).toEqual([8]);
    // About 1.5 renders' time (4 / 16 pages/s: 375 ms) to settle. Renders that end in it
    // would make 8 look faster than it is: not counted.
    for (let i = 0; i < 100; i++) s.capacity.rendered();
    s.clock.advance(500);
    // Then 8 finishes fewer pages per second than 4 did (10 against 16): no gain, back to 4.
    for (let i = 0; i < 20; i++) s.capacity.rendered();
    s.clock.advance(2000);
    expect(s.heard).toEqual([8, 4]);
    // A try that did not pay keeps its tabs for the next one.
    expect(s.memoryShort).toEqual([]);
  });

  it('stop ends the windows', () => {
    const s = started();
    expect(s.clock.running).toBe(1);
    s.capacity.stop();
    expect(s.clock.running).toBe(0);
  });
});
