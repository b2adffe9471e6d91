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
