import fs from 'node:fs';
import os from 'node:os';
import puppeteer, { type Browser, type BrowserContext, type CDPSession, type HTTPRequest, type HTTPResponse, type Page } from 'puppeteer';
import type { Logger } from '../observability/logger.js';
import { DISABLE_WEBSOCKETS, TRACK_PAGE_WORK } from './page-scripts.js';

/** Flags for a headless Chromium on a closed network, as root, in a container. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-dev-shm-usage',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-extensions',
  '--disable-default-apps',
  '--mute-audio',
  '--no-default-browser-check',
  '--disable-breakpad',
  '--dns-prefetch-disable',
  // One renderer per site instead of one per navigation: far less CPU in the browser process.
  '--process-per-site',
  '--disable-renderer-backgrounding',
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
  // WebUIOmnibox*Popup: headless Chromium is the full browser and keeps two omnibox popup
  // WebUIs in a renderer of their own for every browser context (~55 MB each).
  '--disable-features=Translate,OptimizationHints,MediaRouter,InterestFeedContentSuggestions,CalculateNativeWinOcclusion,PaintHolding,BackForwardCache,SpareRendererForSitePerProcess,WebUIOmniboxPopup,WebUIOmniboxAimPopup',
  // The network service in the browser process: one process less (~20 MB).
  '--enable-features=NetworkServiceInProcess2',
];

/**
 * Old documents stay in a renderer until a full garbage collection, which a renderer that
 * is never idle seldom runs (seen: ~1 MB more per render, ~125 MB per renderer after 100
 * renders). Collect after every this many renders in a context (one renderer process).
 */
const COLLECT_GARBAGE_EVERY = 10;

export interface BrowserPoolOptions {
  /** Chromium binary; undefined lets puppeteer use its own download. */
  executablePath: string | undefined;
  userAgent: string | undefined;
  /** Relaunch after this many renders. */
  recycleAfterRenders: number;
  /** Relaunch after this much time. */
  recycleAfterMs: number;
  /** A page is closed and replaced after this many renders, to bound its memory. */
  pageMaxRenders?: number;
  /** Incognito contexts, hence renderer processes per site. Default: one per two cores. */
  rendererProcesses?: number;
  logger: Logger;
}

/** Receives the events of the page a render is using. */
export interface PageListener {
  onRequest(request: HTTPRequest): void;
  onRequestDone(request: HTTPRequest): void;
  onResponse(response: HTTPResponse): void;
  onPageCrash(): void;
}

/** Chromium went away while this render was using it. */
export class BrowserCrashedError extends Error {
  override name = 'BrowserCrashedError';
}

/** An incognito context; with --process-per-site, its pages of a site share one renderer. */
class RenderContext {
  renders = 0;
  constructor(readonly context: BrowserContext) {}
}

/** A reusable tab whose request handler is wired once. */
class PageSlot {
  listener: PageListener | null = null;
  renders = 0;
  broken = false;
  /** Garbage collection started after the last render; the next render waits for it. */
  collecting: Promise<unknown> | null = null;
  constructor(readonly page: Page, readonly cdp: CDPSession, readonly context: RenderContext) {}
}

/** One launched browser. A recycled or crashed generation is replaced by a new one. */
class Generation {
  readonly idle: PageSlot[] = [];
  active = 0;
  renders = 0;
  draining = false;
  dead = false;
  readonly startedAt = Date.now();
  private opened = 0;
  constructor(readonly browser: Browser, readonly contexts: readonly RenderContext[]) {}

  /** Contexts in turn, so that pages spread evenly over the renderer processes. */
  nextContext(): RenderContext {
    return this.contexts[this.opened++ % this.contexts.length] as RenderContext;
  }
}

/** A page lent to one render. */
export interface PageLease {
  readonly page: Page;
  /** Route this page's events to the render; null stops them (requests are then aborted). */
  listen(listener: PageListener | null): void;
  /** True once Chromium crashed or disconnected under this lease. */
  readonly browserGone: boolean;
}

