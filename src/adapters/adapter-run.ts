/**
 * `defineAdapter` turns a plain "restart and tell me when healthy" function into a
 * `RestartAdapter`: it gives the function one `AdapterRun` (clock, HTTP client, step reporter,
 * secret scrubber) and turns whatever it throws into a failed `RestartResult`.
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import { toRestartFailure } from './errors.js';
import { createHttpClient, type HttpClient } from './http.js';
import { SecretScrubber } from './secrets.js';
import type { RestartAdapter, RestartConfig, RestartContext, RestartFailure, RestartResult, RestartStep, RestartStepKind } from './types.js';

export interface StepExtra {
  platformJobId?: string;
  state?: string;
}

/** Everything an adapter needs during one restart. */
export interface AdapterRun {
  readonly adapter: string;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly pollIntervalMs: number;
  readonly http: HttpClient;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Reports a step to the caller and the log, with known secrets masked. `submitted`: the platform accepted the restart. */
  report(kind: RestartStepKind, detail: string, extra?: StepExtra): void;
  /** Registers a secret (password, token) to mask in everything reported from now on. */
  keepSecret(value: string): void;
  /** Masks known secrets in text headed for a log line. */
  scrub(text: string): string;
}

export interface AdapterDefinition<C> {
  name: string;
  configSchema: z.ZodType<C>;
  secretKeys: readonly string[];
  /** Restarts the origin; resolves with the detail of the final `healthy` step, throws `RestartError` otherwise. */
  run(config: RestartConfig<C>, run: AdapterRun): Promise<string>;
}

export function defineAdapter<C>(definition: AdapterDefinition<C>): RestartAdapter<C> {
  async function restart(config: RestartConfig<C>, ctx: RestartContext): Promise<RestartResult> {
    const steps: RestartStep[] = [];
    const scrubber = new SecretScrubber();
    const logger = ctx.logger.child({ adapter: definition.name });
    const deadline = { at: ctx.now() + config.deadlineMs, totalMs: config.deadlineMs };
    // Once the platform accepted the restart, its own API may restart with it: reads then retry until the deadline.
    let accepted = false;

    function report(kind: RestartStepKind, detail: string, extra: StepExtra = {}): void {
      if (kind === 'submitted') accepted = true;
      const step: RestartStep = { at: new Date(ctx.now()).toISOString(), kind, detail: scrubber.scrub(detail) };
      if (extra.platformJobId !== undefined) step.platformJobId = scrubber.scrub(extra.platformJobId);
      if (extra.state !== undefined) step.state = scrubber.scrub(extra.state);
      steps.push(step);
      const level = kind === 'failed' ? 'warn' : 'info';
      logger[level]({ step: kind, state: step.state, platformJobId: step.platformJobId }, step.detail);
      try {
        ctx.onStep(step);
      } catch (error) {
        logger.warn({ err: error }, 'onStep listener threw; ignored');
      }
    }

    const sleep = (ms: number): Promise<void> => ctx.sleep(ms, ctx.signal);
    const run: AdapterRun = {
      adapter: definition.name,
      signal: ctx.signal,
      logger,
      env: ctx.env ?? process.env,
      pollIntervalMs: config.pollIntervalMs,
      http: createHttpClient({
        signal: ctx.signal,
        now: ctx.now,
        sleep,
        onRetry: (detail, state) => report('retry', detail, { state }),
        deadline,
        outagesExpected: () => accepted,
      }),
      now: ctx.now,
      sleep,
      report,
      keepSecret: (value) => scrubber.add(value),
      scrub: (text) => scrubber.scrub(text),
    };

    try {
      const healthyDetail = await definition.run(config, run);
      report('healthy', healthyDetail);
      return { ok: true, steps };
    } catch (error) {
      const raw = toRestartFailure(error, ctx.signal);
      const failure: RestartFailure = { code: raw.code, title: scrubber.scrub(raw.title), detail: scrubber.scrub(raw.detail) };
      report('failed', `${failure.title}: ${failure.detail}`);
      return { ok: false, steps, error: failure };
    }
  }

  return { name: definition.name, configSchema: definition.configSchema, secretKeys: definition.secretKeys, restart };
}
