/**
 * Which origin and `<meta name="prerender-header">` headers may be replayed to crawlers.
 * Here, in the config, because the config refuses other names in `render.replayHeaders`;
 * render/replay-headers filters what a page gives through the same list.
 *
 * An allow-list, not a deny-list: a page can name any header, and every header we do not
 * understand is a way to break the answer (a second Content-Length, Transfer-Encoding,
 * Content-Encoding over a body we encode ourselves, Connection) or to speak for us
 * (Set-Cookie). Allowed, because they change what a crawler indexes:
 *   location          the target of a 3xx
 *   link              rel=canonical, hreflang alternates
 *   content-language  the page's language
 *   x-robots-tag      noindex, nofollow, noarchive…
 *   vary              the origin's (User-Agent for sites that serve bots differently);
 *                     merged with our Accept-Encoding when the entry is served
 * Not allowed, although harmless-looking:
 *   etag, last-modified    ours: computed from the rendered HTML and answered with 304
 *   cache-control, expires the freshness of a cached page is ours (stale-after, re-render);
 *                          the origin's max-age would pin a page downstream after we
 *                          re-rendered it, and its no-store describes the empty shell
 *   content-type           we always serve HTML
 * Framing and hop-by-hop headers (content-length, transfer-encoding, content-encoding,
 * connection, keep-alive, upgrade, te, trailer, proxy-*) and set-cookie are never in it.
 */
export const REPLAYABLE_HEADERS: readonly string[] = ['location', 'link', 'content-language', 'x-robots-tag', 'vary'];

const allowed = new Set(REPLAYABLE_HEADERS);

export function isReplayableHeader(name: string): boolean {
  return allowed.has(name.toLowerCase());
}
