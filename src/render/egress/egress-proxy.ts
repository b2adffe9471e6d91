import net from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import type { Logger } from '../../observability/logger.js';
import { EgressRefused, egressKey, isSiteOrigin, pinAddress, portOf, systemResolver, type EgressPolicy, type HostResolver } from './egress-policy.js';
import { SocksListener, type Admit, type SocksTarget } from './socks-listener.js';

export interface EgressProxyOptions {
  logger: Logger;
  /** Name resolution; tests inject answers that change between calls (DNS rebinding). */
  resolve?: HostResolver;
}

/**
 * The one egress guard. Every connection Chromium makes (pages, workers, service
 * workers, popups, prefetch, WebRTC over TCP) goes through a local SOCKS5 proxy. Each
 * policy has a listener of its own on 127.0.0.1, so a connection is judged by the site
 * whose context opened it, and a late beacon of a finished render is still judged by its
 * own site. SOCKS5 hands the host name to the proxy (Chromium resolves no host itself but
 * the site's own origin, which bypasses the guard: see BrowserPool), and once a connection
 * is admitted its bytes are only piped: the guard costs per connection, not per request. Every fetch Node makes for a site goes through a
 * dispatcher of its policy that applies the same check when it connects. Either way, each
 * connection's host is resolved once, every address is checked, and the connection goes
 * to the checked address only.
 */
export class EgressProxy {
  private readonly listeners = new Map<string, Promise<SocksListener>>();
  private readonly dispatchers = new Map<string, Agent>();
  private denyAll: Promise<SocksListener> | null = null;
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
      listener = this.listen((target) => this.admit(policy, target));
      this.listeners.set(key, listener);
    }
    return (await listener).url;
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
      const target = { protocol, hostname: options.hostname, port: portOf(protocol, options.port) } as const;
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
    this.denyAll ??= this.listen(({ hostname, port }) => Promise.reject(new EgressRefused(`${hostname}:${port}: no site's render made this request`)));
    return (await this.denyAll).url;
  }

  async close(): Promise<void> {
    this.closed = true;
    const dispatchers = [...this.dispatchers.values()];
    this.dispatchers.clear();
    await Promise.all(dispatchers.map((d) => d.close()));
    const listeners = [...this.listeners.values(), ...(this.denyAll ? [this.denyAll] : [])];
    this.listeners.clear();
    this.denyAll = null;
    await Promise.all(listeners.map(async (l) => (await l.catch(() => null))?.close()));
  }

  private async admit(policy: EgressPolicy, target: SocksTarget): Promise<{ address: string }> {
    try {
      // A tunnel carries TLS or plain bytes alike: host and port decide.
      return await pinAddress({ ...target, isSiteOrigin: isSiteOrigin(policy, { protocol: 'tunnel', ...target }) }, policy, this.resolve);
    } catch (err) {
      if (err instanceof EgressRefused) this.refused(policy, target, err);
      else
        this.options.logger.warn(
          { site: policy.siteOrigin, target: `${target.hostname}:${target.port}`, err: String(err) },
          'egress check failed; connection refused',
        );
      throw err;
    }
  }

  private async listen(admit: Admit): Promise<SocksListener> {
    if (this.closed) throw new Error('the egress proxy is closed');
    return SocksListener.start(admit);
  }
}

/** The TLS server name of a host: none for an IP address (SNI carries names only). */
const serverName = (hostname: string): string | undefined => (net.isIP(hostname.replace(/^\[|\]$/g, '')) ? undefined : hostname);
