import { siteUrl, type DiscoveryRun, type DiscoverySource } from './discovery-source.js';

/** `pages: {urls: [...]}`: the listed pages, relative to the site or absolute; others are dropped. */
export class ListSource implements DiscoverySource {
  constructor(private readonly urls: readonly string[]) {}

  discover({ site, found }: DiscoveryRun): Promise<void> {
    for (const url of this.urls) found.add(siteUrl(site, url));
    return Promise.resolve();
  }
}
