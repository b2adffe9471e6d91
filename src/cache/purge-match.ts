import { normalizePageUrl, parseVariantKey } from './key.js';

/**
 * Which cache entries a purge removes: the page URLs of one site that match a glob, every
 * variant of each. Plain data, so that a purge of any size travels to the other
 * instances as one message.
 */
export interface PurgeMatch {
  /** The site's pages: the URLs `SiteRegistry.forUrl` gives to it, and none of another site's. */
  scope: SiteScope;
  /**
   * The glob as its literal pieces, with a wildcard (any characters, or none) between each two:
   * `['https://x.test/blog/', '']` is `https://x.test/blog/*`. One piece is that one URL exactly.
   */
  parts: string[];
}

export interface SiteScope {
  /** scheme://host[:port], as in `Site.origin`. */
  origin: string;
  /** The site's base path, ending in "/". */
  basePath: string;
  /** Base paths of the sites nested in this one on the same origin: their pages are theirs. */
  nestedBasePaths: string[];
}

/** A pattern that cannot name page URLs (answered 400 at the API). */
export class InvalidPurgePatternError extends Error {
  override name = 'InvalidPurgePatternError';
}

const MAX_PATTERN_LENGTH = 4096;
/** Printable ASCII: normalised URLs are percent-encoded, so a pattern is written the same way. */
const PRINTABLE_ASCII = /^[\x21-\x7e]*$/;

/** The scope of `site` among the configured sites (structurally `Site`). */
export function siteScope(site: { origin: string; basePath: string }, all: ReadonlyArray<{ origin: string; basePath: string }>): SiteScope {
  const nestedBasePaths = all
    .filter((other) => other.origin === site.origin && other.basePath.length > site.basePath.length && other.basePath.startsWith(site.basePath))
    .map((other) => other.basePath);
  return { origin: site.origin, basePath: site.basePath, nestedBasePaths };
}

/** Does this normalised page URL (no variant) belong to the scope's site? The same rule as `SiteRegistry.forUrl`. */
export function inScope(scope: SiteScope, url: string): boolean {
  if (!url.startsWith(scope.origin) || url.charAt(scope.origin.length) !== '/') return false;
  const rest = url.slice(scope.origin.length);
  const query = rest.indexOf('?');
  const pathname = query === -1 ? rest : rest.slice(0, query);
  const path = pathname.endsWith('/') ? pathname : `${pathname}/`;
  return path.startsWith(scope.basePath) && !scope.nestedBasePaths.some((nested) => path.startsWith(nested));
}

/**
 * Does `text` match the glob of `parts`? Linear in the text for each piece, no regular
 * expression (a pattern with many wildcards cannot make it backtrack): the first piece is
 * a prefix, the last a suffix, and each one between is found leftmost after the one before.
 */
