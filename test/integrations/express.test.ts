import http from 'node:http';
import express from 'express';
import { rendercache } from '../../src/integrations/express.js';
import { APP_JS, listen, middlewareSuite, productName, SHELL_HTML } from './support.js';

/** The site owner's Express app, with the middleware in front of it. */
middlewareSuite('express', (options) => {
  const app = express();
  app.use(rendercache(options));
  app.post('/products/:id', (_req, res) => void res.status(204).end());
  app.get(['/', '/products/:id'], (_req, res) => void res.type('html').send(SHELL_HTML));
  app.get('/static/app.js', (_req, res) => void res.type('application/javascript').send(APP_JS));
  app.get('/api/product', (req, res) => void res.json({ name: productName(typeof req.query['path'] === 'string' ? req.query['path'] : '') }));
  app.get('/old', (_req, res) => void res.redirect(301, '/products/1'));
  app.get(/\.(css|ico|png|webmanifest)$/i, (_req, res) => void res.type('application/octet-stream').send(Buffer.from('asset')));
  return listen(http.createServer(app));
});
