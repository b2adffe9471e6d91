import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/wait-for.js';
import { findBinary } from './edge-suite.js';

/** integrations/apache/rendercache.conf, included by the test as it is. */
export const SNIPPET = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../integrations/apache/rendercache.conf');

/** Debian's modules folder (a self-contained config loads them from there). */
export const MODULES_DIR = process.env.APACHE_MODULES_DIR ?? '/usr/lib/apache2/modules';

/** Apache httpd (Debian's `apache2`, or `httpd`) and its modules, or null when they are not there. */
export function findApache(): string | null {
  const bin = findBinary('apache2') ?? findBinary('httpd');
  if (!bin) return null;
  const needed = ['mod_mpm_event.so', 'mod_authz_core.so', 'mod_rewrite.so', 'mod_proxy.so', 'mod_proxy_http.so', 'mod_headers.so'];
  return needed.every((mod) => fs.existsSync(path.join(MODULES_DIR, mod))) ? bin : null;
}

export interface RunningApache {
  origin: string;
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Apache httpd in the foreground on 127.0.0.1:`port`, from a self-contained httpd.conf in
 * `dir` (its own ServerRoot, pid file, mutexes; no Debian envvars): a virtual host that
 * includes the real snippet, with rendercache at `rendercacheUrl` and the app at `appPort`
 * (ProxyPass, ProxyPreserveHost, as a site owner's vhost would have it).
 */
export async function startApache(options: { dir: string; port: number; rendercacheUrl: string; appPort: number }): Promise<RunningApache> {
  const bin = findApache();
  if (!bin) throw new Error('Apache httpd is not installed (no `apache2`/`httpd`, or no modules in /usr/lib/apache2/modules): `apt-get install -y apache2`');
  const { dir, port } = options;
  // Children run as www-data when started as root: they need to reach the run-time files.
  fs.chmodSync(dir, 0o755);
  const load = (name: string, file: string) => `LoadModule ${name} ${MODULES_DIR}/${file}`;
  const asRoot = process.getuid?.() === 0;
  const conf = `
ServerRoot ${dir}
DefaultRuntimeDir ${dir}
PidFile ${dir}/httpd.pid
Mutex file:${dir} default
ErrorLog ${dir}/error.log
LogLevel warn
Listen 127.0.0.1:${port}
ServerName 127.0.0.1
${asRoot ? 'User www-data\nGroup www-data' : ''}
${load('mpm_event_module', 'mod_mpm_event.so')}
${load('authz_core_module', 'mod_authz_core.so')}
${load('rewrite_module', 'mod_rewrite.so')}
${load('proxy_module', 'mod_proxy.so')}
${load('proxy_http_module', 'mod_proxy_http.so')}
${load('headers_module', 'mod_headers.so')}
StartServers 1
ServerLimit 1
ThreadsPerChild 25
MaxRequestWorkers 25
MinSpareThreads 5
MaxSpareThreads 25

Define RENDERCACHE_URL ${options.rendercacheUrl}

<VirtualHost 127.0.0.1:${port}>
    Include ${SNIPPET}
    ProxyPreserveHost On
    ProxyPass / http://127.0.0.1:${options.appPort}/
</VirtualHost>
`;
  const confFile = path.join(dir, 'httpd.conf');
  fs.writeFileSync(confFile, conf);
  let output = '';
  const child: ChildProcess = spawn(bin, ['-f', confFile, '-DFOREGROUND'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  /** What Apache wrote before its error log was open, and the error log. */
  const stderr = () => {
    let log = '';
    try {
      log = fs.readFileSync(path.join(dir, 'error.log'), 'utf8');
    } catch {
      // not written yet
    }
    return output + log;
  };
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  let running = true;
  void exited.then(() => (running = false));
  const origin = `http://127.0.0.1:${port}`;

  const stop = async () => {
    // SIGTERM: the parent stops its children and exits.
    if (running && child.pid) process.kill(child.pid, 'SIGTERM');
    const deadline = setTimeout(() => running && child.pid && process.kill(child.pid, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(deadline);
  };

  try {
    await waitFor(
      'Apache to answer a request through to the app',
      async () => {
        if (!running) return 'exited';
        // A request no rule sends to rendercache: answered by the app through Apache.
        const res = await fetch(`${origin}/assets/app.js`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        return res.ok;
      },
      10_000,
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${stderr()}`);
  }
  if (!running) throw new Error(`apache exited at start:\n${stderr()}`);
  return { origin, stderr, stop };
}
