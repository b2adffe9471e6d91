import type { Command } from 'commander';
import YAML from 'yaml';
import { z } from 'zod';
import { optionsOf, print } from '../client-options.js';
import { EXIT } from '../errors.js';
import { configFileOf, loadConfig } from './config-file.js';

/** check-config: validates a config file and prints the effective config, secrets masked. */
export function checkConfigCommand(program: Command, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command('check-config [file]')
    .description(
      'validates a config file (default: $RENDERCACHE_CONFIG, then config/default.yaml) and prints the effective config, defaults filled and secrets masked',
    )
    .option('--json', 'print the config as JSON instead of YAML')
    .action((file: string | undefined, raw: unknown) =>
      run(async () => {
        const options = optionsOf(z.object({ json: z.boolean().optional() }), raw);
        const path = configFileOf(file);
        const config = loadConfig(path);
        const { maskedConfig } = await import('../../tools/masked-config.js');
        const masked = maskedConfig(config);
        process.stderr.write(
          `${path}: valid (${config.sites.length} site${config.sites.length === 1 ? '' : 's'}, backend ${config.backend}); environment overrides applied, secrets masked\n`,
        );
        print(options.json ? masked : YAML.stringify(masked));
        return EXIT.ok;
      }),
    );
}
