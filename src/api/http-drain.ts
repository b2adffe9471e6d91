import type http from 'node:http';
import type { Socket } from 'node:net';

/**
 * Ends an HTTP server's connections without cutting an answer short. Crawlers keep
 * connections alive for a minute: waiting for them to go idle by themselves would hold
 * a stop until the process is killed.
 */
export class HttpDrain {
  private draining = false;
  private readonly inFlight = new Set<http.ServerResponse>();

  constructor(private readonly server: http.Server) {}

  /** Called for every request: once draining, its answer is the last on its connection. */
  track(res: http.ServerResponse): void {
    this.inFlight.add(res);
    res.once('close', () => this.inFlight.delete(res));
    if (this.draining) closeAfter(res);
  }

  /**
   * Stops accepting, closes idle connections now and every other one as its answer ends
   * (`Connection: close`). Connections still open after `graceMs` are cut.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    for (const res of this.inFlight) closeAfter(res);
    const cut = setTimeout(() => this.server.closeAllConnections(), graceMs);
    try {
      await closed;
    } finally {
      clearTimeout(cut);
    }
  }
}

function closeAfter(res: http.ServerResponse): void {
  // Node honours the header: it ends the connection after this answer.
  if (!res.headersSent) res.setHeader('connection', 'close');
  // Headers already out (or dropped by an error handler): end the connection ourselves.
  // The socket is taken now: Node detaches it from the answer when the answer finishes.
  const socket: Socket | null = res.socket;
  res.once('finish', () => socket?.end());
}
