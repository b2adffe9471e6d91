import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import type { Logger } from '../observability/logger.js';

/** What the console build writes beside index.html (scripts/build-console.mjs). */
export interface ConsoleManifest {
  index: string;
  /** Paths under the build folder, e.g. "assets/app.3KX2PZ7A.js". */
  assets: string[];
}

export const CONSOLE_PATH = '/console';

/**
 * The operator console's policy: nothing from elsewhere, no inline script or style. The
 * inspector shows a cached page in `<iframe sandbox srcdoc>` (no scripts, opaque origin);
 * a srcdoc frame inherits this policy, so the page's own subresources are not fetched.
 * uPlot and Preact set styles through the CSSOM (element.style), which style-src does not
 * govern, so no 'unsafe-inline' is needed.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "frame-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'self'",
].join('; ');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Where `npm run build` puts the console: dist/console, from dist/api or from src/api (tests, tsx). */
export function defaultConsoleDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.basename(path.dirname(here)) === 'dist' ? path.resolve(here, '..', 'console') : path.resolve(here, '..', '..', 'dist', 'console');
}

interface Built {
  index: Buffer;
  assets: Map<string, { body: Buffer; type: string }>;
}

/** Reads the build named by its manifest; only the files it lists are ever served. */
function readBuild(dir: string): Built | null {
  let manifest: ConsoleManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as ConsoleManifest;
  } catch {
    return null;
  }
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const name of manifest.assets) {
    if (!/^assets\/[\w.-]+$/.test(name)) continue;
    assets.set(`/${name}`, { body: fs.readFileSync(path.join(dir, name)), type: TYPES[path.extname(name)] ?? 'application/octet-stream' });
  }
  return { index: fs.readFileSync(path.join(dir, manifest.index)), assets };
}

export interface ConsoleOptions {
  /** The console build (default: dist/console). */
  dir?: string;
  logger: Logger;
}

/**
 * The operator console: `/` → 302 `/console`; `/console` and every client route under it
 * answer index.html (no-cache); `/console/assets/<name>.<hash>.<ext>` the built files,
 * immutable. The console reads the management API like any client (routes/: job events,
 * stats and the inspector among them).
 */
export function consoleRoutes(options: ConsoleOptions): Koa.Middleware {
  const dir = options.dir ?? defaultConsoleDir();
  let built: Built | null = null;
  let warned = false;

  return async (ctx, next) => {
    const p = ctx.path;
    if (p !== '/' && p !== CONSOLE_PATH && !p.startsWith(`${CONSOLE_PATH}/`)) {
      await next();
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('allow', 'GET, HEAD');
      return;
    }
    if (p === '/') {
      ctx.redirect(CONSOLE_PATH);
      return;
    }
    built ??= readBuild(dir);
    ctx.set({ 'content-security-policy': CONSOLE_CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
    if (!built) {
      if (!warned) options.logger.warn({ dir }, 'the console is not built: run npm run build');
      warned = true;
      ctx.status = 503;
      ctx.type = 'text/plain';
      ctx.body = 'The console is not built: run npm run build.\n';
      return;
    }
    if (p.startsWith(`${CONSOLE_PATH}/assets/`)) {
      const asset = built.assets.get(p.slice(CONSOLE_PATH.length));
      if (!asset) {
        await next();
        return;
      }
      ctx.set('cache-control', 'public, max-age=31536000, immutable');
      ctx.type = asset.type;
      ctx.body = asset.body;
      return;
    }
    ctx.set('cache-control', 'no-cache');
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = built.index;
  };
}
