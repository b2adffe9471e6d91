/** A restart config with its secrets masked, for API answers and logs. */
import { getAdapter } from './registry.js';

/** Secret keys of every adapter, so configs of adapters not (yet) registered are masked too. */
const ALWAYS_SECRET = ['password', 'clientSecret', 'secret', 'token', 'apiKey'];

const MASK = '***';

function redactValue(value: unknown, secretKeys: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secretKeys));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key, secretKeys.has(key) && inner !== undefined ? MASK : redactValue(inner, secretKeys)]),
  );
}

/**
 * A deep copy of `config` with every secret field (inline passwords, client secrets, and the
 * adapter's declared secret keys) replaced by "***". Env variable names (`passwordEnv`) stay.
 */
export function redactRestartConfig<T>(config: T): T {
  const adapterName = typeof config === 'object' && config !== null && 'adapter' in config ? config.adapter : undefined;
  const declared = typeof adapterName === 'string' ? (getAdapter(adapterName)?.secretKeys ?? []) : [];
  return redactValue(config, new Set([...ALWAYS_SECRET, ...declared])) as T;
}
