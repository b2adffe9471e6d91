import puppeteer, {
  TargetType,
  type Browser,
  type BrowserContext,
  type CDPSession,
  type HTTPRequest,
  type HTTPResponse,
  type Page,
  type Target,
} from 'puppeteer';
import type { Logger } from '../observability/logger.js';
import type { EgressProxy } from './egress/egress-proxy.js';
import { egressKey, originBypassRule, type EgressPolicy } from './egress/egress-policy.js';
import { chromiumArgs, isHeadlessShell } from './chromium-launch.js';
import { emulateDevice } from './device-emulation.js';
import type { DeviceProfile } from './types.js';
import { BLOCK_SERVICE_WORKERS, DISABLE_WEBSOCKETS, TRACK_PAGE_WORK } from './page-scripts.js';

export interface BrowserPoolOptions {
  /** Chromium binary; undefined lets puppeteer use its own download. */
  executablePath: string | undefined;
  /** Relaunch after this many renders. */
  recycleAfterRenders: number;
  /** Relaunch after this much time. */
  recycleAfterMs: number;
  /** A page is closed and replaced after this many renders, to bound its memory (render.pageMaxRenders). */
  pageMaxRenders: number;
  /** Contexts of sites that rendered nothing lately are closed beyond this many (render.idleSiteContexts). */
  idleSiteContexts: number;
  /** A full garbage collection in a context's renderer after every this many renders (render.collectGarbageEveryRenders). */
  collectGarbageEveryRenders: number;
  /** Longest DevTools protocol call (render.protocolTimeoutMs). */
  protocolTimeoutMs: number;
  /** The egress guard every context's connections go through. */
  egress: EgressProxy;
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

/**
 * The incognito context of one egress policy (one site): its connections go to that
 * policy's proxy listener, so whatever its pages, workers and popups send, even after
 * their render ended, is judged by the site that loaded them.
 */
class SiteContext {
  readonly idle: PageSlot[] = [];
  /** Renders using the context now. */
  active = 0;
  /** Renders since the context opened (garbage collection cadence). */
  renders = 0;
  lastUsed = Date.now();
  constructor(
    readonly key: string,
    readonly ready: Promise<BrowserContext>,
  ) {}
}

/** A reusable tab whose request handler is wired once. */
class PageSlot {
  listener: PageListener | null = null;
  renders = 0;
  broken = false;
  /** Garbage collection started after the last render; the next render waits for it. */
  collecting: Promise<unknown> | null = null;
  /** The device the tab presents itself as: changed only when a render needs another. */
  device: string | null = null;
  constructor(
    readonly page: Page,
    readonly cdp: CDPSession,
    readonly context: SiteContext,
  ) {}
}

/** One launched browser. A recycled or crashed generation is replaced by a new one. */
class Generation {
  readonly contexts = new Map<string, SiteContext>();
  active = 0;
  renders = 0;
  draining = false;
  dead = false;
  readonly startedAt = Date.now();
  constructor(
    readonly browser: Browser,
    /** Chromium's own User-Agent: what a device without one of its own presents. */
    readonly userAgent: string,
  ) {}
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
 * render is a fresh tab), in one incognito context per site whose connections all go
 * through the egress guard, with cookies and storage cleared between renders and a
 * garbage collection every few renders. The browser is recycled after N renders or T
 * minutes without dropping work: running renders finish on the old browser while new
 * ones start on the new one. A crashed browser is relaunched on the next render.
 */
export class BrowserPool {
  private current: Generation | null = null;
  private lastUserAgent: string | undefined;
  private launching: Promise<Generation> | null = null;
  private closed = false;

  constructor(private readonly options: BrowserPoolOptions) {}

  /** Launches Chromium now (readiness waits for it). */
  async start(): Promise<void> {
    await this.generation();
  }

  get isReady(): boolean {
    return this.current !== null && !this.current.dead;
  }

  /**
   * Chromium's own User-Agent, launching it if none has launched yet. The last one's is kept
   * while a recycled browser is replaced: the binary, and so its User-Agent, is the same.
   */
  async browserUserAgent(): Promise<string> {
    return this.current?.userAgent ?? this.lastUserAgent ?? (await this.generation()).userAgent;
  }

  /** Process id of the current browser (metrics, and tests that crash it). */
  browserPid(): number | undefined {
    return this.current?.browser.process()?.pid;
  }

