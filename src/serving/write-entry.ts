import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServableEntry } from '../cache/entry.js';
import type { CacheState } from '../cache/page-cache.js';
import { replayableHeaders } from '../render/replay-headers.js';
import { DEVICE_VARY } from './device-variant.js';

/**
 * Writes a cached page: the stored status and headers, gzip when the client takes it,
 * 304 for a matching If-None-Match or If-Modified-Since. Shared by the hot path and
 * the Koa route so both answer byte for byte alike. `byDevice`: the site has several variants,
 * so the answer varies by the User-Agent and X-Rendercache-Device too.
 */
export function writeEntry(req: IncomingMessage, res: ServerResponse, entry: ServableEntry, state: CacheState, byDevice = false): void {
  const headers = [...servedHeaders(entry, byDevice)];
  headers.push('x-rendercache-cache', state);
  const status = entry.stored.status;
  if (status === 204 || status === 304) {
    // No body, so no length and no encoding (RFC 9110 §8.6, §15.3.5, §15.4.5).
    res.writeHead(status, headers);
    res.end();
    return;
  }
  if (status >= 200 && status < 300 && isNotModified(req, entry)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = acceptsGzip(req.headers['accept-encoding']);
  const body = gzip ? entry.gzip : entry.identity;
  if (gzip) headers.push('content-encoding', 'gzip');
  headers.push('content-length', String(body.length));
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Headers we set ourselves; a stored header of the same name is never written. */
const OURS = new Set(['content-type', 'etag', 'last-modified', 'vary']);

const served = new WeakMap<ServableEntry, readonly string[]>();
const servedByDevice = new WeakMap<ServableEntry, readonly string[]>();

/**
 * The entry's headers as a flat list, filtered at write time through the replay
 * allow-list: entries cached before the filter existed (or written by an older version)
 * cannot replay framing or hop-by-hop headers either. Computed once per entry.
 */
function servedHeaders(entry: ServableEntry, byDevice: boolean): readonly string[] {
  const cache = byDevice ? servedByDevice : served;
  const known = cache.get(entry);
  if (known) return known;
  const list: string[] = [];
  for (const [name, value] of Object.entries(replayableHeaders(entry.stored.headers))) {
    if (!OURS.has(name)) list.push(name, value);
  }
  const status = entry.stored.status;
  // HTML for pages and error pages; a redirect, 204 or 304 has no body to describe.
  if ((status < 300 || status >= 400) && status !== 204) list.push('content-type', 'text/html; charset=utf-8');
  // Vary: the entry's merge of the origin's Vary with our Accept-Encoding.
  const vary = entry.headers.findLast(([name]) => name === 'vary')?.[1] ?? 'Accept-Encoding';
  list.push('etag', entry.stored.etag, 'last-modified', entry.lastModified, 'vary', byDevice ? withDeviceVary(vary) : vary);
  cache.set(entry, list);
  return list;
}

/** The entry's Vary and the names a device variant is picked by, each once. */
function withDeviceVary(vary: string): string {
  const names = vary.split(',').map((name) => name.trim());
  for (const name of DEVICE_VARY) if (!names.some((n) => n.toLowerCase() === name.toLowerCase())) names.push(name);
  return names.join(', ');
}

function isNotModified(req: IncomingMessage, entry: ServableEntry): boolean {
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    const etag = entry.stored.etag;
    return ifNoneMatch.split(',').some((tag) => {
      const t = tag.trim();
      return t === '*' || t === etag || t === `W/${etag}`;
    });
  }
  const since = req.headers['if-modified-since'];
  if (since !== undefined) {
    const sinceMs = Date.parse(since);
    return Number.isFinite(sinceMs) && Math.floor(entry.renderedAtMs / 1000) * 1000 <= sinceMs;
  }
  return false;
}

function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  const match = /(?:^|,)\s*gzip\s*(?:;\s*q=([0-9.]+))?/i.exec(header);
  return match !== null && (match[1] === undefined || Number(match[1]) > 0);
}
