// rendercache in front of a Next.js app: copy this file to the root of your project (next to
// `app/` or `pages/`, or into `src/`) as `middleware.ts`. Crawlers' page requests get the
// pre-rendered page from rendercache; everything else, and every crawler request rendercache
// cannot answer, goes on to your app (`NextResponse.next()`).
//
// Environment:
//   RENDERCACHE_URL            rendercache's base URL, e.g. http://rendercache:3000 (unset: the middleware does nothing)
//   RENDERCACHE_TOKEN          sent as X-Rendercache-Token and X-Prerender-Token (for `lookup.tokens`)
//   RENDERCACHE_TIMEOUT_MS     how long to wait for rendercache's whole answer, default 10000; after it, the app
//   RENDERCACHE_PUBLIC_ORIGIN  the public origin of page URLs (https://www.example.com) when Next.js sees another
//                              host or scheme behind your proxy; default: the request's own
import { NextResponse, type NextRequest } from 'next/server';

/** Crawlers that get the rendered page: the list of integrations/nginx, apache and cloudflare. */
const CRAWLER_PATTERN = new RegExp(
  [
    'googlebot', 'google-inspectiontool', 'storebot-google', 'google-extended', 'bingbot',
    'gptbot', 'oai-searchbot', 'chatgpt-user', 'claudebot', 'claude-searchbot', 'claude-user', 'anthropic-ai',
    'perplexitybot', 'perplexity-user', 'facebookexternalhit', 'facebookcatalog', 'meta-externalagent',
    'twitterbot', 'linkedinbot', 'slackbot', 'discordbot', 'telegrambot', 'whatsapp', 'pinterestbot', 'redditbot',
    'embedly', 'applebot', 'duckduckbot', 'yandex(bot|images)', 'baiduspider', 'petalbot', 'seznambot', 'yeti',
    'sogou', 'exabot', 'ia_archiver', 'ccbot', 'bytespider', 'amazonbot', 'mistralai-user', 'cohere-ai',
  ].join('|'),
  'i',
); // prettier-ignore

/** Static files: never rendered. */
const STATIC_PATTERN =
  /\.(js|mjs|cjs|css|map|json|xml|txt|rss|atom|csv|pdf|ico|png|jpe?g|gif|webp|avif|svg|svgz|bmp|tiff?|heic|woff2?|ttf|otf|eot|mp4|webm|ogg|ogv|oga|mp3|wav|flac|aac|m4a|m4v|mov|avi|wmv|flv|mkv|mpe?g|swf|zip|gz|tgz|bz2|xz|7z|rar|tar|dmg|exe|msi|apk|iso|bin|deb|rpm|wasm|doc|docx|xls|xlsx|ppt|pptx|psd|ai|eps|webmanifest)$/i;

/** Headers of rendercache's answer that are the connection's, not the page's. */
const NOT_REPLAYED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-encoding', 'content-length', 'set-cookie']);

// Next.js's own files and API routes never reach the middleware.
export const config = {
  matcher: ['/((?!_next/|api/).*)'],
};

function isForRenderer(request: NextRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  // rendercache's Chromium sends X-Prerender when it loads the site: never send it back.
  if (request.headers.has('x-prerender')) return false;
  if (STATIC_PATTERN.test(request.nextUrl.pathname)) return false;
  if (request.nextUrl.searchParams.has('_escaped_fragment_')) return true;
  return CRAWLER_PATTERN.test(request.headers.get('user-agent') ?? '');
}

function pageUrl(request: NextRequest): string {
  const url = new URL(request.nextUrl.pathname + request.nextUrl.search, process.env.RENDERCACHE_PUBLIC_ORIGIN || request.nextUrl.origin);
  const fragment = url.searchParams.get('_escaped_fragment_');
  if (fragment !== null) {
    url.searchParams.delete('_escaped_fragment_');
    url.hash = fragment ? `!${fragment}` : '';
  }
  return url.href;
}

export async function middleware(request: NextRequest): Promise<NextResponse> {
  const base = (process.env.RENDERCACHE_URL ?? '').replace(/\/+$/, '');
  if (!base || !isForRenderer(request)) return NextResponse.next();
  const timeoutMs = Number(process.env.RENDERCACHE_TIMEOUT_MS) > 0 ? Number(process.env.RENDERCACHE_TIMEOUT_MS) : 10_000;
  const headers = new Headers({ 'user-agent': request.headers.get('user-agent') ?? '' });
  const token = process.env.RENDERCACHE_TOKEN;
  if (token) {
    headers.set('x-rendercache-token', token);
    headers.set('x-prerender-token', token);
  }
  try {
    const response = await fetch(`${base}/render?url=${encodeURIComponent(pageUrl(request))}`, {
      method: request.method,
      headers,
      redirect: 'manual',
      cache: 'no-store',
      signal: AbortSignal.timeout(timeoutMs),
    });
    // A page (any status: a soft 404, a 301) carries X-Rendercache-Cache; rendercache's own
    // errors (a URL of no configured site, 400, 429) and every 5xx are the app's to answer.
    const isPage = response.headers.has('x-rendercache-cache') || response.status === 304;
    if (response.status >= 500 || !isPage) {
      await response.body?.cancel();
      return NextResponse.next();
    }
    const noBody = request.method === 'HEAD' || response.status === 204 || response.status === 304;
    const body = noBody ? null : await response.arrayBuffer();
    if (noBody) await response.body?.cancel();
    const replayed = new Headers();
    response.headers.forEach((value, name) => {
      if (!NOT_REPLAYED.has(name)) replayed.set(name, value);
    });
    const vary = replayed.get('vary') ?? '';
    if (!/(^|,)\s*(user-agent|\*)\s*(,|$)/i.test(vary)) replayed.set('vary', vary ? `${vary}, User-Agent` : 'User-Agent');
    return new NextResponse(body, { status: response.status, headers: replayed });
  } catch {
    // Refused, reset, DNS, TLS, the timeout: the app answers.
    return NextResponse.next();
  }
}
