import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { managementApi } from '../helpers/management-api.js';
import { lookupUrl, startTestService } from '../helpers/service.js';

// A refresh must see the origin as it is now. Origins that send validators are common;
// Chromium's HTTP cache would revalidate (and store the 304) or, with only
// Last-Modified, not ask the origin at all. Each variant is refreshed three times in one
// browser, its content changing in between; every lookup must answer 200 with the
// current content.

const PAGES = ['/etag-no-cache', '/last-modified-max-age-0', '/last-modified-heuristic', '/data-etag-no-cache', '/data-last-modified-heuristic'];

interface Origin {
  url: string;
  version: number;
  /** Conditional requests the origin received (there must be none). */
  conditional: number;
  close(): Promise<void>;
}

async function startValidatingOrigin(): Promise<Origin> {
  const state = { version: 1, conditional: 0 };
  // Last-Modified one hour before "now" per version, so the heuristic freshness is long.
  const modified = () => new Date(Date.UTC(2026, 0, 1) + state.version * 1000).toUTCString();
  const etag = () => `"v${state.version}"`;
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const ifNoneMatch = req.headers['if-none-match'];
    const ifModifiedSince = req.headers['if-modified-since'];
    if (ifNoneMatch || ifModifiedSince) state.conditional++;
    const answer = (type: string, body: string, validators: http.OutgoingHttpHeaders) => {
      if ((ifNoneMatch && ifNoneMatch === validators.etag) || (ifModifiedSince && ifModifiedSince === validators['last-modified'])) {
        res.writeHead(304, validators).end();
        return;
      }
      res.writeHead(200, { 'content-type': type, ...validators }).end(body);
    };
    const variant = (name: string): http.OutgoingHttpHeaders => {
      if (name.endsWith('etag-no-cache')) return { etag: etag(), 'cache-control': 'no-cache' };
      if (name.endsWith('max-age-0')) return { 'last-modified': modified(), 'cache-control': 'max-age=0' };
      return { 'last-modified': modified() };
    };
    if (path.startsWith('/data-') && path.endsWith('.json')) {
      answer('application/json', JSON.stringify({ version: state.version }), variant(path.slice(0, -'.json'.length)));
    } else if (path.startsWith('/data-')) {
      answer(
        'text/html',
        `<!doctype html><main id="app">loading</main><script>fetch('${path}.json').then((r) => r.json()).then((d) => { document.getElementById('app').textContent = 'data version ' + d.version; });</script>`,
        variant(path),
      );
    } else {
      answer('text/html', `<!doctype html><main>page version ${state.version}</main>`, variant(path));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get version() {
      return state.version;
    },
    set version(v: number) {
      state.version = v;
    },
    get conditional() {
      return state.conditional;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let origin: Origin;
let service: RunningService;
const api = managementApi(() => service, { owner: 'owner-token-0123456789' });

beforeAll(async () => {
  origin = await startValidatingOrigin();
  service = await startTestService({
    auth: { tokens: [{ token: 'owner-token-0123456789', user: 'owner' }] },
    // Every refresh renders: incremental refresh asks with validators on purpose (its own suite
    // tests that), and this suite is about what Chromium's HTTP cache sends.
    sites: [{ id: 'validators', name: 'Validators', origin: origin.url, pages: { urls: PAGES }, members: { owner: 'Owner' }, incremental: false }],
  });
});

afterAll(async () => {
  await service?.stop();
  await origin?.close();
});

describe('refreshes of an origin that sends validators', () => {
  it('store a 200 with the current content on every refresh, and send the origin no validators', async () => {
    for (const version of [1, 2, 3]) {
      origin.version = version;
      const started = await api.refresh('owner', 'validators');
      expect(started.status).toBe(202);
      const jobId = (started.headers.get('location') ?? '').split('/').pop() as string;
      const status = await api.waitForEnd(jobId, 'owner');
      expect(status.progress, JSON.stringify(status)).toBe('succeeded');
      for (const page of PAGES) {
        const answer = await fetch(lookupUrl(service, `${origin.url}${page}`));
        expect(answer.status, `${page} after refresh ${version}`).toBe(200);
        expect(await answer.text(), `${page} after refresh ${version}`).toMatch(new RegExp(`version ${version}\\b`));
      }
    }
    expect(origin.conditional).toBe(0);
  });
});
