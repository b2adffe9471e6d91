/**
 * The adapter registry: adapters register by name; a site's `restart` block is validated
 * against the common keys plus the named adapter's own schema; `runRestart` runs one restart
 * under the overall deadline and always settles with a result.
 */
import { z } from 'zod';
import type { CommonRestartConfig, RestartAdapter, RestartConfig, RestartContext, RestartFailure, RestartResult, RestartStep } from './types.js';

export const commonRestartConfigSchema = z.object({
  adapter: z.string().min(1),
  /** before-refresh: every refresh; on-failure: when a refresh's failures pass the threshold; manual: only on request. */
  when: z.enum(['before-refresh', 'on-failure', 'manual']),
  failureThresholdPercent: z.number().min(0).max(100).default(50),
  pollIntervalMs: z.number().int().min(1).default(2_000),
  deadlineMs: z.number().int().min(1).default(600_000),
});

const COMMON_KEYS: ReadonlySet<string> = new Set(Object.keys(commonRestartConfigSchema.shape));

export interface RestartConfigIssue {
  path: (string | number)[];
  message: string;
}

export type RestartConfigParseResult = { success: true; data: RestartConfig } | { success: false; issues: RestartConfigIssue[] };

/** Thrown by `parseRestartConfig`; the message lists every issue (never a secret value). */
export class RestartConfigError extends Error {
  constructor(readonly issues: RestartConfigIssue[]) {
    super(`invalid restart config: ${formatIssues(issues)}`);
    this.name = 'RestartConfigError';
  }
}

interface RegistryEntry {
  adapter: RestartAdapter<unknown>;
  /** Validates the adapter's own keys (defaults applied); the closure keeps the adapter's config type. */
  check(settings: Record<string, unknown>): { success: true; data: object } | { success: false; issues: RestartConfigIssue[] };
  start(common: CommonRestartConfig, settings: Record<string, unknown>, ctx: RestartContext): Promise<RestartResult>;
}

const registry = new Map<string, RegistryEntry>();

function toIssues(issues: readonly z.core.$ZodIssue[]): RestartConfigIssue[] {
  return issues.map((issue) => ({ path: issue.path.map((key) => (typeof key === 'number' ? key : String(key))), message: issue.message }));
}

export function formatIssues(issues: readonly RestartConfigIssue[]): string {
  return issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message)).join('; ');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function adapterKeys(raw: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(raw).filter(([key]) => !COMMON_KEYS.has(key)));
}

export function registerAdapter<C extends object>(adapter: RestartAdapter<C>): void {
  if (registry.has(adapter.name)) throw new Error(`restart adapter "${adapter.name}" is already registered`);
  registry.set(adapter.name, {
    adapter,
    check(settings) {
      const parsed = adapter.configSchema.safeParse(settings);
      return parsed.success ? { success: true, data: parsed.data } : { success: false, issues: toIssues(parsed.error.issues) };
    },
    start(common, settings, ctx) {
      const parsed = adapter.configSchema.safeParse(settings);
      if (!parsed.success) return Promise.resolve(configFailureResult(toIssues(parsed.error.issues), ctx));
      return adapter.restart({ ...parsed.data, ...common }, ctx);
    },
  });
}

export function getAdapter(name: string): RestartAdapter<unknown> | undefined {
  return registry.get(name)?.adapter;
}

export function adapterNames(): string[] {
  return [...registry.keys()].sort();
}

function unknownAdapterIssue(name: string): RestartConfigIssue {
  const known = adapterNames();
  return {
    path: ['adapter'],
    message: `unknown restart adapter "${name}"; known adapters: ${known.length > 0 ? known.join(', ') : '(none registered)'}`,
  };
}

/** Validates a site's `restart` block; the result is flat: common keys (defaults applied) plus the adapter's keys. */
export function safeParseRestartConfig(raw: unknown): RestartConfigParseResult {
  if (!isRecord(raw)) return { success: false, issues: [{ path: [], message: 'restart must be an object' }] };
  const issues: RestartConfigIssue[] = [];
  const common = commonRestartConfigSchema.safeParse(raw);
  if (!common.success) issues.push(...toIssues(common.error.issues));
  const entry = typeof raw.adapter === 'string' && raw.adapter !== '' ? registry.get(raw.adapter) : undefined;
  if (typeof raw.adapter === 'string' && raw.adapter !== '' && !entry) issues.push(unknownAdapterIssue(raw.adapter));
  const settings = entry?.check(adapterKeys(raw));
  if (settings && !settings.success) issues.push(...settings.issues);
  if (issues.length > 0 || !common.success || !settings?.success) return { success: false, issues };
  return { success: true, data: { ...settings.data, ...common.data } };
}

