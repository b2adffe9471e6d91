import { isbot } from 'isbot';

/**
 * Is this request for the renderer? The framework-free half of the Koa and Express
 * middleware: a request is described by plain values, so both adapters (and tests) ask the
 * same question the same way.
 */

/** What the middleware knows of one incoming request, whatever the framework. */
export interface IncomingRequestView {
  /** HTTP method, upper case. */
  method: string;
  /** The request target as received: path and query (`/p?id=1`). */
  url: string;
  /** Request headers, lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  /** `http` or `https`, as the framework sees it (behind a proxy: its trust-proxy setting). */
  protocol: string;
  /** `host[:port]`, as the framework sees it. */
  host: string;
}

/**
 * Extensions of static assets: never sent to the renderer, whoever asks (lower case, no dot).
 * Scripts, styles, images, fonts, media, archives, data and text files, source maps, icons,
 * web manifests, documents.
 */
export const DEFAULT_SKIP_EXTENSIONS: readonly string[] = Object.freeze([
  // scripts and styles
  'js', 'mjs', 'cjs', 'css', 'map', 'wasm',
  // images
  'png', 'jpg', 'jpeg', 'gif', 'webp', 'avif', 'svg', 'ico', 'bmp', 'tif', 'tiff', 'heic', 'psd',
  // fonts
  'woff', 'woff2', 'ttf', 'otf', 'eot',
  // media
  'mp3', 'mp4', 'm4a', 'm4v', 'webm', 'ogg', 'ogv', 'oga', 'wav', 'flac', 'aac', 'mov', 'avi', 'wmv', 'flv', 'mkv', 'mpg', 'mpeg', '3gp',
  // archives and binaries
  'zip', 'gz', 'tgz', 'bz2', 'xz', 'rar', '7z', 'tar', 'dmg', 'exe', 'iso', 'apk', 'bin', 'deb', 'rpm',
  // data, text and documents
  'json', 'xml', 'txt', 'csv', 'rss', 'atom', 'webmanifest', 'pdf', 'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'swf',
]); // prettier-ignore

/** The query parameter of the retired AJAX crawling scheme: its presence means a crawler. */
export const ESCAPED_FRAGMENT = '_escaped_fragment_';

export interface CrawlerRequestOptions {
  /**
   * More user agents to treat as crawlers, on top of isbot's list (which covers search
   * engines, social previews and AI crawlers: GPTBot, ClaudeBot, PerplexityBot…).
   * A string is compiled case-insensitively.
   * @default undefined (isbot's list alone)
   */
  extraBotPattern?: RegExp | string;
  /**
   * Extensions (no dot, any case) whose requests are never sent to the renderer. Replaces the
   * default list; to extend it, spread `DEFAULT_SKIP_EXTENSIONS`.
   * @default DEFAULT_SKIP_EXTENSIONS
   */
  skipExtensions?: readonly string[];
}

/** Why a request goes to the app and not to the renderer; `null` when it goes to the renderer. */
export type PassReason = 'method' | 'loop-guard' | 'static-asset' | 'not-a-crawler';

/** Builds the question "is this request for the renderer?" once, from the options. */
export function createCrawlerRequestTest(options: CrawlerRequestOptions = {}): (request: IncomingRequestView) => PassReason | null {
  const extra =
    options.extraBotPattern === undefined
      ? null
      : typeof options.extraBotPattern === 'string'
        ? new RegExp(options.extraBotPattern, 'i')
        : options.extraBotPattern;
  const skip = new Set((options.skipExtensions ?? DEFAULT_SKIP_EXTENSIONS).map((e) => e.replace(/^\./, '').toLowerCase()));

  return (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return 'method';
    // The renderer's own requests carry X-Prerender: never send them back to it.
    if (request.headers['x-prerender'] !== undefined) return 'loop-guard';
    const { pathname, searchParams } = splitTarget(request.url);
    const ext = extensionOf(pathname);
    if (ext && skip.has(ext)) return 'static-asset';
    if (searchParams.has(ESCAPED_FRAGMENT)) return null;
    const ua = headerValue(request.headers['user-agent']) ?? '';
    if (!ua) return 'not-a-crawler';
    if (isbot(ua)) return null;
    if (extra) {
      extra.lastIndex = 0;
      if (extra.test(ua)) return null;
    }
    return 'not-a-crawler';
  };
}

/**
 * The absolute URL of the page asked for, as the renderer must load it: the request's
 * protocol and host (or the overrides), its path and query. `_escaped_fragment_` is taken out;
 * a non-empty value becomes the `#!` fragment it stands for.
 */
export function absolutePageUrl(request: IncomingRequestView, override: { protocol?: string; host?: string } = {}): string {
  const protocol = (override.protocol ?? request.protocol).replace(/:$/, '');
  const host = override.host ?? request.host;
  const url = new URL(request.url.startsWith('/') ? request.url : `/${request.url}`, `${protocol}://${host}`);
  if (url.searchParams.has(ESCAPED_FRAGMENT)) {
    const fragment = url.searchParams.get(ESCAPED_FRAGMENT) ?? '';
    url.searchParams.delete(ESCAPED_FRAGMENT);
    url.hash = fragment ? `!${fragment}` : '';
  }
  return url.href;
}

/** The first value of a header. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function splitTarget(target: string): { pathname: string; searchParams: URLSearchParams } {
  const q = target.indexOf('?');
  const pathname = q === -1 ? target : target.slice(0, q);
  return { pathname, searchParams: new URLSearchParams(q === -1 ? '' : target.slice(q + 1)) };
}

function extensionOf(pathname: string): string | null {
  let path = pathname;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    // a malformed escape: look at the raw path
  }
  const last = path.slice(path.lastIndexOf('/') + 1);
  const dot = last.lastIndexOf('.');
  return dot > 0 ? last.slice(dot + 1).toLowerCase() : null;
}