  /** Lends a page of the site's context, presenting itself as the policy's device, to `fn`. */
  async withPage<T>(policy: EgressPolicy & { device: DeviceProfile }, fn: (lease: PageLease) => Promise<T>): Promise<T> {
    const gen = await this.generation();
    gen.active++;
    gen.renders++;
    const context = this.contextFor(gen, policy);
    let slot: PageSlot | undefined;
    try {
      slot = context.idle.pop() ?? (await this.openSlot(context));
      await clearState(slot);
      if (slot.device !== policy.device.name) {
        await emulateDevice(slot.page, slot.cdp, policy.device, gen.userAgent);
        slot.device = policy.device.name;
      }
      const lease: PageLease = {
        page: slot.page,
        listen: (listener) => {
          if (slot) slot.listener = listener;
        },
        get browserGone() {
          return gen.dead;
        },
      };
      return await fn(lease);
    } catch (err) {
      if (gen.dead) throw new BrowserCrashedError(`Chromium exited during the render: ${(err as Error).message}`);
      if (slot) slot.broken = true;
      throw err;
    } finally {
      gen.active--;
      context.active--;
      context.lastUsed = Date.now();
      if (slot) this.release(gen, slot);
      if (gen.draining && gen.active === 0) void this.closeGeneration(gen);
    }
  }

  /** Closes idle tabs beyond `count` (fewer renders at once now): each holds memory in its renderer. */
  keepIdlePages(count: number): void {
    const gen = this.current;
    if (!gen) return;
    let kept = 0;
    for (const context of gen.contexts.values()) {
      const keep = Math.max(0, Math.min(context.idle.length, count - kept));
      kept += keep;
      // The least recently used first: the idle list is a stack.
      for (const slot of context.idle.splice(0, context.idle.length - keep)) slot.page.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const gen = this.current ?? (this.launching ? await this.launching.catch(() => null) : null);
    this.current = null;
    if (gen) await this.closeGeneration(gen);
  }

  /** The site's context in this browser, opened on first use; counts the caller as active. */
  private contextFor(gen: Generation, egress: EgressPolicy): SiteContext {
    const key = egressKey(egress);
    let context = gen.contexts.get(key);
    if (!context) {
      const ready = this.options.egress
        .urlFor(egress)
        .then((proxyServer) => gen.browser.createBrowserContext({ proxyServer, proxyBypassList: ['<-loopback>', originBypassRule(egress)] }));
      context = new SiteContext(key, ready);
      gen.contexts.set(key, context);
      ready.catch(() => {
        if (gen.contexts.get(key) === context) gen.contexts.delete(key);
      });
      this.closeIdleContexts(gen);
    }
    context.active++;
    return context;
  }

  /** Closes the least recently used contexts that no render is using, beyond options.idleSiteContexts. */
  private closeIdleContexts(gen: Generation): void {
    const idle = [...gen.contexts.values()].filter((c) => c.active === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const context of idle.slice(0, Math.max(0, idle.length - this.options.idleSiteContexts))) {
      gen.contexts.delete(context.key);
      context.idle.length = 0;
      void context.ready.then((c) => c.close()).catch(() => {});
    }
  }

  private release(gen: Generation, slot: PageSlot): void {
    slot.listener = null;
    slot.renders++;
    if (gen.dead) return;
    if (gen.draining || slot.broken || slot.renders >= this.options.pageMaxRenders || gen.contexts.get(slot.context.key) !== slot.context) {
      slot.page.close().catch(() => {});
      return;
    }
    if (++slot.context.renders % this.options.collectGarbageEveryRenders === 0) {
      // Off the finished render's path: the next render of this page waits for it.
      slot.collecting = slot.cdp.send('HeapProfiler.collectGarbage').catch(() => {});
    }
    slot.context.idle.push(slot);
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
    this.launching ??= this.launch().finally(() => {
      this.launching = null;
    });
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
      // Each tab's device is set by render/device-emulation alone.
      defaultViewport: null,
      args: chromiumArgs(await this.options.egress.denyAllUrl()),
      protocolTimeout: this.options.protocolTimeoutMs,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    // Popups (window.open, target=_blank links and forms) are closed as they appear: a
    // snapshot never needs them. Their connections went through the site's proxy anyway.
    browser.on('targetcreated', (target: Target) => {
      if (target.type() === TargetType.PAGE && target.opener())
        void target
          .page()
          .then((p) => p?.close())
          .catch(() => {});
    });
    // The start-up tab is never used; its renderer would cost ~20 MB.
    for (const page of await browser.pages()) await page.close();
    const gen = new Generation(browser, await browser.userAgent());
    this.lastUserAgent = gen.userAgent;
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

  private async openSlot(context: SiteContext): Promise<PageSlot> {
    const page = await (await context.ready).newPage();
    const slot = new PageSlot(page, await page.createCDPSession(), context);
    await Promise.all([
      page.setRequestInterception(true),
      // A refresh must see the origin as it is now: no revalidation (a 304 is not a page)
      // and no heuristic freshness.
      page.setCacheEnabled(false),
      page.setBypassServiceWorker(true),
      page.evaluateOnNewDocument(DISABLE_WEBSOCKETS),
      page.evaluateOnNewDocument(BLOCK_SERVICE_WORKERS),
      page.evaluateOnNewDocument(TRACK_PAGE_WORK),
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
    work.push(
      slot.cdp.send('Storage.clearDataForOrigin', {
        origin: new URL(previous).origin,
        storageTypes: 'local_storage,indexeddb,cache_storage,websql,service_workers',
      }),
    );
  }
  await Promise.all(work);
}
