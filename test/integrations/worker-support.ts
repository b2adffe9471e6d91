import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';

/** integrations/cloudflare/worker.js, run as it is. */
export const WORKER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../integrations/cloudflare/worker.js');

export interface RunningWorker {
  origin: string;
  stop(): Promise<void>;
}

/**
 * The Worker in workerd (Cloudflare's runtime, through Miniflare 3) on 127.0.0.1:`port`.
 * `upstream` is the origin: Miniflare rewrites each request's URL onto it, as a Worker on a
 * route sees the site's own URL, so the Worker's `fetch(request)` reaches the app and the
 * page URLs it sends to rendercache name `upstream`.
 */
export async function startWorker(options: { port: number; upstream: string; vars: Record<string, string> }): Promise<RunningWorker> {
  const mf = new Miniflare({
    modules: true,
    scriptPath: WORKER,
    compatibilityDate: '2024-09-23',
    bindings: options.vars,
    upstream: options.upstream,
    host: '127.0.0.1',
    port: options.port,
  });
  const url = await mf.ready;
  return { origin: url.origin, stop: () => mf.dispose() };
}
