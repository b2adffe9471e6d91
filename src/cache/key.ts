/** Query parameters that only track campaigns: they never change the page. */
const TRACKING_PARAM = /^(utm_[a-z0-9_]*|gclid|fbclid)$/i;

/** The URL is not an absolute http(s) URL. */
export class InvalidPageUrlError extends Error {
  override name = 'InvalidPageUrlError';
}

/**
 * The canonical form of a page URL, used as its cache key and as the URL rendered:
 * lower-case scheme and host, default port dropped, no fragment, tracking parameters
 * removed, and the remaining query sorted.
 */
export function normalizePageUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidPageUrlError(`not an absolute URL: ${truncate(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidPageUrlError(`not an http(s) URL: ${truncate(raw)}`);
  if (!url.hostname) throw new InvalidPageUrlError(`URL has no host: ${truncate(raw)}`);
  if (url.username || url.password) throw new InvalidPageUrlError('URLs with credentials are not rendered');
  url.hash = '';
  if (url.search) {
    const kept = [...url.searchParams].filter(([name]) => !TRACKING_PARAM.test(name));
    kept.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
    url.search = new URLSearchParams(kept).toString();
  }
  return url.href;
}

const truncate = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…` : s);

/**
 * The variant whose entries are keyed by the bare URL: `desktop`, what every page was
 * rendered as before sites had variants, so those entries stay valid.
 */
const BARE_KEY_VARIANT = 'desktop';

/**
 * The cache key of one variant of a page: the normalised URL for `desktop`, and
 * `<url>#<variant>` for the others. A normalised URL never has a fragment, so the
 * two never collide, and every variant of a URL starts with the URL itself.
 */
export function variantKey(url: string, variant: string): string {
  return variant === BARE_KEY_VARIANT ? url : `${url}#${variant}`;
}

/** The URL and variant a cache key names (the inverse of `variantKey`). */
export function parseVariantKey(key: string): { url: string; variant: string } {
  const hash = key.indexOf('#');
  return hash === -1 ? { url: key, variant: BARE_KEY_VARIANT } : { url: key.slice(0, hash), variant: key.slice(hash + 1) };
}

/** Clients send the absolute URL raw or percent-encoded as one segment (lookups, Rendertron's /invalidate). */
export function decodeIfEncoded(raw: string): string {
  if (!/^https?%3A/i.test(raw)) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
