import type { RenderOptionsConfig, SiteConfig } from '../config/schema.js';
import type { RenderPolicy } from './types.js';

/** The render options of a site: its own overrides on top of the service's defaults. */
export function renderPolicyFor(site: SiteConfig, defaults: RenderOptionsConfig): RenderPolicy {
  const own = site.render;
  return {
    siteOrigin: new URL(site.origin).origin,
    allowPrivateNetwork: site.allowPrivateNetwork,
    blockResourceTypes: new Set(own.blockResourceTypes ?? defaults.blockResourceTypes),
    blockUrlPatterns: own.blockUrlPatterns ?? defaults.blockUrlPatterns,
    stripScripts: own.stripScripts ?? defaults.stripScripts,
    keepScriptTypes: (own.keepScriptTypes ?? defaults.keepScriptTypes).map((t) => t.toLowerCase()),
    idleWindowMs: own.idleWindowMs ?? defaults.idleWindowMs,
    longPollAfterMs: defaults.longPollAfterMs,
    deadlineMs: own.deadlineMs ?? defaults.deadlineMs,
    replayHeaders: defaults.replayHeaders.map((h) => h.toLowerCase()),
  };
}
