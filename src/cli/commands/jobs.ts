import type { Command } from 'commander';
import { z } from 'zod';
import type { ApiClient } from '../api-client.js';
import type { Job } from '../api-types.js';
import { asClientCommand, clientOf, clientOptions, optionsOf, print } from '../client-options.js';
import { EXIT } from '../errors.js';
import { isFinished, jobSummary, jobsTable, jobTable, pagesTable } from '../job-view.js';
import { jobProgress } from '../progress.js';

/** jobs, job, pages, cancel: reading and cancelling jobs. */
export function jobCommands(program: Command, run: (work: () => Promise<number>) => Promise<void>): void {
  asClientCommand(program.command('jobs <site>').description("a site's job history, newest first (site id or name:<Name>)"))
    .option('--limit <n>', 'at most this many jobs', '20')
    .action((site: string, raw: unknown) =>
      run(async () => {
        const options = optionsOf(clientOptions.extend({ limit: z.coerce.number().int().min(1) }), raw);
        const jobs = await clientOf(options).jobs(site, options.limit);
        print(options.json ? jobs : jobs.length ? jobsTable(jobs) : 'no jobs\n');
        return EXIT.ok;
      }),
    );

  asClientCommand(program.command('job <jobId>').description('the status of one job')).action((jobId: string, raw: unknown) =>
    run(async () => {
      const options = optionsOf(clientOptions, raw);
      const job = await clientOf(options).job(jobId);
      print(options.json ? job : jobTable(job));
      return EXIT.ok;
    }),
  );

  asClientCommand(program.command('pages <jobId>').description('the pages of a job (all of them, paged through)'))
    .option('--failed', 'only the failed pages')
    .action((jobId: string, raw: unknown) =>
      run(async () => {
        const options = optionsOf(clientOptions.extend({ failed: z.boolean().optional() }), raw);
        const pages = await clientOf(options).pages(jobId, options.failed ?? false);
        print(options.json ? pages : pages.length ? pagesTable(pages) : options.failed ? 'no failed pages\n' : 'no pages\n');
        return EXIT.ok;
      }),
    );

  asClientCommand(program.command('cancel <jobId>').description('cancels a pending or processing job')).action((jobId: string, raw: unknown) =>
    run(async () => {
      const options = optionsOf(clientOptions, raw);
      const job = await clientOf(options).cancel(jobId);
      print(options.json ? job : `cancelled: ${jobSummary(job)}`);
      return EXIT.ok;
    }),
  );
}

/**
 * Polls a job until it ends, showing its progress (to stderr with --json: stdout is the
 * JSON's), and resolves its last status.
 */
export async function waitForJob(client: ApiClient, first: Job, json: boolean): Promise<Job> {
  const progress = jobProgress(json ? process.stderr : process.stdout);
  let job = first;
  try {
    progress.update(job);
    while (!isFinished(job)) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(job.intervalToPoll, 200), 2000)));
      job = await client.job(job.id);
      progress.update(job);
    }
  } finally {
    progress.stop();
  }
  return job;
}
