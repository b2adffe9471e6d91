/**
 * Is this error a shared store (Redis) that cannot be reached right now? Such errors
 * answer 503 with Retry-After: the request was fine, the backend is away.
 */
export function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  return /Connection is closed|Command timed out|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH/.test(err.message);
}
