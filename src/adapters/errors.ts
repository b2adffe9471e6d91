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
