import type Koa from 'koa';
import compose from 'koa-compose';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { authenticate, type Caller, type TokenEntry } from './auth.js';
import { errors } from './errors.js';
import { readJsonBody } from './json-body.js';

export interface ApiEdgeOptions {
  tokens: readonly TokenEntry[];
  /** Each caller's request budget (per process, or shared by a cluster). */
  limiter: RateLimiterAbstract;
  maxBodyBytes: number;
  /** api.bodyReadTimeoutMs */
  bodyReadTimeoutMs: number;
}

/** One request from the caller's budget, or 429 with Retry-After when it is spent. */
export async function spendBudget(limiter: RateLimiterAbstract, user: string): Promise<void> {
  try {
    await limiter.consume(user);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    const seconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    throw errors.tooManyRequests(`Too many requests; try again in ${seconds} s.`, {}, { 'retry-after': String(seconds) });
  }
}

/**
 * What every management route runs before its handler: a token (401), the caller's
 * request budget (429 with Retry-After), and a JSON body within limits (413, 415, 408,
 * 400), left in `ctx.request.body`. The routes declare it themselves (routes/route-table), so
 * it does not depend on how a path is spelled.
 */
export function apiEdge(options: ApiEdgeOptions): Koa.Middleware {
  const { limiter } = options;
  const rateLimit: Koa.Middleware = async (ctx, next) => {
    await spendBudget(limiter, (ctx.state.caller as Caller).user);
    await next();
  };
  return compose([authenticate(options.tokens), rateLimit, jsonBodyEdge(options)]);
}

/** A JSON body within the size and time limits (413, 415, 408, 400), left in `ctx.request.body`. */
export function jsonBodyEdge(options: Pick<ApiEdgeOptions, 'maxBodyBytes' | 'bodyReadTimeoutMs'>): Koa.Middleware {
  return async (ctx, next) => {
    const hasBody = Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '';
    if (hasBody) {
      if (!ctx.is('application/json')) throw errors.unsupportedMediaType('Request bodies must be application/json.', {}, { connection: 'close' });
      const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(ctx.get('content-type'))?.[1];
      if (charset && !/^utf-?8$/i.test(charset)) throw errors.unsupportedMediaType('Request bodies must be UTF-8.', {}, { connection: 'close' });
    }
    (ctx.request as Koa.Request & { body?: unknown }).body = await readJsonBody(ctx.req, {
      maxBytes: options.maxBodyBytes,
      timeoutMs: options.bodyReadTimeoutMs,
    });
    await next();
  };
}
