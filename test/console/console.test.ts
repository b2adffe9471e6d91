import fs from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTAINER_ARGS, resolveChromePath } from '../../src/render/chromium-launch.js';
import type { RunningService } from '../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/fixture-site.js';
import { json } from '../helpers/json.js';
import { managementApi, type JobStatusBody } from '../helpers/management-api.js';
import { startTestService } from '../helpers/service.js';
import { buildConsole } from './build.js';

const TOKENS = { owner: 'owner-console-token-1', viewer: 'viewer-console-token-1' };
/** SCREENSHOTS=1 writes docs/screenshots/*.png (CI leaves them alone). */
const SCREENSHOTS = process.env.SCREENSHOTS === '1';
const SHOTS_DIR = path.resolve(import.meta.dirname, '../../docs/screenshots');
const PAGES = ['/page/home', '/page/pricing', '/page/about', '/page/blog', '/page/docs', '/page/contact', '/error'];

describe('the operator console in Chromium', () => {
  let site: FixtureSite;
  let service: RunningService;
  let browser: Browser;
  let gzipBytes = 0;
  const cspViolations: string[] = [];
  const api = managementApi(() => service, TOKENS);

  beforeAll(async () => {
    ({ gzipBytes } = await buildConsole());
    site = await startFixtureSite();
    service = await startTestService({
      auth: { tokens: Object.entries(TOKENS).map(([user, token]) => ({ token, user })) },
      refresh: { maxAttempts: 1 },
      sites: [
        { id: 'shop', name: 'Shop', origin: site.origin, pages: { urls: PAGES }, members: { owner: 'Owner', viewer: 'Viewer' } },
        { id: 'blog', name: 'Blog', origin: `${site.origin}/blog/`, pages: { urls: ['/blog/page/x'] }, members: { owner: 'Manager', viewer: 'Viewer' } },
        { id: 'vault', name: 'Vault', origin: `${site.origin}/vault/`, security: 'secure', members: { owner: 'Owner', viewer: 'Viewer' } },
      ],
    });
    // A finished refresh first: the charts and the overview have figures.
    for (const id of ['shop', 'blog']) {
      const started = await json<JobStatusBody>(await api.refresh('owner', id));
      await api.waitForEnd(started.id, 'owner');
    }
    browser = await puppeteer.launch({
      executablePath: resolveChromePath(undefined),
      args: [...CONTAINER_ARGS],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await site?.close();
  });

  async function newPage(): Promise<Page> {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    return page;
  }

  async function signIn(page: Page, token: string): Promise<void> {
    await page.goto(`${service.url}/`);
    await page.waitForSelector('#token');
    await page.type('#token', token);
    await page.click('form.signin button[type=submit]');
  }

  const text = (page: Page, selector: string) => page.$eval(selector, (el) => (el as HTMLElement).innerText);
  const shot = async (page: Page, name: string) => {
    if (!SCREENSHOTS) return;
    fs.mkdirSync(SHOTS_DIR, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS_DIR, `${name}.png`), fullPage: true });
  };

  it('keeps the bundle small', () => {
    expect(gzipBytes).toBeLessThan(150 * 1024);
  });

  it('refuses a wrong token with a message', async () => {
    const page = await newPage();
    await signIn(page, 'not-a-token');
    await page.waitForSelector('.message.error');
    expect(await text(page, '.message.error')).toMatch(/token refused/i);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.browserContext().close();
  });

  it('signs in, shows the sites, runs a refresh with live progress, filters failed pages, inspects a page', async () => {
    const page = await newPage();
    await signIn(page, TOKENS.owner);
    await page.waitForSelector('tr[data-site="shop"]');
    await page.waitForFunction(() => document.querySelector('tr[data-site="shop"]')?.textContent?.includes('%'));
    // The token is in sessionStorage only: never in the URL, never a cookie.
    expect(await page.evaluate(() => sessionStorage.getItem('rendercache.token'))).toBe(TOKENS.owner);
    expect(page.url()).not.toContain(TOKENS.owner);
    expect(await page.browserContext().cookies()).toEqual([]);
    const shopRow = await text(page, 'tr[data-site="shop"]');
    expect(shopRow).toContain('online');
    expect(shopRow).toContain('Owner');
    // Filter and sort.
    await page.type('#site-filter', 'blo');
    await page.waitForFunction(() => !document.querySelector('tr[data-site="shop"]') && document.querySelector('tr[data-site="blog"]'));
    await page.click('#site-filter', { count: 3 });
    await page.keyboard.press('Backspace');
    await page.waitForSelector('tr[data-site="shop"]');
    const firstSite = () => page.evaluate(() => document.querySelector('table.sites tbody tr')?.getAttribute('data-site'));
    // A secure site is listed with what it is to crawlers: not served.
    expect(await text(page, 'tr[data-site="vault"]')).toContain('secure');
    await page.select('#site-sort', 'name:desc');
    await page.waitForFunction(() => document.querySelector('table.sites tbody tr')?.getAttribute('data-site') === 'vault');
    await page.select('#site-sort', 'name:asc');
    await page.waitForFunction(() => document.querySelector('table.sites tbody tr')?.getAttribute('data-site') === 'blog');
    expect(await firstSite()).toBe('blog');
    await shot(page, 'overview');

    await page.click('tr[data-site="shop"] a');
    await page.waitForSelector('#site-title');
    expect(await text(page, '#site-title')).toBe('Shop');
    expect(await text(page, '#pages-cached')).toBe('6');
    expect(await text(page, '#pages-failed')).toBe('1');
    await page.waitForSelector('.chart .uplot');

    // Refresh: progress arrives over SSE and reaches 100%.
    // The site has no restart adapter: no Restart origin button, even for its Owner.
    expect(await page.$$('xpath/.//button[normalize-space()="Restart origin"]')).toHaveLength(0);
    expect(await page.$$('xpath/.//button[normalize-space()="Deactivate"]')).toHaveLength(1);
    const [refresh] = await page.$$('xpath/.//button[normalize-space()="Refresh"]');
    await refresh!.click();
    await page.waitForSelector('#job-progress');
    await page.waitForFunction(() => document.querySelector('.live .percent')?.textContent === '100%', { timeout: 30_000 });
    expect(await text(page, '.live h3')).toMatch(/Refresh: (failed|succeeded)/);
    // The site's second refresh: no page's inputs changed, so all six were kept without a render.
    expect(await text(page, '.live .figures')).toContain('6 done (6 unchanged), 1 failed of 7');
    await page.waitForFunction(() => document.querySelectorAll('table.jobs tbody tr').length === 2);
    await shot(page, 'site');

    // The job's pages: only the failed one, then a URL search.
    await page.click('table.jobs tbody tr:first-child a');
    await page.waitForSelector('#page-status');
    await page.waitForFunction(() => document.querySelectorAll('table.pages tbody tr').length === 7);
    await page.select('#page-status', 'failed');
    await page.waitForFunction(() => document.querySelectorAll('table.pages tbody tr').length === 1);
    expect(await text(page, 'table.pages tbody tr')).toContain('/error');
    await page.select('#page-status', '');
    await page.waitForFunction(() => document.querySelectorAll('table.pages tbody tr').length === 7);
    await page.type('#page-search', 'pricing');
    await page.waitForFunction(() => document.querySelectorAll('table.pages tbody tr').length === 1);

    // The inspector, from the row.
    await page.click('table.pages tbody tr td.url a');
    await page.waitForSelector('#rendered-text');
    expect(await text(page, '#rendered-text')).toBe(`${'page-pricing'.length} characters`);
    expect(await text(page, '#origin-text')).toBe(`${'Loading…'.length} characters`);
    await page.waitForSelector('iframe.preview');
    expect(await page.$eval('iframe.preview', (el) => el.getAttribute('sandbox'))).toBe('');
    const frame = page.frames().find((f) => f !== page.mainFrame());
    await frame!.waitForFunction(() => document.body?.innerText.includes('page-pricing'));
    expect(await page.$$('xpath/.//button[normalize-space()="Re-render now"]')).toHaveLength(1);
    await shot(page, 'inspector');
    await page.browserContext().close();
    expect(cspViolations).toEqual([]);
  });

  it('shows a Viewer no action buttons', async () => {
    const page = await newPage();
    await signIn(page, TOKENS.viewer);
    await page.waitForSelector('tr[data-site="shop"] a');
    expect(await text(page, 'tr[data-site="shop"]')).toContain('Viewer');
    if (SCREENSHOTS) {
      // Readable on a phone: the tables turn into labelled rows.
      await page.setViewport({ width: 390, height: 844, isMobile: true });
      // A change to isMobile reloads the page.
      await page.waitForFunction(() => document.querySelector('tr[data-site="shop"]')?.textContent?.includes('%'));
      await shot(page, 'overview-phone');
    }
    await page.click('tr[data-site="shop"] a');
    await page.waitForSelector('#site-title');
    await page.waitForSelector('table.jobs tbody tr');
    expect(await page.$('.actions')).toBeNull();
    expect(
      await page.$$('xpath/.//main//button[normalize-space()="Refresh" or normalize-space()="Cancel job" or normalize-space()="Deactivate"]'),
    ).toHaveLength(0);
    await page.goto(`${service.url}/console/sites/shop/inspect?url=${encodeURIComponent('/page/home')}`);
    await page.waitForSelector('#rendered-text');
    expect(await page.$$('xpath/.//button[normalize-space()="Re-render now"]')).toHaveLength(0);
    await page.browserContext().close();
  });
  it('renders the API reference (/docs) from the bundled Swagger UI, with its operations and no CSP violation', async () => {
    const page = await newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    const before = cspViolations.length;
    await page.goto(`${service.url}/docs`);
    // Swagger UI fetched the document and drew one block per operation.
    await page.waitForSelector('.opblock', { timeout: 30_000 });
    const operations = await page.$$eval('.opblock-summary-path', (nodes) => nodes.map((n) => n.textContent?.trim() ?? ''));
    expect(operations).toContain('/sites/management/api/v1/sites/{id}/refresh');
    expect(operations).toContain('/render');
    expect(errors).toEqual([]);
    expect(cspViolations.slice(before)).toEqual([]);
  });
});
