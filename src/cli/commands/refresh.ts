import type { Command } from 'commander';
import { z } from 'zod';
import { asClientCommand, clientOf, clientOptions, optionsOf, print } from '../client-options.js';
import { EXIT } from '../errors.js';
import { jobSummary, jobTable, pagesTable } from '../job-view.js';
import { waitForJob } from './jobs.js';

const SHOWN_FAILED_PAGES = 20;

/** refresh and restart-origin: the actions that start a job, and waiting for it. */
export function actionCommands(program: Command, run: (work: () => Promise<number>) => Promise<void>): void {
  asClientCommand(program.command('refresh <site>').description('starts a refresh of a site (site id or name:<Name>)'))
    .option('--pages <url...>', 'only these pages (URLs or paths of the site)')
    .option('--wait', 'show the progress until the job ends, then a summary')
    .option('--fail-on-failed', 'with --wait: exit 1 when any page failed, even if the job succeeded')
    .action((site: string, raw: unknown) =>
      run(async () => {
        const options = optionsOf(
          clientOptions.extend({ pages: z.array(z.string()).optional(), wait: z.boolean().optional(), failOnFailed: z.boolean().optional() }),
          raw,
        );
        const client = clientOf(options);
        const started = await client.refresh(site, options.pages);
        const json = options.json ?? false;
        if (!options.wait) {
          print(json ? started : `started:\n${jobTable(started)}`);
          return EXIT.ok;
        }
        if (!json) process.stdout.write(`refresh job ${started.id} of ${started.context}\n`);
        const job = await waitForJob(client, started, json);
        const failedPages = job.failedCount > 0 ? await client.pages(job.id, true) : [];
        if (json) print({ job, failedPages });
        else {
          print(jobSummary(job));
          if (failedPages.length > 0) {
            print(`failed pages:\n${pagesTable(failedPages.slice(0, SHOWN_FAILED_PAGES))}`);
            if (failedPages.length > SHOWN_FAILED_PAGES) print(`… and ${failedPages.length - SHOWN_FAILED_PAGES} more: rendercache pages ${job.id} --failed\n`);
          }
        }
        if (job.progress !== 'succeeded') return EXIT.failed;
        return options.failOnFailed && job.failedCount > 0 ? EXIT.failed : EXIT.ok;
      }),
    );

  asClientCommand(program.command('restart-origin <site>').description("restarts a site's origin through its adapter (the site's restart config)"))
    .option('--wait', 'wait until the restart job ends, then print a summary')
    .action((site: string, raw: unknown) =>
      run(async () => {
        const options = optionsOf(clientOptions.extend({ wait: z.boolean().optional() }), raw);
        const client = clientOf(options);
        const started = await client.restartOrigin(site);
        const json = options.json ?? false;
        if (!options.wait) {
          print(json ? started : `started:\n${jobTable(started)}`);
          return EXIT.ok;
        }
        const job = await waitForJob(client, started, json);
        print(json ? job : `${jobSummary(job)}${jobTable(job)}`);
        return job.progress === 'succeeded' ? EXIT.ok : EXIT.failed;
      }),
    );
}
