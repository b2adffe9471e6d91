import type Koa from 'koa';
import type { Logger } from '../observability/logger.js';
import { isStoreUnavailable } from '../stores/store-unavailable.js';
import { ApiError, errorResponse, errors } from './errors.js';

/** Renders every error as the documented error body; nothing leaks a stack trace. */
export function errorMiddleware(logger: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.body == null && ctx.respond !== false) throwIfBodiless(ctx);
    } catch (err) {
      const apiError = toApiError(err);
      if (apiError.status >= 500 && !(err instanceof ApiError))
        logger[apiError.status === 503 ? 'warn' : 'error']({ err, method: ctx.method, url: ctx.url }, 'unexpected error');
      const { status, headers, body } = errorResponse(apiError);
      ctx.status = status;
      ctx.set(headers);
      ctx.body = body;
    }
  };
}

/** The router's answers without a body (no route, wrong method, unknown method) as errors. */
function throwIfBodiless(ctx: Koa.Context): void {
  const where = `${ctx.method} ${ctx.path}`;
  const allow = ctx.response.get('allow');
  if (ctx.status === 404) throw errors.notFound(`No resource at ${where}.`);
  if (ctx.status === 405) throw errors.methodNotAllowed(`${ctx.method} is not allowed here; allowed: ${allow}.`, {}, { allow });
  if (ctx.status === 501) throw errors.notImplemented(`${ctx.method} is not a method of this service.`, {}, allow ? { allow } : {});
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  // Koa and its body parsers throw http-errors with an `expose`d 4xx status.
  const status = (err as { status?: unknown }).status;
  const expose = (err as { expose?: unknown }).expose === true;
  if (typeof status === 'number' && status >= 400 && status < 500 && expose) {
    const message = (err as Error).message;
    if (status === 413) return errors.payloadTooLarge(message);
    if (status === 415) return errors.unsupportedMediaType(message);
    if (status === 401) return errors.unauthorized(message);
    if (status === 404) return errors.notFound(message);
    if (status === 405) return errors.methodNotAllowed(message);
    if (status === 408) return errors.requestTimeout(message);
    if (status === 431) return errors.headersTooLarge(message);
    return errors.badRequest(message);
  }
  if (isStoreUnavailable(err)) {
    return errors.storeUnavailable('The shared store cannot be reached right now; try again shortly.', {}, { 'retry-after': '5' });
  }
  return errors.internal('The server met an unexpected condition; it has been logged.');
}