export function parseRestartConfig(raw: unknown): RestartConfig {
  const result = safeParseRestartConfig(raw);
  if (!result.success) throw new RestartConfigError(result.issues);
  return result.data;
}

/** For embedding in a larger config schema: `restart: restartConfigSchema.optional()`. */
export const restartConfigSchema = z.unknown().transform((raw, ctx): RestartConfig => {
  const result = safeParseRestartConfig(raw);
  if (result.success) return result.data;
  for (const issue of result.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  return z.NEVER;
});

function stepNow(ctx: RestartContext, kind: RestartStep['kind'], detail: string): RestartStep {
  return { at: new Date(ctx.now()).toISOString(), kind, detail };
}

function configFailureResult(issues: RestartConfigIssue[], ctx: RestartContext): RestartResult {
  const error: RestartFailure = { code: 'config', title: 'Invalid restart config', detail: formatIssues(issues) };
  const step = stepNow(ctx, 'failed', `${error.title}: ${error.detail}`);
  try {
    ctx.onStep(step);
  } catch (listenerError) {
    ctx.logger.warn({ err: listenerError }, 'onStep listener threw; ignored');
  }
  return { ok: false, steps: [step], error };
}

function abortFailure(config: CommonRestartConfig, deadlineHit: boolean, steps: readonly RestartStep[]): RestartFailure {
  if (!deadlineHit) return { code: 'cancelled', title: 'Restart cancelled', detail: `${config.adapter} restart was cancelled before it finished` };
  const lastPolled = [...steps].reverse().find((step) => step.kind === 'polled');
  const last = lastPolled ?? steps[steps.length - 1];
  return {
    code: 'deadline',
    title: 'Restart deadline exceeded',
    detail: `${config.adapter} did not report a healthy origin within ${config.deadlineMs} ms; last state: ${last ? last.detail : 'nothing reported'}`,
  };
}

/**
 * Runs one restart: validates `config` (a site's restart block, raw or already parsed), applies
 * `deadlineMs` (combined with `ctx.signal`), and settles with success or a clear error, even if
 * an adapter ignores its signal. Never rejects.
 */
export async function runRestart(config: RestartConfig | Readonly<Record<string, unknown>>, ctx: RestartContext): Promise<RestartResult> {
  const parsed = safeParseRestartConfig(config);
  if (!parsed.success) return configFailureResult(parsed.issues, ctx);
  const common = commonRestartConfigSchema.parse(parsed.data);
  const entry = registry.get(common.adapter);
  if (!entry) return configFailureResult([unknownAdapterIssue(common.adapter)], ctx);

  const steps: RestartStep[] = [];
  const forward = (step: RestartStep): void => {
    steps.push(step);
    try {
      ctx.onStep(step);
    } catch (error) {
      ctx.logger.warn({ err: error }, 'onStep listener threw; ignored');
    }
  };
  const fail = (error: RestartFailure): RestartResult => {
    if (steps[steps.length - 1]?.kind !== 'failed') forward(stepNow(ctx, 'failed', `${error.title}: ${error.detail}`));
    return { ok: false, steps: [...steps], error };
  };

  if (ctx.signal.aborted) return fail(abortFailure(common, false, steps));
  const deadline = AbortSignal.timeout(common.deadlineMs);
  const signal = AbortSignal.any([ctx.signal, deadline]);
  // Once aborted, steps the adapter still reports (its own "aborted") are dropped: we report the reason.
  let acceptAdapterSteps = true;
  const adapterCtx: RestartContext = { ...ctx, signal, onStep: (step) => (acceptAdapterSteps ? forward(step) : undefined) };
  const aborted = new Promise<'aborted'>((resolve) => {
    signal.addEventListener(
      'abort',
      () => {
        acceptAdapterSteps = false;
        resolve('aborted');
      },
      { once: true },
    );
  });

  const running = entry.start(common, adapterKeys(parsed.data), adapterCtx).catch((error: unknown): RestartResult => ({
    ok: false,
    steps: [],
    error: { code: 'internal', title: 'Restart failed', detail: error instanceof Error ? error.message : String(error) },
  }));
  // Racing the signal means a restart settles at the deadline even if an adapter ignores its signal.
  const outcome = await Promise.race([running, aborted]);
  acceptAdapterSteps = false;
  if (outcome === 'aborted' || (!outcome.ok && outcome.error.code === 'cancelled')) {
    const error = abortFailure(common, deadline.aborted, steps);
    ctx.logger.warn({ adapter: common.adapter, code: error.code }, error.detail);
    forward(stepNow(ctx, 'failed', `${error.title}: ${error.detail}`));
    return { ok: false, steps: [...steps], error };
  }
  return outcome.ok ? { ok: true, steps: [...steps] } : fail(outcome.error);
}
