/**
 * The contract between the refresh engine and the origin restart adapters.
 * An adapter restarts one origin on its platform and waits until it is healthy again.
 */
import type { Logger } from 'pino';
import type { z } from 'zod';

export type RestartStepKind = 'token' | 'submitted' | 'polled' | 'retry' | 'healthy' | 'failed';

/** One thing that happened during a restart, reported as it happens. Never carries secrets. */
export interface RestartStep {
  /** ISO 8601 UTC. */
  at: string;
  kind: RestartStepKind;
  detail: string;
  /** The platform's id for the operation (ArcGIS job id, CF app/build/deployment guid). */
  platformJobId?: string;
  /** The platform's own state word at this step (EXECUTING, STAGED, RUNNING, ...). */
  state?: string;
}

/** Why a restart failed; `code` is for programs, `title` and `detail` for people. */
export type RestartErrorCode =
  | 'config' // the restart block is invalid
  | 'credentials' // a secret is missing (e.g. the named environment variable is unset)
  | 'auth' // the platform refused the credentials or the token
  | 'platform' // the platform answered with an error
  | 'job-failed' // the platform's job/staging/deployment ended in failure
  | 'unexpected-response' // the platform answered something we cannot read
  | 'unreachable' // network errors or timeouts after bounded retries
  | 'state-unknown' // a restart request got no answer after it was sent: it may or may not have been accepted
  | 'deadline' // not healthy within deadlineMs
  | 'cancelled' // the caller aborted ctx.signal
  | 'internal'; // a bug

export interface RestartFailure {
  code: RestartErrorCode;
  title: string;
  detail: string;
}

/** A restart always settles with one of these; it never rejects. */
export type RestartResult = { ok: true; steps: RestartStep[] } | { ok: false; steps: RestartStep[]; error: RestartFailure };

export type RestartWhen = 'before-refresh' | 'on-failure' | 'manual';

/** The keys every site `restart` block has, whatever the adapter (defaults applied). */
export interface CommonRestartConfig {
  adapter: string;
  when: RestartWhen;
  /** For `on-failure`: restart when at least this share of a refresh's pages failed. */
  failureThresholdPercent: number;
  pollIntervalMs: number;
  /** Overall bound of one restart, from submission to healthy. */
  deadlineMs: number;
}

/** A validated restart block: the common keys plus the adapter's own keys, flat. */
export type RestartConfig<C = Record<string, unknown>> = CommonRestartConfig & C;

/** What the caller of a restart provides. */
export interface RestartContext {
  signal: AbortSignal;
  onStep(step: RestartStep): void;
  logger: Logger;
  /** Epoch milliseconds; injectable so tests control time. */
  now: () => number;
  /** Resolves after `ms`, rejects when `signal` aborts. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Where `passwordEnv`/`clientSecretEnv` are looked up. Default: process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface RestartAdapter<C = Record<string, unknown>> {
  readonly name: string;
  /** Validates the adapter's own keys of the restart block (the common keys are removed first). */
  readonly configSchema: z.ZodType<C>;
  /** Key names, anywhere in the adapter's config, whose values are secrets (for redaction). */
  readonly secretKeys: readonly string[];
  /** Restarts the origin and waits until it is healthy. Never rejects: failures are in the result. */
  restart(config: RestartConfig<C>, ctx: RestartContext): Promise<RestartResult>;
}
