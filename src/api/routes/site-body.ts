import type Koa from 'koa';
import type { SiteView } from '../../sites/site-directory.js';
import { roleOn } from '../auth.js';
import { siteResourceUrl } from './links.js';
import { callerOf } from './route-table.js';

/** A site as the API shows it (OCM shape), with the caller's role; `links=none` leaves out the links. */
export function siteBody(ctx: Koa.Context, view: SiteView, publicUrl: string | undefined) {
  return {
    id: view.site.id,
    name: view.site.name,
    origin: view.site.config.origin,
    runtimeStatus: view.state.runtimeStatus,
    securityStatus: view.site.config.security,
    prerender: view.site.config.prerender,
    isDeleted: view.state.deleted,
    schedule: view.site.config.schedule,
    // Which platform adapter restarts the origin, and when; never its secrets. null: no restart.
    originRestart: view.site.config.restart ? { adapter: view.site.config.restart.adapter, when: view.site.config.restart.when } : null,
    variants: view.site.config.variants,
    role: roleOn(view.site, callerOf(ctx)),
    ...(ctx.query.links === 'none' ? {} : { links: [{ rel: 'self', href: siteResourceUrl(ctx, publicUrl, view.site.id), method: 'GET' }] }),
  };
}
