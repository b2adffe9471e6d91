#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfigFile } from '../config/load.js';
import { startService } from '../service.js';

const USAGE = `usage: rendercache serve [--config FILE] [--role api|worker|all]

  FILE is YAML or JSON (default: $RENDERCACHE_CONFIG, then ${DEFAULT_CONFIG_FILE}).
  --role: api serves crawlers and the API, worker renders, all does both (default).
          api and worker need REDIS_URL.
  Environment overrides: PORT, REDIS_URL, CHROME_PATH, LOG_LEVEL, RENDERCACHE_ROLE.`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { config: { type: 'string', short: 'c' }, role: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [command] = parsed.positionals;
  if (parsed.values.help || command === undefined || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && !parsed.values.help ? 2 : 0;
  }
  if (command !== 'serve') {
    process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }
  const file = parsed.values.config ?? process.env.RENDERCACHE_CONFIG ?? DEFAULT_CONFIG_FILE;
  let config;
  try {
    const env = parsed.values.role === undefined ? process.env : { ...process.env, RENDERCACHE_ROLE: parsed.values.role };
    config = loadConfigFile(file, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`rendercache: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const service = await startService(config);
  const stop = (signal: string) => {
    process.stderr.write(`rendercache: ${signal}, stopping\n`);
    service.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
    // stop() cuts answers still in flight after a render's deadline; this is the backstop.
    setTimeout(() => process.exit(1), config.render.deadlineMs + 10_000).unref();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return -1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`rendercache: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
