/**
 * Redirects are judged here, not by fetch: fetch would carry a body (ArcGIS tokens) and custom
 * headers to any origin. Credentials never leave the origin they were meant for.
 */
import { RestartError } from './errors.js';

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

function describe(method: string, url: URL): string {
  return `${method} ${url.origin}${url.pathname}`;
}

/**
 * The URL to follow an answer to, or undefined when it is no redirect. Followed: a GET within
 * the same origin, a few hops. Anything else throws: another origin, a POST, too many hops.
 */
export function redirectTarget(
  method: string,
  from: string,
  answer: { status: number; headers: Headers },
  hop: number,
  maxRedirects: number,
): string | undefined {
  const location = answer.headers.get('location');
  if (!REDIRECT_STATUSES.has(answer.status) || location === null) return undefined;
  const source = new URL(from);
  const target = new URL(location, source);
  const what = describe(method, source);
  const where = `${target.origin}${target.pathname}`;
  if (target.origin !== source.origin) {
    throw new RestartError(
      'unexpected-response',
      'Redirect to another origin refused',
      `${what} answered HTTP ${answer.status} to ${where}; credentials go only to ${source.origin}, so rendercache did not follow it (if the platform moved, configure its new URL)`,
    );
  }
  if (method !== 'GET') {
    throw new RestartError(
      'unexpected-response',
      'Unexpected platform response',
      `${what} answered HTTP ${answer.status} to ${where}; a POST is not sent again elsewhere`,
    );
  }
  if (hop >= maxRedirects) {
    throw new RestartError('unexpected-response', 'Unexpected platform response', `${what}: more than ${maxRedirects} redirects`);
  }
  return target.toString();
}
