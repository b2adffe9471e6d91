import { z } from 'zod';
import { type DocumentedRoute, type HttpMethod, recordedRoutes, type ResponseDoc } from './route-doc.js';
import { errorBodySchema } from './schemas.js';

type Json = Record<string, unknown>;

/** The part of a @koa/router Router the document reads: its layers. */
interface RouterLike {
  stack: ReadonlyArray<{ path: string; methods: readonly string[] }>;
}

/** A route a router holds without a doc: shown in the document, flagged, so the OpenAPI test names it. */
export const UNDOCUMENTED = 'x-rendercache-undocumented';

const STATUS_TEXT: Record<number, string> = {
  400: 'Malformed request (query, body, id, headers)',
  401: 'No or an unknown token',
  403: 'Your role on the site is too low',
  404: 'Not found, or not visible to you',
  405: 'Method not allowed (Allow lists the methods)',
  408: 'The body was not received in time',
  409: 'The state of the site or job forbids it',
  413: 'Body too large',
  415: 'Body not UTF-8 JSON',
  429: 'Too many requests (Retry-After)',
  500: 'Unexpected error (logged)',
  502: 'Render failed',
  503: 'Unavailable for now (Retry-After)',
  504: 'Render timed out',
};

/** A zod schema as JSON Schema 2020-12; named schemas (meta id) go to components. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output', components: Json): Json {
  const converted = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  const text = JSON.stringify(converted).replaceAll('"#/$defs/', '"#/components/schemas/');
  const { $schema: _drop, $defs, ...rest } = JSON.parse(text) as Json & { $defs?: Json };
  Object.assign(components, $defs ?? {});
  return rest;
}

/** Koa's `/sites/:id` as OpenAPI's `/sites/{id}` (and a wildcard, `/invalidate/*pageUrl`, as `/invalidate/{pageUrl}`). */
export const openApiPath = (koaPath: string) => koaPath.replace(/[:*](\w+)/g, '{$1}');

function operation(route: DocumentedRoute, components: Json): Json {
  const { doc } = route;
  const parameters: Json[] = [];
  for (const name of [...route.path.matchAll(/[:*](\w+)/g)].map((m) => m[1] ?? '')) {
    const schema = doc.params?.[name];
    parameters.push({ name, in: 'path', required: true, schema: schema ? jsonSchema(schema, 'input', components) : { type: 'string' } });
  }
  if (doc.query) {
    const shape = jsonSchema(doc.query, 'input', components) as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, schema] of Object.entries(shape.properties ?? {})) {
      parameters.push({ name, in: 'query', required: shape.required?.includes(name) ?? false, schema });
    }
  }
  for (const [name, header] of Object.entries(doc.headers ?? {})) {
    parameters.push({
      name,
      in: 'header',
      required: header.required ?? false,
      description: header.description,
      schema: header.schema ? jsonSchema(header.schema, 'input', components) : { type: 'string' },
    });
  }
  const responses: Json = {};
  for (const [status, response] of Object.entries(doc.responses)) responses[status] = responseObject(response, components);
  for (const status of doc.errors) {
    responses[String(status)] ??= {
      description: STATUS_TEXT[status] ?? 'Error',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
    };
  }
  const description = [doc.role ? `Least role on the site: ${doc.role}.` : '', doc.description ?? ''].filter(Boolean).join(' ');
  return {
    summary: doc.summary,
    ...(description ? { description } : {}),
    ...(doc.tags ? { tags: doc.tags } : {}),
    operationId: `${route.method}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    ...(parameters.length ? { parameters } : {}),
    ...(doc.body
      ? { requestBody: { required: doc.bodyRequired ?? false, content: { 'application/json': { schema: jsonSchema(doc.body, 'input', components) } } } }
      : {}),
    responses,
    security: doc.auth ? [{ bearer: [] }] : [],
  };
}

function responseObject(response: ResponseDoc, components: Json): Json {
  const headers = Object.fromEntries(Object.entries(response.headers ?? {}).map(([name, description]) => [name, { description, schema: { type: 'string' } }]));
  const content = response.schema
    ? { 'application/json': { schema: jsonSchema(response.schema, 'output', components) } }
    : response.mediaType
      ? { [response.mediaType]: { schema: { type: response.mediaType.endsWith('json') ? 'object' : 'string' } } }
      : undefined;
  return { description: response.description, ...(Object.keys(headers).length ? { headers } : {}), ...(content ? { content } : {}) };
}

const isRouter = (value: unknown): value is RouterLike => typeof value === 'object' && value !== null && Array.isArray((value as RouterLike).stack);

/**
 * The routes of a running app: from its middleware, each router's (or middleware's)
 * recorded docs; flagged, any layer of those routers that has no doc.
 */
export function appRoutes(middleware: readonly unknown[]): { documented: DocumentedRoute[]; undocumented: Array<{ method: HttpMethod; path: string }> } {
  const owners: object[] = [];
  for (const part of middleware) {
    if (typeof part !== 'function') continue;
    const router: unknown = (part as { router?: unknown }).router;
    owners.push(isRouter(router) ? router : part);
  }
  const documented = new Map<string, DocumentedRoute>();
  const undocumented = new Map<string, { method: HttpMethod; path: string }>();
  for (const owner of owners) {
    const recorded = recordedRoutes(owner);
    for (const route of recorded) documented.set(`${route.method} ${route.path}`, route);
    if (!isRouter(owner)) continue;
    for (const layer of owner.stack) {
      for (const method of layer.methods.map((m) => m.toLowerCase() as HttpMethod)) {
        // koa-router answers HEAD on every GET route: HEAD is documented with GET.
        if (method === 'head' && layer.methods.includes('GET')) continue;
        const key = `${method} ${layer.path}`;
        if (!recorded.some((r) => `${r.method} ${r.path}` === key)) undocumented.set(key, { method, path: layer.path });
      }
    }
  }
  for (const key of documented.keys()) undocumented.delete(key);
  return { documented: [...documented.values()], undocumented: [...undocumented.values()] };
}

/** The OpenAPI 3.1 document of the given routes. */
export function openApiDocument(routes: ReturnType<typeof appRoutes>, version: string): Json {
  const components: Json = {};
  jsonSchema(errorBodySchema, 'output', components);
  const paths: Record<string, Json> = {};
  const add = (path: string, method: string, op: Json) => ((paths[openApiPath(path)] ??= {})[method] = op);
  for (const route of routes.documented) add(route.path, route.method, operation(route, components));
  for (const { method, path } of routes.undocumented) {
    add(path, method, { summary: 'Undocumented route', [UNDOCUMENTED]: true, responses: { default: { description: 'Undocumented' } } });
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'rendercache',
      version,
      description:
        'Crawler lookups, the Sites Management API (OCM shape), health and metrics. Management routes need `Authorization: Bearer <token>`; this document and /docs do not.',
    },
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: { schemas: components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  };
}
