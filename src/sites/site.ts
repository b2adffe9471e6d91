import type { SiteConfig } from '../config/schema.js';

/** A configured site, with its origin split for URL matching. */
export interface Site {
  readonly id: string;
  readonly name: string;
  readonly config: SiteConfig;
  /** scheme://host[:port], lower-case. */
  readonly origin: string;
  /** Path prefix of the site's pages, always ending in "/". */
  readonly basePath: string;
}

export function toSite(config: SiteConfig): Site {
  const url = new URL(config.origin);
  const basePath = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  return { id: config.id, name: config.name, config, origin: url.origin, basePath };
}
