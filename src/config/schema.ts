import os from 'node:os';
import picomatch from 'picomatch';
import { z } from 'zod';
import { restartConfigSchema } from '../adapters/index.js';
import { scheduleProblem } from '../cron/schedule-problem.js';
import { isReplayableHeader, REPLAYABLE_HEADERS } from './replayable-headers.js';

/**
 * The one schema of rendercache's config file. Every default lives here, next to the
 * option it belongs to; nothing else in the code base invents a default.
 */

/** The memory this process may use: its cgroup's limit when it has one, else the machine's. */
export function memoryLimitBytes(totalMemBytes = os.totalmem(), constrained = process.constrainedMemory?.() ?? 0): number {
  return constrained > 0 && constrained < totalMemBytes ? constrained : totalMemBytes;
}

/** The most renders at once that memory allows: ~128 MB each, at most 64. */
export function defaultMaxRenderConcurrency(memoryBytes = memoryLimitBytes()): number {
  return Math.max(2, Math.min(64, Math.floor(memoryBytes / (128 * 1024 * 1024))));
}

/** Where "auto" starts before anything is measured: two per core, within the memory bound. */
export function initialRenderConcurrency(cores = os.availableParallelism(), memoryBytes = memoryLimitBytes()): number {
  return Math.max(2, Math.min(cores * 2, defaultMaxRenderConcurrency(memoryBytes)));
}

/** A quarter of the memory limit, in MB: what rendering may hold before "auto" renders fewer at once. */
export function defaultRenderMemoryBudgetMb(memoryBytes = memoryLimitBytes()): number {
  return Math.max(256, Math.floor(memoryBytes / 4 / (1024 * 1024)));
}

const httpUrl = z
  .string()
  .url()
  .refine((s) => /^https?:\/\//i.test(s), { message: 'must be an http:// or https:// URL' });

const resourceType = z.enum([
  'document', 'stylesheet', 'image', 'media', 'font', 'script', 'texttrack', 'xhr', 'fetch',
  'prefetch', 'eventsource', 'websocket', 'manifest', 'signedexchange', 'ping', 'cspviolationreport',
  'preflight', 'other',
]);

/** Analytics and tag managers: they never change what a crawler should see. */
export const DEFAULT_BLOCKED_URL_PATTERNS = [
  'google-analytics.com', 'googletagmanager.com', 'doubleclick.net', 'googlesyndication.com',
  'facebook.net/', 'connect.facebook.net', 'hotjar.com', 'segment.io', 'segment.com/analytics',
  'mixpanel.com', 'clarity.ms', 'newrelic.com', 'nr-data.net', 'sentry.io', 'fullstory.com',
  'plausible.io/js', 'matomo.js', 'piwik.js', 'bat.bing.com', 'snap.licdn.com', 'static.ads-twitter.com',
];

/** Options of one render that a site may override. */
const renderOverrides = z.strictObject({
  /** Resource types aborted before they reach the network. Default: image, media, font. */
  blockResourceTypes: z.array(resourceType).optional(),
  /** Substrings of URLs to abort (analytics by default). */
  blockUrlPatterns: z.array(z.string().min(1)).optional(),
  /** Remove executable <script> elements from the cached HTML. Default true. */
  stripScripts: z.boolean().optional(),
  /** Script types kept when stripping. Default: application/ld+json. */
  keepScriptTypes: z.array(z.string().min(1)).optional(),
  /** Quiet network time that marks a page as ready. */
  idleWindowMs: z.number().int().min(0).max(10_000).optional(),
  /** Hard deadline of one render. */
  deadlineMs: z.number().int().min(1000).max(120_000).optional(),
});

const DURATION_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration written as 90s, 10m, 24h or 7d (or a number of seconds), in milliseconds. */
export const duration = z
  .union([
    z.number().int().min(0),
    z.string().regex(/^\d+(s|m|h|d)$/, 'a duration such as 90s, 10m, 24h or 7d'),
  ])
  .transform((value) => (typeof value === 'number' ? value * 1000 : Number(value.slice(0, -1)) * DURATION_MS[value.slice(-1) as keyof typeof DURATION_MS]));

/** A device name: what `variants` and `X-Rendercache-Device` call it. */
const deviceName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'lower-case letters, digits and "-", starting with a letter (1-32)');

