import type { Command } from 'commander';
import { asClientCommand, clientOf, clientOptions, optionsOf, print } from '../client-options.js';
import { EXIT } from '../errors.js';
import { cell, table } from '../table.js';

/** sites: the sites the token has a role on, with the state of their cache. */
export function sitesCommand(program: Command, run: (work: () => Promise<number>) => Promise<void>): void {
  asClientCommand(program.command('sites').description('the sites the token sees, with the state of their cache')).action((raw: unknown) =>
    run(async () => {
      const options = optionsOf(clientOptions, raw);
      const client = clientOf(options);
      const sites = await client.sites();
      const rows = await Promise.all(sites.map(async (site) => ({ site, cache: await client.cache(site.id) })));
      if (options.json) {
        print(rows.map(({ site, cache }) => ({ ...site, cache })));
        return EXIT.ok;
      }
      if (rows.length === 0) {
        print('no sites\n');
        return EXIT.ok;
      }
      print(
        table(
          ['id', 'name', 'origin', 'status', 'security', 'prerender', 'role', 'refreshed', 'next refresh'],
          rows.map(({ site, cache }) => [
            site.id,
            site.name,
            site.origin,
            site.isDeleted ? 'deleted' : site.runtimeStatus,
            site.securityStatus,
            site.prerender ? 'on' : 'off',
            cell(site.role),
            cell(cache.refreshedAt),
            cache.expiresAt,
          ]),
        ),
      );
      return EXIT.ok;
    }),
  );
}
