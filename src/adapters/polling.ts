/** Polling a platform resource until it reaches a final state, bounded by the run's signal. */
import type { AdapterRun } from './adapter-run.js';

/** One look at the resource. Terminal failures are thrown as `RestartError` by `check`. */
export type PollOutcome<T> = { done: true; value: T; state: string; detail: string } | { done: false; state: string; detail: string };

/**
 * Calls `check` every `run.pollIntervalMs` until it is done. Reports a `polled` step whenever
 * the state changes (a job sitting in EXECUTING for ten minutes is one step, not three hundred);
 * every poll is logged at debug. The deadline comes from the run's signal, which aborts the sleep.
 */
export async function pollUntil<T>(run: AdapterRun, check: () => Promise<PollOutcome<T>>, platformJobId?: string): Promise<T> {
  let lastState: string | undefined;
  for (let poll = 1; ; poll++) {
    const outcome = await check();
    run.logger.debug({ poll, state: run.scrub(outcome.state), platformJobId }, run.scrub(outcome.detail));
    if (outcome.state !== lastState || outcome.done) {
      run.report('polled', outcome.detail, { state: outcome.state, ...(platformJobId ? { platformJobId } : {}) });
      lastState = outcome.state;
    }
    if (outcome.done) return outcome.value;
    await run.sleep(run.pollIntervalMs);
  }
}
