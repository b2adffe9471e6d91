import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** integrations/nginx/, the snippet files the test includes as they are. */
export const SNIPPET_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../integrations/nginx');

/** The nginx binary on PATH (or /usr/sbin, which is not on every user's PATH); a clear error when there is none. */
export function findNginx(): string {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'nginx');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error('nginx is not installed (no `nginx` on PATH): install it (e.g. `apt-get install -y nginx`) to run test/integrations/nginx.test.ts');
}

/**
 * The app behind nginx: a client-rendered shell whose script fills #app from
 * /api/content.json, a static asset, a 301 and a page that counts hits.
 */
export interface TestApp {
  origin: string;
  port: number;
  hits: Map<string, number>;
  close(): Promise<void>;
}

export const SHELL_MARKER = 'app-shell-loading';
export const RENDERED_MARKER = 'filled-by-script';

export async function startTestApp(): Promise<TestApp> {
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://app');
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    if (url.pathname === '/api/content.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ text: RENDERED_MARKER }));
    }
    if (url.pathname === '/assets/app.js' || url.pathname === '/assets/logo.png' || url.pathname === '/sitemap.xml') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-served-by': 'app' });
      return res.end('asset');
    }
    if (url.pathname === '/moved') {
      res.writeHead(301, { location: `http://${req.headers.host}/target`, 'x-served-by': 'app' });
      return res.end();
    }
    const body =
      `<!doctype html><html><head><meta charset="utf-8"><title>App</title></head><body>` +
      `<div id="app">${SHELL_MARKER}</div><script>fetch('/api/content.json').then(function (r) { return r.json(); })` +
      `.then(function (d) { document.getElementById('app').innerHTML = '<h1 id="content">' + d.text + ' ' + location.pathname + '</h1>'; });</script>` +
      `</body></html>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'x-served-by': 'app' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RunningNginx {
  origin: string;
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * nginx on 127.0.0.1:`port` with a generated nginx.conf that includes the real snippets:
 * rendercache at `rendercachePort`, the app at `appPort`.
 */
export async function startNginx(options: { dir: string; port: number; rendercachePort: number; appPort: number }): Promise<RunningNginx> {
  const bin = findNginx();
  const { dir, port } = options;
  for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'logs']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const conf = `
${process.getuid?.() === 0 ? 'user root root;' : ''}
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;

    include ${SNIPPET_DIR}/rendercache-http.conf;
    upstream rendercache { server 127.0.0.1:${options.rendercachePort}; }

    server {
        listen 127.0.0.1:${port};
        server_name _;
        include ${SNIPPET_DIR}/rendercache.conf;
        location @app {
            proxy_pass http://127.0.0.1:${options.appPort};
            proxy_set_header Host $http_host;
        }
    }
}
`;
  const confFile = path.join(dir, 'nginx.conf');
  fs.writeFileSync(confFile, conf);
  let stderr = '';
  const child: ChildProcess = spawn(bin, ['-e', 'stderr', '-p', dir, '-c', confFile, '-g', `daemon off; pid ${dir}/nginx.pid; error_log stderr;`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  let running = true;
  void exited.then(() => (running = false));
  const origin = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (running && child.pid) process.kill(child.pid, 'SIGQUIT');
    const deadline = setTimeout(() => running && child.pid && process.kill(child.pid, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(deadline);
  };

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (!running) throw new Error(`nginx exited at start:\n${stderr}`);
    try {
      // A request no rule sends to rendercache: answered by the app through nginx.
      const res = await fetch(`${origin}/assets/app.js`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nginx did not answer within 10s:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { origin, stderr: () => stderr, stop };
}
