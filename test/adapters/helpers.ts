/** Shared test plumbing: a restart context that records steps, logs and sleeps. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { sleepWithSignal } from '../../src/adapters/context.js';
import type { RestartContext, RestartResult, RestartStep } from '../../src/adapters/types.js';

export interface RecordingContext {
  ctx: RestartContext;
  steps: RestartStep[];
  /** Every sleep the adapter asked for, in ms (poll intervals, backoff, Retry-After). */
  sleeps: number[];
  /** Everything logged, as pino JSON lines (level debug and up). */
  logs(): string;
}

export interface RecordingOptions {
  /** Sleep at most this long in real time, whatever was asked (backoff and Retry-After in tests). */
  maxRealSleepMs?: number;
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  now?: () => number;
  /** The run's clock advances by every sleep asked for, not by real time (with maxRealSleepMs: minutes of backoff in milliseconds). */
  virtualClock?: boolean;
  /** Called on each sleep before sleeping (e.g. to start a server between retries). */
  onSleep?: (ms: number, index: number) => void | Promise<void>;
}

export function recordingContext(options: RecordingOptions = {}): RecordingContext {
  const steps: RestartStep[] = [];
  const sleeps: number[] = [];
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const startedAt = Date.now();
  let slept = 0;
  const ctx: RestartContext = {
    signal: options.signal ?? new AbortController().signal,
    onStep: (step) => steps.push(step),
    logger: pino({ level: 'debug' }, sink),
    now: options.now ?? (options.virtualClock ? () => startedAt + slept : Date.now),
    env: options.env ?? {},
    async sleep(ms, signal) {
      sleeps.push(ms);
      slept += ms;
      await options.onSleep?.(ms, sleeps.length - 1);
      await sleepWithSignal(Math.min(ms, options.maxRealSleepMs ?? ms), signal);
    },
  };
  return { ctx, steps, sleeps, logs: () => chunks.join('') };
}

/** The result's error, failing the test if the restart succeeded. */
export function failureOf(result: RestartResult): { code: string; title: string; detail: string } {
  if (result.ok) throw new Error(`expected the restart to fail, it succeeded: ${JSON.stringify(result.steps)}`);
  return result.error;
}

/** Asserts success with a readable message (the failure detail) otherwise. */
export function expectOk(result: RestartResult): void {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.title}: ${result.error.detail}`);
}

export function kinds(steps: readonly RestartStep[]): string[] {
  return steps.map((step) => step.kind);
}

export function polledStates(steps: readonly RestartStep[]): string[] {
  return steps.filter((step) => step.kind === 'polled').map((step) => step.state ?? '');
}

/** Everything a restart exposed to the outside: steps, the error, and the logs. */
export function exposedText(result: RestartResult, recording: RecordingContext): string {
  return JSON.stringify(result) + JSON.stringify(recording.steps) + recording.logs();
}

/** Starts fakes for one test file; each fake started is closed after its test. */
export function fakePerTest<O, F extends { close(): Promise<void> }>(startFake: (options?: O) => Promise<F>): (options?: O) => Promise<F> {
  const started: F[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((fake) => fake.close()));
  });
  return async (options) => {
    const fake = await startFake(options);
    started.push(fake);
    return fake;
  };
}

/** What a stranger server received: every request, as method, path and query, headers and body. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface StrangerServer {
  /** e.g. http://127.0.0.1:4321: another origin than any fake's. */
  url: string;
  received: ReceivedRequest[];
  /** Whether any request carried one of `secrets`, or any token or authorization at all. */
  sawCredential(secrets?: readonly string[]): boolean;
}

/** A second loopback server that answers 200 `{}` to everything and records what it got, closed after the test. */
export function strangerPerTest(): () => Promise<StrangerServer> {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(
      servers.splice(0).map(
        (server) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      ),
    );
  });
  return async () => {
    const received: ReceivedRequest[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        res.setHeader('content-type', 'application/json');
        res.end('{}');
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
      url,
      received,
      sawCredential: (secrets = []) =>
        received.some((request) => {
          const text = `${request.url} ${request.body} ${JSON.stringify(request.headers)}`;
          const credentialHeader = ['authorization', 'x-esri-authorization'].some((name) => request.headers[name] !== undefined);
          const forms = secrets.flatMap((secret) => [secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)]);
          return credentialHeader || /token=/i.test(text) || forms.some((form) => form !== '' && text.includes(form));
        }),
    };
  };
}
