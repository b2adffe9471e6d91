import { LRUCache } from 'lru-cache';
import PQueue from 'p-queue';
import { request } from 'undici';
import type { EgressProxy } from '../render/egress/egress-proxy.js';
import { egressKey, type EgressPolicy } from '../render/egress/egress-policy.js';
import { bodyHash } from '../render/input-recorder.js';
import type { InputRecord } from '../render/types.js';
import { readLimited } from '../render/egress/read-limited.js';
import type { Logger } from '../observability/logger.js';

export interface InputRevalidatorOptions {
  /** Time of one revalidation request, headers and body (refresh.discovery.timeoutMs). */
  timeoutMs: number;
  /** Bytes of one body read to hash it (refresh.discovery.maxDocumentBytes). */
  maxBytes: number;
  /** Requests at once to one origin (refresh.revalidateConcurrencyPerOrigin). */
  concurrencyPerOrigin: number;
}

/** Whose revalidation this is: the site's egress policy and the User-Agent its render presents. */
export interface RevalidationPolicy extends EgressPolicy {
  userAgent: string;
}

/** How long one refresh's answers are reused for the inputs its pages share. */
const SHARED_FOR_MS = 60 * 60_000;

/**
 * Asks the origin, from Node and without Chromium, whether any input of a rendered page has
 * changed: conditional requests where the input had validators, a body hash otherwise. Every
 * connection goes through the egress guard under the site's policy, as Chromium's do: a
 * manifest recorded earlier is no permission to reach an address refused now. An input many
 * pages share (a bundle, a config JSON) is asked about once per refresh.
 */
export class InputRevalidator {
  private readonly lanes = new Map<string, PQueue>();
  /** (refresh, User-Agent, egress policy, input as recorded) → unchanged? */
  private readonly answers = new LRUCache<string, Promise<boolean>>({ max: 50_000, ttl: SHARED_FOR_MS });

  constructor(
    private readonly egress: EgressProxy,
    private readonly options: InputRevalidatorOptions,
    private readonly logger?: Logger,
  ) {}

  /**
   * True only when every input is unchanged. The document (the first input) is asked first,
   * the others after it, at once within each origin's bound; once one differs no further
   * request is started. A failed or timed-out request counts as a change: render the page.
   */
  async unchanged(inputs: readonly InputRecord[], pageUrl: string, policy: RevalidationPolicy, refreshId: string): Promise<boolean> {
    const origin = new URL(pageUrl).origin;
    let changed = false;
    const check = async (input: InputRecord): Promise<boolean> => {
      if (changed) return false;
      const same = await this.shared(input, origin, policy, refreshId);
      if (!same) changed = true;
      return same;
    };
    const [document, ...rest] = inputs;
    if (!document || !(await check(document))) return false;
    const answers = await Promise.all(rest.map(check));
    return answers.every(Boolean);
  }

  private shared(input: InputRecord, origin: string, policy: RevalidationPolicy, refreshId: string): Promise<boolean> {
    const url = input.u.startsWith('/') ? `${origin}${input.u}` : input.u;
    // The answer holds for this refresh, this User-Agent, this egress policy and the input as recorded.
    const key = `${refreshId}\n${policy.userAgent}\n${egressKey(policy)}\n${url}\n${input.s} ${input.e ?? ''} ${input.l ?? ''} ${input.h ?? ''}`;
    let answer = this.answers.get(key);
    if (!answer) {
      answer = this.lane(url)
        .add(() => this.ask(url, input, policy))
        .then((same) => same === true)
        .catch((err: unknown) => {
          // Not knowing is no proof of "unchanged": the page is rendered.
          this.logger?.info({ url, err: describeError(err) }, 'revalidation request failed; its pages are rendered');
          return false;
        });
      this.answers.set(key, answer);
    }
    return answer;
  }

  private lane(url: string): PQueue {
    const origin = new URL(url).origin;
    let lane = this.lanes.get(origin);
    if (!lane) {
      lane = new PQueue({ concurrency: this.options.concurrencyPerOrigin });
      this.lanes.set(origin, lane);
    }
    return lane;
  }

  /** One input, asked as its render asked for it: the same User-Agent, X-Prerender on the site's own. */
  private async ask(url: string, input: InputRecord, policy: RevalidationPolicy): Promise<boolean> {
    const headers: Record<string, string> = { 'user-agent': policy.userAgent };
    if (new URL(url).origin === policy.siteOrigin) headers['x-prerender'] = '1';
    if (input.e !== undefined) headers['if-none-match'] = input.e;
    if (input.l !== undefined) headers['if-modified-since'] = input.l;
    // undici's request, not fetch: a revalidation is thousands of small requests, and fetch's
    // WHATWG objects cost more CPU than the request itself. It follows no redirect.
    const res = await request(url, {
      headers,
      dispatcher: this.egress.dispatcherFor(policy),
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    const header = (name: string) => {
      const value = res.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    if (res.statusCode === 304 || res.statusCode !== input.s) {
      await res.body.dump();
      return res.statusCode === 304;
    }
    if (input.h !== undefined) return bodyHash(await readLimited(res.body, this.options.maxBytes)) === input.h;
    await res.body.dump();
    // A server that ignores conditional requests still says whether the validator moved.
    if (input.e !== undefined) return header('etag') === input.e;
    return input.l !== undefined && header('last-modified') === input.l;
  }
}

/** An error and its cause (undici's fetch says only "fetch failed"; the cause says why). */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${(err.cause as NodeJS.ErrnoException).code ?? err.cause.name} ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}
