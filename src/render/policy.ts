import type { RenderOptionsConfig, SiteConfig } from '../config/schema.js';
import type { RenderPolicy } from './types.js';

/**
 * The render options of one variant of a site's pages: the site's own overrides on top of the
 * service's defaults, and the variant's device (the site's first variant when none is named).
 */
export function renderPolicyFor(site: SiteConfig, defaults: RenderOptionsConfig, variant = site.variants[0] as string): RenderPolicy {
  const own = site.render;
  const device = defaults.devices[variant];
  if (!device) throw new Error(`site ${site.id} has no device "${variant}" (render.devices: ${Object.keys(defaults.devices).join(', ')})`);
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
    device: { name: variant, ...device, userAgent: device.userAgent ?? defaults.userAgent },
  };
}
