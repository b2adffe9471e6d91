import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An origin for the chaos tests, on 127.0.0.1 port 0. Each page /p/<name> is an empty
 * shell that fills itself from /data/<name> after `dataDelayMs`, so a render takes long
 * enough to be caught mid-flight by a kill. The filled page carries the marker
 * `chaos:<name>:<generation>`, built in the browser: the shell alone never contains it, so
 * a page served with its marker was rendered to the end, and the generation tells an old
 * render from a new one.
 *
 * `/p/<name>?delay=MS` waits MS for its data instead (a render known to be in flight for a while).
 *
 * A page can be broken on demand (what the existing fixtures cannot do for one URL):
 * `500` answers an error page, `hang` never answers the document, `empty` answers 200 with
 * an empty body.
 */
export type PageMode = 'ok' | '500' | 'hang' | 'empty';

export interface ChaosOrigin {
  origin: string;
  /** Document requests per page path (/p/<name>). */
  hits: Map<string, number>;
  /** Generation written into pages rendered from now on. */
  setGeneration(generation: string): void;
  setMode(name: string, mode: PageMode): void;
  /** Delay of the data call each page waits for. */
  setDataDelay(ms: number): void;
  close(): Promise<void>;
}

/** The URL path of a page. */
export const pagePath = (name: string) => `/p/${name}`;
/** What a completely rendered page contains. */
export const marker = (name: string, generation: string) => `chaos:${name}:${generation}`;
/** The generation a rendered page carries, or null when it carries no marker for that name. */
export function generationOf(html: string, name: string): string | null {
  const match = new RegExp(`chaos:${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:([A-Za-z0-9_-]+)`).exec(html);
  return match ? match[1]! : null;
}

const shell = (name: string) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Page ${name}</title></head>
<body><div id="app">Loading…</div><script>
  fetch('/data/${name}' + location.search)
    .then(function (r) { return r.json(); })
    .then(function (d) { document.getElementById('app').innerHTML = '<h1 id="content">' + ['chaos', d.name, d.generation].join(':') + '</h1>'; });
</script></body></html>`;

export async function startChaosOrigin(options: { dataDelayMs?: number } = {}): Promise<ChaosOrigin> {
  const hits = new Map<string, number>();
  const modes = new Map<string, PageMode>();
  const hung = new Set<http.ServerResponse>();
  let generation = 'g1';
  let dataDelayMs = options.dataDelayMs ?? 100;

  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://origin').pathname;
    const page = /^\/p\/([A-Za-z0-9_-]+)$/.exec(path);
    const data = /^\/data\/([A-Za-z0-9_-]+)$/.exec(path);
    if (page) {
      const name = page[1]!;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const html = (status: number, body: string) => {
        res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(body);
      };
      switch (modes.get(name) ?? 'ok') {
        case '500':
          return html(500, '<!doctype html><html><head><title>Error</title></head><body><h1>Internal Server Error</h1></body></html>');
        case 'hang':
          hung.add(res);
          res.on('close', () => hung.delete(res));
          return;
        case 'empty':
          return html(200, '<!doctype html><html><head><title></title></head><body></body></html>');
        default:
          return html(200, shell(name));
      }
    }
    if (data) {
      const body = JSON.stringify({ name: data[1], generation });
      const delay = Number(new URL(req.url ?? '/', 'http://origin').searchParams.get('delay') ?? dataDelayMs);
      setTimeout(
        () => {
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(body);
        },
        Math.min(delay, 30_000),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    hits,
    setGeneration: (g) => {
      generation = g;
    },
    setMode: (name, mode) => {
      modes.set(name, mode);
    },
    setDataDelay: (ms) => {
      dataDelayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
