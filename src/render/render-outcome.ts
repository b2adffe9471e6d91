import type { PageSnapshot } from './page-scripts.js';
import { replayableHeaders } from './replay-headers.js';
import { isPlainGetStatus } from './request-rules.js';
import type { InputRecord, RenderFailure, RenderOutcome, RenderPolicy } from './types.js';

/** The origin's answer to the main document. */
export interface DocumentResponse {
  status: number;
  headers: Record<string, string>;
}

/** What a snapshot becomes: the page to store, or why it must not be stored. */
export function snapshotOutcome(
  snapshot: PageSnapshot,
  document: DocumentResponse,
  policy: RenderPolicy,
  renderTimeMs: number,
  inputs: InputRecord[] | null,
): RenderOutcome {
  const status = declaredStatus(snapshot, document.status);
  const failure = unstorable(snapshot.html, status);
  if (failure) return { ok: false, failure, renderTimeMs };
  return { ok: true, status, headers: replayedHeaders(snapshot, document, policy), html: snapshot.html, finalUrl: snapshot.href, renderTimeMs, inputs };
}

/** The origin's redirect, kept as the answer instead of followed. */
export function redirectOutcome(redirect: { status: number; location: string }, renderTimeMs: number): RenderOutcome {
  // No manifest: a redirect is rendered again on every refresh (it costs no page load).
  return { ok: true, status: redirect.status, headers: { location: redirect.location }, html: '', finalUrl: redirect.location, renderTimeMs, inputs: null };
}

/** Chromium's network errors for a document that never arrived, in plain words. */
const UNREACHABLE: Readonly<Record<string, string>> = {
  ERR_CONNECTION_REFUSED: 'connection refused',
  ERR_NAME_NOT_RESOLVED: 'host not found',
  ERR_NAME_RESOLUTION_FAILED: 'host not found',
  ERR_ADDRESS_UNREACHABLE: 'host unreachable',
  ERR_CONNECTION_TIMED_OUT: 'connection timed out',
  ERR_CONNECTION_RESET: 'connection reset',
  ERR_CONNECTION_CLOSED: 'connection closed',
  ERR_EMPTY_RESPONSE: 'the origin closed the connection without an answer',
};

/** A navigation that failed before any answer: the origin unreachable, said as such. */
export function navigationFailure(message: string): RenderFailure {
  const code = /net::(ERR_[A-Z_]+)/.exec(message)?.[1];
  const unreachable = code ? UNREACHABLE[code] : undefined;
  return { kind: 'origin-error', detail: unreachable ? `origin unreachable: ${unreachable} (${code})` : `navigation failed: ${message}` };
}

/** A document status that can never be a page: not a plain GET's answer, or a server error. */
export function documentFailure(document: DocumentResponse): RenderFailure | null {
  if (!isPlainGetStatus(document.status)) {
    return { kind: 'origin-error', detail: `origin answered ${document.status}, which is not an answer to a plain GET`, status: document.status };
  }
  if (document.status >= 500) return { kind: 'origin-error', detail: `origin answered ${document.status}`, status: document.status };
  return null;
}

/** <meta name="prerender-status-code"> over the origin's status, when it is one a GET may have. */
function declaredStatus(snapshot: PageSnapshot, documentStatus: number): number {
  const meta = Number(snapshot.statusMeta);
  return snapshot.statusMeta !== null && Number.isInteger(meta) && isPlainGetStatus(meta) ? meta : documentStatus;
}

function unstorable(html: string, status: number): RenderFailure | null {
  if (status >= 500) return { kind: 'origin-error', detail: `page declared status ${status}`, status };
  if (!hasContent(html) && !(status >= 300 && status < 400)) return { kind: 'empty-body', detail: 'the rendered page has an empty body' };
  return null;
}

/** The origin's replayable headers and the page's prerender-header metas, through the allow-list. */
function replayedHeaders(snapshot: PageSnapshot, document: DocumentResponse, policy: RenderPolicy): Record<string, string> {
  const named: Record<string, string> = {};
  for (const name of policy.replayHeaders) {
    const value = document.headers[name.toLowerCase()];
    if (value !== undefined) named[name.toLowerCase()] = value.replace(/\n/g, ', ');
  }
  for (const line of snapshot.headerMetas) {
    const colon = line.indexOf(':');
    if (colon > 0) named[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  // An allow-list: a page must not set framing, hop-by-hop or cookie headers on our answer.
  return replayableHeaders(named);
}

function hasContent(html: string): boolean {
  const body = /<body[^>]*>([\s\S]*)<\/body>/i.exec(html);
  return (body ? (body[1] ?? '') : html).trim().length > 0;
}
