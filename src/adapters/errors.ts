import type { RestartErrorCode, RestartFailure } from './types.js';

/** Thrown inside adapters; turned into a `RestartResult` failure at the adapter boundary. */
export class RestartError extends Error {
  constructor(
    readonly code: RestartErrorCode,
    readonly title: string,
    readonly detail: string,
  ) {
    super(`${title}: ${detail}`);
    this.name = 'RestartError';
  }

  toFailure(): RestartFailure {
    return { code: this.code, title: this.title, detail: this.detail };
  }
}

/** Any thrown value as a failure; `signal` tells an abort apart from a real error. */
export function toRestartFailure(error: unknown, signal: AbortSignal): RestartFailure {
  if (error instanceof RestartError) return error.toFailure();
  if (signal.aborted) return { code: 'cancelled', title: 'Restart aborted', detail: 'the restart was aborted before it finished' };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', title: 'Restart failed', detail: message };
}

/**
 * A request that must not be sent twice (a restart, build or deployment) failed after it may
 * have reached the platform: whether it took effect is unknown. It is never sent again; the
 * adapter looks for the operation where the platform allows it, or says what to check.
 */
export class UnconfirmedRequestError extends RestartError {
  constructor(
    readonly what: string,
    readonly reason: string,
  ) {
    super(
      'state-unknown',
      'Restart state unknown',
      `${what}: ${reason} after the request was sent, so the platform may or may not have accepted it; rendercache did not send it again`,
    );
    this.name = 'UnconfirmedRequestError';
  }

  /** The same failure, with what the operator should check before restarting again. */
  withAdvice(advice: string): RestartError {
    return new RestartError(this.code, this.title, `${this.detail}. ${advice}`);
  }
}

/** Sends a request that must not be sent twice; if its fate is unknown, the error says what the operator should check. */
export async function sendOnceOrAdvise<T>(send: () => Promise<T>, advice: string): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw error instanceof UnconfirmedRequestError ? error.withAdvice(advice) : error;
  }
}
