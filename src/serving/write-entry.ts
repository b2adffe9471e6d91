import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServableEntry } from '../cache/entry.js';
import type { CacheState } from '../cache/page-cache.js';

/**
 * Writes a cached page: the stored status and headers, gzip when the client takes it,
 * 304 for a matching If-None-Match or If-Modified-Since. Shared by the hot path and
 * the Koa route so both answer byte for byte alike.
 */
export function writeEntry(req: IncomingMessage, res: ServerResponse, entry: ServableEntry, state: CacheState): void {
  const common = entry.headers;
  const headers: string[] = [];
  for (const [name, value] of common) headers.push(name, value);
  headers.push('x-rendercache-cache', state);
  if (isNotModified(req, entry)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = acceptsGzip(req.headers['accept-encoding']);
  const body = gzip ? entry.gzip : entry.identity;
  if (gzip) headers.push('content-encoding', 'gzip');
  headers.push('content-length', String(body.length));
  res.writeHead(entry.stored.status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
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
