import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A real Redis Cluster of the test's own: N masters (no replicas) on free ports on 127.0.0.1,
 * every file (nodes-<port>.conf) in a temp dir, nothing persisted (no RDB, no AOF).
 * Resolves once every node reports cluster_state:ok with all 16384 slots assigned and knows
 * every master; close() kills the nodes and removes the temp dir.
 */
export interface TestRedisCluster {
  /** The seed URL, redis://127.0.0.1:<first port> */
  readonly url: string;
  /** Every node as {host, port} */
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  /** Kill every node and remove the temp dir */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
/** A cluster node also listens on its port + 10000 (the cluster bus). */
const BUS_OFFSET = 10_000;
const START_DEADLINE_MS = 10_000;
const CONVERGE_DEADLINE_MS = 30_000;
const POLL_MS = 50;

// ---------------------------------------------------------------------------------------------
// A minimal RESP client: one command per connection, for polling nodes that may not be up yet
// (ioredis would retry and reconnect by itself). Also used by redis-sentinel.ts.

export type RespValue = string | number | null | Error | RespValue[];

interface Parsed {
  value: RespValue;
  next: number;
}

/** One RESP2 reply from `buf` at `at`, or undefined when the reply is not complete yet. */
function parseReply(buf: Buffer, at: number): Parsed | undefined {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[at] as number);
  const line = buf.toString('utf8', at + 1, eol);
  const after = eol + 2;
  switch (type) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new Error(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, next: after };
      if (buf.length < after + length + 2) return undefined;
      return { value: buf.toString('utf8', after, after + length), next: after + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next: after };
      const items: RespValue[] = [];
      let next = after;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, next);
        if (!item) return undefined;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`);
  }
}

/**
 * Sends one command to 127.0.0.1:port and resolves with its reply; rejects when the connection
 * fails or no full reply comes within timeoutMs, and when Redis answers with an error.
 */
export function redisCommand(port: number, args: readonly string[], timeoutMs = 1_000): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, HOST);
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | undefined, value?: RespValue) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? null);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`${HOST}:${port}: no reply to ${args.join(' ')} within ${timeoutMs} ms`)));
    socket.on('error', (err) => finish(new Error(`${HOST}:${port}: ${err.message}`)));
    socket.on('close', () => finish(new Error(`${HOST}:${port}: connection closed before a reply to ${args.join(' ')}`)));
    socket.on('connect', () => {
      socket.write(`*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`);
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      let reply: Parsed | undefined;
      try {
        reply = parseReply(buf, 0);
      } catch (err) {
        finish(err as Error);
        return;
      }
      if (!reply) return;
      if (reply.value instanceof Error) finish(new Error(`${HOST}:${port}: ${args.join(' ')} answered ${reply.value.message}`));
      else finish(undefined, reply.value);
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Processes and temp dirs of the helpers, killed / removed when the test process ends even if a
// test never called close(): on 'exit', and on SIGINT / SIGTERM / SIGHUP (re-raised afterwards
// when no one else listens, so the default action still ends the process).

const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let guardsInstalled = false;

function killEverythingNow(): void {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  liveChildren.clear();
  for (const dir of liveDirs) fs.rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killEverythingNow();
  if (process.listenerCount(signal) === 1) {
    removeGuards();
    process.kill(process.pid, signal);
  }
}

function installGuards(): void {
  if (guardsInstalled) return;
  guardsInstalled = true;
  process.on('exit', killEverythingNow);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function removeGuards(): void {
  if (!guardsInstalled) return;
  guardsInstalled = false;
  process.off('exit', killEverythingNow);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

function removeGuardsIfIdle(): void {
  if (liveChildren.size === 0 && liveDirs.size === 0) removeGuards();
}

/** A temp dir removed by removeTempDir(), or when the process ends. */
export function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  liveDirs.add(dir);
  installGuards();
  return dir;
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
  removeGuardsIfIdle();
}

/** A redis-server (or sentinel) started by the helpers. */
export interface RedisProcess {
  readonly port: number;
  readonly child: ChildProcess;
  /** The last few KB of its log (stdout and stderr). */
  log(): string;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
}

const LOG_TAIL_CHARS = 4_000;

/**
 * Spawns `redis-server ...args` and resolves once it answers PING on `port`; rejects, with its
 * exit code and log, when it exits first or does not answer within 10 s (then it is killed).
 */
export async function spawnRedisServer(port: number, args: readonly string[]): Promise<RedisProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  installGuards();
  let log = '';
  const append = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-LOG_TAIL_CHARS);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let spawnError: Error | undefined;
  child.on('error', (err) => {
    spawnError = err;
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  void exited.then(() => {
    liveChildren.delete(child);
    removeGuardsIfIdle();
  });
  const running = () => child.exitCode === null && child.signalCode === null && !spawnError;
  const proc: RedisProcess = {
    port,
    child,
    log: () => log,
    kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
      return exited;
    },
  };
  const until = Date.now() + START_DEADLINE_MS;
  while (Date.now() < until) {
    if (!running()) {
      await proc.kill();
      const how = spawnError ? spawnError.message : `exited with ${child.exitCode ?? child.signalCode}`;
      throw new Error(`redis-server ${args.join(' ')} (port ${port}) ${how}; its log:\n${log}`);
    }
    try {
      if ((await redisCommand(port, ['PING'], 500)) === 'PONG') return proc;
    } catch {
      /* not up yet */
    }
    await sleep(POLL_MS);
  }
  await proc.kill();
  throw new Error(`redis-server ${args.join(' ')} (port ${port}) did not answer PING within ${START_DEADLINE_MS / 1000} s; its log:\n${log}`);
}

/** Can `port` on 127.0.0.1 be listened on right now? */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: HOST, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Ports from which a cluster node's port and its bus port (port + 10000) both lie below the
 * kernel's ephemeral range (where outgoing connections take their local ports), when that
 * leaves room; else anywhere with port + 10000 < 65536.
 */
function clusterPortRange(): { from: number; to: number } {
  let ephemeralLow = 32_768;
  try {
    const [low] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && Number.isInteger(low)) ephemeralLow = low;
  } catch {
    /* not Linux */
  }
  const from = 11_000;
  const to = ephemeralLow - BUS_OFFSET;
  return to - from >= 2_000 ? { from, to } : { from: 20_000, to: 65_536 - BUS_OFFSET };
}

/** A port with port and port + 10000 both free (and not in `taken`). */
async function freeClusterPort(taken: ReadonlySet<number>): Promise<number> {
  const { from, to } = clusterPortRange();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = from + Math.floor(Math.random() * (to - from));
    if (taken.has(port) || taken.has(port + BUS_OFFSET) || taken.has(port - BUS_OFFSET)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + BUS_OFFSET))) return port;
  }
  throw new Error(`no free port P with P + ${BUS_OFFSET} free in ${from}..${to} after 200 tries`);
}

/** Runs a command; rejects with its exit code, stderr and stdout when it fails. */
function run(file: string, args: readonly string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 10 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) {
        resolve({ stdout, stderr });
        return;
      }
      const { code, signal, killed } = err as Error & { code?: number | string; signal?: string; killed?: boolean };
      const how = killed ? `was killed after ${timeoutMs} ms` : code !== undefined && code !== null ? `exited with ${code}` : `ended by ${signal}`;
      reject(new Error(`${file} ${args.join(' ')} ${how}\nstderr:\n${stderr || '(empty)'}\nstdout:\n${stdout || '(empty)'}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------

