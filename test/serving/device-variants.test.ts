import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { RunningService } from '../../src/service.js';
import { deviceClassOf, pickVariant } from '../../src/serving/device-variant.js';
import { json, type ErrorBody } from '../helpers/json.js';
import { managementApi, type ListBody, type PageItemBody } from '../helpers/management-api.js';
import { lookupUrl, startTestService } from '../helpers/service.js';

/** Crawler User-Agents, as the crawlers send them. */
const UA = {
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  googlebotSmartphone:
    'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  bingbot: 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36',
  bingbotMobile:
    'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.1938.76 Mobile Safari/537.36 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  adsBotMobile:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 14_7_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.1.2 Mobile/15E148 Safari/604.1 (compatible; AdsBot-Google-Mobile; +http://www.google.com/mobile/adsbot.html)',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 13_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  gptbot: 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; +https://openai.com/gptbot',
};

describe('the variant rule: header, then ?_device=, then the User-Agent, then the first', () => {
  it('knows phones and tablets among crawlers, and nothing of desktop ones', () => {
    expect(deviceClassOf(UA.googlebotSmartphone)).toBe('mobile');
    expect(deviceClassOf(UA.bingbotMobile)).toBe('mobile');
    expect(deviceClassOf(UA.adsBotMobile)).toBe('mobile');
    expect(deviceClassOf(UA.ipad)).toBe('tablet');
    for (const ua of [UA.googlebot, UA.bingbot, UA.gptbot, '']) expect(deviceClassOf(ua)).toBe('');
  });

  it('picks among the site variants in order', () => {
    const both = ['desktop', 'mobile'];
    expect(pickVariant(both, null, { 'user-agent': UA.googlebotSmartphone })).toBe('mobile');
    expect(pickVariant(both, null, { 'user-agent': UA.googlebot })).toBe('desktop');
    // A tablet takes "tablet" where the site has one, else "mobile".
    expect(pickVariant(both, null, { 'user-agent': UA.ipad })).toBe('mobile');
    expect(pickVariant(['desktop', 'tablet', 'mobile'], null, { 'user-agent': UA.ipad })).toBe('tablet');
    // Named outright: the header wins over ?_device=, which wins over the User-Agent.
    expect(pickVariant(both, 'desktop', { 'user-agent': UA.googlebotSmartphone })).toBe('desktop');
    expect(pickVariant(both, 'desktop', { 'user-agent': UA.googlebot, 'x-rendercache-device': 'Mobile' })).toBe('mobile');
    // A site with one variant serves it to every User-Agent; the first is the default.
    expect(pickVariant(['desktop'], null, { 'user-agent': UA.googlebotSmartphone })).toBe('desktop');
    expect(pickVariant(['mobile', 'desktop'], null, { 'user-agent': UA.gptbot })).toBe('mobile');
    expect(() => pickVariant(['desktop'], 'mobile', {})).toThrow(/no "mobile" variant; its variants: desktop/);
  });
});

describe('config: devices and variants', () => {
  it('has desktop and mobile built in, adds a site-defined device, and names a variant that is none', () => {
    const config = parseConfig({
      render: { devices: { tablet: { width: 800, height: 1280, hasTouch: true } } },
      sites: [{ id: 's', name: 'S', origin: 'https://s.test', variants: ['desktop', 'mobile', 'tablet'] }],
    });
    expect(Object.keys(config.render.devices).sort()).toEqual(['desktop', 'mobile', 'tablet']);
    expect(config.render.devices.tablet).toMatchObject({ width: 800, deviceScaleFactor: 1, isMobile: false, hasTouch: true });
    expect(parseConfig({ sites: [{ id: 's', name: 'S', origin: 'https://s.test' }] }).sites[0]?.variants).toEqual(['desktop']);
    expect(() => parseConfig({ sites: [{ id: 's', name: 'S', origin: 'https://s.test', variants: ['desktop', 'watch'] }] })).toThrow(ConfigError);
    expect(() => parseConfig({ sites: [{ id: 's', name: 'S', origin: 'https://s.test', variants: ['desktop', 'watch'] }] })).toThrow(
      /sites\[0\]\.variants\[1\].*no device "watch"; known: desktop, mobile/s,
    );
    expect(() => parseConfig({ sites: [{ id: 's', name: 'S', origin: 'https://s.test', variants: ['mobile', 'mobile'] }] })).toThrow(/named twice/);
  });
});

/** What the page's script saw, written into the page: the proof of how Chromium presented itself. */
interface DeviceFacts {
  innerWidth: number;
  devicePixelRatio: number;
  coarsePointer: boolean;
  noHover: boolean;
  maxTouchPoints: number;
  userAgent: string;
  uaDataMobile: boolean | null;
  ontouchstart: boolean;
}

