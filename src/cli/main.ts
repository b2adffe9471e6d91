#!/usr/bin/env node
// First: before anything loads the `debug` package.
import './debug-colors.js';
import { Command, CommanderError } from 'commander';
import { checkConfigCommand } from './commands/check-config.js';
import { doctorCommand } from './commands/doctor.js';
import { jobCommands } from './commands/jobs.js';
import { actionCommands } from './commands/refresh.js';
import { renderCommand } from './commands/render.js';
import { serveCommand } from './commands/serve.js';
import { sitesCommand } from './commands/sites.js';
import { CliError, EXIT } from './errors.js';

/**
 * rendercache's command line: `serve` runs the service; the client commands call its
 * management API (--url/--token or RENDERCACHE_URL/RENDERCACHE_TOKEN); render, check-config
 * and doctor work from a config file alone. Exit codes: see ./errors.ts and docs/cli.md.
 */
async function main(argv: string[]): Promise<number> {
  // -1: keep running (serve).
  let code: number = EXIT.ok;
  const run = async (work: () => Promise<number>): Promise<void> => {
    code = await work();
  };
  const program = new Command('rendercache')
    .description('Self-hosted pre-render cache for crawlers')
    .exitOverride()
    .showHelpAfterError('(rendercache --help for the commands; rendercache <command> --help for one)')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 the work failed (job, render, doctor, config), 2 usage, 3 service unreachable, 4 refused by the API.\nSee docs/cli.md.',
    );
  serveCommand(program, run);
  actionCommands(program, run);
  jobCommands(program, run);
  sitesCommand(program, run);
  renderCommand(program, run);
  checkConfigCommand(program, run);
  doctorCommand(program, run);
  for (const command of program.commands) command.exitOverride();

  if (argv.length === 0) {
    process.stdout.write(program.helpInformation());
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander printed the message or the help already.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    throw err;
  }
  return code;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`rendercache: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    process.stderr.write(`rendercache: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.RENDERCACHE_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exit(EXIT.failed);
  },
);
