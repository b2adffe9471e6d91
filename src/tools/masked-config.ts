import { redactRestartConfig } from '../adapters/redact.js';
import type { RendercacheConfig } from '../config/schema.js';

const MASK = '***';

/** The config with its secrets masked: API tokens, adapter secrets and passwords, the Redis URL's password. */
export function maskedConfig(config: RendercacheConfig): unknown {
  return {
    ...config,
    redis: { ...config.redis, url: maskUrlPassword(config.redis.url) },
    auth: { ...config.auth, tokens: config.auth.tokens.map((t) => ({ ...t, token: MASK })) },
    sites: config.sites.map((site) => (site.restart ? { ...site, restart: redactRestartConfig(site.restart) } : site)),
  };
}

function maskUrlPassword(url: string): string {
  const match = /^(rediss?:\/\/)([^@/]*)@/.exec(url);
  if (!match?.[2]) return url;
  const userinfo = match[2];
  const colon = userinfo.indexOf(':');
  const masked = colon < 0 ? MASK : `${userinfo.slice(0, colon)}:${MASK}`;
  return `${match[1]}${masked}@${url.slice(match[0].length)}`;
}
