/**
 * The one HTTP client the adapters use to talk to platforms: form or JSON requests with a
 * per-request timeout, retries with exponential backoff (honouring Retry-After), redirects
 * followed only within the same origin, and abort on the run's signal. It reads every body;
 * deciding what a body means is the platform client's job.
 *
 * Retries: a repeatable request (reads, sign-ins) is retried on network errors, 429 and
 * 502/503/504: a bounded number of times, or until the deadline once the platform accepted
 * the restart (its API may be restarting with it). A request that is not repeatable (a
 * restart, build or deployment) is retried only when the platform cannot have acted on it:
 * no connection, or 429. Once it may have been received, it fails as `UnconfirmedRequestError`.
 */
import { RestartError, UnconfirmedRequestError } from './errors.js';
import { GATEWAY_STATUSES, networkFailure } from './http-failures.js';
import { redirectTarget } from './http-redirects.js';

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  form?: Record<string, string>;
  json?: unknown;
  /** Per-request timeout. `null`: bounded only by the run's signal (long synchronous operations). */
  timeoutMs?: number | null;
  /** Harmless to send twice (reads, sign-ins). Default: true for GET, false for POST. */
  repeatable?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  body: unknown;
  text: string;
}

export type HttpClient = (request: HttpRequest) => Promise<HttpResponse>;

export interface HttpClientOptions {
  signal: AbortSignal;
  now(): number;
  /** Sleeps, rejecting when the run is aborted. */
  sleep(ms: number): Promise<void>;
  /** Called before each retry with a description free of secrets. */
  onRetry(detail: string, state: string): void;
  /** When the restart must be over, on `now`'s clock: no retry waits past it. */
  deadline?: { at: number; totalMs: number };
  /** True once the platform accepted the restart: from then on reads retry until the deadline. */
  outagesExpected?(): boolean;
  maxRetries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  requestTimeoutMs?: number;
  /** Upper bound on a platform's Retry-After, so a bad header cannot park a restart. */
  maxRetryAfterMs?: number;
  /** Same-origin redirects followed for one GET. */
  maxRedirects?: number;
}

export const HTTP_DEFAULTS = {
  maxRetries: 3,
  backoffBaseMs: 250,
  backoffMaxMs: 8_000,
  requestTimeoutMs: 30_000,
  maxRetryAfterMs: 120_000,
  maxRedirects: 5,
} as const;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  429: 'Too Many Requests',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** "METHOD origin/path", without the query string (ArcGIS puts tokens there). */
export function describeRequest(method: string, url: string): string {
  const parsed = new URL(url);
  return `${method} ${parsed.origin}${parsed.pathname}`;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** attempt);
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** One failed attempt that may be retried. */
interface Failure {
  reason: string;
  state: string;
  /** The answer, handed back when retries run out. */
  response?: HttpResponse;
  retryAfterMs?: number;
}

/** One request as sent: the body encoded, bounded by the run's signal and the request timeout. */
async function sendOnce(request: HttpRequest, url: string, timeoutMs: number | null, runSignal: AbortSignal): Promise<HttpResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  let body: string | undefined;
  if (request.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(request.form).toString();
  } else if (request.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(request.json);
  }
  const signal = timeoutMs === null ? runSignal : AbortSignal.any([runSignal, AbortSignal.timeout(timeoutMs)]);
  // Redirects are ours to judge (http-redirects): fetch would carry the body and custom headers to any origin.
  const response = await fetch(url, { method: request.method, headers, body, signal, redirect: 'manual' });
  // Reading the body is inside the same try as the request: a connection cut mid-body is a network error too.
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: parseJson(text), text };
}

async function sendFollowingRedirects(request: HttpRequest, timeoutMs: number | null, runSignal: AbortSignal, maxRedirects: number): Promise<HttpResponse> {
  let url = request.url;
  for (let hop = 0; ; hop++) {
    const response = await sendOnce(request, url, timeoutMs, runSignal);
    const next = redirectTarget(request.method, url, response, hop, maxRedirects);
    if (next === undefined) return response;
    url = next;
  }
}

