import type Koa from 'koa';

export const API_BASE = '/sites/management/api/v1';

/** The public base URL: server.publicUrl, else the request's own scheme and host. */
export function publicBase(ctx: Koa.Context, publicUrl: string | undefined): string {
  return publicUrl?.replace(/\/+$/, '') ?? `${ctx.protocol}://${ctx.host}`;
}

/** Where a job's status is read (Location headers, links). */
export function jobStatusUrl(ctx: Koa.Context, publicUrl: string | undefined, jobId: string): string {
  return `${publicBase(ctx, publicUrl)}${API_BASE}/sites/_status/${jobId}`;
}

/** A site as an API resource (its self link). */
export function siteResourceUrl(ctx: Koa.Context, publicUrl: string | undefined, siteId: string): string {
  return `${publicBase(ctx, publicUrl)}${API_BASE}/sites/${siteId}`;
}
