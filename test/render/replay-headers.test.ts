import { describe, expect, it } from 'vitest';
import { isReplayableHeader, REPLAYABLE_HEADERS } from '../../src/config/replayable-headers.js';
import { replayableHeaders } from '../../src/render/replay-headers.js';

describe('replayable headers', () => {
  it('keeps the allow-listed headers, lower-cased', () => {
    expect(
      replayableHeaders({
        Location: 'https://www.example.com/new',
        Link: '<https://www.example.com/p>; rel="canonical"',
        'Content-Language': 'de',
        'X-Robots-Tag': 'noindex',
        Vary: 'User-Agent',
      }),
    ).toEqual({
      location: 'https://www.example.com/new',
      link: '<https://www.example.com/p>; rel="canonical"',
      'content-language': 'de',
      'x-robots-tag': 'noindex',
      vary: 'User-Agent',
    });
  });

  it('refuses framing, hop-by-hop, cookies and headers that are ours', () => {
    const refused = [
      'content-length',
      'Content-Length',
      'transfer-encoding',
      'content-encoding',
      'connection',
      'keep-alive',
      'upgrade',
      'te',
      'trailer',
      'proxy-authenticate',
      'proxy-authorization',
      'proxy-connection',
      'set-cookie',
      'Set-Cookie',
      'etag',
      'last-modified',
      'cache-control',
      'expires',
      'content-type',
      'x-rendercache-cache',
      'strict-transport-security',
      'access-control-allow-origin',
      'www-authenticate',
      'date',
      'server',
      '__proto__',
      'constructor',
    ];
    const input = Object.fromEntries(refused.map((name) => [name, '1']));
    expect(replayableHeaders(input)).toEqual({});
    for (const name of refused) expect(isReplayableHeader(name)).toBe(false);
    for (const name of REPLAYABLE_HEADERS) expect(isReplayableHeader(name.toUpperCase())).toBe(true);
  });

  it('drops values that cannot be written: control characters, line breaks, empty, oversized', () => {
    expect(
      replayableHeaders({
        location: 'https://a.example/\r\nSet-Cookie: x=1',
        link: 'a\u0000b',
        'x-robots-tag': '   ',
        vary: 'x'.repeat(5000),
        'content-language': ' en ',
      }),
    ).toEqual({ 'content-language': 'en' });
  });

  it('keeps the last of one name given in two cases', () => {
    expect(replayableHeaders({ 'X-Robots-Tag': 'noindex', 'x-robots-tag': 'nofollow' })).toEqual({ 'x-robots-tag': 'nofollow' });
  });

  it('does not change its input', () => {
    const input = { 'content-length': '5', vary: 'User-Agent' };
    replayableHeaders(input);
    expect(input).toEqual({ 'content-length': '5', vary: 'User-Agent' });
  });
});