/** The options with every default applied. */
type Settings = HttpClientOptions & Record<keyof typeof HTTP_DEFAULTS, number>;

/** One request being sent, over all its attempts. */
interface Exchange {
  request: HttpRequest;
  /** "METHOD origin/path", for steps and errors. */
  what: string;
  repeatable: boolean;
  timeoutMs: number | null;
}

/** One attempt: the response, or the failure to retry. Throws what must not be retried. */
async function attempt(exchange: Exchange, settings: Settings): Promise<{ response: HttpResponse } | { failure: Failure }> {
  const { request, what, repeatable, timeoutMs } = exchange;
  let response: HttpResponse;
  try {
    response = await sendFollowingRedirects(request, timeoutMs, settings.signal, settings.maxRedirects);
  } catch (error) {
    if (settings.signal.aborted || error instanceof RestartError) throw error;
    const network = networkFailure(error, timeoutMs);
    if (network.maybeSent && !repeatable) throw new UnconfirmedRequestError(what, network.reason);
    return { failure: { reason: network.reason, state: 'network-error' } };
  }
  const gateway = GATEWAY_STATUSES.has(response.status);
  if (response.status !== 429 && !gateway) return { response };
  // A gateway error says nothing about whether the platform behind it got the request.
  if (gateway && !repeatable) throw new UnconfirmedRequestError(what, `HTTP ${response.status} from the platform or a gateway in front of it`);
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), settings.now());
  const reason = `HTTP ${response.status} ${STATUS_TEXT[response.status] ?? ''}`.trim();
  return { failure: { reason, state: String(response.status), response, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) } };
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const settings: Settings = { ...HTTP_DEFAULTS, ...options };
  const deadline = options.deadline ?? { at: Number.POSITIVE_INFINITY, totalMs: Number.POSITIVE_INFINITY };

  return async function send(request) {
    const exchange: Exchange = {
      request,
      what: describeRequest(request.method, request.url),
      repeatable: request.repeatable ?? request.method === 'GET',
      timeoutMs: request.timeoutMs === undefined ? settings.requestTimeoutMs : request.timeoutMs,
    };
    const { what, repeatable } = exchange;
    const startedAt = settings.now();
    for (let attemptNo = 0; ; attemptNo++) {
      const result = await attempt(exchange, settings);
      if ('response' in result) return result.response;
      const outcome = result.failure;
      const patient = repeatable && (settings.outagesExpected?.() ?? false);
      if (!patient && attemptNo >= settings.maxRetries) {
        if (outcome.response) return outcome.response;
        throw new RestartError('unreachable', 'Platform unreachable', `${what} failed after ${attemptNo + 1} attempts: ${outcome.reason}`);
      }
      const backoff = backoffDelay(attemptNo, settings.backoffBaseMs, settings.backoffMaxMs);
      const wait = Math.min(settings.maxRetryAfterMs, outcome.retryAfterMs ?? backoff);
      if (settings.now() + wait >= deadline.at) {
        const seconds = Math.round((settings.now() - startedAt) / 1000);
        throw new RestartError(
          'deadline',
          'Restart deadline exceeded',
          `${what}: ${outcome.reason} on ${attemptNo + 1} attempts over ${seconds} s; no time left for another before the ${deadline.totalMs} ms deadline`,
        );
      }
      const label = patient ? `retry ${attemptNo + 1} (until the deadline)` : `retry ${attemptNo + 1} of ${settings.maxRetries}`;
      const why = outcome.response === undefined ? '' : outcome.retryAfterMs === undefined ? ' (backoff)' : ' (Retry-After)';
      settings.onRetry(`${what}: ${outcome.reason}; ${label} in ${wait} ms${why}`, outcome.state);
      await settings.sleep(wait);
    }
  };
}
