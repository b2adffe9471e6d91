/**
 * The one HTTP client the adapters use to talk to platforms: form or JSON requests with a
 * per-request timeout, bounded retries with exponential backoff on network errors and on 429
 * (honouring Retry-After), and abort on the run's signal. It reads every body; deciding what a
 * body means is the platform client's job.
 */
import { RestartError } from './errors.js';

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  form?: Record<string, string>;
  json?: unknown;
  /** Per-request timeout. `null`: bounded only by the run's signal (long synchronous operations). */
  timeoutMs?: number | null;
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
  maxRetries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  requestTimeoutMs?: number;
  /** Upper bound on a platform's Retry-After, so a bad header cannot park a restart. */
  maxRetryAfterMs?: number;
}

export const HTTP_DEFAULTS = {
  maxRetries: 3,
  backoffBaseMs: 250,
  backoffMaxMs: 8_000,
  requestTimeoutMs: 30_000,
  maxRetryAfterMs: 120_000,
} as const;

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

function failureReason(error: unknown, timeoutMs: number | null): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return `no answer within ${timeoutMs ?? 0} ms`;
  if (error instanceof Error) {
    const cause: unknown = error.cause;
    if (cause instanceof Error) {
      const code = (cause as NodeJS.ErrnoException).code;
      return code ? `${code} (${cause.message})` : cause.message;
    }
    return error.message;
  }
  return String(error);
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const settings = { ...HTTP_DEFAULTS, ...options };

  async function sendOnce(request: HttpRequest, timeoutMs: number | null): Promise<HttpResponse> {
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    let body: string | undefined;
    if (request.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(request.form).toString();
    } else if (request.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.json);
    }
    const signal = timeoutMs === null ? settings.signal : AbortSignal.any([settings.signal, AbortSignal.timeout(timeoutMs)]);
    // Reading the body is inside the same try as the request: a connection cut mid-body is a network error too.
    const response = await fetch(request.url, { method: request.method, headers, body, signal, redirect: 'follow' });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: parseJson(text), text };
  }

  return async function send(request) {
    const what = describeRequest(request.method, request.url);
    const timeoutMs = request.timeoutMs === undefined ? settings.requestTimeoutMs : request.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const canRetry = attempt < settings.maxRetries;
      const retryLabel = `retry ${attempt + 1} of ${settings.maxRetries}`;
      let response: HttpResponse;
      try {
        response = await sendOnce(request, timeoutMs);
      } catch (error) {
        if (settings.signal.aborted) throw error;
        const reason = failureReason(error, timeoutMs);
        if (!canRetry) {
          throw new RestartError('unreachable', 'Platform unreachable', `${what} failed after ${attempt + 1} attempts: ${reason}`);
        }
        const wait = backoffDelay(attempt, settings.backoffBaseMs, settings.backoffMaxMs);
        settings.onRetry(`${what}: ${reason}; ${retryLabel} in ${wait} ms`, 'network-error');
        await settings.sleep(wait);
        continue;
      }
      if (response.status === 429 && canRetry) {
        const retryAfter = parseRetryAfter(response.headers.get('retry-after'), settings.now());
        const wait = Math.min(
          settings.maxRetryAfterMs,
          retryAfter ?? backoffDelay(attempt, settings.backoffBaseMs, settings.backoffMaxMs),
        );
        const why = retryAfter === undefined ? 'backoff' : 'Retry-After';
        settings.onRetry(`${what}: HTTP 429 Too Many Requests; ${retryLabel} in ${wait} ms (${why})`, '429');
        await settings.sleep(wait);
        continue;
      }
      return response;
    }
  };
}
