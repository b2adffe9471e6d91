import type { HTTPRequest, HTTPResponse } from 'puppeteer';
import type { PageLease } from './browser-pool.js';
import { NetworkIdleTracker } from './network-idle.js';
import { replayableHeaders } from './replay-headers.js';
import { readPageWork, TAKE_SNAPSHOT, type PageSnapshot, type PageWorkState } from './page-scripts.js';
import type { RenderFailure, RenderOutcome, RenderPolicy } from './types.js';

/** Ends a render early with a failure. */
class RenderAbort extends Error {
  constructor(readonly failure: RenderFailure) {
    super(failure.detail);
  }
}

interface RenderState {
  /** The first response of the main document (after no redirect). */
  document: { status: number; headers: Record<string, string> } | null;
  /** The origin answered the document with a redirect. */
  redirect: { status: number; location: string } | null;
  failure: RenderFailure | null;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Conditional request headers: a render asks for the page itself, never for "not modified". */
const VALIDATORS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range'];

/** Schemes a subresource may use without touching the network. */
const INERT_SUBRESOURCE_SCHEMES = new Set(['data:', 'blob:', 'about:']);

/**
 * Renders one URL on a leased page: keeps the main frame on the site, blocks what the
 * site's policy blocks, waits until the page is ready (prerenderReady, or a quiet
 * network), and serialises the result. Where connections may go is the egress proxy's
 * decision, not this function's. Never throws for page problems; a thrown error means
 * Chromium itself failed.
 */
export async function renderPage(lease: PageLease, url: string, policy: RenderPolicy): Promise<RenderOutcome> {
  const started = performance.now();
  const page = lease.page;
  const state: RenderState = { document: null, redirect: null, failure: null };
  const tracker = new NetworkIdleTracker<HTTPRequest>(policy);
  let failNow: (failure: RenderFailure) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    failNow = (failure) => {
      state.failure ??= failure;
      reject(new RenderAbort(state.failure));
    };
  });
  failed.catch(() => {});
  const deadline = setTimeout(
    () => failNow({ kind: 'timeout', detail: `page not ready within ${policy.deadlineMs} ms` }),
    policy.deadlineMs,
  );
  let documentRequested = false;

  lease.listen({
    onRequest(request) {
      tracker.started(request, request.resourceType());
      const isMainNavigation = request.isNavigationRequest() && request.frame() === page.mainFrame();
      if (isMainNavigation && documentRequested && state.document === null) {
        const first = request.redirectChain()[0]?.response();
        if (first && REDIRECT_STATUSES.has(first.status())) {
          // Keep the origin's redirect as the answer instead of following it.
          state.redirect = { status: first.status(), location: first.headers()['location'] ?? request.url() };
          void request.abort('aborted').catch(() => {});
          return;
        }
      }
      if (isMainNavigation) documentRequested = true;
      void decide(request, isMainNavigation);
    },
    onRequestDone(request) {
      tracker.ended(request);
    },
    onResponse(response: HTTPResponse) {
      const request = response.request();
      if (state.document || !request.isNavigationRequest() || request.frame() !== page.mainFrame()) return;
      if (REDIRECT_STATUSES.has(response.status())) return;
      state.document = { status: response.status(), headers: response.headers() };
    },
    onPageCrash() {
      failNow({ kind: 'chromium-error', detail: 'the page crashed' });
    },
  });

  async function decide(request: HTTPRequest, isMainNavigation: boolean): Promise<void> {
    const requestUrl = request.url();
    try {
      const refusal = refuse(request, requestUrl, isMainNavigation, policy);
      if (refusal) {
        await request.abort('blockedbyclient');
        if (isMainNavigation) failNow({ kind: 'navigation-blocked', detail: `main frame navigation to ${requestUrl} refused: ${refusal}` });
        return;
      }
      if (isMainNavigation) {
        // prerender-node skips requests that carry X-Prerender: no recursion into ourselves.
        await request.continue({ headers: { ...withoutValidators(request.headers()), 'x-prerender': '1' } });
      } else if (originOf(requestUrl) === policy.siteOrigin) {
        await request.continue({ headers: { ...request.headers(), 'x-prerender': '1' } });
      } else {
        await request.continue();
      }
    } catch {
      // The page moved on (or closed) before we answered: nothing left to decide.
    }
  }

  try {
    try {
      await Promise.race([page.goto(url, { waitUntil: 'domcontentloaded', timeout: 0 }), failed]);
    } catch (err) {
      if (state.redirect) return redirectOutcome(state.redirect, started);
      if (err instanceof RenderAbort) throw err;
      if (lease.browserGone) throw err;
      throw new RenderAbort({ kind: 'origin-error', detail: `navigation failed: ${(err as Error).message}` });
    }
    if (state.redirect) return redirectOutcome(state.redirect, started);
    if (!state.document) throw new RenderAbort({ kind: 'origin-error', detail: 'no response for the document' });
    if (!isPlainGetStatus(state.document.status)) {
      throw new RenderAbort({ kind: 'origin-error', detail: `origin answered ${state.document.status}, which is not an answer to a plain GET`, status: state.document.status });
    }
    if (state.document.status >= 500) {
      throw new RenderAbort({ kind: 'origin-error', detail: `origin answered ${state.document.status}`, status: state.document.status });
    }

    await Promise.race([waitUntilReady(lease, tracker, policy), failed]);
    const snapshot = (await Promise.race([
      page.evaluate(`(${TAKE_SNAPSHOT})(${JSON.stringify({ stripScripts: policy.stripScripts, keepScriptTypes: policy.keepScriptTypes })})`),
      failed,
    ])) as PageSnapshot;
    if (state.failure) throw new RenderAbort(state.failure);
    if (originOf(snapshot.href) !== policy.siteOrigin) {
      throw new RenderAbort({ kind: 'navigation-blocked', detail: `page ended on ${snapshot.href}, outside the site` });
    }
    return successOutcome(snapshot, state.document, policy, started);
  } catch (err) {
    if (err instanceof RenderAbort) {
      await resetPage(lease);
      return { ok: false, failure: err.failure, renderTimeMs: elapsed(started) };
    }
    throw err;
  } finally {
    clearTimeout(deadline);
    tracker.dispose();
    lease.listen(null);
  }
}

