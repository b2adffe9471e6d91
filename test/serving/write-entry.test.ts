import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toServable, toStoredEntry, type ServableEntry } from '../../src/cache/entry.js';
import { writeEntry } from '../../src/serving/write-entry.js';

/** Serves whichever entry `current` holds, through the one writer both serving paths use. */
let current: ServableEntry;
let server: http.Server;
let port: number;

const entryOf = (status: number, headers: Record<string, string>, html = '<!doctype html><p>hello</p>') =>
  toServable(toStoredEntry({ url: 'https://www.example.com/p', status, headers, html, renderTimeMs: 1, source: { trigger: 'lookup' } }));

/** The raw answer, so that duplicate and framing headers are seen exactly as sent. */
function rawGet(headers: Record<string, string> = {}, method = 'GET'): Promise<{ head: string[]; status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      const lines = [`${method} / HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    // A writer that throws leaves the socket open: fail the test rather than hang it.
    socket.setTimeout(5000, () => socket.destroy(new Error('no complete answer within 5 s')));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = text.slice(0, end).split('\r\n');
      resolve({ head: head.slice(1), status: Number(head[0]?.split(' ')[1]), body: text.slice(end + 4) });
    });
  });
}
const named = (head: string[], name: string) => head.filter((line) => line.toLowerCase().startsWith(`${name}:`));

beforeAll(async () => {
  server = http.createServer((req, res) => writeEntry(req, res, current, 'hit'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('writing a cached page', () => {
  it('replays only allow-listed headers: a page cannot set framing, hop-by-hop or cookie headers', async () => {
    current = entryOf(200, {
      'content-length': '5',
      'transfer-encoding': 'chunked',
      'content-encoding': 'br',
      connection: 'keep-alive',
      'keep-alive': 'timeout=999',
      upgrade: 'h2c',
      'set-cookie': 'session=stolen',
      'proxy-authenticate': 'Basic',
      etag: '"theirs"',
      'cache-control': 'max-age=31536000',
      'x-robots-tag': 'noindex',
      link: '<https://www.example.com/p>; rel="canonical"',
    });
    for (const acceptEncoding of ['gzip', 'identity']) {
      const res = await rawGet({ 'accept-encoding': acceptEncoding });
      expect(res.status).toBe(200);
      expect(named(res.head, 'content-length')).toHaveLength(1);
      expect(named(res.head, 'transfer-encoding')).toEqual([]);
      expect(named(res.head, 'set-cookie')).toEqual([]);
      expect(named(res.head, 'keep-alive')).toEqual([]);
      expect(named(res.head, 'upgrade')).toEqual([]);
      expect(named(res.head, 'proxy-authenticate')).toEqual([]);
      expect(named(res.head, 'cache-control')).toEqual([]);
      expect(named(res.head, 'connection')).toEqual(['Connection: close']);
      expect(named(res.head, 'etag')).toEqual([`etag: ${current.stored.etag}`]);
      expect(named(res.head, 'content-encoding')).toEqual(acceptEncoding === 'gzip' ? ['content-encoding: gzip'] : []);
      expect(named(res.head, 'x-robots-tag')).toEqual(['x-robots-tag: noindex']);
      expect(named(res.head, 'link')).toEqual(['link: <https://www.example.com/p>; rel="canonical"']);
      const length = Number(named(res.head, 'content-length')[0]?.split(':')[1]);
      expect(Buffer.byteLength(res.body, 'latin1')).toBe(length);
    }
  });

  it('serves an entry whose stored header value cannot be written (old entries) without failing', async () => {
    current = entryOf(200, { 'x-robots-tag': 'noindex\r\nSet-Cookie: a=1', link: 'ok' });
    const res = await rawGet();
    expect(res.status).toBe(200);
    expect(named(res.head, 'x-robots-tag')).toEqual([]);
    expect(named(res.head, 'set-cookie')).toEqual([]);
    expect(res.body).toContain('hello');
  });

  it.each([204, 304])('answers a stored %i with no body and no Content-Length', async (status) => {
    current = entryOf(status, { 'content-length': '27' });
    for (const acceptEncoding of ['gzip', 'identity']) {
      const res = await rawGet({ 'accept-encoding': acceptEncoding });
      expect(res.status).toBe(status);
      expect(named(res.head, 'content-length')).toEqual([]);
      expect(named(res.head, 'content-encoding')).toEqual([]);
      expect(named(res.head, 'transfer-encoding')).toEqual([]);
      expect(res.body).toBe('');
    }
  });

  it('keeps a 3xx with its Location, and answers 304 only for a page that would be a 2xx', async () => {
    current = entryOf(301, { location: 'https://www.example.com/new' }, '');
    const moved = await rawGet({ 'if-none-match': current.stored.etag });
    expect(moved.status).toBe(301);
    expect(named(moved.head, 'location')).toEqual(['location: https://www.example.com/new']);
    current = entryOf(200, {});
    const notModified = await rawGet({ 'if-none-match': current.stored.etag });
    expect(notModified.status).toBe(304);
    expect(notModified.body).toBe('');
  });

  it('answers HEAD with the length of the page and no body', async () => {
    current = entryOf(200, { 'content-length': '1' });
    const res = await rawGet({ 'accept-encoding': 'identity' }, 'HEAD');
    expect(res.status).toBe(200);
    expect(named(res.head, 'content-length')).toEqual([`content-length: ${current.identity.length}`]);
    expect(res.body).toBe('');
  });
});
