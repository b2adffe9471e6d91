import type { Command } from 'commander';
import { z } from 'zod';
import { ApiClient, DEFAULT_URL } from './api-client.js';
import { CliError, EXIT } from './errors.js';

/** The options every client command takes. */
export const clientOptions = z.object({
  url: z.string().optional(),
  token: z.string().optional(),
  json: z.boolean().optional(),
});
export type ClientOptions = z.infer<typeof clientOptions>;

/** Adds --url, --token and --json to a command that calls the management API. */
export function asClientCommand(command: Command): Command {
  return command
    .option('--url <url>', `base URL of the service (env RENDERCACHE_URL; default ${DEFAULT_URL})`)
    .option('--token <token>', 'bearer token of the management API (env RENDERCACHE_TOKEN)')
    .option('--json', 'print JSON (for scripts) instead of tables');
}

/** The client of --url / --token, else RENDERCACHE_URL / RENDERCACHE_TOKEN. */
export function clientOf(options: ClientOptions): ApiClient {
  return new ApiClient({
    url: options.url ?? (process.env.RENDERCACHE_URL || DEFAULT_URL),
    token: options.token ?? (process.env.RENDERCACHE_TOKEN || undefined),
  });
}

/** Commander hands options over untyped: checked here, once, at the boundary. */
export function optionsOf<T extends z.ZodType>(schema: T, raw: unknown): z.infer<T> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new CliError(`bad options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, EXIT.usage);
  return parsed.data;
}

/** Writes to stdout: text as is, anything else as indented JSON. */
export function print(value: unknown): void {
  process.stdout.write(typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`);
}
