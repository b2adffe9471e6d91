import { absolutePageUrl, createCrawlerRequestTest, headerValue, type CrawlerRequestOptions, type IncomingRequestView } from './crawler-request.js';

/**
 * Asks a rendercache service for the pre-rendered page of a crawler's request
 * (`GET {serviceUrl}/render?url=<absolute URL>`) and says what to send back, or that the app
 * must answer (fail open). Framework-free: the Koa and Express adapters only replay it.
 */

export interface RendercacheMiddlewareOptions extends CrawlerRequestOptions {
  /**
   * The rendercache service's base URL, e.g. `http://rendercache:3000` (a path prefix is kept).
   * Required.
   */
  serviceUrl: string;
  /**
   * How long to wait for the whole answer (headers and body) of rendercache, in milliseconds.
   * After it, the request goes to the app (fail open), as on a network error or a 5xx.
   * @default 10000
   */
  timeoutMs?: number;
  /**
   * Sent as `X-Rendercache-Token` and `X-Prerender-Token`, for a service whose lookups need a token.
   * @default undefined (no token sent)
   */
  token?: string;
  /**
   * The protocol of the page URL sent to the renderer (`https` behind a TLS-terminating proxy
   * the framework does not trust), instead of the one the framework reports.
   * @default the request's protocol as the framework reports it
   */
  protocol?: string;
  /**
   * The host (and port) of the page URL sent to the renderer, e.g. `www.example.com`, instead of
   * the request's Host.
   * @default the request's host as the framework reports it
   */
  host?: string;
}

/** The answer to replay to the crawler. */
export interface RenderedAnswer {
  status: number;
  /** Lower-case names; only the headers worth replaying (no hop-by-hop or framing ones). */
  headers: Record<string, string>;
  /** Empty for HEAD, 204 and 304. */
  body: Buffer;
}

/** What the middleware does with one request. */
export type RenderDecision = { kind: 'pass' } | { kind: 'rendered'; answer: RenderedAnswer };

export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Headers of rendercache's answer replayed to the crawler. Everything else, and in particular
 * hop-by-hop and framing headers (Connection, Keep-Alive, Transfer-Encoding, Content-Length,
 * Content-Encoding: the body is decoded here), is the framework's to set.
 */
const REPLAYED = new Set([
  'content-type',
  'location',
  'link',
  'content-language',
  'x-robots-tag',
  'vary',
  'etag',
  'last-modified',
  'cache-control',
  'expires',
  'retry-after',
]);
const isReplayed = (name: string) => REPLAYED.has(name) || name.startsWith('x-rendercache-');

/** Request headers passed through to rendercache. */
const FORWARDED = ['user-agent', 'accept-language', 'if-none-match', 'if-modified-since'] as const;

/** Builds the per-request function of both middlewares from the options (validated once, here). */
export function createRenderClient(options: RendercacheMiddlewareOptions): (request: IncomingRequestView) => Promise<RenderDecision> {
  if (!options || typeof options.serviceUrl !== 'string' || !options.serviceUrl) throw new TypeError('rendercache middleware: `serviceUrl` is required');
  const base = new URL(options.serviceUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new TypeError(`rendercache middleware: \`serviceUrl\` must be http(s), got ${base.protocol}`);
  const endpoint = new URL(`${base.pathname.replace(/\/+$/, '')}/render`, base);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new TypeError('rendercache middleware: `timeoutMs` must be a positive number');
  const isForRenderer = createCrawlerRequestTest(options);
  const override = { protocol: options.protocol, host: options.host };

  return async (request) => {
    if (isForRenderer(request) !== null) return { kind: 'pass' };
    const target = new URL(endpoint);
    target.searchParams.set('url', absolutePageUrl(request, override));
    const headers: Record<string, string> = { accept: 'text/html' };
    for (const name of FORWARDED) {
      const value = headerValue(request.headers[name]);
      if (value !== undefined) headers[name] = value;
    }
    if (options.token !== undefined) {
      headers['x-rendercache-token'] = options.token;
      headers['x-prerender-token'] = options.token;
    }
    try {
      const response = await fetch(target, { headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      // A page (of any status: a soft 404, a 301) carries X-Rendercache-Cache, and so does its 304;
      // rendercache's own errors (unknown site 404, 400, 429) and every 5xx are the app's to answer.
      const isPage = response.headers.has('x-rendercache-cache') || response.status === 304;
      if (response.status >= 500 || !isPage) {
        await response.body?.cancel().catch(() => undefined);
        return { kind: 'pass' };
      }
      const noBody = request.method === 'HEAD' || response.status === 204 || response.status === 304;
      const body = noBody ? Buffer.alloc(0) : Buffer.from(await response.arrayBuffer());
      if (noBody) await response.body?.cancel().catch(() => undefined);
      return { kind: 'rendered', answer: { status: response.status, headers: replayedHeaders(response.headers), body } };
    } catch {
      // Refused, reset, DNS, TLS, the timeout: the app answers.
      return { kind: 'pass' };
    }
  };
}

function replayedHeaders(source: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  source.forEach((value, name) => {
    if (isReplayed(name)) out[name] = value;
  });
  // The answer depends on who asks: caches in front of the app must keep them apart.
  const vary = (out['vary'] ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (!vary.some((v) => v.toLowerCase() === 'user-agent' || v === '*')) vary.push('User-Agent');
  out['vary'] = vary.join(', ');
  return out;
}
