import { normalizePageUrl } from '../../cache/key.js';
import type { Site } from '../../sites/site.js';

/** A discovered page: its normalised URL, and when its sitemap says it last changed (ms). */
export interface DiscoveredPage {
  url: string;
  lastmod?: number;
}

/** Normalised page URLs of one site, in discovery order, without duplicates. */
export class PageSet {
  private readonly urls = new Map<string, number | undefined>();
  constructor(
    private readonly site: Site,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.urls.size;
  }
  get full(): boolean {
    return this.urls.size >= this.max;
  }

  belongs(url: string): boolean {
    try {
      const parsed = new URL(url);
      return parsed.origin === this.site.origin && `${parsed.pathname}/`.startsWith(this.site.basePath);
    } catch {
      return false;
    }
  }

  /** Adds a URL of the site, with its sitemap <lastmod> if any; false when it is not one. */
  add(url: string, lastmod?: number): boolean {
    if (!this.belongs(url)) return false;
    let key: string;
    try {
      key = normalizePageUrl(url);
    } catch {
      return false;
    }
    if (!this.full) this.urls.set(key, lastmod ?? this.urls.get(key));
    return true;
  }

  list(): string[] {
    return [...this.urls.keys()];
  }

  pages(): DiscoveredPage[] {
    return [...this.urls].map(([url, lastmod]) => (lastmod === undefined ? { url } : { url, lastmod }));
  }
}
