import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';

describe('config of the HTTP edge', () => {
  it('has the documented defaults', () => {
    const config = parseConfig({});
    expect(config.server).toMatchObject({ trustProxy: false, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 65_000 });
    expect(config.api.bodyReadTimeoutMs).toBe(10_000);
  });

  it('refuses a headers timeout longer than the request timeout, naming the field', () => {
    expect(() => parseConfig({ server: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 } })).toThrow(ConfigError);
    expect(() => parseConfig({ server: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 } })).toThrow(/server\.headersTimeoutMs/);
  });

  it('replays only headers of the allow-list', () => {
    expect(parseConfig({ render: { replayHeaders: ['Location', 'x-robots-tag'] } }).render.replayHeaders).toEqual(['Location', 'x-robots-tag']);
    for (const name of ['content-length', 'transfer-encoding', 'set-cookie', 'cache-control']) {
      expect(() => parseConfig({ render: { replayHeaders: [name] } })).toThrow(/render\.replayHeaders\[0\]: not a replayable header/);
    }
  });
});
