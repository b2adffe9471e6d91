/** What changes about a site at run time, persisted beside the jobs. */
export interface SiteRuntimeState {
  runtimeStatus: 'online' | 'offline';
  deleted: boolean;
  /** Time of the last successful refresh. */
  refreshedAt: string | null;
  /** What made the last refresh. */
  lastTrigger: 'api' | 'schedule' | 'startup' | null;
  /** Id of the most recent refresh job. */
  lastJobId: string | null;
}

export interface SiteStateStore {
  getSiteState(siteId: string): Promise<Partial<SiteRuntimeState> | undefined>;
  saveSiteState(siteId: string, patch: Partial<SiteRuntimeState>): Promise<void>;
}
