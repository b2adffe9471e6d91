import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Whether a crawler lookup may use the renderer, from its headers alone. */
export type LookupGate = (headers: IncomingHttpHeaders) => boolean;

/** The headers a lookup token may come in: prerender-node's, and ours. */
export const LOOKUP_TOKEN_HEADERS = ['x-prerender-token', 'x-rendercache-token'] as const;

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * `lookup.tokens` as a gate: open when none is configured; otherwise a lookup must present
 * one of them. Tokens are compared as SHA-256 digests, each against every configured one with
 * no early exit, so the time taken tells nothing about how close a guess came.
 */
export function createLookupGate(tokens: readonly string[]): LookupGate {
  if (tokens.length === 0) return () => true;
  const known = tokens.map(digest);
  return (headers) => {
    let allowed = false;
    for (const name of LOOKUP_TOKEN_HEADERS) {
      const value = headers[name];
      const presented = digest(typeof value === 'string' ? value : '');
      for (const candidate of known) if (timingSafeEqual(candidate, presented) && typeof value === 'string') allowed = true;
    }
    return allowed;
  };
}
