import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RestartError, UnconfirmedRequestError } from '../../src/adapters/errors.js';
import { backoffDelay, createHttpClient, describeRequest, parseRetryAfter, type HttpClientOptions } from '../../src/adapters/http.js';
import { freePort } from '../helpers/free-port.js';
import { stringMatching } from '../helpers/matchers.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function client(extra: Partial<HttpClientOptions> = {}) {
  const retries: string[] = [];
  const sleeps: number[] = [];
  const send = createHttpClient({
    signal: new AbortController().signal,
    now: Date.now,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    onRetry: (detail) => retries.push(detail),
    ...extra,
  });
  return { send, retries, sleeps };
}

describe('platform HTTP client', () => {
  it('describes requests without the query string, where tokens travel', () => {
    expect(describeRequest('GET', 'https://gis.example.com/arcgis/admin/jobs/j1?f=json&token=abc')).toBe('GET https://gis.example.com/arcgis/admin/jobs/j1');
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('7', 0)).toBe(7_000);
    expect(parseRetryAfter(new Date(60_000).toUTCString(), 30_000)).toBe(30_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });

  it('backs off exponentially up to a cap', () => {
    expect([0, 1, 2, 3, 10].map((attempt) => backoffDelay(attempt, 250, 8_000))).toEqual([250, 500, 1_000, 2_000, 8_000]);
  });

  it('sends forms and JSON, and parses JSON answers', async () => {
    const seen: string[] = [];
    const url = await listen((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push(`${req.headers['content-type'] ?? ''} ${body}`);
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
      });
    });
    const { send } = client();
    expect((await send({ method: 'POST', url, form: { a: '1 2', f: 'json' } })).body).toEqual({ ok: true });
    await send({ method: 'POST', url, json: { droplet: { guid: 'd' } } });
    expect(seen).toEqual(['application/x-www-form-urlencoded a=1+2&f=json', 'application/json {"droplet":{"guid":"d"}}']);
  });

  it('retries a request that gets no answer within the per-request timeout', async () => {
    let count = 0;
    const url = await listen((_req, res) => {
      count++;
      if (count === 1) return; // never answers
      res.end('{}');
    });
    const { send, retries } = client({ requestTimeoutMs: 150 });
    const response = await send({ method: 'GET', url });
    expect(response.status).toBe(200);
    expect(retries[0]).toContain('no answer within 150 ms; retry 1 of 3 in 250 ms');
  });

  it('gives back the last 429 when Retry-After outlasts the retries', async () => {
    const url = await listen((_req, res) => {
      res.statusCode = 429;
      res.setHeader('retry-after', '1');
      res.end('{}');
    });
    const { send, sleeps } = client({ maxRetries: 2 });
    expect((await send({ method: 'GET', url })).status).toBe(429);
    expect(sleeps).toEqual([1_000, 1_000]);
  });

  it('caps an absurd Retry-After', async () => {
    const url = await listen((_req, res) => {
      res.statusCode = 429;
      res.setHeader('retry-after', '86400');
      res.end('{}');
    });
    const { send, sleeps } = client({ maxRetries: 1, maxRetryAfterMs: 5_000 });
    await send({ method: 'GET', url });
    expect(sleeps).toEqual([5_000]);
  });

  it('never sends a POST again once it may have reached the platform (connection dropped after sending)', async () => {
    let count = 0;
    const url = await listen((req) => {
      count++;
      req.resume();
      req.on('end', () => req.socket.destroy());
    });
    const { send, retries } = client();
    const error: unknown = await send({ method: 'POST', url, form: { async: 'true' } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnconfirmedRequestError);
    expect((error as RestartError).code).toBe('state-unknown');
    expect(count).toBe(1);
    expect(retries).toEqual([]);
  });

  it('retries a POST the platform cannot have seen (connection refused)', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const { send, sleeps } = client();
    await expect(send({ method: 'POST', url, form: {} })).rejects.toMatchObject({ code: 'unreachable' });
    expect(sleeps).toEqual([250, 500, 1_000]);
  });

  it('retries a GET answered 503 until the deadline once outages are expected, on the injected clock', async () => {
    let count = 0;
    const url = await listen((_req, res) => {
      count++;
      res.statusCode = 503;
      res.end('busy');
    });
    let clock = 0;
    const { send, sleeps, retries } = client({
      now: () => clock,
      sleep: (ms) => {
        sleeps.push(ms);
        clock += ms;
        return Promise.resolve();
      },
      deadline: { at: 20_000, totalMs: 20_000 },
      outagesExpected: () => true,
    });
    await expect(send({ method: 'GET', url })).rejects.toMatchObject({
      code: 'deadline',
      detail: stringMatching(/: HTTP 503 Service Unavailable on 7 attempts over 16 s; no time left for another before the 20000 ms deadline$/),
    });
    expect(sleeps).toEqual([250, 500, 1_000, 2_000, 4_000, 8_000]);
    expect(count).toBe(7);
    expect(retries[0]).toContain('retry 1 (until the deadline) in 250 ms (backoff)');
  });

  it('follows a redirect within the origin, and refuses one to another origin without sending anything there', async () => {
    let strangerHits = 0;
    const stranger = createServer((_req, res) => {
      strangerHits++;
      res.end('{}');
    });
    await new Promise<void>((resolve) => stranger.listen(0, '127.0.0.1', resolve));
    const strangerUrl = `http://127.0.0.1:${(stranger.address() as AddressInfo).port}`;
    try {
      const url = await listen((req, res) => {
        if (req.url === '/here') return res.end('{"ok":true}');
        res.statusCode = 302;
        res.setHeader('location', req.url === '/away' ? `${strangerUrl}/x?token=t` : '/here');
        res.end();
      });
      const { send } = client();
      expect((await send({ method: 'GET', url: `${url}/moved` })).body).toEqual({ ok: true });
      await expect(send({ method: 'GET', url: `${url}/away`, headers: { 'x-esri-authorization': 'Bearer t' } })).rejects.toMatchObject({
        code: 'unexpected-response',
        title: 'Redirect to another origin refused',
        detail: expect.not.stringContaining('token=') as unknown,
      });
      expect(strangerHits).toBe(0);
    } finally {
      stranger.closeAllConnections();
      await new Promise<void>((resolve) => stranger.close(() => resolve()));
    }
  });

  it('stops at once when the run is aborted, without retrying', async () => {
    const url = await listen(() => {});
    const controller = new AbortController();
    const { send, retries } = client({ signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await expect(send({ method: 'GET', url })).rejects.not.toBeInstanceOf(RestartError);
    expect(retries).toEqual([]);
  });
});
