/**
 * The page URL a crawler lookup asks for, in the three shapes existing integrations use:
 *   /render?url=<encoded>      prerender-node's `prerenderServiceUrl` style (and ours)
 *   /render/<absolute-url>     Rendertron
 *   /<absolute-url>            prerender.io / prerender-node
 * Returns null when the request is not a lookup, and '' when it is one without a URL.
 */
export function lookupTarget(requestUrl: string): string | null {
  if (requestUrl.startsWith('/render?') || requestUrl === '/render') {
    const query = requestUrl.slice('/render'.length);
    return new URLSearchParams(query).get('url') ?? '';
  }
  if (requestUrl.startsWith('/render/')) return decodeIfEncoded(requestUrl.slice('/render/'.length));
  if (/^\/https?(:|%3A)/i.test(requestUrl)) return decodeIfEncoded(requestUrl.slice(1));
  return null;
}

/** Clients send the absolute URL raw or percent-encoded as one segment. */
function decodeIfEncoded(raw: string): string {
  if (!/^https?%3A/i.test(raw)) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
