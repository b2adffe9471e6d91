import { ConfigError, DEFAULT_CONFIG_FILE, loadConfigFile } from '../../config/load.js';
import { CliError, EXIT } from '../errors.js';

/** The validated config (named through load.ts: the CLI reads config/load only). */
export type RendercacheConfig = ReturnType<typeof loadConfigFile>;
export type SiteConfig = RendercacheConfig['sites'][number];

/** The config file of a command: FILE, else $RENDERCACHE_CONFIG, else the default. */
export const configFileOf = (file: string | undefined) => file ?? (process.env.RENDERCACHE_CONFIG || DEFAULT_CONFIG_FILE);

/** Loads and validates a config file with the environment's overrides; a bad file is a CliError. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): RendercacheConfig {
  try {
    return loadConfigFile(file, env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, EXIT.failed);
    throw err;
  }
}