/** How Chromium presents itself while rendering one variant of a page. */
const deviceSchema = z.strictObject({
  /** Viewport width, CSS pixels. */
  width: z.number().int().min(100).max(8192),
  /** Viewport height, CSS pixels. */
  height: z.number().int().min(100).max(8192),
  /** window.devicePixelRatio. */
  deviceScaleFactor: z.number().min(0.5).max(5).default(1),
  /** Mobile emulation: the meta viewport is honoured and navigator.userAgentData.mobile is true. */
  isMobile: z.boolean().default(false),
  /** Touch emulation: navigator.maxTouchPoints > 0, and the pointer is coarse with no hover. */
  hasTouch: z.boolean().default(false),
  /** The variant's User-Agent (default: render.userAgent, then Chromium's). */
  userAgent: z.string().min(1).optional(),
});

/** The devices every config has; `render.devices` adds to them or redefines them. */
export const BUILT_IN_DEVICES = {
  desktop: { width: 1366, height: 768, deviceScaleFactor: 1, isMobile: false, hasTouch: false },
  /** A current Android phone, as Googlebot Smartphone presents itself. */
  mobile: {
    width: 412,
    height: 915,
    deviceScaleFactor: 2.625,
    isMobile: true,
    hasTouch: true,
    userAgent:
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  },
} as const satisfies Record<string, z.input<typeof deviceSchema>>;

function isGlob(pattern: string): boolean {
  try {
    picomatch.makeRe(pattern, { strictBrackets: true });
    return true;
  } catch {
    return false;
  }
}

