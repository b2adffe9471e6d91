/** The console's side of the Sites Management API: the token, JSON calls, and job events over fetch. */

export const API = '/sites/management/api/v1';
const TOKEN_KEY = 'rendercache.token';

export type Role = 'Viewer' | 'Downloader' | 'Contributor' | 'Manager' | 'Owner';
const RANK: Record<Role, number> = { Viewer: 1, Downloader: 2, Contributor: 3, Manager: 4, Owner: 5 };

/** Whether `role` may do what `atLeast` may (the API's own rule, for showing buttons only). */
export const hasRole = (role: Role | null, atLeast: Role): boolean => role !== null && RANK[role] >= RANK[atLeast];

export interface Site {
  id: string;
  name: string;
  origin: string;
  runtimeStatus: 'online' | 'offline';
  securityStatus: string;
  prerender: boolean;
  isDeleted: boolean;
  schedule: string;
  /** The platform adapter that restarts the origin; null: none configured. */
  originRestart: { adapter: string; when: string } | null;
  role: Role | null;
}

export interface JobError {
  title: string;
  detail: string;
  'o:errorCode'?: string;
}

export interface JobStatus {
  id: string;
  context: string;
  action: 'refresh' | 'restart';
  trigger: string;
  startTime: string;
  endTime: string | null;
  progress: 'pending' | 'processing' | 'succeeded' | 'failed' | 'aborted';
  completedPercentage: number;
  pageCount: number;
  completedCount: number;
  unchangedCount: number;
  failedCount: number;
  error?: JobError;
}

export interface JobProgress extends JobStatus {
  pagesPerSecond: number;
  secondsLeft: number | null;
}

export interface PageItem {
  pageUrl: string;
  variant: string;
  status: 'pending' | 'processing' | 'complete' | 'failed';
  outcome: 'rendered' | 'unchanged' | 'failed' | null;
  httpStatus: number | null;
  renderedAt: string | null;
  renderTimeMs: number | null;
  bytes: number | null;
  error?: { title: string; detail: string };
}

export interface List<T> {
  items: T[];
  offset: number;
  limit: number;
  count: number;
  hasMore: boolean;
  totalResults?: number;
}

export interface JobFigures {
  id: string;
  startTime: string;
  progress: string;
  pageCount: number;
  completedCount: number;
  unchangedCount: number;
  failedCount: number;
  renderMsP50: number | null;
  renderMsP95: number | null;
}

export interface SiteStats {
  siteId: string;
  lastRefresh: string | null;
  nextRefresh: string;
  runningJobId: string | null;
  lastJob: { id: string; progress: string; pageCount: number } | null;
  pagesCached: number;
  pagesFailed: number;
  staleAfterSeconds: number;
  freshness: { share: number | null; fresh: number; pagesRead: number; pageCount: number; sampled: boolean } | null;
  jobs: JobFigures[];
}

export interface Inspection {
  siteId: string;
  url: string;
  variant: string;
  cached: {
    status: number;
    headers: Record<string, string>;
    etag: string;
    renderedAt: string;
    renderTimeMs: number;
    bytes: number;
    trigger: string;
    state: 'fresh' | 'stale';
    textLength: number;
    html: string;
  } | null;
  origin: { status: number | null; url: string; contentType: string | null; bytes: number | null; textLength: number | null; error: string | null };
}

/** An answer that was not 2xx: its status and the message of its error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** Listeners told when the API refuses the token (the app signs out). */
const refusedListeners = new Set<() => void>();
export const onTokenRefused = (listener: () => void) => {
  refusedListeners.add(listener);
  return () => refusedListeners.delete(listener);
};

async function errorOf(res: Response): Promise<ApiError> {
  if (res.status === 401) return new ApiError(401, 'Token refused: the service does not accept this token.');
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { title?: string; detail?: string };
    message = [body.title, body.detail].filter(Boolean).join(': ') || message;
  } catch {
    // not a JSON error body: the status line says enough
  }
  return new ApiError(res.status, message);
}

/** A call to the management API with the session's token (or the one given, to sign in). */
export async function call<T>(method: string, path: string, options: { body?: unknown; async?: boolean; token?: string } = {}): Promise<T> {
  const bearer = options.token ?? token.get() ?? '';
  const headers: Record<string, string> = { authorization: `Bearer ${bearer}`, accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.async) headers.prefer = 'respond-async';
  const res = await fetch(`${API}${path}`, {
    method,
    headers,
    cache: 'no-store',
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  if (!res.ok) {
    const error = await errorOf(res);
    if (res.status === 401 && !options.token) for (const listener of refusedListeners) listener();
    throw error;
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const get = <T>(path: string) => call<T>('GET', path);

/**
 * Follows a job's Server-Sent Events (GET …/events) with fetch, so the token travels in the
 * Authorization header, never in a URL. Calls `onProgress` per event; resolves at `end`.
 */
export async function followJob(jobId: string, onProgress: (progress: JobProgress) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(`${API}/sites/_status/${jobId}/events`, {
    headers: { authorization: `Bearer ${token.get() ?? ''}`, accept: 'text/event-stream' },
    cache: 'no-store',
    signal,
  });
  if (!res.ok || !res.body) throw await errorOf(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data += line.slice(5).trim();
      }
      if (event === 'progress' && data) onProgress(JSON.parse(data) as JobProgress);
      if (event === 'end') {
        await reader.cancel().catch(() => undefined);
        return;
      }
    }
  }
}

export const enc = encodeURIComponent;
