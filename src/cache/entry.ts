import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { InputRecord } from '../render/types.js';

/** What made a cache entry. */
export type RenderTrigger = 'lookup' | 'api' | 'schedule' | 'startup' | 'revalidate';

export interface EntrySource {
  trigger: RenderTrigger;
  jobId?: string;
}

/** A rendered page as it is kept in the store: gzip body, replayable status and headers. */
export interface StoredEntry {
  v: 1;
  url: string;
  status: number;
  /** Lower-case header names replayed to crawlers (Location, Vary, X-Robots-Tag, ...). */
  headers: Record<string, string>;
  /** gzip of the HTML, base64: served as-is with Content-Encoding: gzip. */
  gzipBase64: string;
  /** Uncompressed size of the HTML. */
  bytes: number;
  etag: string;
  renderedAt: string;
  renderTimeMs: number;
  source: EntrySource;
  /** What the page was made of, for incremental refresh; absent: it is always rendered again. */
  inputs?: InputRecord[];
  /** When a refresh last found every input unchanged (the page then counts as fresh from then). */
  verifiedAt?: string;
}

export interface RenderedPage {
  url: string;
  status: number;
  headers: Record<string, string>;
  html: string;
  renderTimeMs: number;
  source: EntrySource;
  inputs?: InputRecord[] | null;
}

export function toStoredEntry(page: RenderedPage, renderedAt = new Date()): StoredEntry {
  const gzip = gzipSync(page.html, { level: 6 });
  return {
    v: 1,
    url: page.url,
    status: page.status,
    headers: page.headers,
    gzipBase64: gzip.toString('base64'),
    bytes: Buffer.byteLength(page.html),
    etag: `"${createHash('sha1').update(page.html).digest('base64url')}"`,
    renderedAt: renderedAt.toISOString(),
    renderTimeMs: page.renderTimeMs,
    source: page.source,
    ...(page.inputs ? { inputs: page.inputs } : {}),
  };
}

/** The stored form of an entry found unchanged now: the same content, verified at `at`. */
export function verifiedEntry(entry: ServableEntry, at = new Date()): StoredEntry {
  return { ...entry.stored, gzipBase64: entry.gzip.toString('base64'), verifiedAt: at.toISOString() };
}

/** A stored value that is not a well-formed entry is treated as absent, never served. */
export function isStoredEntry(value: unknown): value is StoredEntry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Partial<StoredEntry>;
  return (
    e.v === 1 &&
    typeof e.url === 'string' &&
    Number.isInteger(e.status) &&
    typeof e.gzipBase64 === 'string' &&
    typeof e.etag === 'string' &&
    typeof e.renderedAt === 'string' &&
    typeof e.headers === 'object' &&
    e.headers !== null
  );
}

/** A stored entry's fields other than its body. */
export type EntryMeta = Omit<StoredEntry, 'gzipBase64'>;

/**
 * An entry ready to be written to a socket: both encodings and every header computed
 * once, so that serving a hit is a map lookup and a write.
 */
export interface ServableEntry {
  /** The stored entry without its base64 body: the hot tier keeps the body once, in `gzip`. */
  readonly stored: EntryMeta;
  readonly gzip: Buffer;
  readonly identity: Buffer;
  readonly renderedAtMs: number;
  /** Since when the content is known current: rendered then, or verified unchanged later. */
  readonly freshSinceMs: number;
  /** Headers common to both encodings. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly lastModified: string;
  /** Set when a later render of this URL failed: the entry is kept and served as stale. */
  failedAtMs: number | null;
}

export function toServable(entry: StoredEntry): ServableEntry {
  const { gzipBase64, ...stored } = entry;
  // Both decoders hand back slices of larger shared buffers (the 8 KiB pool, zlib's
  // 16 KiB chunk): a slice kept in the hot tier would keep the whole buffer alive.
  const gzip = ownBuffer(Buffer.from(gzipBase64, 'base64'));
  const identity = ownBuffer(gunzipSync(gzip));
  const lastModified = new Date(stored.renderedAt).toUTCString();
  const headers: Array<[string, string]> = [];
  let vary = '';
  for (const [name, value] of Object.entries(stored.headers)) {
    if (name === 'vary') vary = value;
    else headers.push([name, value]);
  }
  if ((stored.status >= 200 && stored.status < 300) || stored.status >= 400) headers.push(['content-type', 'text/html; charset=utf-8']);
  headers.push(['etag', stored.etag], ['last-modified', lastModified], ['vary', varyWithEncoding(vary)]);
  return { stored, gzip, identity, renderedAtMs: Date.parse(stored.renderedAt), freshSinceMs: freshSince(stored), headers, lastModified, failedAtMs: null };
}

/** Since when an entry's content is known current: its render, or a later verification. */
export function freshSince(entry: Pick<StoredEntry, 'renderedAt' | 'verifiedAt'>): number {
  const rendered = Date.parse(entry.renderedAt);
  const verified = entry.verifiedAt ? Date.parse(entry.verifiedAt) : Number.NaN;
  return verified > rendered ? verified : rendered;
}

/** The bytes in a buffer of their own size (the hot tier's accounting is then true). */
export function ownBuffer(buf: Buffer): Buffer {
  if (buf.byteOffset === 0 && buf.buffer.byteLength === buf.length) return buf;
  const own = Buffer.allocUnsafeSlow(buf.length);
  buf.copy(own);
  return own;
}

/** Keep the origin's Vary (User-Agent for sites that serve bots differently) and add ours. */
function varyWithEncoding(originVary: string): string {
  const names = originVary
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s !== '*');
  if (!names.some((n) => n.toLowerCase() === 'accept-encoding')) names.push('Accept-Encoding');
  return names.join(', ');
}
