import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { RendercacheConfig } from '../config/schema.js';
import { describeRedis, openCommandConnection, redisPolicy } from '../redis/redis-connection.js';
import { resolveChromePath } from '../render/chromium-launch.js';
import { buildRenderingParts } from '../rendering-parts.js';
import { SiteRegistry } from '../sites/site-registry.js';
import { SqliteStore } from '../stores/sqlite-store.js';
import { toolLogger } from './tool-logger.js';

/** What `rendercache doctor` checks, each from the config alone: Chromium, the store, a site's discovery. */

/** The Chromium binary the config picks (undefined: puppeteer's own download). */
export function chromiumPath(config: RendercacheConfig): string | undefined {
  return resolveChromePath(config.render.chromePath);
}

/** `chromium --version` of the binary, or the reason it did not answer. */
export function chromiumVersion(executable: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(executable, ['--version'], { timeout: 15_000 }, (err, stdout) => (err ? reject(new Error(err.message)) : resolve(stdout.trim())));
  });
}

/** Launches Chromium as the service does (flags, egress guard) and closes it again. */
export async function launchChromium(config: RendercacheConfig, logLevel?: string): Promise<void> {
  const parts = buildRenderingParts({ ...config, cluster: { ...config.cluster, role: 'all' } }, toolLogger(logLevel));
  try {
    await parts.pool?.start();
  } finally {
    await parts.pool?.close().catch(() => undefined);
    await parts.egress.close().catch(() => undefined);
  }
}

/** Opens the configured backend's store and proves it answers: the SQLite file opened for writing, or Redis's PING. Resolves what was checked. */
export async function probeStore(config: RendercacheConfig): Promise<string> {
  if (config.backend === 'embedded') {
    const dir = path.resolve(config.cache.dir);
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    const store = await SqliteStore.open(dir);
    await store.close();
    return `SQLite under ${dir} (writable)`;
  }
  const policy = redisPolicy(config.redis);
  const connection = await openCommandConnection(policy);
  try {
    const answer = await connection.ping();
    return `Redis ${describeRedis(policy)} answered ${answer}`;
  } finally {
    await connection.quit().catch(() => connection.disconnect());
  }
}

/** The pages discovery finds for a configured site, as a refresh would. */
export async function discoverSitePages(config: RendercacheConfig, siteId: string, logLevel?: string): Promise<string[]> {
  const site = new SiteRegistry(config.sites).byId(siteId);
  if (!site) throw new Error(`no site ${siteId}`);
  const parts = buildRenderingParts({ ...config, cluster: { ...config.cluster, role: 'api' } }, toolLogger(logLevel));
  try {
    return (await parts.discovery.discover(site)).map((page) => page.url);
  } finally {
    await parts.egress.close().catch(() => undefined);
  }
}
