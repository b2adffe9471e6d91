import type { Site } from './site.js';
import type { SiteRegistry } from './site-registry.js';
import type { SiteRuntimeState, SiteStateStore } from './site-state.js';

/** A site with its run-time state: what the API shows and what serving checks. */
export interface SiteView {
  site: Site;
  state: SiteRuntimeState;
}

/**
 * Configured sites plus the state that changes at run time (online/offline, soft
 * deletion, last refresh), persisted in the state store. Reads for serving are answered
 * from memory; every change is written through.
 */
export class SiteDirectory {
  private readonly states = new Map<string, SiteRuntimeState>();
  private readonly changeListeners: Array<(siteId: string) => void> = [];

  constructor(
    readonly registry: SiteRegistry,
    private readonly store: SiteStateStore,
  ) {}

  /** Loads the persisted state of every configured site. */
  async load(): Promise<void> {
    await Promise.all(this.registry.all().map((site) => this.reload(site.id)));
  }

  async reload(siteId: string): Promise<SiteRuntimeState> {
    const site = this.registry.byId(siteId);
    if (!site) throw new Error(`unknown site ${siteId}`);
    const persisted = await this.store.getSiteState(siteId);
    const state: SiteRuntimeState = {
      runtimeStatus: site.config.status,
      deleted: false,
      refreshedAt: null,
      lastTrigger: null,
      lastJobId: null,
      ...persisted,
    };
    this.states.set(siteId, state);
    return state;
  }

  all(): SiteView[] {
    return this.registry.all().map((site) => this.view(site));
  }

  /** By id, or by name when written as name:<SiteName>. */
  find(idOrName: string): SiteView | undefined {
    const site = idOrName.startsWith('name:') ? this.registry.byName(idOrName.slice(5)) : this.registry.byId(idOrName);
    return site ? this.view(site) : undefined;
  }

  view(site: Site): SiteView {
    return {
      site,
      state: this.states.get(site.id) ?? { runtimeStatus: site.config.status, deleted: false, refreshedAt: null, lastTrigger: null, lastJobId: null },
    };
  }

  async update(siteId: string, patch: Partial<SiteRuntimeState>): Promise<SiteRuntimeState> {
    await this.store.saveSiteState(siteId, patch);
    const site = this.registry.byId(siteId);
    if (!site) throw new Error(`unknown site ${siteId}`);
    const next = { ...this.view(site).state, ...patch };
    this.states.set(siteId, next);
    for (const listener of this.changeListeners) listener(siteId);
    return next;
  }

  /** Called after every change of a site's state (so other instances can reload it). */
  onChange(listener: (siteId: string) => void): void {
    this.changeListeners.push(listener);
  }

  /** Crawlers are served a site's cache while it is online, not deleted, public and pre-rendered. */
  servesCrawlers = (site: Site): boolean => {
    const state = this.states.get(site.id);
    const online = (state?.runtimeStatus ?? site.config.status) === 'online';
    return online && !state?.deleted && site.config.security === 'public' && site.config.prerender;
  };
}
