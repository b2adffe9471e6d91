// rendercache in front of a site on Cloudflare: a module Worker on the site's route
// (e.g. `www.example.com/*`). Crawlers' page requests get the pre-rendered page from
// rendercache; everything else, and every crawler request rendercache cannot answer,
// goes to the origin untouched (`fetch(request)`).
//
// Environment (wrangler.toml `[vars]`, or dashboard variables; the token as a secret):
//   RENDERCACHE_URL         rendercache's public base URL, e.g. https://rendercache.example.com (required;
//                           unset, the worker passes everything to the origin)
//   RENDERCACHE_TOKEN       sent as X-Rendercache-Token and X-Prerender-Token (optional: for `lookup.tokens`)
//   RENDERCACHE_TIMEOUT_MS  how long to wait for rendercache's whole answer, default 10000; after it, the origin
//
// Plain JavaScript, no imports: paste it in the dashboard or `wrangler deploy` it as it is.
// The crawler list is the one of integrations/nginx and integrations/apache (isbot would
// need a bundler; this list is the crawlers worth a rendered page).

/** Crawlers that get the rendered page (case-insensitive; "googlebot" also matches Googlebot Smartphone). */
export const CRAWLER_PATTERN = new RegExp(
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

/** Static files: never rendered, whoever asks. */
export const STATIC_PATTERN =
  /\.(js|mjs|cjs|css|map|json|xml|txt|rss|atom|csv|pdf|ico|png|jpe?g|gif|webp|avif|svg|svgz|bmp|tiff?|heic|woff2?|ttf|otf|eot|mp4|webm|ogg|ogv|oga|mp3|wav|flac|aac|m4a|m4v|mov|avi|wmv|flv|mkv|mpe?g|swf|zip|gz|tgz|bz2|xz|7z|rar|tar|dmg|exe|msi|apk|iso|bin|deb|rpm|wasm|doc|docx|xls|xlsx|ppt|pptx|psd|ai|eps|webmanifest)$/i;

const ESCAPED_FRAGMENT = '_escaped_fragment_';
const DEFAULT_TIMEOUT_MS = 10_000;

/** Headers of rendercache's answer that are the connection's, not the page's. */
const NOT_REPLAYED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'set-cookie']);

/** Is this request for rendercache? GET/HEAD, no X-Prerender (loop guard), not static, a crawler or `_escaped_fragment_`. */
export function isForRenderer(request) {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  // rendercache's Chromium sends X-Prerender when it loads the site: never send it back.
  if (request.headers.has('x-prerender')) return false;
  const url = new URL(request.url);
  let path = url.pathname;
  try {
    path = decodeURIComponent(path);
  } catch {
    // a malformed escape: look at the raw path
  }
  if (STATIC_PATTERN.test(path)) return false;
  if (url.searchParams.has(ESCAPED_FRAGMENT)) return true;
  return CRAWLER_PATTERN.test(request.headers.get('user-agent') ?? '');
}

/** The page URL for rendercache: the request's, `_escaped_fragment_` taken out (a value becomes the `#!` fragment). */
export function pageUrl(request) {
  const url = new URL(request.url);
  if (url.searchParams.has(ESCAPED_FRAGMENT)) {
    const fragment = url.searchParams.get(ESCAPED_FRAGMENT) ?? '';
    url.searchParams.delete(ESCAPED_FRAGMENT);
    url.hash = fragment ? `!${fragment}` : '';
  }
  return url.href;
}

/** rendercache's answer to replay, or null: the origin answers (fail open). */
export async function lookup(request, env) {
  const base = String(env.RENDERCACHE_URL ?? '').replace(/\/+$/, '');
  if (!base) return null;
  const timeoutMs = Number(env.RENDERCACHE_TIMEOUT_MS) > 0 ? Number(env.RENDERCACHE_TIMEOUT_MS) : DEFAULT_TIMEOUT_MS;
  const headers = new Headers({ 'user-agent': request.headers.get('user-agent') ?? '' });
  if (env.RENDERCACHE_TOKEN) {
    headers.set('x-rendercache-token', env.RENDERCACHE_TOKEN);
    headers.set('x-prerender-token', env.RENDERCACHE_TOKEN);
  }
  const accept = request.headers.get('accept-language');
  if (accept) headers.set('accept-language', accept);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(`${base}/render?url=${encodeURIComponent(pageUrl(request))}`, {
      method: request.method,
      headers,
      redirect: 'manual',
      signal: controller.signal,
    });
    // A page (any status: a soft 404, a 301) carries X-Rendercache-Cache; rendercache's own
    // errors (a URL of no configured site, 400, 429) and every 5xx are the origin's to answer.
    const isPage = response.headers.has('x-rendercache-cache') || response.status === 304;
    if (response.status >= 500 || !isPage) {
      await response.body?.cancel();
      return null;
    }
    // Read the whole body inside the deadline: a render cut short falls back too.
    const noBody = request.method === 'HEAD' || response.status === 204 || response.status === 304;
    const body = noBody ? null : await response.arrayBuffer();
    if (noBody) await response.body?.cancel();
    const replayed = new Headers();
    response.headers.forEach((value, name) => {
      if (!NOT_REPLAYED.has(name) && name !== 'content-encoding' && name !== 'content-length') replayed.set(name, value);
    });
    // The answer depends on who asks: caches in front must keep crawlers and people apart.
    const vary = replayed.get('vary') ?? '';
    if (!/(^|,)\s*(user-agent|\*)\s*(,|$)/i.test(vary)) replayed.set('vary', vary ? `${vary}, User-Agent` : 'User-Agent');
    return new Response(body, { status: response.status, headers: replayed });
  } catch {
    // Refused, reset, DNS, TLS, the timeout: the origin answers.
    return null;
  } finally {
    clearTimeout(timer);
  }
}

export default {
  async fetch(request, env) {
    if (isForRenderer(request)) {
      const rendered = await lookup(request, env);
      if (rendered) return rendered;
    }
    return fetch(request);
  },
};
