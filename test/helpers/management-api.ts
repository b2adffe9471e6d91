import type { RunningService } from '../../src/service.js';

export const API_BASE = '/sites/management/api/v1';

/** The job-status resource, as far as these tests read it. */
export interface JobStatusBody {
  id: string;
  context: string;
  action: string;
  trigger: string;
  startTime: string;
  endTime: string | null;
  progress: string;
  completed: boolean;
  completedPercentage: number;
  intervalToPoll: number;
  pageCount: number;
  completedCount: number;
  failedCount: number;
  restartSteps?: Array<{ at: string; kind: string; detail: string; state?: string; platformJobId?: string }>;
  error?: { title: string; detail: string; 'o:errorCode': string };
}

/** One page of a list: GET /sites, GET /sites/_status/{jobId}/pages. */
export interface ListBody<T> {
  items: T[];
  offset: number;
  limit: number;
  count: number;
  hasMore: boolean;
  totalResults: number;
}

/** An item of GET /sites/_status/{jobId}/pages. */
export interface PageItemBody {
  pageUrl: string;
  status: string;
  httpStatus: number | null;
  renderedAt: string | null;
  renderTimeMs: number | null;
  bytes: number | null;
  renderedBy?: string;
  error?: { title: string; detail: string };
}

/** A site resource: GET /sites/{id}, and the answer of its lifecycle operations. */
export interface SiteBody {
  id: string;
  name: string;
  runtimeStatus: string;
  isDeleted: boolean;
  role: string;
  links?: unknown;
}

/** GET /sites/{id}/cache. */
export interface SiteCacheBody {
  refreshedAt: string | null;
  expiresAt: string;
  trigger: string | null;
}

/**
 * Calls to the Sites Management API of `service()` (an in-process service or a
 * `rendercache serve` process: only its url is read) with bearer tokens by caller name.
 */
export function managementApi(service: () => Pick<RunningService, 'url'>, tokens: Readonly<Record<string, string>>) {
  const call = (who: string | null, method: string, path: string, options: { body?: string; headers?: Record<string, string> } = {}) => {
    const token = who === null ? undefined : tokens[who];
    return fetch(`${service().url}${API_BASE}${path}`, {
      method,
      redirect: 'manual',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...options.headers },
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
  };
  const postAsync = (who: string, path: string) => call(who, 'POST', path, { headers: { prefer: 'respond-async' } });
  const jobStatus = async (jobId: string, who: string) => (await (await call(who, 'GET', `/sites/_status/${jobId}`)).json()) as JobStatusBody;

  async function waitForEnd(jobId: string, who: string, timeoutMs = 25_000): Promise<JobStatusBody> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const body = await jobStatus(jobId, who);
      if (!['pending', 'processing'].includes(body.progress)) return body;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`job ${jobId} did not end within ${timeoutMs} ms`);
  }

  return {
    call,
    refresh: (who: string, siteId: string) => postAsync(who, `/sites/${siteId}/refresh`),
    restart: (who: string, siteId: string) => postAsync(who, `/sites/${siteId}/origin/restart`),
    jobStatus,
    waitForEnd,
  };
}

/** The kinds of the steps, in order. */
export const stepKinds = (status: JobStatusBody) => (status.restartSteps ?? []).map((step) => step.kind);

export type ManagementApi = ReturnType<typeof managementApi>;
