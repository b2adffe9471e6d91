import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import { startService, type RunningService } from '../../src/service.js';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh data folder under the OS temp dir. */
export function tempDir(prefix = 'rendercache-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A unique key namespace, so that tests sharing one Redis never see each other. */
export const uniqueNamespace = (label: string) => `rctest:${label}:${process.pid}:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/**
 * Starts the real service (real Chromium, real store) on 127.0.0.1 port 0 from a
 * config object; defaults keep renders quick for tests. Scheduled refresh is off unless
 * the test passes its own `schedule`: no refresh starts by itself. `logger` replaces the
 * service's logger (tests that read the logs).
 */
export async function startTestService(raw: Record<string, unknown>, options: { logger?: Logger } = {}): Promise<RunningService> {
  const base = {
    server: { port: 0, host: '127.0.0.1' },
    log: { level: process.env.TEST_LOG_LEVEL ?? 'silent' },
    schedule: { enabled: false },
    ...raw,
    cache: { dir: tempDir(), namespace: uniqueNamespace('svc'), ...(raw.cache as object | undefined) },
    render: { concurrency: 4, ...(raw.render as object | undefined) },
  };
  const config = parseConfig(base);
  return startService(config, { logger: options.logger ?? createLogger(config.log.level) });
}

export const lookupUrl = (service: RunningService, pageUrl: string) => `${service.url}/render?url=${encodeURIComponent(pageUrl)}`;
