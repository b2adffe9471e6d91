import type { HTTPRequest, HTTPResponse } from 'puppeteer';
import type { PageLease, PageListener } from './browser-pool.js';
import { InputRecorder } from './input-recorder.js';
import { NetworkIdleTracker } from './network-idle.js';
import { readPageWork, TAKE_SNAPSHOT, type PageSnapshot, type PageWorkState } from './page-scripts.js';
import { documentFailure, navigationFailure, redirectOutcome, snapshotOutcome, type DocumentResponse } from './render-outcome.js';
import { answerPausedRequest } from './paused-requests.js';
import { originOf, refusal, withoutValidators } from './request-rules.js';
import type { RenderFailure, RenderOutcome, RenderPolicy } from './types.js';

/** Ends a render early with a failure. */
class RenderAbort extends Error {
  constructor(readonly failure: RenderFailure) {
    super(failure.detail);
  }
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Renders one URL on a leased page: keeps the main frame on the site, blocks what the
 * site's policy blocks, waits until the page is ready (prerenderReady, or a quiet
 * network), and serialises the result. Where connections may go is the egress proxy's
 * decision, not this function's. Never throws for page problems; a thrown error means
 * Chromium itself failed.
 */
export function renderPage(lease: PageLease, url: string, policy: RenderPolicy): Promise<RenderOutcome> {
  return new PageRender(lease, url, policy).run();
}

/** One render's state and steps. */
class PageRender {
  private readonly started = performance.now();
  private readonly tracker: NetworkIdleTracker<HTTPRequest>;
  /** The first response of the main document that is not a redirect. */
  private document: DocumentResponse | null = null;
  /** The origin answered the document with a redirect. */
  private redirect: { status: number; location: string } | null = null;
  private failure: RenderFailure | null = null;
  private documentRequested = false;
  /** The inputs the page was made of (incremental refresh). */
  private readonly inputs: InputRecorder;
  /** Rejects with the first failure: raced against every step. */
  private readonly failed: Promise<never>;
  private failNow: (failure: RenderFailure) => void = () => {};

  constructor(
    private readonly lease: PageLease,
    private readonly url: string,
    private readonly policy: RenderPolicy,
  ) {
    this.tracker = new NetworkIdleTracker<HTTPRequest>(policy);
    this.inputs = new InputRecorder(policy.siteOrigin);
    this.failed = new Promise<never>((_, reject) => {
      this.failNow = (failure) => {
        this.failure ??= failure;
        reject(new RenderAbort(this.failure));
      };
    });
    this.failed.catch(() => {});
  }

  async run(): Promise<RenderOutcome> {
    const deadline = setTimeout(() => this.failNow({ kind: 'timeout', detail: `page not ready within ${this.policy.deadlineMs} ms` }), this.policy.deadlineMs);
    this.lease.listen(this.listener());
    try {
      const document = await this.navigate();
      if (!document) return redirectOutcome(this.redirect as { status: number; location: string }, this.elapsed());
      await this.step(waitUntilReady(this.lease, this.tracker, this.policy));
      const snapshot = await this.snapshot();
      return snapshotOutcome(snapshot, document, this.policy, this.elapsed(), await this.inputs.finish());
    } catch (err) {
      if (!(err instanceof RenderAbort)) throw err;
      await resetPage(this.lease);
      return { ok: false, failure: err.failure, renderTimeMs: this.elapsed() };
    } finally {
      clearTimeout(deadline);
      this.tracker.dispose();
      this.lease.listen(null);
    }
  }

  /** Loads the document: its response, or null when the origin redirected. */
  private async navigate(): Promise<DocumentResponse | null> {
    try {
      await this.step(this.lease.page.goto(this.url, { waitUntil: 'domcontentloaded', timeout: 0 }));
    } catch (err) {
      if (this.redirect) return null;
      if (err instanceof RenderAbort || this.lease.browserGone) throw err;
      throw new RenderAbort(navigationFailure((err as Error).message));
    }
    if (this.redirect) return null;
    if (!this.document) throw new RenderAbort({ kind: 'origin-error', detail: 'no response for the document' });
    const failure = documentFailure(this.document);
    if (failure) throw new RenderAbort(failure);
    return this.document;
  }