/**
 * Ready = the page said so (prerenderReady false → true), or both the network and the
 * page's own fetch/XHR work have been quiet for the idle window.
 */
async function waitUntilReady(lease: PageLease, tracker: NetworkIdleTracker<HTTPRequest>, policy: RenderPolicy): Promise<void> {
  const probe = readPageWork(policy.longPollAfterMs);
  for (;;) {
    await tracker.whenIdle();
    const work = (await lease.page.evaluate(probe)) as PageWorkState;
    if (work.ready === 'ready') return;
    if (work.ready === 'waiting') {
      await lease.page.waitForFunction('window.prerenderReady === true', { polling: 20, timeout: 0 });
      return;
    }
    if (work.busy === 0 && work.quietMs >= policy.idleWindowMs) return;
    const quiet = `(${probe}).busy === 0 && (${probe}).quietMs >= ${policy.idleWindowMs}`;
    await lease.page.waitForFunction(quiet, { polling: 10, timeout: 0 });
    // The page's work may have started new requests: look at the network again.
  }
}

function successOutcome(
  snapshot: PageSnapshot,
  document: { status: number; headers: Record<string, string> },
  policy: RenderPolicy,
  started: number,
): RenderOutcome {
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
  const headers = replayableHeaders(named);
  let status = document.status;
  const metaStatus = Number(snapshot.statusMeta);
  if (snapshot.statusMeta !== null && Number.isInteger(metaStatus) && isPlainGetStatus(metaStatus)) status = metaStatus;
  if (status >= 500) {
    return { ok: false, failure: { kind: 'origin-error', detail: `page declared status ${status}`, status }, renderTimeMs: elapsed(started) };
  }
  if (!hasContent(snapshot.html) && !(status >= 300 && status < 400)) {
    return { ok: false, failure: { kind: 'empty-body', detail: 'the rendered page has an empty body' }, renderTimeMs: elapsed(started) };
  }
  return { ok: true, status, headers, html: snapshot.html, finalUrl: snapshot.href, renderTimeMs: elapsed(started) };
}

function redirectOutcome(redirect: { status: number; location: string }, started: number): RenderOutcome {
  return {
    ok: true,
    status: redirect.status,
    headers: { location: redirect.location },
    html: '',
    finalUrl: redirect.location,
    renderTimeMs: elapsed(started),
  };
}

/**
 * Why a request must not go ahead, or null. The main frame stays on the site's origin
 * over http(s); subresources may use http(s) (the egress proxy judges where to) or
 * schemes that never touch the network; the site's blocked types and patterns are
 * aborted before they reach the network.
 */
function refuse(request: HTTPRequest, url: string, isMainNavigation: boolean, policy: RenderPolicy): string | null {
  const protocol = protocolOf(url);
  if (isMainNavigation) return originOf(url) === policy.siteOrigin ? null : 'the main frame stays on the site';
  if (protocol !== 'http:' && protocol !== 'https:') {
    return !request.isNavigationRequest() && INERT_SUBRESOURCE_SCHEMES.has(protocol ?? '') ? null : `${protocol ?? 'malformed'} URLs are never followed`;
  }
  if (request.isNavigationRequest()) return null;
  if (policy.blockResourceTypes.has(request.resourceType())) return 'blocked resource type';
  return policy.blockUrlPatterns.some((pattern) => url.includes(pattern)) ? 'blocked URL pattern' : null;
}

/** A status the origin may answer to a plain GET without validators or ranges. */
const isPlainGetStatus = (status: number) => status >= 200 && status <= 599 && status !== 304 && status !== 206;

function withoutValidators(headers: Record<string, string>): Record<string, string> {
  const out = { ...headers };
  for (const name of Object.keys(out)) if (VALIDATORS.includes(name.toLowerCase())) delete out[name];
  return out;
}

function protocolOf(url: string): string | null {
  try {
    return new URL(url).protocol;
  } catch {
    return null;
  }
}

/** The origin of an http(s) URL; null for any other scheme (blob: URLs carry their creator's origin, and are not the site). */
function originOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : null;
  } catch {
    return null;
  }
}

function hasContent(html: string): boolean {
  const body = /<body[^>]*>([\s\S]*)<\/body>/i.exec(html);
  return (body ? body[1] ?? '' : html).trim().length > 0;
}

/** Stops whatever a failed page still runs, so the next render starts clean. */
async function resetPage(lease: PageLease): Promise<void> {
  lease.listen(null);
  await lease.page.goto('about:blank', { timeout: 5000 }).catch(() => {});
}

const elapsed = (started: number) => Math.round(performance.now() - started);