export function globMatches(parts: readonly string[], text: string): boolean {
  if (parts.length === 0) return false;
  const first = parts[0] ?? '';
  if (parts.length === 1) return text === first;
  const last = parts[parts.length - 1] ?? '';
  if (text.length < first.length + last.length || !text.startsWith(first) || !text.endsWith(last)) return false;
  const end = text.length - last.length;
  let at = first.length;
  for (const piece of parts.slice(1, -1)) {
    const found = text.indexOf(piece, at);
    if (found === -1 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}

/** Does the purge remove this page URL (normalised, without a variant)? */
export function matchesUrl(match: PurgeMatch, url: string): boolean {
  return inScope(match.scope, url) && globMatches(match.parts, url);
}

/** Does the purge remove the entry under this cache key (`url` or `url#variant`)? */
export function matchesKey(match: PurgeMatch, key: string): boolean {
  return matchesUrl(match, parseVariantKey(key).url);
}

/**
 * What every cache key the purge removes starts with (the store scans only those), or null
 * when no URL can match. A cache key of any variant of a URL starts with the URL.
 */
export function keyPrefix(match: PurgeMatch): string | null {
  const literal = match.parts[0] ?? '';
  // Every URL of the site starts with this: /shop is the /shop/ site's page too.
  const site = match.scope.origin + match.scope.basePath.slice(0, -1);
  if (literal.startsWith(site)) return literal;
  return site.startsWith(literal) ? site : null;
}

/** Is this a PurgeMatch (one read from another instance's message)? */
export function isPurgeMatch(value: unknown): value is PurgeMatch {
  if (typeof value !== 'object' || value === null) return false;
  const { scope, parts } = value as Partial<PurgeMatch>;
  const strings = (list: unknown): list is string[] => Array.isArray(list) && list.every((item) => typeof item === 'string');
  return (
    typeof scope === 'object' &&
    scope !== null &&
    typeof scope.origin === 'string' &&
    typeof scope.basePath === 'string' &&
    strings(scope.nestedBasePaths) &&
    strings(parts) &&
    parts.length > 0
  );
}

/** A URL glob before its site is known: its pieces, and a URL that names the site it is about. */
export interface UrlGlob {
  parts: string[];
  /** The page URL whose site the glob is about (for `SiteRegistry.forUrl`). */
  siteProbe: string;
}

/**
 * prerender.io's cache-clear query: a page URL where `%` stands for any characters, e.g.
 * `https://www.example.com/blog/%`. The text before the first `%` must begin with the
 * site's origin; it is compared as normalised URLs are written (scheme and host lower case,
 * no default port), the rest as written. Without a `%` it is one page URL, normalised.
 */
export function parsePrerenderQuery(query: string): UrlGlob {
  if (query.length > MAX_PATTERN_LENGTH) throw new InvalidPurgePatternError(`the query is longer than ${MAX_PATTERN_LENGTH} characters`);
  if (!query.includes('%')) {
    const url = normalizeOrRefuse(query);
    return { parts: [url], siteProbe: url };
  }
  const [prefix = '', ...rest] = query.split('%');
  const head = /^(https?):\/\/([^/?#]+)(.*)$/is.exec(prefix);
  if (!head) throw new InvalidPurgePatternError('the query must begin with an http(s) origin (scheme and host) before the first %');
  const [, scheme = '', host = '', after = ''] = head;
  let origin: string;
  try {
    origin = new URL(`${scheme}://${host}`).origin;
  } catch {
    throw new InvalidPurgePatternError(`not an http(s) origin: ${scheme}://${host}`);
  }
  if (query.includes('#')) throw new InvalidPurgePatternError('page URLs are cached without their #fragment');
  // The root path is written out in a normalised URL: https://x.test?a=1 is https://x.test/?a=1.
  const path = after.startsWith('?') ? `/${after}` : after;
  requirePrintable([path, ...rest].join(''));
  return { parts: [origin + path, ...rest], siteProbe: origin + (path.startsWith('/') ? path : '/') };
}

/**
 * The management API's path glob: the URL's path and query as in the normalised URL, `*`
 * for any characters (`/blog/*`); absent, the whole site.
 */
export function parsePathGlob(origin: string, glob: string | undefined): string[] {
  if (glob === undefined) return [`${origin}/`, ''];
  if (!glob.startsWith('/')) throw new InvalidPurgePatternError('match must begin with "/" (a path glob such as /blog/*)');
  if (glob.length > MAX_PATTERN_LENGTH) throw new InvalidPurgePatternError(`match is longer than ${MAX_PATTERN_LENGTH} characters`);
  if (glob.includes('#')) throw new InvalidPurgePatternError('page URLs are cached without their #fragment');
  requirePrintable(glob);
  return `${origin}${glob}`.split('*');
}

/** One page URL, every variant of it (Rendertron's invalidate). */
export function exactUrl(url: string): UrlGlob {
  const normalized = normalizeOrRefuse(url);
  return { parts: [normalized], siteProbe: normalized };
}

function normalizeOrRefuse(url: string): string {
  try {
    return normalizePageUrl(url);
  } catch (err) {
    throw new InvalidPurgePatternError(err instanceof Error ? err.message : String(err));
  }
}

function requirePrintable(text: string): void {
  if (!PRINTABLE_ASCII.test(text)) {
    throw new InvalidPurgePatternError('write the pattern as the cached URLs are written: printable ASCII, other characters percent-encoded, no spaces');
  }
}