const DEVICE_PAGE = `<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>Device</title></head>
<body><pre id="facts"></pre><script>
document.getElementById('facts').textContent = JSON.stringify({
  innerWidth: innerWidth,
  devicePixelRatio: devicePixelRatio,
  coarsePointer: matchMedia('(pointer: coarse)').matches,
  noHover: matchMedia('(hover: none)').matches,
  maxTouchPoints: navigator.maxTouchPoints,
  userAgent: navigator.userAgent,
  uaDataMobile: navigator.userAgentData ? navigator.userAgentData.mobile : null,
  ontouchstart: 'ontouchstart' in window,
});
</script></body></html>`;

function factsOf(html: string): DeviceFacts {
  const match = /<pre id="facts">([^<]*)<\/pre>/.exec(html);
  if (!match?.[1]) throw new Error(`no device facts in the page: ${html.slice(0, 300)}`);
  return JSON.parse(match[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as DeviceFacts;
}

const TOKENS = { owner: 'owner-token-123' };

describe('a site with desktop and mobile variants, in real Chromium', () => {
  let origin: http.Server;
  let base: string;
  let service: RunningService;
  /** The URLs the origin was asked for, with the User-Agent that asked. */
  const seen: Array<{ url: string; ua: string }> = [];
  const api = managementApi(() => service, TOKENS);

  beforeAll(async () => {
    origin = http.createServer((req, res) => {
      seen.push({ url: req.url ?? '', ua: req.headers['user-agent'] ?? '' });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(DEVICE_PAGE);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    service = await startTestService({
      auth: { tokens: [{ token: TOKENS.owner, user: 'owner' }] },
      api: { rateLimit: { points: 100_000, windowSeconds: 60 } },
      sites: [
        {
          id: 'both',
          name: 'Both',
          origin: base,
          variants: ['desktop', 'mobile'],
          members: { owner: 'Owner' },
          pages: { urls: ['/d/1', '/d/2', '/d/3'] },
        },
        { id: 'single', name: 'Single', origin: base.replace('127.0.0.1', 'localhost'), allowPrivateNetwork: true },
      ],
    });
  });
  afterAll(async () => {
    await service?.stop();
    origin?.closeAllConnections();
    await new Promise((resolve) => origin?.close(resolve));
  });

  const lookup = (path: string, headers: Record<string, string>, url = lookupUrl(service, `${base}${path}`)) => fetch(url, { headers });

  it('renders Googlebot Smartphone the phone: viewport, scale, touch, coarse pointer, mobile User-Agent and client hints', async () => {
    const res = await lookup('/page', { 'user-agent': UA.googlebotSmartphone });
    expect(res.status).toBe(200);
    expect(res.headers.get('vary')).toBe('Accept-Encoding, User-Agent, X-Rendercache-Device');
    const facts = factsOf(await res.text());
    expect(facts).toMatchObject({ innerWidth: 412, devicePixelRatio: 2.625, coarsePointer: true, noHover: true, uaDataMobile: true, ontouchstart: true });
    expect(facts.maxTouchPoints).toBeGreaterThan(0);
    expect(facts.userAgent).toMatch(/Android .* Mobile Safari/);
    // The origin was asked with the phone's User-Agent too.
    expect(seen.find((s) => s.url === '/page')?.ua).toMatch(/Android .* Mobile Safari/);
  });

  it('renders Googlebot desktop the desktop, a separate cache entry, and answers each from its own entry', async () => {
    const res = await lookup('/page', { 'user-agent': UA.googlebot });
    expect(res.headers.get('x-rendercache-cache')).toBe('miss');
    const facts = factsOf(await res.text());
    // (Headless Chromium has no hovering pointer whatever it emulates: no claim on noHover.)
    expect(facts).toMatchObject({ innerWidth: 1366, devicePixelRatio: 1, coarsePointer: false, maxTouchPoints: 0, ontouchstart: false, uaDataMobile: false });
    expect(facts.userAgent).not.toMatch(/Mobile/);
    // Both are hits now (the hot path), each its own variant; the same tab switched back and forth.
    for (const [ua, width] of [
      [UA.googlebot, 1366],
      [UA.googlebotSmartphone, 412],
      [UA.bingbot, 1366],
      [UA.bingbotMobile, 412],
    ] as const) {
      const again = await lookup('/page', { 'user-agent': ua });
      expect(again.headers.get('x-rendercache-cache')).toBe('hit');
      expect(factsOf(await again.text()).innerWidth).toBe(width);
    }
  });

  it('takes the variant named by X-Rendercache-Device or ?_device= over the User-Agent; ?_device= is not part of the page', async () => {
    const byHeader = await lookup('/named', { 'user-agent': UA.googlebot, 'x-rendercache-device': 'mobile' });
    expect(factsOf(await byHeader.text()).innerWidth).toBe(412);
    const byParam = await lookup('/named', { 'user-agent': UA.googlebotSmartphone }, `${lookupUrl(service, `${base}/named`)}&_device=desktop`);
    expect(factsOf(await byParam.text()).innerWidth).toBe(1366);
    // prerender.io's shape: the parameter inside the page URL; the origin never sees it.
    const inUrl = await fetch(`${service.url}/${base}/named?_device=mobile`, { headers: { 'user-agent': UA.googlebot } });
    expect(inUrl.headers.get('x-rendercache-cache')).toBe('hit');
    expect(factsOf(await inUrl.text()).innerWidth).toBe(412);
    expect(seen.filter((s) => s.url.startsWith('/named')).map((s) => s.url)).toEqual(['/named', '/named']);
  });

  it('answers a variant the site does not render with 400 and the error body, on every path', async () => {
    await lookup('/page', { 'user-agent': UA.googlebot }); // a hit in the hot tier: the hot path must not answer it
    for (const res of [
      await lookup('/page', { 'x-rendercache-device': 'watch' }),
      await lookup('/page', {}, `${lookupUrl(service, `${base}/page`)}&_device=watch`),
      await fetch(`${service.url}/${base.replace('127.0.0.1', 'localhost')}/page?_device=mobile`),
    ]) {
      expect(res.status).toBe(400);
      const body = await json<ErrorBody>(res);
      expect(body).toMatchObject({ status: '400', title: 'Unknown Device Variant', 'o:errorCode': 'RENDERCACHE-DEVICE-001' });
      expect(body.detail).toMatch(/renders no "(watch|mobile)" variant; its variants: desktop/);
    }
  });

  it('serves a single-variant site its one render to every User-Agent, without the device Vary', async () => {
    const single = base.replace('127.0.0.1', 'localhost');
    const res = await fetch(lookupUrl(service, `${single}/one`), { headers: { 'user-agent': UA.googlebotSmartphone } });
    expect(res.headers.get('vary')).toBe('Accept-Encoding');
    expect(factsOf(await res.text()).innerWidth).toBe(1366);
  });

  it('refreshes every variant of every page: pages listed per variant, counts per page-variant, both cached', async () => {
    const started = await api.call('owner', 'POST', '/sites/both/refresh', { headers: { prefer: 'respond-async' } });
    expect(started.status).toBe(202);
    const job = await api.waitForEnd((await json<{ id: string }>(started)).id, 'owner');
    expect(job).toMatchObject({ progress: 'succeeded', pageCount: 6, completedCount: 6, failedCount: 0 });
    const pages = await json<ListBody<PageItemBody & { variant: string }>>(await api.call('owner', 'GET', `/sites/_status/${job.id}/pages?limit=10`));
    expect(pages.items.map((p) => `${new URL(p.pageUrl).pathname} ${p.variant}`)).toEqual([
      '/d/1 desktop',
      '/d/1 mobile',
      '/d/2 desktop',
      '/d/2 mobile',
      '/d/3 desktop',
      '/d/3 mobile',
    ]);
    for (const ua of [UA.googlebot, UA.googlebotSmartphone]) {
      const res = await lookup('/d/2', { 'user-agent': ua });
      expect(res.headers.get('x-rendercache-cache')).toBe('hit');
      expect(factsOf(await res.text()).innerWidth).toBe(ua === UA.googlebot ? 1366 : 412);
    }
  });

  it('refreshes only the variant a pages body names, and refuses one the site does not have', async () => {
    const body = JSON.stringify({ pages: [{ url: '/d/1', variant: 'mobile' }, '/d/3'] });
    const headers = { prefer: 'respond-async', 'content-type': 'application/json' };
    const started = await api.call('owner', 'POST', '/sites/both/refresh', { headers, body });
    expect(started.status).toBe(202);
    const job = await api.waitForEnd((await json<{ id: string }>(started)).id, 'owner');
    expect(job).toMatchObject({ progress: 'succeeded', pageCount: 3 });
    const pages = await json<ListBody<PageItemBody & { variant: string }>>(await api.call('owner', 'GET', `/sites/_status/${job.id}/pages`));
    expect(pages.items.map((p) => `${new URL(p.pageUrl).pathname} ${p.variant}`)).toEqual(['/d/1 mobile', '/d/3 desktop', '/d/3 mobile']);
    const refused = await api.call('owner', 'POST', '/sites/both/refresh', { headers, body: JSON.stringify({ pages: [{ url: '/d/1', variant: 'tv' }] }) });
    expect(refused.status).toBe(400);
    expect((await json<ErrorBody>(refused)).detail).toMatch(/no variant "tv"; its variants: desktop, mobile/);
  });

  it('lists the variants on the site resource', async () => {
    const site = await json<{ variants: string[] }>(await api.call('owner', 'GET', '/sites/both'));
    expect(site.variants).toEqual(['desktop', 'mobile']);
  });
});
