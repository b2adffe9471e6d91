import fs from 'node:fs';
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { errors } from '../errors.js';
import { API_BASE } from '../routes/links.js';
import { appRoutes, openApiDocument } from './document.js';
import { recordRoute } from './route-doc.js';
import { type Asset, DOC_FILES, docAssets } from './swagger-assets.js';

export const OPENAPI_PATH = `${API_BASE}/openapi.json`;

/** Only what the page loads: our own scripts and Swagger UI's, its CSS (it sets inline styles), its icons. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const VERSION = (JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * The OpenAPI document of the running app and its reference page. Both are public: they
 * describe the surface, never a site's data; the management routes still need a token.
 * The document is built from the routes the app holds (route docs recorded where each
 * route is declared), once, on first request.
 */
export function apiDocsRoutes(): Router {
  const router = new Router();
  const assets = docAssets(OPENAPI_PATH);
  let document: string | undefined;

  router.get(OPENAPI_PATH, (ctx) => {
    document ??= JSON.stringify(openApiDocument(appRoutes(ctx.app.middleware), VERSION));
    ctx.set('cache-control', 'no-cache');
    ctx.type = 'application/json';
    ctx.body = document;
  });
  router.get('/docs', (ctx) => send(ctx, assets.page()));
  router.get('/docs/:file', (ctx) => {
    const asset = assets.file(String((ctx.params as Record<string, unknown>).file));
    if (!asset) throw errors.notFound(`No resource at ${ctx.method} ${ctx.path}.`);
    send(ctx, asset);
  });

  const tags = ['Reference'];
  recordRoute(router, {
    method: 'get',
    path: OPENAPI_PATH,
    doc: {
      summary: 'This OpenAPI 3.1 document (no token needed)',
      tags,
      responses: { 200: { description: 'The document', mediaType: 'application/json' } },
      errors: [],
    },
  });
  recordRoute(router, {
    method: 'get',
    path: '/docs',
    doc: { summary: 'The API reference page (Swagger UI)', tags, responses: { 200: { description: 'HTML', mediaType: 'text/html' } }, errors: [] },
  });
  recordRoute(router, {
    method: 'get',
    path: '/docs/:file',
    doc: {
      summary: 'A file of the reference page',
      tags,
      params: { file: z.enum(DOC_FILES as [string, ...string[]]) },
      responses: { 200: { description: 'The file' }, 304: { description: 'Not modified' } },
      errors: [404],
    },
  });
  return router;
}

function send(ctx: Koa.Context, asset: Asset): void {
  ctx.set('content-security-policy', CSP);
  ctx.set('x-content-type-options', 'nosniff');
  ctx.set('cache-control', asset.cacheControl);
  ctx.status = 200;
  ctx.etag = asset.etag;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.type = asset.type;
  ctx.body = asset.body;
}
