import { isPurgeMatch, type PurgeMatch } from '../../cache/purge-match.js';
import type { RedisConnection } from '../../redis/redis-connection.js';
import type { Logger } from '../../observability/logger.js';

/**
 * What one instance tells the others: a page was rewritten, pages were purged (the match,
 * not the keys: one message whatever the number of pages), a site's state changed.
 */
export type BusMessage = { kind: 'page'; key: string } | { kind: 'purge'; match: PurgeMatch } | { kind: 'site'; siteId: string };

/**
 * Redis pub/sub between instances. Each keeps a hot tier and site state in memory;
 * these messages keep them true when another instance writes.
 */
export class ClusterBus {
  private readonly handlers: Array<(message: BusMessage) => void> = [];

  constructor(
    private readonly publisher: RedisConnection,
    private readonly subscriber: RedisConnection,
    private readonly channel: string,
    private readonly instanceId: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, raw: string) => {
      if (channel !== this.channel) return;
      const parsed = parseMessage(raw);
      if (!parsed || parsed.from === this.instanceId) return;
      for (const handler of this.handlers) handler(parsed.message);
    });
    await this.subscriber.subscribe(this.channel);
  }

  onMessage(handler: (message: BusMessage) => void): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }

  /** Best effort: a lost message leaves a hot entry until it is rewritten or evicted. */
  publish(message: BusMessage): void {
    this.publisher.publish(this.channel, JSON.stringify({ from: this.instanceId, message })).catch((err: unknown) => {
      this.logger.warn({ err: String(err), message }, 'could not tell the other instances');
    });
  }
}

function parseMessage(raw: string): { from: string; message: BusMessage } | undefined {
  try {
    const value = JSON.parse(raw) as { from?: unknown; message?: { kind?: unknown; match?: unknown } };
    if (typeof value.from !== 'string' || !value.message) return undefined;
    if (value.message.kind === 'page' || value.message.kind === 'site') return value as { from: string; message: BusMessage };
    if (value.message.kind === 'purge' && isPurgeMatch(value.message.match)) return value as { from: string; message: BusMessage };
  } catch {
    /* not ours */
  }
  return undefined;
}
