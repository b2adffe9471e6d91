import type { SiteView } from '../../sites/site-directory.js';
import { errors } from '../errors.js';

/** The 409 of an operation on a soft-deleted site. */
export function deletedError(view: SiteView) {
  return errors.siteDeleted('The operation cannot be performed as the site has been soft deleted.', { site: { id: view.site.id } });
}

/** The 409 of an operation that needs the site online (or offline). */
export function invalidStatus(view: SiteView, requiredStatus: 'online' | 'offline') {
  return errors.invalidSiteStatus(`Operation cannot be performed on a site with status '${view.state.runtimeStatus}'.`, {
    site: { id: view.site.id },
    runtimeStatus: view.state.runtimeStatus,
    requiredStatus,
  });
}

/** The 409s of a site that may not be refreshed (nor its origin restarted). */
export function requireRefreshable(view: SiteView): void {
  if (view.state.deleted) throw deletedError(view);
  if (view.state.runtimeStatus !== 'online') throw invalidStatus(view, 'online');
  if (view.site.config.security !== 'public') {
    throw errors.siteNotPublic('Operation cannot be performed on a site that is not a public site.', { site: { id: view.site.id } });
  }
  if (!view.site.config.prerender) {
    throw errors.prerendererDisabled('A request to refresh the site cache cannot be processed when the prerender service is disabled.');
  }
}
