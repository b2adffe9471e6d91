/** The connection keys both ArcGIS adapters share, and resolving them for one run. */
import { z } from 'zod';
import type { AdapterRun } from '../adapter-run.js';
import { envVarName, nonEmpty, platformUrl } from '../config-fields.js';
import { resolveSecret } from '../secrets.js';

export const arcgisConnectionFields = {
  /** https://host/context (the portal's web context). */
  portalUrl: platformUrl,
  username: nonEmpty,
  password: z.string().min(1).optional(),
  passwordEnv: envVarName.optional(),
  /** Referer the token is bound to; sent as the Referer header on every call. Default: portalUrl. */
  referer: nonEmpty.optional(),
  /** Requested token lifetime; the token is renewed before it expires. ArcGIS caps it at 14 days. */
  tokenExpirationMinutes: z.number().int().min(1).max(20_160).default(60),
};

export const ARCGIS_SECRET_KEYS = ['password'] as const;

export interface ArcgisConnectionConfig {
  portalUrl: string;
  username: string;
  password?: string | undefined;
  passwordEnv?: string | undefined;
  referer?: string | undefined;
  tokenExpirationMinutes: number;
}

export interface ArcgisConnection {
  portalUrl: string;
  username: string;
  password: string;
  referer: string;
  tokenExpirationMinutes: number;
}

export function resolveArcgisConnection(config: ArcgisConnectionConfig, run: AdapterRun): ArcgisConnection {
  const password = resolveSecret('ArcGIS password', config.password, config.passwordEnv, run.env);
  run.keepSecret(password);
  return {
    portalUrl: config.portalUrl,
    username: config.username,
    password,
    referer: config.referer ?? config.portalUrl,
    tokenExpirationMinutes: config.tokenExpirationMinutes,
  };
}
