import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import type { RunningService } from '../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/fixture-site.js';
import { managementApi, type JobStatusBody } from '../helpers/management-api.js';
import { lookupUrl, startTestService } from '../helpers/service.js';

/** Every line written, raw: duplicated keys vanish once parsed, so they are looked for in the text. */
function lineSink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines };
}

/** The keys of a JSON object's top level, in order, duplicates kept. */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(json.slice(i, end + 1)) as string);
      expectKey = false;
      i = end;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return keys;
}

const TOKENS = { owner: 'owner-token-123' };

describe('the logs of a running service', () => {
  let site: FixtureSite;
  let service: RunningService;
  const { stream, lines } = lineSink();
  const api = managementApi(() => service, TOKENS);
  const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(async () => {
    site = await startFixtureSite();
    service = await startTestService(
      {
        auth: { tokens: [{ token: TOKENS.owner, user: 'owner' }] },
        sites: [{ id: 'logs', name: 'Logs', origin: site.origin, pages: { urls: ['/page/l1', '/page/l2'] }, members: { owner: 'Owner' } }],
      },
      { logger: createLogger('info', stream) },
    );
  });
  afterAll(async () => {
    await service?.stop();
    await site?.close();
  });

  it('writes one access line per management request, with method, path, status, time and user; none per crawler lookup', async () => {
    const before = lines.length;
    expect((await api.call('owner', 'GET', '/sites/logs')).status).toBe(200);
    expect((await api.call(null, 'GET', '/sites/logs')).status).toBe(401);
    expect((await api.call('owner', 'GET', '/sites/nope')).status).toBe(404);
    expect((await fetch(lookupUrl(service, `${site.origin}/page/l1`))).status).toBe(200);
    const access = entries()
      .slice(before)
      .filter((e) => e.msg === 'api request');
    expect(access).toEqual([
      expect.objectContaining({ method: 'GET', path: '/sites/management/api/v1/sites/logs', status: 200, user: 'owner', ms: expect.any(Number) as number }),
      expect.objectContaining({ method: 'GET', path: '/sites/management/api/v1/sites/logs', status: 401, user: null }),
      expect.objectContaining({ method: 'GET', path: '/sites/management/api/v1/sites/nope', status: 404, user: 'owner' }),
    ]);
    expect(entries().filter((e) => e.msg === 'crawler lookup')).toEqual([]);
  });

  it('never writes a key twice in one line, through a whole refresh', async () => {
    const started = await api.refresh('owner', 'logs');
    const job = await api.waitForEnd(((await started.json()) as JobStatusBody).id, 'owner');
    expect(job.progress).toBe('succeeded');
    const ended = entries().find((e) => e.msg === 'refresh ended');
    expect(ended).toMatchObject({ jobId: job.id, siteId: 'logs', pages: 2, complete: 2, failed: 0, progress: 'succeeded' });
    const repeated = lines.map((line) => ({ line, keys: topLevelKeys(line) })).filter(({ keys }) => new Set(keys).size !== keys.length);
    expect(repeated.map(({ line }) => line)).toEqual([]);
  });
});

describe('crawler lookups at level debug', () => {
  it('are logged one by one, with the URL and what the lookup came to', async () => {
    const site = await startFixtureSite();
    const { stream, lines } = lineSink();
    const service = await startTestService({ sites: [{ id: 'dbg', name: 'Debug', origin: site.origin }] }, { logger: createLogger('debug', stream) });
    try {
      const url = `${site.origin}/page/d1`;
      expect((await fetch(lookupUrl(service, url))).status).toBe(200);
      expect((await fetch(lookupUrl(service, url))).status).toBe(200);
      const lookups = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((e) => e.msg === 'crawler lookup');
      expect(lookups.map((e) => e.result)).toEqual(['miss', 'hit']);
      expect(lookups[0]).toMatchObject({ url });
    } finally {
      await service.stop();
      await site.close();
    }
  });
});

describe('the log format', () => {
  it('is readable on a terminal and JSON elsewhere ("auto"), or as set', () => {
    const tty = lineSink();
    Object.assign(tty.stream, { isTTY: true });
    createLogger('info', tty.stream, 'auto').info({ jobId: 'J1' }, 'refresh ended');
    expect(tty.lines.join('\n')).toMatch(/INFO.*refresh ended/);
    expect(() => JSON.parse(tty.lines[0] ?? '') as unknown).toThrow();

    const pipe = lineSink();
    createLogger('info', pipe.stream, 'auto').info({ jobId: 'J1' }, 'refresh ended');
    expect(JSON.parse(pipe.lines[0] ?? '')).toMatchObject({ msg: 'refresh ended', jobId: 'J1' });

    const forced = lineSink();
    Object.assign(forced.stream, { isTTY: true });
    createLogger('info', forced.stream, 'json').info('x');
    expect(JSON.parse(forced.lines[0] ?? '')).toMatchObject({ msg: 'x' });
  });

  it('is "auto" by default; LOG_FORMAT overrides the file', () => {
    expect(parseConfig({}).log.format).toBe('auto');
    expect(parseConfig({ log: { format: 'pretty' } }, { LOG_FORMAT: 'json' }).log.format).toBe('json');
    expect(() => parseConfig({}, { LOG_FORMAT: 'xml' })).toThrow(/log\.format/);
  });
});
