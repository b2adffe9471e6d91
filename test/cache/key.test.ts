import { describe, expect, it } from 'vitest';
import { InvalidPageUrlError, normalizePageUrl } from '../../src/cache/key.js';

describe('normalizePageUrl', () => {
  it('lower-cases the host, drops the fragment and the default port', () => {
    expect(normalizePageUrl('HTTPS://WWW.Example.COM:443/Path/A?x=1#top')).toBe('https://www.example.com/Path/A?x=1');
  });

  it('sorts the query and strips utm_*, gclid and fbclid', () => {
    expect(normalizePageUrl('http://a.com/p?z=1&utm_source=n&a=2&gclid=g&fbclid=f&UTM_Campaign=c&m=3')).toBe('http://a.com/p?a=2&m=3&z=1');
  });

  it('keeps repeated parameters in a stable order', () => {
    expect(normalizePageUrl('http://a.com/?b=2&a=9&b=1')).toBe(normalizePageUrl('http://a.com/?a=9&b=1&b=2'));
  });

  it('drops an empty query left after stripping', () => {
    expect(normalizePageUrl('http://a.com/p?utm_medium=x')).toBe('http://a.com/p');
  });

  it.each(['/relative', 'ftp://a.com/', 'file:///etc/passwd', 'javascript:alert(1)', 'http://u:p@a.com/', 'not a url'])('refuses %s', (raw) => {
    expect(() => normalizePageUrl(raw)).toThrow(InvalidPageUrlError);
  });
});
