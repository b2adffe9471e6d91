import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBinary } from './edge-suite.js';

/** integrations/nginx/, the snippet files the test includes as they are. */
export const SNIPPET_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../integrations/nginx');

/** The nginx binary on PATH (or /usr/sbin, which is not on every user's PATH), or null when there is none. */
export function findNginx(): string | null {
  return findBinary('nginx');
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
  if (!bin) throw new Error('nginx is not installed (no `nginx` on PATH): install it (e.g. `apt-get install -y nginx`)');
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
