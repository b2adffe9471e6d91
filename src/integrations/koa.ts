import type { Context, Middleware, Next } from 'koa';
import { createRenderClient, type RendercacheMiddlewareOptions } from './fetch-render.js';

export { DEFAULT_SKIP_EXTENSIONS } from './crawler-request.js';
export { DEFAULT_TIMEOUT_MS, type RendercacheMiddlewareOptions } from './fetch-render.js';

/**
 * Koa middleware (`rendercache/koa`): crawlers get the page pre-rendered by a rendercache
 * service, with its status (a 301 keeps its Location) and headers; everyone else, and every
 * crawler request rendercache cannot answer in time, goes on to the app untouched.
 *
 * ```ts
 * app.use(rendercache({ serviceUrl: 'http://rendercache:3000' }));
 * ```
 */
export function rendercache(options: RendercacheMiddlewareOptions): Middleware {
  const render = createRenderClient(options);
  return async function rendercacheMiddleware(ctx: Context, next: Next): Promise<void> {
    const decision = await render({ method: ctx.method, url: ctx.url, headers: ctx.headers, protocol: ctx.protocol, host: ctx.host });
    if (decision.kind === 'pass') {
      await next();
      return;
    }
    const { status, headers, body } = decision.answer;
    ctx.status = status;
    ctx.set(headers);
    ctx.body = body;
  };
}

export default rendercache;
