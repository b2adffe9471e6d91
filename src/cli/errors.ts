/**
 * Exit codes of every command (docs/cli.md):
 *   0 success
 *   1 the work failed: a job failed or was cancelled (or, with --fail-on-failed, had failed pages),
 *     a render failed, doctor found a problem, a config file is invalid
 *   2 usage: unknown command or option, a bad argument
 *   3 the service cannot be reached (--url / RENDERCACHE_URL)
 *   4 the API refused the request: its error title and detail are printed (401 token, 404, 409…)
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3, refused: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An expected failure: printed as one message, no stack trace, and the process exits with its code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}
