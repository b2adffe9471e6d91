import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { configSchema, type RendercacheConfig } from './schema.js';

/** A config problem the operator must fix; its message names the field and the reason. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const DEFAULT_CONFIG_FILE = 'config/default.yaml';

/** Environment variables that override the file (twelve-factor style). */
export interface ConfigEnv {
  PORT?: string | undefined;
  REDIS_URL?: string | undefined;
  CHROME_PATH?: string | undefined;
  LOG_LEVEL?: string | undefined;
  LOG_FORMAT?: string | undefined;
  RENDERCACHE_ROLE?: string | undefined;
}

/** Reads FILE (YAML or JSON), applies env overrides and validates the whole result. */
export function loadConfigFile(file: string, env: ConfigEnv = process.env): RendercacheConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = path.extname(file).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid ${path.extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  const config = parseConfig(raw ?? {}, env, file);
  // Relative folders in the file are relative to the process, as documented; nothing to do.
  return config;
}

/** Validates an in-memory config object (tests and embedding use this). */
export function parseConfig(raw: unknown, env: ConfigEnv = {}, source = 'config'): RendercacheConfig {
  const withEnv = applyEnv(raw, env, source);
  const result = configSchema.safeParse(withEnv);
  if (!result.success) throw new ConfigError(formatIssues(result.error, source));
  return result.data;
}

function applyEnv(raw: unknown, env: ConfigEnv, source: string): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${source}: the top level must be a mapping of keys (server, cache, render, auth, sites, ...)`);
  }
  const cfg = structuredClone(raw) as Record<string, unknown>;
  rejectReplacedSettings(cfg, source);
  const section = (key: string): Record<string, unknown> => {
    const value = cfg[key];
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
    // Not a mapping: left for the schema to report, the override going to a fresh one.
    return value === undefined ? (cfg[key] = {}) : {};
  };
  if (env.PORT !== undefined && env.PORT !== '') {
    const port = Number(env.PORT);
    if (!Number.isInteger(port)) throw new ConfigError(`PORT: must be an integer, got "${env.PORT}"`);
    section('server').port = port;
  }
  if (env.REDIS_URL) {
    cfg.backend = 'redis';
    section('redis').url = env.REDIS_URL;
  }
  if (env.CHROME_PATH) section('render').chromePath = env.CHROME_PATH;
  if (env.LOG_LEVEL) section('log').level = env.LOG_LEVEL;
  if (env.LOG_FORMAT) section('log').format = env.LOG_FORMAT;
  if (env.RENDERCACHE_ROLE) section('cluster').role = env.RENDERCACHE_ROLE;
  return cfg;
}

/** Settings of an earlier version, named with what replaced them, rather than "unrecognized key". */
function rejectReplacedSettings(cfg: Record<string, unknown>, source: string): void {
  const cache = cfg.cache;
  if (typeof cache === 'object' && cache !== null && 'store' in cache) {
    throw new ConfigError(
      `${source}: cache.store was replaced by "backend": leave it out for the embedded store, or set backend: redis and redis.url (or env REDIS_URL) for Redis`,
    );
  }
}

function formatIssues(error: z.ZodError, source: string): string {
  const lines = error.issues.map((issue) => {
    const field = issue.path.length ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(top level)';
    return `  ${field}: ${issue.message}`;
  });
  return `invalid config in ${source}:\n${lines.join('\n')}`;
}
