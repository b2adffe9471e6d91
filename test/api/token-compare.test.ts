import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

// Every comparison the authenticator makes is recorded (the real function still answers).
const compared = vi.hoisted(() => [] as Array<[number, number]>);
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  const timingSafeEqual = (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
    compared.push([a.byteLength, b.byteLength]);
    return actual.timingSafeEqual(a, b);
  };
  return { ...actual, default: { ...actual, timingSafeEqual }, timingSafeEqual };
});

const { authenticate } = await import('../../src/api/auth.js');

const TOKENS = [
  { token: 'short-token', user: 'a', admin: false },
  { token: 'a-much-longer-token-0123456789', user: 'b', admin: false },
  { token: 'admin-token-123', user: 'root', admin: true },
];

let server: http.Server;
let url: string;

beforeAll(async () => {
  const app = new Koa();
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      ctx.status = (err as { status?: number }).status ?? 500;
    }
  });
  app.use(authenticate(TOKENS));
  app.use((ctx) => {
    const caller: unknown = ctx.state.caller;
    ctx.body = caller;
  });
  const handle = app.callback();
  server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  compared.length = 0;
});

const withToken = (token: string) => fetch(url, { headers: { authorization: `Bearer ${token}` } });

describe('bearer token comparison', () => {
  it('accepts each configured token', async () => {
    for (const entry of TOKENS) {
      const res = await withToken(entry.token);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ user: entry.user, admin: entry.admin });
    }
  });

  it.each([
    ['shorter than every token', 'x'],
    ['as long as a token', 'short-tokex'],
    ['a prefix of a token', 'short-toke'],
    ['a token and more', 'short-token-and-more'],
    ['much longer', 'y'.repeat(500)],
  ])('compares a wrong token %s with every token, digest against digest', async (_label, token) => {
    const res = await withToken(token);
    expect(res.status).toBe(401);
    // No early exit on length: one fixed-size comparison per configured token.
    expect(compared).toEqual(TOKENS.map(() => [32, 32]));
  });

  it('compares a right token with every token too (no exit at the first match)', async () => {
    await withToken(TOKENS[0]!.token);
    expect(compared).toEqual(TOKENS.map(() => [32, 32]));
  });
});
