import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { errorBodyOf, rawRequest, requestBytes, type RawAnswer } from '../helpers/raw-http.js';
import { startTestService } from '../helpers/service.js';

const PREFIX = '/sites/management/api/v1';
const TOKEN = 'owner-token-123';
const AUTH = { authorization: `Bearer ${TOKEN}` };
/** Small on purpose: the tests below wait for them. */
const TIMEOUTS = { headersTimeoutMs: 400, requestTimeoutMs: 1200, bodyReadTimeoutMs: 300 };
/** Node looks for timed-out requests every headersTimeoutMs / 4; the rest is a busy machine. */
const SLACK_MS = 3000;

let service: RunningService;

beforeAll(async () => {
  service = await startTestService({
    server: { port: 0, host: '127.0.0.1', headersTimeoutMs: TIMEOUTS.headersTimeoutMs, requestTimeoutMs: TIMEOUTS.requestTimeoutMs },
    api: { bodyReadTimeoutMs: TIMEOUTS.bodyReadTimeoutMs },
    auth: { tokens: [{ token: TOKEN, user: 'owner' }] },
    sites: [{ id: 'main', name: 'Main', origin: 'http://127.0.0.1:9', pages: { urls: ['/'] }, members: { owner: 'Owner' } }],
  });
});
afterAll(async () => {
  await service?.stop();
});

const raw = (bytes: string, options: { timeoutMs?: number; untilClose?: boolean } = {}) => rawRequest(service.url, bytes, options);

function expectJsonError(answer: RawAnswer, status: number): Record<string, unknown> {
  expect(answer.status, answer.body).toBe(status);
  const body = errorBodyOf(answer);
  expect(body, `no JSON error body: ${JSON.stringify(answer)}`).not.toBeNull();
  return body as Record<string, unknown>;
}

describe('methods', () => {
  it('405 with Allow and a JSON body for a method a resource does not take', async () => {
    const health = await raw(requestBytes('PUT', '/healthz', {}, '{}'));
    expect(expectJsonError(health, 405)['o:errorCode']).toBe('RENDERCACHE-405');
    expect(health.headers.allow).toBe('HEAD, GET');
    const api = await raw(requestBytes('PUT', `${PREFIX}/sites/main/refresh`, AUTH));
    expectJsonError(api, 405);
    expect(api.headers.allow).toBe('POST, OPTIONS');
  });

  it('501 with a JSON body for a method no resource takes', async () => {
    for (const method of ['PROPFIND', 'TRACE', 'PURGE', 'MKCOL']) {
      expect(expectJsonError(await raw(requestBytes(method, '/healthz')), 501)['o:errorCode']).toBe('RENDERCACHE-501');
    }
  });
});

describe('answers Node would write itself', () => {
  it.each([
    ['a method Node does not know', 'BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['a lower-case method', 'get /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400],
    ['a header without a colon', 'GET /healthz HTTP/1.1\r\nHost: x\r\nbroken header\r\n\r\n', 400],
    ['Content-Length and Transfer-Encoding', 'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['two different Content-Lengths', 'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', 400],
    ['a broken chunk size', 'POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n', 400],
    ['headers larger than Node takes', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['many headers', `GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`, 431],
    ['no Host in HTTP/1.1', 'GET /healthz HTTP/1.1\r\n\r\n', 400],
    ['two Host headers', 'GET /healthz HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n', 400],
    ['an Expect other than 100-continue', 'POST /healthz HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}', 417],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 501],
  ])('%s: a JSON error, then the connection closes', async (_label, bytes, status) => {
    const answer = await raw(bytes);
    expectJsonError(answer, status);
    expect(answer.headers.connection).toBe('close');
  });

  it('answers HTTP/1.0 without Host normally', async () => {
    const answer = await raw('GET /healthz HTTP/1.0\r\n\r\n');
    expect(answer.status).toBe(200);
  });
});

describe('timeouts', () => {
  it('cuts off a management request body that never ends with a 408 after api.bodyReadTimeoutMs', async () => {
    const framings: Array<Record<string, string>> = [{ 'content-length': '1000' }, { 'transfer-encoding': 'chunked' }];
    for (const framing of framings) {
      const head = requestBytes('POST', `${PREFIX}/sites/main/refresh`, {
        ...AUTH,
        prefer: 'respond-async',
        'content-type': 'application/json',
        connection: 'keep-alive',
        ...framing,
      });
      const start = framing['transfer-encoding'] ? '5\r\n{"pag\r\n' : '{"pag';
      const answer = await raw(head + start, { timeoutMs: TIMEOUTS.bodyReadTimeoutMs + SLACK_MS, untilClose: true });
      expect(expectJsonError(answer, 408)['o:errorCode']).toBe('RENDERCACHE-408');
      expect(answer.elapsedMs).toBeGreaterThanOrEqual(TIMEOUTS.bodyReadTimeoutMs - 20);
      expect(answer.headers.connection).toBe('close');
      expect(answer.closed).toBe(true);
    }
  });

  it('cuts off headers that never end with a 408 after server.headersTimeoutMs', async () => {
    const answer = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n', { timeoutMs: TIMEOUTS.headersTimeoutMs + SLACK_MS, untilClose: true });
    expectJsonError(answer, 408);
    expect(answer.elapsedMs).toBeGreaterThanOrEqual(TIMEOUTS.headersTimeoutMs - 20);
    expect(answer.closed).toBe(true);
  });

  it('closes a connection whose unread body never ends after server.requestTimeoutMs, without a second answer', async () => {
    // A crawler lookup does not read bodies: it answers (404, no such site), and Node's
    // request timeout then ends the connection still waiting for the rest of the body.
    const head = requestBytes('GET', '/render?url=http%3A%2F%2Fno-such-site.example%2F', { 'content-length': '1000', connection: 'keep-alive' });
    const answer = await raw(`${head}abc`, { timeoutMs: TIMEOUTS.requestTimeoutMs + SLACK_MS, untilClose: true });
    expectJsonError(answer, 404);
    expect(answer.closedAfterMs).toBeGreaterThanOrEqual(TIMEOUTS.requestTimeoutMs - 20);
    // One answer only: nothing after the 404's body.
    expect(answer.trailing).toBe('');
  });
});