/** One freshness rule: the pages its `match` names (the last rule has none: every other page) stay fresh for `maxAge`. */
const freshnessRule = z.strictObject({
  /** A glob of the page's path: `*` within one segment, `**` across segments (`/news/*`, `/archive/**`). */
  match: z
    .string()
    .regex(/^\//, 'a path glob starting with "/" (such as /news/* or /archive/**)')
    .max(512)
    .refine(isGlob, { message: 'not a glob picomatch can read' })
    .optional(),
  /** How long a page stays fresh after its last render or verification: a duration (10m, 1h, 7d). */
  maxAge: duration,
  /** Incremental refresh for these pages (default: the site's `incremental`). */
  incremental: z.boolean().optional(),
});

const pagesSource = z.union([
  z.strictObject({ sitemap: z.string().min(1) }),
  z.strictObject({ urls: z.array(z.string().min(1)).min(1) }),
  z.strictObject({
    crawl: z.strictObject({
      start: z.string().min(1).default('/'),
      maxPages: z.number().int().min(1).max(1_000_000).default(500),
      include: z.array(z.string()).default([]),
      exclude: z.array(z.string()).default([]),
    }),
  }),
]);

/** A bound on kept jobs: none when the default is undefined. */
const keptCount = (fallback: number | undefined) =>
  fallback === undefined ? z.number().int().min(1).optional() : z.number().int().min(1).default(fallback);

/**
 * How long BullMQ keeps the finished jobs of one kind in Redis, and how many at most
 * (only an age when a count has no default): older or more are removed.
 */
const keptJobs = (completedSeconds: number, completedCount: number | undefined, failedSeconds: number, failedCount: number | undefined) =>
  z
    .strictObject({
      completedSeconds: z.number().int().min(0).default(completedSeconds),
      completedCount: keptCount(completedCount),
      failedSeconds: z.number().int().min(0).default(failedSeconds),
      failedCount: keptCount(failedCount),
    })
    .prefault({});

export const siteRole = z.enum(['Owner', 'Manager', 'Contributor', 'Downloader', 'Viewer']);

const siteSchema = z.strictObject({
  /** Id of the site in the API's URLs: letters, digits, "-" and "_". */
  id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'letters, digits, "-" and "_" only (1-128)'),
  /** Name of the site, unique, shown in the API. */
  name: z.string().min(1).max(200),
  /** Base URL of the site. Its origin is always reachable by the renderer, wherever it lives. */
  origin: httpUrl,
  /** Where the pages of a refresh come from: {sitemap}, {urls: [...]} or {crawl: {start, maxPages, include, exclude}}. */
  pages: pagesSource.default({ sitemap: '/sitemap.xml' }),
  /** Cron expression of the scheduled refresh. */
  schedule: z.string().min(1).default('0 * * * *'),
  /** IANA time zone of `schedule`. */
  timezone: z.string().min(1).default('UTC'),
  /** user → sharing role on this site. */
  members: z.record(z.string().min(1), siteRole).default({}),
  /** offline: crawlers are not served and no refresh runs. */
  status: z.enum(['online', 'offline']).default('online'),
  /** secure: a site behind sign-in; crawlers are not served. */
  security: z.enum(['public', 'secure']).default('public'),
  /** The pre-renderer for this site; false: crawlers are not served. */
  prerender: z.boolean().default(true),
  /**
   * The device variants rendered and cached for each page, names of `render.devices`. The first
   * is the default: what a lookup gets when neither X-Rendercache-Device, ?_device= nor a mobile
   * User-Agent picks another. ["desktop", "mobile"] renders every page twice and serves
   * Googlebot Smartphone the phone's render.
   */
  variants: z
    .array(deviceName)
    .min(1)
    .max(8)
    .refine((names) => new Set(names).size === names.length, { message: 'a variant is named twice' })
    .default(['desktop']),
  /**
   * Incremental refresh: a refreshed page whose inputs (its document and the scripts, styles and
   * data it loaded) all revalidate unchanged is kept, not rendered. Off for pages whose output
   * depends on the time or on chance.
   */
  incremental: z.boolean().default(true),
  /**
   * Freshness rules, matched in order on the page's path; the last has no `match` and is the
   * default. With them, a scheduled refresh renders only the pages older than their rule's
   * maxAge, and `schedule` is how often it looks. Without them, every scheduled refresh
   * covers every page.
   * @oneRow
   */
  freshness: z.array(freshnessRule).min(1).max(100).optional(),
  /** Let the renderer reach private, loopback and link-local addresses beyond the site's origin. */
  allowPrivateNetwork: z.boolean().default(false),
  /**
   * Per-site overrides of render options: blockResourceTypes, blockUrlPatterns,
   * stripScripts, keepScriptTypes, idleWindowMs, deadlineMs.
   * @oneRow
   */
  render: renderOverrides.prefault({}),
  /**
   * Restarting the site's origin through a platform adapter: {adapter, when, …the adapter's
   * keys}; `when` is before-refresh, on-failure or manual. Validated at load by the adapter
   * registry (unknown adapters are named with the known ones). No restart when absent.
   * @oneRow
   */
  restart: restartConfigSchema.optional(),
});

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      /** Port of the HTTP API; env PORT overrides. */
      port: z.number().int().min(0).max(65535).default(3000),
      /** Address the HTTP API listens on. */
      host: z.string().min(1).default('0.0.0.0'),
      /** Public base URL used in Location headers (default: the request's own). */
      publicUrl: httpUrl.optional(),
      /**
       * Believe X-Forwarded-Host, -Proto and -For. Only behind a proxy that sets them itself:
       * otherwise any client picks the host of our Location headers.
       */
      trustProxy: z.boolean().default(false),
      /**
       * Time a client has to send a request's headers; a slower one gets 408 and is
       * disconnected. Crawlers send them in one packet (Node's own limit: 60 s).
       */
      headersTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
      /**
       * Time a client has to send a whole request, headers and body; a slower one gets 408
       * and is disconnected. At least headersTimeoutMs (Node's own limit: 300 s).
       */
      requestTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
      /**
       * An idle kept-alive connection is closed after this. Longer than the 60 s of common
       * load balancers, so that they close first and never send on a closing socket.
       */
      keepAliveTimeoutMs: z.number().int().min(0).max(3_600_000).default(65_000),
      /**
       * How far V8 lets node's heap grow past what its last full collection kept, in percent
       * (0: V8's own choice, up to 300 % on a machine with much memory). Rendering makes
       * short-lived garbage fast (puppeteer's DevTools messages, the egress proxy), and with
       * V8's own choice ~100 MB of it piled up between collections on heavy pages.
       */
      heapGrowingPercent: z.number().int().min(0).max(300).default(60),
    })
    .prefault({}),
  /**
   * Where the page cache, the jobs and the engine live: "embedded" (one process: SQLite under
   * cache.dir, p-queue, node-cron; survives restarts) or "redis" (instances share one cache and
   * one set of jobs over Redis and BullMQ). Env REDIS_URL sets "redis".
   */
  backend: z.enum(['embedded', 'redis']).default('embedded'),
  /** The Redis of backend "redis": one connection policy for the page cache, the job store and BullMQ. */
  redis: z
    .strictObject({
      /**
       * rediss:// for TLS; user, password and db in the URL. With topology "cluster" a first node
       * of the cluster, with "sentinel" a first sentinel. Env REDIS_URL overrides.
       */
      url: z.string().regex(/^rediss?:\/\/[^/?#]/, 'must be a redis:// or rediss:// URL with a host').default('redis://127.0.0.1:6379'),
      /**
       * "standalone"; "cluster" (Redis Cluster: each store's keys and BullMQ's queues share one hash
       * tag); or "sentinel" (the master sentinelMaster, found through the sentinels).
       */
      topology: z.enum(['standalone', 'cluster', 'sentinel']).default('standalone'),
      /** More cluster nodes ("cluster") or sentinels ("sentinel") beyond the url's, as host:port. */
      seeds: z.array(z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):\d{1,5}$/, 'must be host:port ([v6]:port for IPv6)')).default([]),
      /** The master's name, as the sentinels know it (topology "sentinel"). */
      sentinelMaster: z.string().min(1).default('mymaster'),
      /** A command unanswered this long fails, and its caller reports or retries it (BullMQ's blocking connections wait without one). */
      commandTimeoutMs: z.number().int().min(100).max(60_000).default(4000),
      /** Opening a connection gives up after this. */
      connectTimeoutMs: z.number().int().min(100).max(60_000).default(4000),
      /** A lost connection is retried after this, doubling on each try up to reconnectMaxDelayMs. */
      reconnectMinDelayMs: z.number().int().min(10).max(60_000).default(250),
      /** The longest wait between two reconnection tries. */
      reconnectMaxDelayMs: z.number().int().min(10).max(600_000).default(4000),
      /** With rediss://, refuse a server whose certificate does not verify (off only for a test server with a self-signed certificate). */
      tlsRejectUnauthorized: z.boolean().default(true),
      /** With rediss://, a PEM file of the CA that signed the server's certificate (default: Node's bundled CAs). */
      tlsCaFile: z.string().min(1).optional(),
    })
    .prefault({}),
  cache: z
    .strictObject({
      /** Folder of the embedded backend's files (page cache and jobs). */
      dir: z.string().min(1).default('./data'),
      /** Key namespace in the store: instances with the same backend and namespace are one cluster. */
      namespace: z.string().min(1).default('rendercache'),
      /**
       * A cache read slower than this counts as a miss (and is logged). A false miss
       * costs a whole render (0.5-2 s), so a slow store is waited for a little.
       */
      commandTimeoutMs: z.number().int().min(10).max(60_000).default(1000),
      /** Bytes of rendered pages kept in the in-memory hot tier (default: 128 MiB). */
      hotTierBytes: z.number().int().min(0).default(128 * 1024 * 1024),
      /** An entry older than this is served as "stale" and re-rendered in the background. */
      staleAfterSeconds: z.number().int().min(1).default(7200),
    })
    .prefault({}),
  render: z
    .strictObject({
      /** Chromium binary (default: env CHROME_PATH, then Debian's headless shell, then /usr/bin/chromium, then puppeteer's own). */
      chromePath: z.string().min(1).optional(),
      /**
       * Renders at once in this process: a number, or "auto", learned from what renders achieve
       * (see render.autoConcurrency and docs/architecture.md).
       */
      concurrency: z.union([z.literal('auto'), z.number().int().min(1).max(64)]).default('auto'),
      /** How "auto" concurrency is learned. */
      autoConcurrency: z
        .strictObject({
          /** Fewest renders at once. */
          min: z.number().int().min(1).max(64).default(2),
          /** Most renders at once (default: ~128 MB each of the memory limit, at most 64). */
          max: z.number().int().min(1).max(64).default(() => defaultMaxRenderConcurrency()),
          /** Renders at once before anything is measured (default: two per core, within the memory bound). */
          initial: z.number().int().min(1).max(64).default(() => initialRenderConcurrency()),
          /** One measuring window (and at least 20 renders finished): renders finished, work waiting, CPU and memory, then a decision. */
          windowMs: z.number().int().min(100).max(600_000).default(1000),
          /**
           * Resident memory of the process tree (node and Chromium), in MB, above which fewer
           * renders run at once (default: a quarter of the memory limit, the cgroup's or the machine's).
           */
          memoryBudgetMb: z.number().int().min(64).default(() => defaultRenderMemoryBudgetMb()),
        })
        .prefault({})
        .refine((auto) => auto.min <= auto.max, { message: 'min must not be above max' }),
      /** Renders waiting beyond this answer 503 with Retry-After. */
      maxQueued: z.number().int().min(0).default(200),
      /** Quiet network time that marks a page ready (see docs/architecture.md). */
      idleWindowMs: z.number().int().min(0).max(10_000).default(50),
      /** A request open longer than this is a long-poll and no longer keeps the page busy. */
      longPollAfterMs: z.number().int().min(100).max(60_000).default(5000),
      /** Hard deadline of one render; reaching it is a failure. */
      deadlineMs: z.number().int().min(1000).max(120_000).default(20_000),
      /** Relaunch the browser after this many renders. */
      recycleAfterRenders: z.number().int().min(1).default(1000),
      /** Relaunch the browser after this many minutes. */
      recycleAfterMinutes: z.number().min(0.01).default(30),
      /** A page (tab) is closed and replaced after this many renders, to bound its memory. */
      pageMaxRenders: z.number().int().min(1).default(100),
      /**
       * Browser contexts of sites that rendered nothing lately are closed beyond this many. A
       * context costs little beyond its pages: with --process-per-site the renderer processes
       * are per site whether the sites share a context or not.
       */
      idleSiteContexts: z.number().int().min(0).default(4),
      /**
       * A full garbage collection in a site's renderer after every this many renders in its
       * context: a renderer that is never idle keeps old documents until one (seen: ~1 MB more
       * per render, ~125 MB per renderer after 100 renders).
       */
      collectGarbageEveryRenders: z.number().int().min(1).default(10),
      /** A DevTools protocol call to Chromium that takes longer than this fails (puppeteer's protocolTimeout). */
      protocolTimeoutMs: z.number().int().min(1000).max(600_000).default(30_000),
      /** User agent of the renderer (default: Chromium's). */
      userAgent: z.string().min(1).optional(),
      /**
       * Devices a site's `variants` may name: name → {width, height, deviceScaleFactor, isMobile,
       * hasTouch, userAgent}, added to the built-in ones or redefining them (default: desktop
       * 1366×768; mobile 412×915, scale 2.625, touch, an Android Chrome User-Agent).
       * @oneRow
       */
      devices: z
        .record(deviceName, deviceSchema)
        .default({})
        .transform((own): Record<string, z.output<typeof deviceSchema>> => ({ ...BUILT_IN_DEVICES, ...own })),
      /** Resource types aborted before they reach the network; their URLs stay in the HTML. */
      blockResourceTypes: z.array(resourceType).default(['image', 'media', 'font']),
      /** Substrings of URLs to abort (default: analytics and tag-manager hosts). */
      blockUrlPatterns: z.array(z.string().min(1)).default(DEFAULT_BLOCKED_URL_PATTERNS),
      /** Remove executable <script> elements from the cached HTML. */
      stripScripts: z.boolean().default(true),
      /** Script types kept when stripping (data, not code). */
      keepScriptTypes: z.array(z.string().min(1)).default(['application/ld+json']),
      /** Origin response headers replayed to crawlers; only names of the allow-list in config/replayable-headers. */
      replayHeaders: z
        .array(z.string().min(1).refine(isReplayableHeader, { message: `not a replayable header; one of: ${REPLAYABLE_HEADERS.join(', ')}` }))
        .default(['content-language', 'x-robots-tag', 'link', 'vary']),
    })
    .prefault({}),
  refresh: z
    .strictObject({
      /** Pages of one site rendering at once during a refresh. */
      siteConcurrency: z.number().int().min(1).max(64).default(4),
      /** Tries per page (the first and the retries), with exponential backoff. */
      maxAttempts: z.number().int().min(1).max(10).default(3),
      /** Backoff before the first retry; doubled for each further one. */
      retryBackoffMs: z.number().int().min(0).max(60_000).default(1000),
      /**
       * A job fails when more than this share of its pages failed; 0: any failed page fails
       * the job (its pages that rendered are cached all the same).
       */
      maxFailedPercent: z.number().min(0).max(100).default(0),
      /** Jobs kept per site; older ones are deleted with their pages. */
      keepJobs: z.number().int().min(1).max(10_000).default(20),
      /** Upper bound on the pages of one job. */
      maxPagesPerJob: z.number().int().min(1).max(10_000_000).default(100_000),
      /** intervalToPoll advertised in job status. */
      pollIntervalMs: z.number().int().min(100).default(1000),
      /**
       * A page whose last full render is older than this is rendered whatever its inputs say:
       * incremental refresh never keeps a page longer (a duration: 24h, 90m, 7d).
       */
      fullRenderAfter: duration.prefault('24h'),
      /** A refresh renders first the pages crawlers asked for within this long (a duration). */
      crawlerDemandWindow: duration.prefault('24h'),
      /** Crawler lookups are counted in memory and written to the store this often (seconds). */
      crawlerDemandFlushSeconds: z.number().int().min(1).max(3600).default(30),
      /**
       * Pages of one refresh whose inputs are revalidated at once (incremental refresh), beside
       * its `siteConcurrency` renders: an unchanged page needs no browser.
       */
      revalidateConcurrency: z.number().int().min(1).max(256).default(32),
      /** Revalidation requests (incremental refresh) at once to one origin. */
      revalidateConcurrencyPerOrigin: z.number().int().min(1).max(64).default(16),
      /** Finding the pages of a refresh (sitemaps, robots.txt, crawl). */
      discovery: z
        .strictObject({
          /** Time of one discovery request (a sitemap, robots.txt, a crawled page), headers and body. */
          timeoutMs: z.number().int().min(100).max(600_000).default(15_000),
          /**
           * User agent of discovery's requests and the one whose robots.txt rules apply, when
           * render.userAgent is not set; when it is, discovery uses it too.
           */
          userAgent: z.string().min(1).default('rendercache'),
          /**
           * Bytes of one fetched document (sitemap, robots.txt, crawled page), and of a gzip
           * sitemap once inflated: a few KB of gzip can inflate to gigabytes. 50 MiB is what
           * sitemaps.org allows an uncompressed sitemap, so no valid sitemap is refused (default: 50 MiB).
           */
          maxDocumentBytes: z.number().int().min(1024).default(50 * 1024 * 1024),
          /**
           * Sitemaps read in one discovery, indexes and their children together: an index may
           * name other indexes, or itself under another URL, without end. Sitemaps beyond it
           * are skipped, not an error.
           */
          maxSitemaps: z.number().int().min(1).default(1000),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Crawler lookups (/render?url=… and the other shapes). */
  lookup: z
    .strictObject({
      /**
       * When set, a lookup needs one of these in X-Prerender-Token (what prerender-node sends) or
       * X-Rendercache-Token, so that only your own edge uses the renderer; others get 401. Empty:
       * lookups are open, limited to the configured sites.
       */
      tokens: z.array(z.string().min(8, 'a lookup token has at least 8 characters')).default([]),
    })
    .prefault({}),
  api: z
    .strictObject({
      /**
       * Management API requests allowed per token per window: {points, windowSeconds}; more get 429.
       * @oneRow
       */
      rateLimit: z.strictObject({ points: z.number().int().min(1).default(120), windowSeconds: z.number().int().min(1).default(60) }).prefault({}),
      /** Largest request body accepted; larger get 413 (default: 256 KiB). */
      maxBodyBytes: z.number().int().min(1024).default(256 * 1024),
      /**
       * Time to read a management request's body once its headers are in; a slower body
       * gets 408 and the connection is closed (10 s is 256 KiB at 25 KB/s).
       */
      bodyReadTimeoutMs: z.number().int().min(50).max(600_000).default(10_000),
    })
    .prefault({}),
  auth: z
    .strictObject({
      /**
       * Bearer tokens of the management API: {token (8+ characters), user, admin}.
       * @oneRow
       */
      tokens: z
        .array(z.strictObject({ token: z.string().min(8), user: z.string().min(1), admin: z.boolean().default(false) }))
        .default([]),
    })
    .prefault({}),
  /** Several instances sharing one Redis (backend "redis"). */
  cluster: z
    .strictObject({
      /**
       * What this instance does: "api" serves crawlers and the API, "worker" renders,
       * "all" both; `--role` and env RENDERCACHE_ROLE override.
       * "api" and "worker" need backend "redis".
       */
      role: z.enum(['api', 'worker', 'all']).default('all'),
      /** A render whose instance stops renewing its lock for this long is taken over by another. */
      lockDurationMs: z.number().int().min(1000).max(600_000).default(30_000),
      /** How often instances look for renders stalled by a dead instance. */
      stalledIntervalMs: z.number().int().min(500).max(600_000).default(15_000),
      /** How often each instance pings Redis to tell whether it is reachable (readiness; local renders while it is away). */
      redisPingEveryMs: z.number().int().min(100).max(60_000).default(1000),
      /**
       * A crawler lookup waits for its render on another instance at most this many
       * render.deadlineMs (the render, the renderer's one retry after a crash, and a wait in
       * the queue), plus lookupWaitExtraMs.
       */
      lookupWaitDeadlines: z.number().min(1).max(100).default(3),
      /** Added to lookupWaitDeadlines × render.deadlineMs: room for Redis and the queue's own delays. */
      lookupWaitExtraMs: z.number().int().min(0).max(600_000).default(10_000),
      /**
       * Finished BullMQ jobs kept in Redis (to look into; they hold no state of their own:
       * jobs and pages are in the store): for each kind {completedSeconds, completedCount,
       * failedSeconds, failedCount}.
       */
      retention: z
        .strictObject({
          /**
           * Lookups (a crawler waiting for a render): a result is read at once, so kept briefly.
           * @oneRow
           */
          lookups: keptJobs(60, 1000, 3600, 1000),
          /**
           * Refresh pages, one BullMQ job each.
           * @oneRow
           */
          pages: keptJobs(3600, 20_000, 24 * 3600, 20_000),
          /**
           * Scheduled ticks.
           * @oneRow
           */
          ticks: keptJobs(24 * 3600, 1000, 24 * 3600, 1000),
          /**
           * Start-up catch-ups: the id names the tick, so instances starting within
           * completedSeconds of each other queue it once.
           * @oneRow
           */
          catchUps: keptJobs(24 * 3600, undefined, 24 * 3600, undefined),
          /** Failed discover and restart-origin control jobs (done ones are removed at once: the job record is in the store). */
          failedControlSeconds: z.number().int().min(0).default(24 * 3600),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Scheduled refresh of every site on its `schedule`, in this process. */
  schedule: z
    .strictObject({
      /** Run the scheduled refreshes. */
      enabled: z.boolean().default(true),
      /**
       * Each site starts this many seconds at most after its tick, at an offset derived
       * from its id (never more than half its schedule's interval), so that sites do not
       * all start at once. 0 starts every site on the tick.
       */
      jitterSeconds: z.number().int().min(0).max(86_400).default(300),
      /** At start-up, refresh at once every site whose last successful refresh is older than its last tick. */
      catchUp: z.boolean().default(true),
    })
    .prefault({}),
  sites: z.array(siteSchema).default([]),
  /**
   * Serve the demo site shipped in demo-site/: {port, root} (used by the default config).
   * @oneRow
   */
  demo: z.strictObject({ port: z.number().int().min(0).max(65535), root: z.string().min(1).default('demo-site') }).optional(),
  log: z
    .strictObject({
      /** pino log level; env LOG_LEVEL overrides. At "debug", every crawler lookup is logged too (otherwise only counted in metrics). */
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      /** "auto": readable lines (pino-pretty) when stdout is a terminal, JSON otherwise; "json" or "pretty" always. Env LOG_FORMAT overrides. */
      format: z.enum(['auto', 'json', 'pretty']).default('auto'),
    })
    .prefault({}),
}).superRefine((cfg, ctx) => {
  if (cfg.server.headersTimeoutMs > cfg.server.requestTimeoutMs) {
    ctx.addIssue({ code: 'custom', path: ['server', 'headersTimeoutMs'], message: `must not exceed server.requestTimeoutMs (${cfg.server.requestTimeoutMs})` });
  }
  if (cfg.cluster.role !== 'all' && cfg.backend === 'embedded') {
    ctx.addIssue({ code: 'custom', path: ['cluster', 'role'], message: `role "${cfg.cluster.role}" needs backend "redis" (backend: redis and redis.url, or env REDIS_URL)` });
  }
  if (cfg.redis.reconnectMinDelayMs > cfg.redis.reconnectMaxDelayMs) {
    ctx.addIssue({ code: 'custom', path: ['redis', 'reconnectMinDelayMs'], message: `must not exceed redis.reconnectMaxDelayMs (${cfg.redis.reconnectMaxDelayMs})` });
  }
  const ids = new Set<string>();
  const names = new Set<string>();
  cfg.sites.forEach((site, i) => {
    if (ids.has(site.id)) ctx.addIssue({ code: 'custom', path: ['sites', i, 'id'], message: `duplicate site id "${site.id}"` });
    if (names.has(site.name)) ctx.addIssue({ code: 'custom', path: ['sites', i, 'name'], message: `duplicate site name "${site.name}"` });
    ids.add(site.id);
    names.add(site.name);
    site.freshness?.forEach((rule, j, rules) => {
      const last = j === rules.length - 1;
      if (last && rule.match !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['sites', i, 'freshness', j, 'match'], message: 'the last rule is the default: it has no "match"' });
      }
      if (!last && rule.match === undefined) {
        ctx.addIssue({ code: 'custom', path: ['sites', i, 'freshness', j], message: 'only the last rule may leave out "match" (it is the default)' });
      }
    });
    site.variants.forEach((variant, j) => {
      if (!(variant in cfg.render.devices)) {
        ctx.addIssue({ code: 'custom', path: ['sites', i, 'variants', j], message: `no device "${variant}"; known: ${Object.keys(cfg.render.devices).join(', ')} (add it under render.devices)` });
      }
    });
    const problem = scheduleProblem(site.schedule, site.timezone);
    if (problem) ctx.addIssue({ code: 'custom', path: ['sites', i, problem.field], message: problem.message });
  });
});


export type RendercacheConfig = z.infer<typeof configSchema>;
export type SiteConfig = RendercacheConfig['sites'][number];
export type SiteRole = z.infer<typeof siteRole>;
export type RenderOptionsConfig = RendercacheConfig['render'];
export type FreshnessRule = z.output<typeof freshnessRule>;
export type DeviceConfig = z.output<typeof deviceSchema>;
export type ResourceType = z.infer<typeof resourceType>;
export type ClusterRetention = RendercacheConfig['cluster']['retention'];
export type KeptJobs = ClusterRetention['lookups'];
export type RedisConfig = RendercacheConfig['redis'];
