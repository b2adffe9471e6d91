import { bodyParser } from '@koa/bodyparser';
import type Koa from 'koa';
import compose from 'koa-compose';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { authenticate, type Caller, type TokenEntry } from './auth.js';
import { errors } from './errors.js';

export interface ApiEdgeOptions {
  tokens: readonly TokenEntry[];
  /** Each caller's request budget (per process, or shared by a cluster). */
  limiter: RateLimiterAbstract;
  maxBodyBytes: number;
}

/**
 * What every management request passes before its route: a token (401), the caller's
 * request budget (429 with Retry-After), and a JSON body within limits (413, 415, 400).
 */
export function apiEdge(prefix: string, options: ApiEdgeOptions): Koa.Middleware {
  const { limiter } = options;
  const rateLimit: Koa.Middleware = async (ctx, next) => {
    const { user } = ctx.state.caller as Caller;
    try {
      await limiter.consume(user);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const seconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw errors.tooManyRequests(`Too many requests; try again in ${seconds} s.`, {}, { 'retry-after': String(seconds) });
    }
    await next();
  };
  const jsonOnly: Koa.Middleware = async (ctx, next) => {
    const length = Number(ctx.get('content-length') || 0);
    if (length > options.maxBodyBytes) throw errors.payloadTooLarge(`The request body is larger than ${options.maxBodyBytes} bytes.`);
    if ((length > 0 || ctx.get('transfer-encoding')) && !ctx.is('application/json')) {
      throw errors.unsupportedMediaType('Request bodies must be application/json.');
    }
    await next();
  };
  const chain = compose([
    authenticate(options.tokens),
    rateLimit,
    jsonOnly,
    bodyParser({
      enableTypes: ['json'],
      jsonLimit: options.maxBodyBytes,
      encoding: 'utf-8',
      onError(err) {
        if ((err as { status?: number }).status === 413) throw errors.payloadTooLarge(`The request body is larger than ${options.maxBodyBytes} bytes.`);
        throw errors.badRequest(`The request body is not valid JSON: ${err.message}`);
      },
    }),
  ]);
  return (ctx, next) => (ctx.path === prefix || ctx.path.startsWith(`${prefix}/`) ? chain(ctx, next) : next());
}