async function startClusterNode(dir: string, taken: Set<number>): Promise<RedisProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = await freeClusterPort(taken);
    const args = [
      '--port',
      String(port),
      '--bind',
      HOST,
      '--dir',
      dir,
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--cluster-node-timeout',
      '2000',
      '--save',
      '',
      '--appendonly',
      'no',
    ];
    try {
      const node = await spawnRedisServer(port, args);
      taken.add(port);
      taken.add(port + BUS_OFFSET);
      return node;
    } catch (err) {
      // Someone took the port (or its bus port) between the check and the bind: another pair.
      if (attempt < 5 && /address already in use/i.test((err as Error).message)) continue;
      throw err;
    }
  }
}

interface NodeView {
  ok: boolean;
  problem: string;
}

/**
 * Has this node converged: cluster_state:ok, all 16384 slots assigned, and every expected node
 * known as a connected master with slots (ids as the other nodes report them)?
 */
async function nodeView(port: number, ports: readonly number[], ids: Map<number, string>): Promise<NodeView> {
  const info = String(await redisCommand(port, ['CLUSTER', 'INFO']));
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const state = field('cluster_state');
  const assigned = field('cluster_slots_assigned');
  if (state !== 'ok' || assigned !== '16384') return { ok: false, problem: `cluster_state:${state}, cluster_slots_assigned:${assigned}` };
  const lines = String(await redisCommand(port, ['CLUSTER', 'NODES']))
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter((fields) => fields.length >= 8);
  const missing: string[] = [];
  for (const expected of ports) {
    const line = lines.find((fields) => fields[1]?.startsWith(`${HOST}:${expected}@`));
    const flags = (line?.[2] ?? '').split(',');
    const healthy =
      line !== undefined &&
      flags.includes('master') &&
      !flags.some((flag) => ['fail', 'fail?', 'handshake', 'noaddr'].includes(flag)) &&
      line[7] === 'connected' &&
      line.length > 8;
    if (!healthy) {
      missing.push(line ? `${expected} (${line.slice(2).join(' ')})` : `${expected} (unknown)`);
      continue;
    }
    const id = line[0] as string;
    const known = ids.get(expected);
    if (known === undefined) ids.set(expected, id);
    else if (known !== id) missing.push(`${expected} (id ${id}, others say ${known})`);
  }
  return missing.length === 0 ? { ok: true, problem: '' } : { ok: false, problem: `does not know as a healthy master: ${missing.join(', ')}` };
}

