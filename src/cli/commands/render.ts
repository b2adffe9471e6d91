import fs from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { parseConfig } from '../../config/load.js';
import { optionsOf } from '../client-options.js';
import { CliError, EXIT } from '../errors.js';
import { loadConfig, type RendercacheConfig } from './config-file.js';

const SHOWN_FAILED_REQUESTS = 10;

/** render: one URL with the service's renderer and the site's policy, no service needed. */
export function renderCommand(program: Command, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command('render <url>')
    .description("renders one URL as the service would (its site's policy, the egress guard) and prints the HTML; timings on stderr")
    .option('-c, --config <file>', "config file whose sites the URL belongs to (default: the URL's own origin is the one site)")
    .option('--device <device>', "render as this device of render.devices: desktop, mobile or the config's own (default: the site's first variant)")
    .option('--out <file>', 'write the HTML to this file instead of stdout')
    .option('--log-level <level>', "the renderer's log lines on stderr (a pino level)", 'silent')
    .action((url: string, raw: unknown) =>
      run(async () => {
        const options = optionsOf(
          z.object({ config: z.string().optional(), device: z.string().optional(), out: z.string().optional(), logLevel: z.string() }),
          raw,
        );
        const config = options.config ? loadConfig(options.config) : oneSiteConfig(url);
        if (options.device !== undefined && !(options.device in config.render.devices)) {
          throw new CliError(`no device "${options.device}": render.devices has ${Object.keys(config.render.devices).join(', ')}`, EXIT.usage);
        }
        const { NotASitePageError, renderOneUrl } = await import('../../tools/render-one-url.js');
        let result;
        try {
          result = await renderOneUrl(config, url, { logLevel: options.logLevel, ...(options.device ? { device: options.device } : {}) });
        } catch (err) {
          if (err instanceof NotASitePageError) throw new CliError(err.message, EXIT.usage);
          throw err;
        }
        const { outcome, failedRequests } = result;
        if (!outcome.ok) {
          process.stderr.write(
            `render failed (${outcome.failure.kind}): ${outcome.failure.detail}${outcome.failure.status ? ` [origin status ${outcome.failure.status}]` : ''}\n`,
          );
          process.stderr.write(`site ${result.siteId}, ${outcome.renderTimeMs} ms\n`);
          return EXIT.failed;
        }
        if (options.out) fs.writeFileSync(options.out, outcome.html);
        else process.stdout.write(outcome.html.endsWith('\n') ? outcome.html : `${outcome.html}\n`);
        const blocked = failedRequests.filter((r) => r.reason.startsWith('net::ERR_BLOCKED_BY_CLIENT'));
        const lines = [
          `rendered ${outcome.finalUrl} (site ${result.siteId}, ${result.device})`,
          `  status ${outcome.status}, ${Buffer.byteLength(outcome.html)} bytes, ${outcome.renderTimeMs} ms${options.out ? `, written to ${options.out}` : ''}`,
          `  ${blocked.length} requests blocked, ${failedRequests.length - blocked.length} other requests failed`,
          ...failedRequests
            .slice(0, SHOWN_FAILED_REQUESTS)
            .map((r) => `    ${r.reason.startsWith('net::ERR_BLOCKED_BY_CLIENT') ? 'blocked' : r.reason}  ${r.url}`),
          ...(failedRequests.length > SHOWN_FAILED_REQUESTS ? [`    … and ${failedRequests.length - SHOWN_FAILED_REQUESTS} more`] : []),
        ];
        process.stderr.write(`${lines.join('\n')}\n`);
        return EXIT.ok;
      }),
    );
}

/** Without a config: the URL's origin is the one site, every other setting its default (env overrides apply). */
function oneSiteConfig(url: string): RendercacheConfig {
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    throw new CliError(`not a URL: "${url}"`, EXIT.usage);
  }
  if (!/^https?:/.test(origin)) throw new CliError(`not an http(s) URL: "${url}"`, EXIT.usage);
  return parseConfig({ sites: [{ id: 'url', name: origin, origin }] }, process.env, 'the URL');
}
