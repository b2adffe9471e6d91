import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/observability/logger.js';
import { BrowserPool } from '../../../src/render/browser-pool.js';
import { resolveChromePath } from '../../../src/render/chromium-launch.js';
import { systemResolver, type HostResolver } from '../../../src/render/egress/egress-policy.js';
import { EgressProxy } from '../../../src/render/egress/egress-proxy.js';
import { renderPolicyFor } from '../../../src/render/policy.js';
import { Renderer } from '../../../src/render/renderer.js';
import type { RenderOutcome, RenderPolicy } from '../../../src/render/types.js';
import { corpusHandler, startCanary, VECTORS, type Canary } from '../../fixtures/ssrf-vectors.js';

// Every vector of the SSRF corpus, rendered by real Chromium through the real egress
// guard, on a site that may not reach its private network (no canary may see a byte), then
// on one that may (the positive control: the vectors that a proxy can carry do arrive).

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const canaries = new Map<string, Canary>();
const pending = new Map<string, Promise<Canary>>();
let guarded: http.Server;
let allowed: http.Server;
let egress: EgressProxy;
let pool: BrowserPool;
let renderer: Renderer;
let rebindingLookups = 0;

/** rebind.test answers a public address first and loopback ever after. */
const rebinding: HostResolver = async (host) => {
  if (host !== 'rebind.test') return systemResolver(host);
  return rebindingLookups++ === 0 ? [{ address: '192.0.1.1', family: 4 }] : [{ address: '127.0.0.1', family: 4 }];
};

const origin = (server: http.Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const canaryKey = (vector: string, siteOrigin: string) => `${siteOrigin} ${vector}`;
const canaryOf = (vector: string, server: http.Server) => canaries.get(canaryKey(vector, origin(server))) as Canary;

function policyFor(server: http.Server, allowPrivateNetwork: boolean): RenderPolicy {
  const config = parseConfig({ sites: [{ id: 's', name: 'S', origin: origin(server), allowPrivateNetwork, render: { deadlineMs: 10_000 } }] });
  return renderPolicyFor(config.sites[0]!, config.render);
}

async function listen(handler: http.RequestListener): Promise<http.Server> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function waitFor(condition: () => boolean, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

beforeAll(async () => {
  // Canaries are made before the pages that name them, one per vector and site.
  const handler = corpusHandler((vector, siteOrigin) => {
    const canary = canaries.get(canaryKey(vector, siteOrigin));
    if (!canary) throw new Error(`no canary for ${vector} on ${siteOrigin}`);
    return canary;
  });
  guarded = await listen(handler);
  allowed = await listen(handler);
  for (const server of [guarded, allowed]) {
    for (const vector of VECTORS) {
      const key = canaryKey(vector.name, origin(server));
      pending.set(key, startCanary());
      canaries.set(key, await (pending.get(key) as Promise<Canary>));
    }
  }
  egress = new EgressProxy({ logger, resolve: rebinding });
  const defaults = parseConfig({});
  pool = new BrowserPool({
    egress,
    executablePath: resolveChromePath(undefined),
    recycleAfterRenders: 10_000,
    recycleAfterMs: 3_600_000,
    pageMaxRenders: defaults.render.pageMaxRenders,
    idleSiteContexts: defaults.render.idleSiteContexts,
    collectGarbageEveryRenders: defaults.render.collectGarbageEveryRenders,
    protocolTimeoutMs: defaults.render.protocolTimeoutMs,
    logger,
  });
  renderer = new Renderer(pool, logger);
});

afterAll(async () => {
  await pool?.close();
  await egress?.close();
  for (const server of [guarded, allowed]) server?.closeAllConnections();
  await Promise.all([guarded, allowed].map((s) => new Promise((r) => s?.close(r))));
  await Promise.all([...canaries.values()].map((c) => c.close()));
});

describe('the SSRF corpus', () => {
  const outcomes = new Map<string, RenderOutcome>();

  it(`no vector reaches a canary from a site without allowPrivateNetwork (${VECTORS.length} vectors), and the vectors do reach one from a site with it`, async () => {
    for (const [server, allowPrivateNetwork] of [
      [guarded, false],
      [allowed, true],
    ] as const) {
      const policy = policyFor(server, allowPrivateNetwork);
      for (const vector of VECTORS) {
        outcomes.set(canaryKey(vector.name, origin(server)), await renderer.render(`${origin(server)}/v/${vector.name}`, policy));
        // The next render in the same tab fires the previous page's pagehide (late beacons).
        await renderer.render(`${origin(server)}/plain`, policy);
      }
    }
    // The positive control doubles as the wait: once every vector that a proxy can carry
    // has reached its canary from the allowed site, the guarded site's vectors have had
    // at least as long.
    const expected = VECTORS.filter((v) => v.reachesWhenAllowed);
    const arrived = await waitFor(() => expected.every((v) => canaryOf(v.name, allowed).hits() > 0), 20_000);
    const missing = expected.filter((v) => canaryOf(v.name, allowed).hits() === 0).map((v) => v.name);
    expect(arrived, `positive controls that never arrived: ${missing.join(', ')}`).toBe(true);

    const reached = VECTORS.filter((v) => canaryOf(v.name, guarded).hits() > 0).map((v) => `${v.name} (${canaryOf(v.name, guarded).hits()})`);
    console.log(
      `SSRF corpus: ${reached.length} of ${VECTORS.length} vectors reached a canary; positive control: ${VECTORS.filter((v) => canaryOf(v.name, allowed).hits() > 0).length} reached with allowPrivateNetwork`,
    );
    expect(reached).toEqual([]);
  });

  it('resolved the rebinding name once per connection and never reached its second answer', () => {
    expect(rebindingLookups).toBeGreaterThan(0);
    expect(canaryOf('dns-rebinding', guarded).hits()).toBe(0);
  });

  it('never caches a page that left the site (main-frame navigation, blob: document)', () => {
    for (const name of ['main-frame-navigation', 'blob-main-frame']) {
      const outcome = outcomes.get(canaryKey(name, origin(guarded)));
      expect(outcome?.ok, name).toBe(false);
    }
  });
});
