import type { Command } from 'commander';
import { z } from 'zod';
import { optionsOf } from '../client-options.js';
import { configFileOf, loadConfig } from './config-file.js';

/** serve: the service itself, until SIGINT or SIGTERM. Resolves -1: the process keeps running. */
export function serveCommand(program: Command, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command('serve')
    .description('runs the service (crawler lookups, the management API, renders, scheduled refreshes)')
    .option('-c, --config <file>', 'config file, YAML or JSON (default: $RENDERCACHE_CONFIG, then config/default.yaml)')
    .option('--role <role>', 'api: crawlers and the API; worker: renders; all: both (default). api and worker need REDIS_URL')
    .addHelpText('after', '\nEnvironment overrides: PORT, REDIS_URL, CHROME_PATH, LOG_LEVEL, RENDERCACHE_ROLE.')
    .action((raw: unknown) =>
      run(async () => {
        const options = optionsOf(z.object({ config: z.string().optional(), role: z.string().optional() }), raw);
        const env = options.role === undefined ? process.env : { ...process.env, RENDERCACHE_ROLE: options.role };
        const config = loadConfig(configFileOf(options.config), env);
        // Loaded only here: the client commands start faster without the whole service.
        const { startService } = await import('../../service.js');
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
      }),
    );
}