  private async snapshot(): Promise<PageSnapshot> {
    const options = JSON.stringify({ stripScripts: this.policy.stripScripts, keepScriptTypes: this.policy.keepScriptTypes });
    const snapshot = (await this.step(this.lease.page.evaluate(`(${TAKE_SNAPSHOT})(${options})`))) as PageSnapshot;
    if (this.failure) throw new RenderAbort(this.failure);
    if (originOf(snapshot.href) !== this.policy.siteOrigin) {
      throw new RenderAbort({ kind: 'navigation-blocked', detail: `page ended on ${snapshot.href}, outside the site` });
    }
    return snapshot;
  }

  private listener(): PageListener {
    const page = this.lease.page;
    return {
      onRequest: (request) => {
        this.tracker.started(request, request.resourceType());
        const isMainNavigation = request.isNavigationRequest() && request.frame() === page.mainFrame();
        if (isMainNavigation && this.keptRedirect(request)) return;
        if (isMainNavigation) this.documentRequested = true;
        void this.decide(request, isMainNavigation);
      },
      onRequestDone: (request) => this.tracker.ended(request),
      onResponse: (response: HTTPResponse) => {
        this.inputs.record(response);
        const request = response.request();
        if (this.document || !request.isNavigationRequest() || request.frame() !== page.mainFrame()) return;
        if (!REDIRECT_STATUSES.has(response.status())) this.document = { status: response.status(), headers: response.headers() };
      },
      onPageCrash: () => this.failNow({ kind: 'chromium-error', detail: 'the page crashed' }),
    };
  }

  /** A main-frame request that follows the origin's redirect of the document: kept as the answer, not followed. */
  private keptRedirect(request: HTTPRequest): boolean {
    if (!this.documentRequested || this.document !== null) return false;
    const first = request.redirectChain()[0]?.response();
    if (!first || !REDIRECT_STATUSES.has(first.status())) return false;
    this.redirect = { status: first.status(), location: first.headers()['location'] ?? request.url() };
    void request.abort('aborted').catch(() => {});
    return true;
  }

  private async decide(request: HTTPRequest, isMainNavigation: boolean): Promise<void> {
    const requestUrl = request.url();
    const reason = refusal(request, requestUrl, isMainNavigation, this.policy);
    if (reason && isMainNavigation) this.failNow({ kind: 'navigation-blocked', detail: `main frame navigation to ${requestUrl} refused: ${reason}` });
    try {
      await answerPausedRequest(this.lease.page, request, reason ? { action: 'abort' } : { action: 'continue', ...this.headersFor(request, isMainNavigation) });
    } catch {
      // The page moved on (or closed) before we answered: nothing left to decide.
    }
  }

  /** Header changes of an allowed request: X-Prerender on the site's own, no validators on the document. */
  private headersFor(request: HTTPRequest, isMainNavigation: boolean): { headers?: Record<string, string> } {
    // prerender-node skips requests that carry X-Prerender: no recursion into ourselves.
    if (isMainNavigation) return { headers: { ...withoutValidators(request.headers()), 'x-prerender': '1' } };
    if (originOf(request.url()) === this.policy.siteOrigin) return { headers: { ...request.headers(), 'x-prerender': '1' } };
    return {};
  }

  /** A step of the render, cut short by the first failure (deadline, crash, refused navigation). */
  private step<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.failed]);
  }

  private elapsed(): number {
    return Math.round(performance.now() - this.started);
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

/** Stops whatever a failed page still runs, so the next render starts clean. */
async function resetPage(lease: PageLease): Promise<void> {
  lease.listen(null);
  await lease.page.goto('about:blank', { timeout: 5000 }).catch(() => {});
}
