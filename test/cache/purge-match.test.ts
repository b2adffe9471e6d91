import { describe, expect, it } from 'vitest';
import {
  exactUrl,
  globMatches,
  InvalidPurgePatternError,
  isPurgeMatch,
  keyPrefix,
  matchesKey,
  matchesUrl,
  parsePathGlob,
  parsePrerenderQuery,
  siteScope,
  type PurgeMatch,
} from '../../src/cache/purge-match.js';

const ROOT = { origin: 'https://www.example.com', basePath: '/' };
const SHOP = { origin: 'https://www.example.com', basePath: '/shop/' };
const OTHER = { origin: 'https://other.example.com', basePath: '/' };
const SITES = [ROOT, SHOP, OTHER];

const match = (site: typeof ROOT, parts: string[]): PurgeMatch => ({ scope: siteScope(site, SITES), parts });

describe('globMatches', () => {
  it('reads one piece as the text exactly and the others with any characters (or none) between them', () => {
    expect(globMatches(['https://x.test/a'], 'https://x.test/a')).toBe(true);
    expect(globMatches(['https://x.test/a'], 'https://x.test/ab')).toBe(false);
    expect(globMatches(['https://x.test/blog/', ''], 'https://x.test/blog/')).toBe(true);
    expect(globMatches(['https://x.test/blog/', ''], 'https://x.test/blog/2024/post?x=1')).toBe(true);
    expect(globMatches(['https://x.test/blog/', ''], 'https://x.test/blo')).toBe(false);
    expect(globMatches(['https://x.test/', '/edit'], 'https://x.test/a/b/edit')).toBe(true);
    expect(globMatches(['https://x.test/', '/edit'], 'https://x.test/a/b/edit/')).toBe(false);
    expect(globMatches(['https://x.test/', '-', '-', ''], 'https://x.test/a-b-c')).toBe(true);
    expect(globMatches(['https://x.test/', '-', '-', ''], 'https://x.test/a-bc')).toBe(false);
    // Pieces may not overlap: "ab*ba" is not "aba".
    expect(globMatches(['ab', 'ba'], 'aba')).toBe(false);
    expect(globMatches(['ab', 'ba'], 'abba')).toBe(true);
    expect(globMatches(['a', 'b', 'c'], 'acb')).toBe(false);
    expect(globMatches([], 'x')).toBe(false);
  });

  it('stays linear on a pattern of many wildcards (no backtracking)', () => {
    const text = `https://x.test/${'a'.repeat(50_000)}`;
    const parts = ['https://x.test/', ...Array.from({ length: 200 }, () => 'a'), 'b'];
    const started = performance.now();
    expect(globMatches(parts, text)).toBe(false);
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('a purge match', () => {
  it("covers its site's pages only: a site nested under another base path keeps its own", () => {
    const all = match(ROOT, ['https://www.example.com/', '']);
    expect(matchesUrl(all, 'https://www.example.com/')).toBe(true);
    expect(matchesUrl(all, 'https://www.example.com/about?x=1')).toBe(true);
    expect(matchesUrl(all, 'https://www.example.com/shop/cart')).toBe(false);
    expect(matchesUrl(all, 'https://www.example.com/shop')).toBe(false);
    expect(matchesUrl(all, 'https://www.example.com/shopping')).toBe(true);
    expect(matchesUrl(all, 'https://www.example.com.evil.test/')).toBe(false);
    expect(matchesUrl(all, 'https://other.example.com/')).toBe(false);
    const shop = match(SHOP, ['https://www.example.com/', '']);
    expect(matchesUrl(shop, 'https://www.example.com/shop')).toBe(true);
    expect(matchesUrl(shop, 'https://www.example.com/shop/cart?b=2')).toBe(true);
    expect(matchesUrl(shop, 'https://www.example.com/about')).toBe(false);
  });

  it('matches every variant of a URL by the URL', () => {
    const blog = match(ROOT, ['https://www.example.com/blog/', '']);
    expect(matchesKey(blog, 'https://www.example.com/blog/a')).toBe(true);
    expect(matchesKey(blog, 'https://www.example.com/blog/a#mobile')).toBe(true);
    expect(matchesKey(blog, 'https://www.example.com/news/a#mobile')).toBe(false);
    const one = match(ROOT, ['https://www.example.com/p']);
    expect(matchesKey(one, 'https://www.example.com/p#tablet')).toBe(true);
    expect(matchesKey(one, 'https://www.example.com/p2#tablet')).toBe(false);
  });

  it('names what every key it removes starts with, or null when none can match', () => {
    expect(keyPrefix(match(ROOT, ['https://www.example.com/blog/', '']))).toBe('https://www.example.com/blog/');
    expect(keyPrefix(match(SHOP, ['https://www.example.com', '']))).toBe('https://www.example.com/shop');
    expect(keyPrefix(match(SHOP, ['https://www.example.com/shop/cart', '']))).toBe('https://www.example.com/shop/cart');
    expect(keyPrefix(match(SHOP, ['https://www.example.com/blog/', '']))).toBeNull();
  });

  it('is recognised when read back from a message, and nothing else is', () => {
    const sent = JSON.parse(JSON.stringify(match(SHOP, ['https://www.example.com/', '']))) as unknown;
    expect(isPurgeMatch(sent)).toBe(true);
    expect(siteScope(ROOT, SITES).nestedBasePaths).toEqual(['/shop/']);
    for (const bad of [
      null,
      'x',
      {},
      { scope: { origin: 'o', basePath: '/' }, parts: [''] },
      { scope: { origin: 'o', basePath: '/', nestedBasePaths: [] }, parts: [] },
    ]) {
      expect(isPurgeMatch(bad)).toBe(false);
    }
  });
});

describe("prerender.io's cache-clear query", () => {
  it('reads % as any characters, the origin as normalised URLs write it', () => {
    expect(parsePrerenderQuery('https://www.example.com/blog/%')).toEqual({
      parts: ['https://www.example.com/blog/', ''],
      siteProbe: 'https://www.example.com/blog/',
    });
    expect(parsePrerenderQuery('HTTPS://WWW.Example.COM:443/Blog/%/edit')).toEqual({
      parts: ['https://www.example.com/Blog/', '/edit'],
      siteProbe: 'https://www.example.com/Blog/',
    });
    expect(parsePrerenderQuery('https://www.example.com%')).toEqual({ parts: ['https://www.example.com', ''], siteProbe: 'https://www.example.com/' });
    expect(parsePrerenderQuery('https://www.example.com?page=%').parts).toEqual(['https://www.example.com/?page=', '']);
  });

  it('takes a query without % as one page URL, normalised', () => {
    expect(parsePrerenderQuery('https://www.example.com/p?b=2&utm_source=x&a=1#top')).toEqual({
      parts: ['https://www.example.com/p?a=1&b=2'],
      siteProbe: 'https://www.example.com/p?a=1&b=2',
    });
  });

  it('refuses what names no origin or cannot be a cached URL', () => {
    for (const query of [
      '%',
      '/blog/%',
      'www.example.com/%',
      'https://%',
      'https://www.example.com/#x%',
      'https://www.example.com/a b/%',
      'ftp://x/%',
      'not a url',
    ]) {
      expect(() => parsePrerenderQuery(query), query).toThrow(InvalidPurgePatternError);
    }
  });
});

describe("the management API's path glob", () => {
  it('is the path and query after the origin, * for any characters; absent, the whole site', () => {
    expect(parsePathGlob('https://x.test', '/blog/*')).toEqual(['https://x.test/blog/', '']);
    expect(parsePathGlob('https://x.test', '/*/edit?*')).toEqual(['https://x.test/', '/edit?', '']);
    expect(parsePathGlob('https://x.test', '/exact')).toEqual(['https://x.test/exact']);
    expect(parsePathGlob('https://x.test', undefined)).toEqual(['https://x.test/', '']);
  });

  it('refuses a glob that is not a path', () => {
    for (const glob of ['blog/*', '*', '/a#b', '/ä*', '/a b', `/${'a'.repeat(5000)}`]) {
      expect(() => parsePathGlob('https://x.test', glob), glob).toThrow(InvalidPurgePatternError);
    }
  });
});

describe("Rendertron's invalidate URL", () => {
  it('is one page URL, normalised', () => {
    expect(exactUrl('HTTPS://X.test:443/p?utm_medium=m')).toEqual({ parts: ['https://x.test/p'], siteProbe: 'https://x.test/p' });
    expect(() => exactUrl('/relative')).toThrow(InvalidPurgePatternError);
  });
});
