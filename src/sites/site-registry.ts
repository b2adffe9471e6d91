import type { SiteConfig } from '../config/schema.js';
import { toSite, type Site } from './site.js';

/** The configured sites, found by id, by name, or by the URL of one of their pages. */
export class SiteRegistry {
  private readonly byIdMap = new Map<string, Site>();
  private readonly byNameMap = new Map<string, Site>();
  private readonly byOrigin = new Map<string, Site[]>();

  constructor(configs: readonly SiteConfig[]) {
    for (const config of configs) {
      const site = toSite(config);
      this.byIdMap.set(site.id, site);
      this.byNameMap.set(site.name, site);
      const list = this.byOrigin.get(site.origin) ?? [];
      list.push(site);
      // Longest base path first, so /shop/ wins over / for /shop/cart.
      list.sort((a, b) => b.basePath.length - a.basePath.length);
      this.byOrigin.set(site.origin, list);
    }
  }

  all(): Site[] {
    return [...this.byIdMap.values()];
  }

  byId(id: string): Site | undefined {
    return this.byIdMap.get(id);
  }

  byName(name: string): Site | undefined {
    return this.byNameMap.get(name);
  }

  /** The site a page URL (already normalised) belongs to. */
  forUrl(pageUrl: string): Site | undefined {
    const url = new URL(pageUrl);
    const candidates = this.byOrigin.get(url.origin);
    if (!candidates) return undefined;
    const path = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
    return candidates.find((site) => path.startsWith(site.basePath));
  }
}
