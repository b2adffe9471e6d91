import { timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import type { SiteRole } from '../config/schema.js';
import type { Site } from '../sites/site.js';
import { errors } from './errors.js';

export interface Caller {
  user: string;
  admin: boolean;
}

export interface TokenEntry {
  token: string;
  user: string;
  admin: boolean;
}

/** Roles in order of power; an Owner may do what a Manager may. */
const RANK: Record<SiteRole, number> = { Viewer: 1, Downloader: 2, Contributor: 3, Manager: 4, Owner: 5 };

/** `Authorization: Bearer <token>` → the caller, or 401. */
export function authenticate(tokens: readonly TokenEntry[]): Koa.Middleware {
  const known = tokens.map((t) => ({ ...t, bytes: Buffer.from(t.token) }));
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const presented = match ? Buffer.from(match[1] as string) : null;
    const entry = presented && known.find((t) => t.bytes.length === presented.length && timingSafeEqual(t.bytes, presented));
    if (!entry) {
      throw errors.unauthorized(header ? 'The bearer token is not valid.' : 'This API needs an Authorization: Bearer <token> header.', {}, { 'www-authenticate': 'Bearer realm="rendercache"' });
    }
    ctx.state.caller = { user: entry.user, admin: entry.admin } satisfies Caller;
    await next();
  };
}

/** The caller's role on a site: admins act as Owner everywhere; null means no role. */
export function roleOn(site: Site, caller: Caller): SiteRole | null {
  if (caller.admin) return 'Owner';
  return site.config.members[caller.user] ?? null;
}

export function hasRole(role: SiteRole | null, atLeast: SiteRole): boolean {
  return role !== null && RANK[role] >= RANK[atLeast];
}
