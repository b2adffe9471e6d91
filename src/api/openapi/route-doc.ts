import type { z } from 'zod';

/** One answer of a route besides its error bodies: what it carries and which headers. */
export interface ResponseDoc {
  description: string;
  /** The JSON body; none for 204/303. */
  schema?: z.ZodType;
  /** A body that is not JSON (HTML, Prometheus text): its media type; the body is a string. */
  mediaType?: string;
  /** Response headers worth naming (Location, Retry-After), with what they carry. */
  headers?: Readonly<Record<string, string>>;
}

/** What a route's declaration says about it: the source of the OpenAPI document. */
export interface RouteDoc {
  summary: string;
  description?: string;
  /** The zod schema the route validates its query with (read on its input side). */
  query?: z.ZodObject;
  /** The JSON body it validates, when it takes one; `bodyRequired` when it must come. */
  body?: z.ZodType;
  bodyRequired?: boolean;
  /** Request headers it reads (Prefer), with what they mean; `required` ones answer 400 without. */
  headers?: Readonly<Record<string, { description: string; required?: boolean; schema?: z.ZodType }>>;
  /** The schemas of the path's `:params`; a param left out is a plain string. */
  params?: Readonly<Record<string, z.ZodType>>;
  /** Success (and other non-error) answers by status. */
  responses: Readonly<Record<number, ResponseDoc>>;
  /** Statuses answered with the JSON error body (errors.ts). */
  errors: readonly number[];
  /** Whether the Bearer token is needed (the management routes). */
  auth?: boolean;
  /** The least role on the site, shown in the description. */
  role?: string;
  tags?: readonly string[];
}

export type HttpMethod = 'get' | 'post' | 'delete' | 'options' | 'head' | 'put' | 'patch';

/** A route as registered: method, full Koa path (with the router's prefix) and its doc. */
export interface DocumentedRoute {
  method: HttpMethod;
  path: string;
  doc: RouteDoc;
}

/**
 * The docs of each router (or plain middleware), recorded where its routes are declared;
 * the document is built from what the running app holds, so it cannot drift.
 */
const registry = new WeakMap<object, DocumentedRoute[]>();

export function recordRoute(owner: object, route: DocumentedRoute): void {
  const routes = registry.get(owner) ?? [];
  routes.push(route);
  registry.set(owner, routes);
}

export function recordedRoutes(owner: object): readonly DocumentedRoute[] {
  return registry.get(owner) ?? [];
}
