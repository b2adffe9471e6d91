import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createRenderClient, type RendercacheMiddlewareOptions } from './fetch-render.js';

export { DEFAULT_SKIP_EXTENSIONS } from './crawler-request.js';
export { DEFAULT_TIMEOUT_MS, type RendercacheMiddlewareOptions } from './fetch-render.js';

/**
 * Express middleware (`rendercache/express`): crawlers get the page pre-rendered by a
 * rendercache service, with its status (a 301 keeps its Location) and headers; everyone else,
 * and every crawler request rendercache cannot answer in time, goes on to the app untouched.
 *
 * ```ts
 * app.use(rendercache({ serviceUrl: 'http://rendercache:3000' }));
 * ```
 */
export function rendercache(options: RendercacheMiddlewareOptions): RequestHandler {
  const render = createRenderClient(options);
  return function rendercacheMiddleware(req: Request, res: Response, next: NextFunction): void {
    // Express 5: req.host keeps the port, and both follow the app's "trust proxy" setting.
    render({ method: req.method, url: req.originalUrl, headers: req.headers, protocol: req.protocol, host: req.host ?? req.get('host') ?? '' })
      .then((decision) => {
        if (decision.kind === 'pass') return next();
        const { status, headers, body } = decision.answer;
        res.status(status);
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
        if (body.length === 0) res.end();
        else res.end(body);
      })
      .catch(next);
  };
}

export default rendercache;
