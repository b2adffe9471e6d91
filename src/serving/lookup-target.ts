import { decodeIfEncoded } from '../cache/key.js';
import { DEVICE_PARAM } from './device-variant.js';

/**
 * The page URL a crawler lookup asks for, in the three shapes existing integrations use:
 *   /render?url=<encoded>      prerender-node's `prerenderServiceUrl` style (and ours)
 *   /render/<absolute-url>     Rendertron
 *   /<absolute-url>            prerender.io / prerender-node
 * Returns null when the request is not a lookup, and a pageUrl of '' when it is one without
 * a URL. `device` is the `?_device=` of the first shape; in the others it is in the page URL
 * (see `withoutDeviceParam`).
 */
export function lookupTarget(requestUrl: string): { pageUrl: string; device: string | null } | null {
  if (requestUrl.startsWith('/render?') || requestUrl === '/render') {
    const query = new URLSearchParams(requestUrl.slice('/render'.length));
    return { pageUrl: query.get('url') ?? '', device: query.get(DEVICE_PARAM) };
  }
  if (requestUrl.startsWith('/render/')) return { pageUrl: decodeIfEncoded(requestUrl.slice('/render/'.length)), device: null };
  if (/^\/https?(:|%3A)/i.test(requestUrl)) return { pageUrl: decodeIfEncoded(requestUrl.slice(1)), device: null };
  return null;
}

/** A normalised page URL without its `_device` parameter, and that parameter's value (null: none). */
export function withoutDeviceParam(url: string): { url: string; device: string | null } {
  if (!url.includes(`${DEVICE_PARAM}=`)) return { url, device: null };
  const parsed = new URL(url);
  const device = parsed.searchParams.get(DEVICE_PARAM);
  parsed.searchParams.delete(DEVICE_PARAM);
  return { url: parsed.href, device };
}
