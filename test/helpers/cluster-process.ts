import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach } from 'vitest';
import { onRedis, type TestRedisSettings } from './redis-backend.js';
import { tempDir } from './service.js';

/** A real `rendercache serve` process, started from the sources. */
export interface ServiceProcess {
  url: string;
  /** hostname:pid, as page records name the instance that rendered a page. */
  instance: string;
  pid: number;
  child: ChildProcess;
  /** Every JSON log line so far. */
  logs: Array<Record<string, unknown>>;
  /** SIGKILL for the node process alone (its Chromium is orphaned, as in a real crash). */
  kill(): void;
  /** SIGKILL for the whole process group at once (Chromium included). */
  killGroup(): void;
  /** SIGTERM and wait; then the whole process group (Chromium included) is killed. */
  stop(): Promise<void>;
}

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Starts `rendercache serve --config <file> --role <role>` and waits for it to listen. */
export async function startServiceProcess(config: Record<string, unknown>, role: 'api' | 'worker' | 'all' = 'all'): Promise<ServiceProcess> {
  const file = path.join(tempDir('rendercache-proc-'), 'config.json');
  fs.writeFileSync(file, JSON.stringify({ server: { port: 0, host: '127.0.0.1' }, log: { level: 'info' }, ...config }));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--config', file, '--role', role], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: '', PORT: '', LOG_LEVEL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that stop() also reaches its Chromium.
    detached: true,
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'rendercache listening') resolve(entry);
      } catch {
        /* not a log line */
      }
    });
    child.once('exit', (code) => reject(new Error(`rendercache exited with ${code} before listening: ${stderr}`)));
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const ready = await listening.finally(() => clearTimeout(timeout));
  const pid = child.pid as number;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killGroup = () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  return {
    url: String(ready.url),
    instance: String(ready.instance),
    pid,
    child,
    logs,
    kill: () => child.kill('SIGKILL'),
    killGroup,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      }
      killGroup();
    },
  };
}

/**
 * The service processes of each test, ended after it (registers an afterEach hook): a test
 * puts the processes it starts in the array. `stop` stops each one (SIGTERM, then its group);
 * `kill` SIGKILLs every group at once, for tests that are not about shutdown.
 */
export function processesPerTest(end: 'stop' | 'kill' = 'stop'): ServiceProcess[] {
  const processes: ServiceProcess[] = [];
  afterEach(async () => {
    const ending = processes.splice(0);
    if (end === 'kill') for (const p of ending) p.killGroup();
    else await Promise.all(ending.map((p) => p.stop()));
  });
  return processes;
}

/**
 * The config of each instance of a test cluster: real processes sharing one Redis namespace
 * (on `redis`), one owner token, no schedules. Tuned for three instances on two cores.
 */
export function clusterInstanceConfig<S>({
  redis,
  namespace,
  token,
  sites,
}: {
  redis: TestRedisSettings | string;
  namespace: string;
  token: string;
  sites: S[];
}) {
  return {
    ...onRedis(redis),
    // Three Chromiums on two cores: a slow store read would turn a hit into a miss.
    cache: { namespace, commandTimeoutMs: 3000 },
    auth: { tokens: [{ token, user: 'owner' }] },
    api: { rateLimit: { points: 100_000, windowSeconds: 60 } },
    render: { concurrency: 3 },
    refresh: { retryBackoffMs: 50 },
    // A dead instance's renders are taken over within seconds, not the default 30 s.
    cluster: { lockDurationMs: 4000, stalledIntervalMs: 1000 },
    schedule: { enabled: false },
    sites,
  };
}
