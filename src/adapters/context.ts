import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import type { RestartContext } from './types.js';

/** Real-time sleep that rejects as soon as `signal` aborts. */
export async function sleepWithSignal(ms: number, signal: AbortSignal): Promise<void> {
  await delay(ms, undefined, { signal });
}

/** A complete context from a partial one: real clock, silent logger, no cancellation. */
export function createRestartContext(overrides: Partial<RestartContext> = {}): RestartContext {
  return {
    signal: overrides.signal ?? new AbortController().signal,
    onStep: overrides.onStep ?? (() => {}),
    logger: overrides.logger ?? pino({ level: 'silent' }),
    now: overrides.now ?? Date.now,
    sleep: overrides.sleep ?? sleepWithSignal,
    env: overrides.env ?? process.env,
  };
}
