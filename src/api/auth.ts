import { createHash, timingSafeEqual } from 'node:crypto';
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

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * A presented token → its caller, or null. Tokens are compared as SHA-256 digests, each
 * against every configured one with no early exit: the time taken tells neither a token's
 * length nor which one matched.
 */
export function tokenCallers(tokens: readonly TokenEntry[]): (presented: string | undefined) => Caller | null {
  const known = tokens.map((t) => ({ ...t, digest: digest(t.token) }));
  return (presented) => {
    const asked = digest(presented ?? '');
    let entry: (typeof known)[number] | undefined;
    for (const candidate of known) {
      if (timingSafeEqual(candidate.digest, asked) && presented !== undefined) entry ??= candidate;
    }
    return entry ? { user: entry.user, admin: entry.admin } : null;
  };
}

/** `Authorization: Bearer <token>` → the caller in `ctx.state.caller`, or 401. */
export function authenticate(tokens: readonly TokenEntry[]): Koa.Middleware {
  const callerOf = tokenCallers(tokens);
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    const caller = callerOf(/^Bearer\s+(\S+)\s*$/i.exec(header)?.[1]);
    if (!caller) {
      throw errors.unauthorized(
        header ? 'The bearer token is not valid.' : 'This API needs an Authorization: Bearer <token> header.',
        {},
        { 'www-authenticate': 'Bearer realm="rendercache"' },
      );
    }
    ctx.state.caller = caller satisfies Caller;
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
