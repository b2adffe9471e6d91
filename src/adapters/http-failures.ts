/**
 * What a failed request tells us: whether it may have reached the platform (so a restart
 * request must not be sent again blindly), and a reason free of secrets for steps and errors.
 */

/** Failures before the request left this machine (no connection, no name, no TLS session): the platform never saw it. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** Answers of a gateway or of a platform restarting itself: worth another try for a read. */
export const GATEWAY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

export interface NetworkFailure {
  reason: string;
  /** The request may have reached the platform (reset, timeout, cut answer). */
  maybeSent: boolean;
}

function errorCode(error: unknown): string | undefined {
  const code: unknown = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function beforeSending(code: string | undefined): boolean {
  if (code === undefined) return false;
  return NOT_SENT_CODES.has(code) || code.startsWith('ERR_TLS_') || code.includes('CERT');
}

export function networkFailure(error: unknown, timeoutMs: number | null): NetworkFailure {
  if (error instanceof DOMException && error.name === 'TimeoutError') {
    return { reason: `no answer within ${timeoutMs ?? 0} ms`, maybeSent: true };
  }
  if (!(error instanceof Error)) return { reason: String(error), maybeSent: true };
  const cause: unknown = error.cause;
  const source = cause instanceof Error ? cause : error;
  const code = errorCode(source);
  return { reason: code ? `${code} (${source.message})` : source.message, maybeSent: !beforeSending(code) };
}
