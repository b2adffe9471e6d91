import http from 'node:http';
import net, { type LookupFunction } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { RequestError, Server, type PrepareRequestFunctionOpts, type PrepareRequestFunctionResult } from 'proxy-chain';
import type { Logger } from '../../observability/logger.js';
import {
  EgressRefused,
  egressKey,
  isSiteOrigin,
  pinAddress,
  systemResolver,
  type EgressPolicy,
  type HostResolver,
  type PinnedAddress,
} from './egress-policy.js';

export interface EgressProxyOptions {
  logger: Logger;
  /** Name resolution; tests inject answers that change between calls (DNS rebinding). */
  resolve?: HostResolver;
}

/**
 * The one egress guard. Every connection Chromium makes (pages, workers, service
 * workers, popups, prefetch, WebRTC over TCP) goes through a local forward proxy (plain
 * HTTP and CONNECT, by proxy-chain). Each policy has a listener of its own on 127.0.0.1, so
 * a connection is judged by the site whose context opened it, and a late beacon of a
 * finished render is still judged by its own site. Every fetch Node makes for a site goes
 * through a dispatcher of its policy that applies the same check when it connects. Either
 * way, each connection's host is resolved once, every address is checked, and the
 * connection goes to the checked address only.
 */
export class EgressProxy {
  private readonly listeners = new Map<string, Promise<Server>>();
  private readonly dispatchers = new Map<string, Agent>();
  private denyAll: Promise<Server> | null = null;
  private readonly resolve: HostResolver;
  private closed = false;

  constructor(private readonly options: EgressProxyOptions) {
    this.resolve = options.resolve ?? systemResolver;
  }

  /** The proxy URL through which this policy's connections must go. */
  async urlFor(policy: EgressPolicy): Promise<string> {
    const key = egressKey(policy);
    let listener = this.listeners.get(key);
    if (!listener) {
      listener = this.listen((opts) => this.admit(policy, opts));
      this.listeners.set(key, listener);
    }
    return proxyUrl(await listener);
  }

  /**
   * An undici dispatcher for Node's own fetches of a site (discovery, revalidation), judged
   * by the same check as the proxy's connections (pinAddress): each connection's host is
   * resolved once, every address checked, and the socket opened to the checked address.
   * Node needs no proxy hop for that: the check runs in the dispatcher's connector. Its
   * keep-alive sockets are its policy's alone.
   */
  dispatcherFor(policy: EgressPolicy): Dispatcher {
    if (this.closed) throw new Error('the egress proxy is closed');
    const key = egressKey(policy);
    let dispatcher = this.dispatchers.get(key);
    if (!dispatcher) {
      dispatcher = new Agent({ connect: this.guardedConnector(policy) });
      this.dispatchers.set(key, dispatcher);
    }
    return dispatcher;
  }

  private guardedConnector(policy: EgressPolicy): buildConnector.connector {
    const connect = buildConnector({});
    return (options, callback) => {
      const protocol = options.protocol === 'https:' ? 'https:' : 'http:';
      const target = { protocol, hostname: options.hostname, port: Number(options.port || (protocol === 'https:' ? 443 : 80)) } as const;
      pinAddress({ hostname: target.hostname, port: target.port, isSiteOrigin: isSiteOrigin(policy, target) }, policy, this.resolve).then(
        // The checked address, and no second lookup; TLS still names the host (SNI, certificate).
        (pinned) => connect({ ...options, hostname: pinned.address, servername: options.servername ?? serverName(options.hostname) }, callback),
        (err: unknown) => {
          if (err instanceof EgressRefused) this.refused(policy, target, err);
          callback(err instanceof Error ? err : new Error(String(err)), null);
        },
      );
    };
  }

  private refused(policy: EgressPolicy, target: { hostname: string; port: number }, err: EgressRefused): void {
    this.options.logger.info({ site: policy.siteOrigin, target: `${target.hostname}:${target.port}`, reason: err.message }, 'egress refused');
  }

  /** A proxy that refuses every connection: for traffic that belongs to no site. */
  async denyAllUrl(): Promise<string> {
    this.denyAll ??= this.listen(({ hostname, port }) => {
      throw new RequestError(`${hostname}:${port}: no site's render made this request`, 403);
    });
    return proxyUrl(await this.denyAll);
  }

  async close(): Promise<void> {
    this.closed = true;
    const dispatchers = [...this.dispatchers.values()];
    this.dispatchers.clear();
    await Promise.all(dispatchers.map((d) => d.close()));
    for (const agent of this.agents.values()) agent.destroy();
    const servers = [...this.listeners.values(), ...(this.denyAll ? [this.denyAll] : [])];
    this.listeners.clear();
    this.denyAll = null;
    await Promise.all(servers.map(async (s) => (await s.catch(() => null))?.close(true)));
  }

  private async admit(policy: EgressPolicy, opts: PrepareRequestFunctionOpts): Promise<PrepareRequestFunctionResult> {
    const target = describeTarget(opts);
    try {
      const pinned = await pinAddress({ hostname: target.hostname, port: target.port, isSiteOrigin: isSiteOrigin(policy, target) }, policy, this.resolve);
      return { dnsLookup: pinnedLookup(pinned) as PrepareRequestFunctionResult['dnsLookup'], httpAgent: this.agentFor(policy) };
    } catch (err) {
      if (!(err instanceof EgressRefused)) throw err;
      this.refused(policy, target, err);
      throw new RequestError(`refused by rendercache: ${err.message}`, 403);
    }
  }

  /** Keep-alive sockets of one policy: a socket is only ever reused under the policy that checked it. */
  private readonly agents = new Map<string, http.Agent>();
  private agentFor(policy: EgressPolicy): http.Agent {
    const key = egressKey(policy);
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, maxFreeSockets: 16 });
      this.agents.set(key, agent);
    }
    return agent;
  }

  private async listen(prepare: (opts: PrepareRequestFunctionOpts) => Promise<PrepareRequestFunctionResult> | PrepareRequestFunctionResult): Promise<Server> {
    if (this.closed) throw new Error('the egress proxy is closed');
    const server = new Server({ host: '127.0.0.1', port: 0, prepareRequestFunction: prepare, verbose: false });
    server.on('requestFailed', ({ error }: { error: Error }) => this.options.logger.warn({ err: error.message }, 'egress proxy request failed'));
    await server.listen();
    return server;
  }
}

/** Scheme, host and port of what the client asked for: absolute-form HTTP, or a CONNECT tunnel. */
function describeTarget(opts: PrepareRequestFunctionOpts): { protocol: 'http:' | 'https:' | 'tunnel'; hostname: string; port: number } {
  if (!opts.isHttp) return { protocol: 'tunnel', hostname: opts.hostname, port: opts.port };
  let url: URL;
  try {
    url = new URL(opts.request.url ?? '');
  } catch {
    throw new RequestError('the egress proxy takes absolute-form requests only', 400);
  }
  if (url.protocol !== 'http:') throw new RequestError(`${url.protocol} is not proxied`, 400);
  return { protocol: 'http:', hostname: url.hostname, port: Number(url.port || 80) };
}

/** A dns.lookup stand-in that answers the checked address and never resolves again. */
function pinnedLookup(pinned: PinnedAddress): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  }) as LookupFunction;
}

const proxyUrl = (server: Server) => `http://127.0.0.1:${server.port}`;

/** The TLS server name of a host: none for an IP address (SNI carries names only). */
const serverName = (hostname: string): string | undefined => (net.isIP(hostname.replace(/^\[|\]$/g, '')) ? undefined : hostname);
