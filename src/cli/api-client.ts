import type { z } from 'zod';
import { errorBodySchema, jobSchema, listOf, pageSchema, siteSchema, cacheStateSchema, type Job, type Page, type Site, type CacheState } from './api-types.js';
import { CliError, EXIT } from './errors.js';
import { networkReason } from './network.js';

export const DEFAULT_URL = 'http://127.0.0.1:3000';
const API_BASE = '/sites/management/api/v1';
const PAGE_SIZE = 250;
const REQUEST_TIMEOUT_MS = 30_000;

/** Where the service is and who calls it: --url / --token, else RENDERCACHE_URL / RENDERCACHE_TOKEN. */
export interface Connection {
  url: string;
  token: string | undefined;
}

interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  query?: Record<string, string>;
  body?: unknown;
  /** Operations that start a job are asynchronous only. */
  async?: boolean;
}

/** The management API over fetch: every answer checked against its schema, every error a CliError with a clear message. */
export class ApiClient {
  private readonly base: string;

  constructor(private readonly connection: Connection) {
    let parsed: URL;
    try {
      parsed = new URL(connection.url);
    } catch {
      throw new CliError(`not a URL: "${connection.url}" (--url / RENDERCACHE_URL)`, EXIT.usage);
    }
    if (!/^https?:$/.test(parsed.protocol)) throw new CliError(`not an http(s) URL: "${connection.url}" (--url / RENDERCACHE_URL)`, EXIT.usage);
    this.base = connection.url.replace(/\/+$/, '');
  }

  /** The site path segment: an id, or name:<Name>. */
  static siteRef(site: string): string {
    return site.startsWith('name:') ? `name:${encodeURIComponent(site.slice(5))}` : encodeURIComponent(site);
  }

  sites(): Promise<Site[]> {
    return this.all('/sites', siteSchema);
  }

  site(site: string): Promise<Site> {
    return this.request(`/sites/${ApiClient.siteRef(site)}`, siteSchema);
  }

  cache(site: string): Promise<CacheState> {
    return this.request(`/sites/${ApiClient.siteRef(site)}/cache`, cacheStateSchema);
  }

  refresh(site: string, pages?: string[]): Promise<Job> {
    return this.request(`/sites/${ApiClient.siteRef(site)}/refresh`, jobSchema, { method: 'POST', async: true, ...(pages ? { body: { pages } } : {}) });
  }

  restartOrigin(site: string): Promise<Job> {
    return this.request(`/sites/${ApiClient.siteRef(site)}/origin/restart`, jobSchema, { method: 'POST', async: true });
  }

  job(jobId: string): Promise<Job> {
    return this.request(`/sites/_status/${encodeURIComponent(jobId)}`, jobSchema);
  }

  cancel(jobId: string): Promise<Job> {
    return this.request(`/sites/_status/${encodeURIComponent(jobId)}`, jobSchema, { method: 'DELETE' });
  }

  /** A site's jobs, newest first, at most `limit`. */
  async jobs(site: string, limit: number): Promise<Job[]> {
    const out: Job[] = [];
    for (let offset = 0; out.length < limit;) {
      const page = await this.request(`/sites/${ApiClient.siteRef(site)}/jobs`, listOf(jobSchema), {
        query: { offset: String(offset), limit: String(Math.min(PAGE_SIZE, limit - out.length)) },
      });
      out.push(...page.items);
      if (!page.hasMore || page.items.length === 0) break;
      offset += page.items.length;
    }
    return out;
  }

  /** Every page of a job (paged through), or only its failed ones. */
  pages(jobId: string, failedOnly: boolean): Promise<Page[]> {
    return this.all(`/sites/_status/${encodeURIComponent(jobId)}/pages`, pageSchema, failedOnly ? { q: 'status eq "failed"' } : {});
  }

  private async all<T extends z.ZodType>(path: string, item: T, query: Record<string, string> = {}): Promise<z.infer<T>[]> {
    const out: z.infer<T>[] = [];
    for (let offset = 0; ;) {
      const page = await this.request(path, listOf(item), { query: { ...query, offset: String(offset), limit: String(PAGE_SIZE) } });
      out.push(...page.items);
      if (!page.hasMore || page.items.length === 0) return out;
      offset += page.items.length;
    }
  }

  private async request<T extends z.ZodType>(path: string, schema: T, options: RequestOptions = {}): Promise<z.infer<T>> {
    const url = new URL(`${this.base}${API_BASE}${path}`);
    for (const [key, value] of Object.entries({ links: 'none', ...options.query })) url.searchParams.set(key, value);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.connection.token) headers.authorization = `Bearer ${this.connection.token}`;
    if (options.async) headers.prefer = 'respond-async';
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method: options.method ?? 'GET',
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new CliError(
        `cannot reach ${this.base}: ${networkReason(err, REQUEST_TIMEOUT_MS)} (is the service running? --url / RENDERCACHE_URL)`,
        EXIT.unreachable,
      );
    }
    const text = await response.text().catch(() => '');
    const json = parseJson(text);
    if (!response.ok) throw this.refusal(response.status, json, text);
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new CliError(
        `unexpected answer from ${url.pathname} (${response.status}): ${parsed.error.issues[0]?.message ?? 'not the expected JSON'} — is ${this.base} a rendercache service?`,
        EXIT.failed,
      );
    }
    return parsed.data;
  }

  private refusal(status: number, json: unknown, text: string): CliError {
    const body = errorBodySchema.safeParse(json);
    const what = body.success ? `${body.data.title}${body.data.detail ? `: ${body.data.detail}` : ''}` : text.slice(0, 200) || `HTTP ${status}`;
    if (status === 401) {
      const hint = this.connection.token ? '' : ' (no token given: --token / RENDERCACHE_TOKEN)';
      return new CliError(`token refused (401): ${what}${hint}`, EXIT.refused);
    }
    return new CliError(`${status} ${what}`, EXIT.refused);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
