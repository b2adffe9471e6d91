import http from 'node:http';
import Koa from 'koa';
import { rendercache } from '../../src/integrations/koa.js';
import { APP_JS, listen, middlewareSuite, productName, SHELL_HTML } from './support.js';

/** The site owner's Koa app, with the middleware in front of it. */
middlewareSuite('koa', (options) => {
  const app = new Koa();
  app.use(rendercache(options));
  app.use((ctx) => {
    const path = ctx.path;
    if (ctx.method === 'POST') {
      ctx.status = 204;
    } else if (path === '/' || path.startsWith('/products/')) {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = SHELL_HTML;
    } else if (path === '/static/app.js') {
      ctx.type = 'application/javascript';
      ctx.body = APP_JS;
    } else if (path === '/api/product') {
      ctx.body = { name: productName(String(ctx.query['path'] ?? '')) };
    } else if (path === '/old') {
      ctx.status = 301;
      ctx.set('location', '/products/1');
    } else if (/\.(css|ico|png|webmanifest)$/i.test(path)) {
      ctx.type = 'application/octet-stream';
      ctx.body = Buffer.from('asset');
    }
  });
  const handle = app.callback();
  return listen(http.createServer((req, res) => void handle(req, res)));
});