async function waitForConvergence(ports: readonly number[]): Promise<void> {
  const until = Date.now() + CONVERGE_DEADLINE_MS;
  const problems = new Map<number, string>();
  for (;;) {
    const ids = new Map<number, string>();
    let allOk = true;
    for (const port of ports) {
      try {
        const view = await nodeView(port, ports, ids);
        if (view.ok) problems.delete(port);
        else problems.set(port, view.problem);
        allOk &&= view.ok;
      } catch (err) {
        problems.set(port, (err as Error).message);
        allOk = false;
      }
    }
    if (allOk) return;
    if (Date.now() >= until) {
      const report = [...problems].map(([port, problem]) => `  ${HOST}:${port}: ${problem}`).join('\n');
      throw new Error(`Redis Cluster did not converge within ${CONVERGE_DEADLINE_MS / 1000} s:\n${report}`);
    }
    await sleep(POLL_MS);
  }
}

export async function startTestRedisCluster(options: { masters?: number } = {}): Promise<TestRedisCluster> {
  const masters = options.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 3) throw new Error(`a Redis Cluster needs at least 3 masters (asked for ${masters})`);
  const dir = makeTempDir('rendercache-redis-cluster-');
  const nodes: RedisProcess[] = [];
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= Promise.all(nodes.map((node) => node.kill())).then(() => removeTempDir(dir));
    return closing;
  };
  try {
    const taken = new Set<number>();
    for (let i = 0; i < masters; i++) nodes.push(await startClusterNode(dir, taken));
    const ports = nodes.map((node) => node.port);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `${HOST}:${port}`), '--cluster-replicas', '0', '--cluster-yes'], 60_000);
    await waitForConvergence(ports);
    return {
      url: `redis://${HOST}:${ports[0]}`,
      nodes: ports.map((port) => ({ host: HOST, port })),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
