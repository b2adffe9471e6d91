import http from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { SocksClient, SocksClientError } from 'socks';
import { fetch } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EgressProxy } from '../../../src/render/egress/egress-proxy.js';
import { originBypassRule, systemResolver, type HostResolver } from '../../../src/render/egress/egress-policy.js';
import { createLogger } from '../../../src/observability/logger.js';

/** An HTTP server on 127.0.0.1 that counts the TCP connections it accepts. */
async function countingServer(body: string): Promise<{ url: string; port: number; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server = http.createServer((_req, res) => res.end(body));
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A GET through the SOCKS5 proxy, as Chromium sends it: the host name goes to the proxy
 * (remote resolution), then HTTP over the tunnel. `refused` when the proxy answers the
 * connect request with a failure.
 */
async function viaProxy(proxyUrl: string, target: string): Promise<{ status: number; body: string } | 'refused'> {
  const proxy = new URL(proxyUrl);
  const url = new URL(target);
  let socket: net.Socket;
  try {
    ({ socket } = await SocksClient.createConnection({
      proxy: { host: proxy.hostname, port: Number(proxy.port), type: 5 },
      command: 'connect',
      destination: { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80) },
    }));
  } catch (err) {
    if (err instanceof SocksClientError) return 'refused';
    throw err;
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ createConnection: () => socket, path: `${url.pathname}${url.search}`, headers: { host: url.host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let site: Awaited<ReturnType<typeof countingServer>>;
let canary: Awaited<ReturnType<typeof countingServer>>;
const proxies: EgressProxy[] = [];
const newProxy = (resolve?: HostResolver) => {
  const proxy = new EgressProxy({ logger: createLogger('silent'), ...(resolve ? { resolve } : {}) });
  proxies.push(proxy);
  return proxy;
};

beforeAll(async () => {
  site = await countingServer('site');
  canary = await countingServer('canary');
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});
afterAll(async () => {
  await site.close();
  await canary.close();
});

describe('EgressProxy', () => {
  it("forwards the site's own origin, even on loopback, and refuses another loopback port", async () => {
    const proxy = newProxy();
    const url = await proxy.urlFor({ siteOrigin: site.url, allowPrivateNetwork: false });
    expect(await viaProxy(url, `${site.url}/page`)).toEqual({ status: 200, body: 'site' });
    const before = canary.connections();
    for (const target of [
      `${canary.url}/x`,
      `http://localhost:${canary.port}/`,
      `http://[::ffff:127.0.0.1]:${canary.port}/`,
      `http://2130706433:${canary.port}/`,
    ]) {
      expect(await viaProxy(url, target), target).toBe('refused');
    }
    expect(canary.connections()).toBe(before);
  });

  it('lets Node fetches reach the site only', async () => {
    const proxy = newProxy();
    const policy = { siteOrigin: site.url, allowPrivateNetwork: false };
    const dispatcher = proxy.dispatcherFor(policy);
    const ok = await fetch(`${site.url}/robots.txt`, { dispatcher });
    expect(await ok.text()).toBe('site');
    const before = canary.connections();
    await expect(fetch(`${canary.url}/`, { dispatcher })).rejects.toThrow();
    expect(canary.connections()).toBe(before);
  });

  it("judges Node's fetches as the proxy does: private addresses in every spelling, and a rebinding name, never reached", async () => {
    let lookups = 0;
    const rebinding: HostResolver = (host) =>
      host === 'rebind.test'
        ? Promise.resolve(lookups++ === 0 ? [{ address: '192.0.1.1', family: 4 }] : [{ address: '127.0.0.1', family: 4 }])
        : systemResolver(host);
    const proxy = newProxy(rebinding);
    const dispatcher = proxy.dispatcherFor({ siteOrigin: site.url, allowPrivateNetwork: false });
    const before = canary.connections();
    for (const target of [
      `${canary.url}/`,
      `http://localhost:${canary.port}/`,
      `http://[::1]:${canary.port}/`,
      `http://2130706433:${canary.port}/`,
      `http://0x7f.1:${canary.port}/`,
      `http://[::ffff:127.0.0.1]:${canary.port}/`,
      `http://rebind.test:${canary.port}/`,
    ]) {
      await expect(fetch(target, { dispatcher }), target).rejects.toThrow();
    }
    // rebind.test was resolved once (its public answer was checked, then connected to: it fails, never loopback).
    expect(lookups).toBe(1);
    expect(canary.connections()).toBe(before);
    // The same dispatcher under a policy that allows the private network reaches it (positive control).
    const open = proxy.dispatcherFor({ siteOrigin: site.url, allowPrivateNetwork: true });
    expect(await (await fetch(`${canary.url}/`, { dispatcher: open })).text()).toBe('canary');
  });

  it('reaches private addresses when the site allows its private network (positive control)', async () => {
    const proxy = newProxy();
    const url = await proxy.urlFor({ siteOrigin: site.url, allowPrivateNetwork: true });
    const before = canary.connections();
    expect(await viaProxy(url, `${canary.url}/x`)).toEqual({ status: 200, body: 'canary' });
    expect(canary.connections()).toBeGreaterThan(before);
  });

  it('resolves once and connects to the address it checked (DNS rebinding)', async () => {
    let lookups = 0;
    // First answer public, every later one loopback: a second lookup would reach the canary.
    const rebinding: HostResolver = () => Promise.resolve(lookups++ === 0 ? [{ address: '192.0.1.1', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]);
    const proxy = newProxy(rebinding);
    const url = await proxy.urlFor({ siteOrigin: site.url, allowPrivateNetwork: false });
    const before = canary.connections();
    const answer = await viaProxy(url, `http://rebind.test:${canary.port}/`);
    expect(answer).not.toEqual(expect.objectContaining({ status: 200 }));
    expect(lookups).toBe(1);
    expect(canary.connections()).toBe(before);
  });

  it('refuses a name when any of its addresses is private', async () => {
    const proxy = newProxy(() =>
      Promise.resolve([
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ]),
    );
    const url = await proxy.urlFor({ siteOrigin: site.url, allowPrivateNetwork: false });
    expect(await viaProxy(url, `http://mixed.test:${canary.port}/`)).toBe('refused');
  });

  it('keeps one listener per policy, and a deny-all listener that refuses even the site', async () => {
    const proxy = newProxy();
    const a = await proxy.urlFor({ siteOrigin: site.url, allowPrivateNetwork: false });
    expect(await proxy.urlFor({ siteOrigin: site.url, allowPrivateNetwork: false })).toBe(a);
    expect(await proxy.urlFor({ siteOrigin: site.url, allowPrivateNetwork: true })).not.toBe(a);
    const deny = await proxy.denyAllUrl();
    expect(await viaProxy(deny, `${site.url}/`)).toBe('refused');
  });

  it('judges a tunnel once: many requests over one kept-alive connection, one lookup', async () => {
    let lookups = 0;
    const counting: HostResolver = (host) => {
      lookups++;
      return systemResolver(host);
    };
    const proxy = newProxy(counting);
    const url = new URL(await proxy.urlFor({ siteOrigin: `http://localhost:${site.port}`, allowPrivateNetwork: false }));
    const connectionsBefore = site.connections();
    const { socket } = await SocksClient.createConnection({
      proxy: { host: url.hostname, port: Number(url.port), type: 5 },
      command: 'connect',
      destination: { host: 'localhost', port: site.port },
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agent.createConnection = () => socket;
    const get = () =>
      new Promise<string>((resolve, reject) => {
        http
          .get({ agent, path: '/', headers: { host: `localhost:${site.port}` } }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
    expect([await get(), await get(), await get()]).toEqual(['site', 'site', 'site']);
    expect(lookups).toBe(1);
    expect(site.connections() - connectionsBefore).toBe(1);
    agent.destroy();
  });

  it('cuts open tunnels when it closes', async () => {
    const proxy = newProxy();
    const url = new URL(await proxy.urlFor({ siteOrigin: site.url, allowPrivateNetwork: false }));
    const { socket } = await SocksClient.createConnection({
      proxy: { host: url.hostname, port: Number(url.port), type: 5 },
      command: 'connect',
      destination: { host: '127.0.0.1', port: site.port },
    });
    const closed = new Promise((resolve) => socket.on('close', resolve));
    await proxy.close();
    await closed;
    expect(socket.destroyed).toBe(true);
  });

  it("lets Chromium bypass the guard for exactly the site's origin: scheme, host and port", () => {
    const rule = (siteOrigin: string) => originBypassRule({ siteOrigin, allowPrivateNetwork: false });
    expect(rule('https://example.com')).toBe('https://example.com:443');
    expect(rule('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    expect(rule('http://[::1]:3000')).toBe('http://[::1]:3000');
  });
});
