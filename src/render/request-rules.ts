import type { HTTPRequest } from 'puppeteer';
import type { RenderPolicy } from './types.js';

// What a render lets Chromium ask for. Where a connection may go is the egress proxy's
// decision; these rules keep the main frame on the site and apply the site's blocks.

/** Conditional request headers: a render asks for the page itself, never for "not modified". */
const VALIDATORS = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range']);

/** Schemes a subresource may use without touching the network. */
const INERT_SUBRESOURCE_SCHEMES = new Set(['data:', 'blob:', 'about:']);

/**
 * Why a request must not go ahead, or null. The main frame stays on the site's origin
 * over http(s); subresources may use http(s) or schemes that never touch the network;
 * the site's blocked types and patterns are aborted before they reach the network.
 */
export function refusal(request: HTTPRequest, url: string, isMainNavigation: boolean, policy: RenderPolicy): string | null {
  if (isMainNavigation) return originOf(url) === policy.siteOrigin ? null : 'the main frame stays on the site';
  const protocol = protocolOf(url);
  if (protocol !== 'http:' && protocol !== 'https:') {
    return !request.isNavigationRequest() && INERT_SUBRESOURCE_SCHEMES.has(protocol ?? '') ? null : `${protocol ?? 'malformed'} URLs are never followed`;
  }
  if (request.isNavigationRequest()) return null;
  if (policy.blockResourceTypes.has(request.resourceType())) return 'blocked resource type';
  return policy.blockUrlPatterns.some((pattern) => url.includes(pattern)) ? 'blocked URL pattern' : null;
}

/** A status the origin may answer to a plain GET without validators or ranges. */
export const isPlainGetStatus = (status: number): boolean => status >= 200 && status <= 599 && status !== 304 && status !== 206;

export function withoutValidators(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !VALIDATORS.has(name.toLowerCase())));
}

function protocolOf(url: string): string | null {
  try {
    return new URL(url).protocol;
  } catch {
    return null;
  }
}

/** The origin of an http(s) URL; null for any other scheme (blob: URLs carry their creator's origin, and are not the site). */
export function originOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : null;
  } catch {
    return null;
  }
}
