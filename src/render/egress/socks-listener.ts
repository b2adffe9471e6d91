import net from 'node:net';
import type { Duplex } from 'node:stream';
import { Socks5Server } from '@pondwader/socks5-server';

/** Where a client asked to connect: a host name or an IP literal, and a port. */
export interface SocksTarget {
  hostname: string;
  port: number;
}

/** The one decision: the address to connect to (checked), or a rejection that refuses the connection. */
export type Admit = (target: SocksTarget) => Promise<{ address: string }>;

/**
 * One SOCKS5 listener on 127.0.0.1 (CONNECT only, no authentication). The protocol is
 * @pondwader/socks5-server's; what may be reached is `admit`'s. Once a connection is
 * admitted its bytes are only piped, whatever they carry (plain HTTP, TLS, WebSocket).
 */
export class SocksListener {
  private constructor(
    private readonly server: net.Server,
    private readonly sockets: Set<net.Socket>,
    /** The proxy URL to give Chromium. */
    readonly url: string,
  ) {}

  static async start(admit: Admit): Promise<SocksListener> {
    const socks = new Socks5Server();
    socks.setConnectionHandler(({ socket, destAddress, destPort }, sendStatus) => {
      const target = { hostname: destAddress, port: destPort };
      socket.on('error', () => {});
      admit(target).then(
        ({ address }) => tunnel(socket, address, target.port, sendStatus),
        () => sendStatus('CONNECTION_NOT_ALLOWED'),
      );
    });
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socks._handleConnection(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new SocksListener(server, sockets, `socks5://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  }

  /** Stops listening and cuts every open tunnel. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }
}

type SocksStatus = 'REQUEST_GRANTED' | 'CONNECTION_REFUSED' | 'HOST_UNREACHABLE' | 'NETWORK_UNREACHABLE';

/** Connects to the admitted address, answers the client, then pipes both ways. */
function tunnel(client: Duplex, address: string, port: number, sendStatus: (status: SocksStatus) => void): void {
  const upstream = net.connect({ host: address, port, noDelay: true });
  let connected = false;
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    if (!connected) sendStatus(FAILED_CONNECT[err.code ?? ''] ?? 'HOST_UNREACHABLE');
    client.destroy();
  });
  upstream.on('connect', () => {
    connected = true;
    sendStatus('REQUEST_GRANTED');
    client.pipe(upstream).pipe(client);
  });
  client.on('close', () => upstream.destroy());
}

/** The SOCKS5 reply for a failed connect (RFC 1928, 6). */
const FAILED_CONNECT: Readonly<Record<string, SocksStatus>> = {
  ECONNREFUSED: 'CONNECTION_REFUSED',
  ENETUNREACH: 'NETWORK_UNREACHABLE',
};