/**
 * One Chromium per process. Pages are reused across renders (the expensive part of a
 * render is a fresh tab), spread over one incognito context per two cores, with cookies and
 * storage cleared between renders and a garbage collection every few renders. The browser
 * is recycled after N renders or T minutes without dropping work: running renders finish
 * on the old browser while new ones start on the new one. A crashed browser is relaunched
 * on the next render.
 */
export class BrowserPool {
  private current: Generation | null = null;
  private launching: Promise<Generation> | null = null;
  private closed = false;
  private readonly pageMaxRenders: number;
  private readonly rendererProcesses: number;

  constructor(private readonly options: BrowserPoolOptions) {
    this.pageMaxRenders = options.pageMaxRenders ?? 100;
    this.rendererProcesses = options.rendererProcesses ?? Math.max(1, Math.floor(os.availableParallelism() / 2));
  }

  /** Launches Chromium now (readiness waits for it). */
  async start(): Promise<void> {
    await this.generation();
  }

  get isReady(): boolean {
    return this.current !== null && !this.current.dead;
  }

  /** Process id of the current browser (metrics, and tests that crash it). */
  browserPid(): number | undefined {
    return this.current?.browser.process()?.pid;
  }

  async withPage<T>(fn: (lease: PageLease) => Promise<T>): Promise<T> {
    const gen = await this.generation();
    gen.active++;
    gen.renders++;
    let slot: PageSlot | undefined;
    try {
      slot = gen.idle.pop() ?? (await this.openSlot(gen));
      await clearState(slot);
      const lease: PageLease = {
        page: slot.page,
        listen: (listener) => { if (slot) slot.listener = listener; },
        get browserGone() { return gen.dead; },
      };
      return await fn(lease);
    } catch (err) {
      if (gen.dead) throw new BrowserCrashedError(`Chromium exited during the render: ${(err as Error).message}`);
      if (slot) slot.broken = true;
      throw err;
    } finally {
      gen.active--;
      if (slot) this.release(gen, slot);
      if (gen.draining && gen.active === 0) void this.closeGeneration(gen);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const gen = this.current ?? (this.launching ? await this.launching.catch(() => null) : null);
    this.current = null;
    if (gen) await this.closeGeneration(gen);
  }

  private release(gen: Generation, slot: PageSlot): void {
    slot.listener = null;
    slot.renders++;
    if (gen.dead) return;
    if (gen.draining || slot.broken || slot.renders >= this.pageMaxRenders) {
      slot.page.close().catch(() => {});
      return;
    }
    if (++slot.context.renders % COLLECT_GARBAGE_EVERY === 0) {
      // Off the finished render's path: the next render of this page waits for it.
      slot.collecting = slot.cdp.send('HeapProfiler.collectGarbage').catch(() => {});
    }
    gen.idle.push(slot);
  }

  private async generation(): Promise<Generation> {
    if (this.closed) throw new Error('browser pool is closed');
    const gen = this.current;
    if (gen && !gen.dead && !this.dueForRecycle(gen)) return gen;
    if (gen && !gen.dead) {
      gen.draining = true;
      this.options.logger.info({ renders: gen.renders, ageMs: Date.now() - gen.startedAt }, 'recycling Chromium');
      if (gen.active === 0) void this.closeGeneration(gen);
    }
    this.current = null;
    this.launching ??= this.launch().finally(() => { this.launching = null; });
    return this.launching;
  }

  private dueForRecycle(gen: Generation): boolean {
    return gen.renders >= this.options.recycleAfterRenders || Date.now() - gen.startedAt >= this.options.recycleAfterMs;
  }

  private async launch(): Promise<Generation> {
    const browser = await puppeteer.launch({
      executablePath: this.options.executablePath,
      // The headless shell is the old headless mode's own binary; the full browser takes the new mode.
      headless: isHeadlessShell(this.options.executablePath) ? 'shell' : true,
      // A pipe, not a WebSocket: Chromium exits when this process dies, even by SIGKILL.
      pipe: true,
      args: CHROMIUM_ARGS,
      protocolTimeout: 30_000,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    // With --process-per-site the pages of a site in one context share a renderer process.
    // One per two cores: the browser process spends more CPU per render than the renderer,
    // and each renderer costs memory (2 cores: 1 context gave 15-17 pages/s at ~500 MB PSS
    // as if alone, 2 contexts 11-16 pages/s at ~535 MB; see docs/architecture.md).
    const contexts = await Promise.all(Array.from({ length: this.rendererProcesses }, async () => new RenderContext(await browser.createBrowserContext())));
    // The start-up tab is never used; its renderer would cost ~20 MB.
    for (const page of await browser.pages()) await page.close();
    const gen = new Generation(browser, contexts);
    browser.on('disconnected', () => {
      if (gen.draining || this.closed) return;
      gen.dead = true;
      if (this.current === gen) this.current = null;
      this.options.logger.error({ activeRenders: gen.active }, 'Chromium disconnected; relaunching on the next render');
    });
    this.options.logger.info({ pid: browser.process()?.pid, version: await browser.version() }, 'Chromium launched');
    if (this.closed) {
      await browser.close().catch(() => {});
      throw new Error('browser pool is closed');
    }
    this.current = gen;
    return gen;
  }

  private async openSlot(gen: Generation): Promise<PageSlot> {
    const context = gen.nextContext();
    const page = await context.context.newPage();
    const slot = new PageSlot(page, await page.createCDPSession(), context);
    await Promise.all([
      page.setRequestInterception(true),
      page.setBypassServiceWorker(true),
      page.evaluateOnNewDocument(DISABLE_WEBSOCKETS),
      page.evaluateOnNewDocument(TRACK_PAGE_WORK),
      page.setViewport({ width: 1366, height: 768 }),
      this.options.userAgent ? page.setUserAgent(this.options.userAgent) : Promise.resolve(),
    ]);
    page.on('request', (request) => {
      if (slot.listener) slot.listener.onRequest(request);
      else request.abort('aborted').catch(() => {});
    });
    page.on('requestfinished', (request) => slot.listener?.onRequestDone(request));
    page.on('requestfailed', (request) => slot.listener?.onRequestDone(request));
    page.on('response', (response) => slot.listener?.onResponse(response));
    page.on('error', () => {
      slot.broken = true;
      slot.listener?.onPageCrash();
    });
    return slot;
  }

  private async closeGeneration(gen: Generation): Promise<void> {
    gen.dead = true;
    const proc = gen.browser.process();
    await Promise.race([gen.browser.close(), new Promise((r) => setTimeout(r, 5000))]).catch(() => {});
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
  }
}

/** Bots carry no cookies or storage: start each render from a clean slate. */
async function clearState(slot: PageSlot): Promise<void> {
  if (slot.renders === 0) return;
  if (slot.collecting) {
    await slot.collecting;
    slot.collecting = null;
  }
  const previous = slot.page.url();
  const work: Promise<unknown>[] = [slot.cdp.send('Network.clearBrowserCookies')];
  if (/^https?:/.test(previous)) {
    work.push(slot.cdp.send('Storage.clearDataForOrigin', { origin: new URL(previous).origin, storageTypes: 'local_storage,indexeddb,cache_storage,websql' }));
  }
  await Promise.all(work);
}

/** CHROME_PATH, then a system Chromium, then puppeteer's own download. */
export function resolveChromePath(configured: string | undefined): string | undefined {
  if (configured) return configured;
  for (const candidate of CHROME_CANDIDATES) {
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * System Chromium binaries, best first. Debian's headless shell is the same build without
 * the desktop browser: measured on 2 cores, ~20 pages/s at ~395 MB PSS against ~17 pages/s
 * at ~475 MB for the full browser.
 */
const CHROME_CANDIDATES = [
  '/usr/lib/chromium/chromium-headless-shell',
  '/usr/bin/chromium-headless-shell',
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
];

const isHeadlessShell = (path: string | undefined) => path !== undefined && /headless[-_]shell/.test(path);
