import { createHash, randomUUID } from 'node:crypto';
import type Keyv from 'keyv';
import type { Logger } from '../observability/logger.js';
import { freshSince, isStoredEntry, toServable, toStoredEntry, verifiedEntry, type RenderedPage, type ServableEntry } from './entry.js';
import type { HotTier } from './hot-tier.js';
import { keyPrefix, matchesKey, matchesUrl, type PurgeMatch } from './purge-match.js';
import { connectStore, deleteKeys, keysWithPrefix } from './store.js';
import { withTimeout } from './with-timeout.js';

export interface PageCacheOptions {
  commandTimeoutMs: number;
  /** Entries older than this are stale: served, and re-rendered in the background. */
  staleAfterMs: number;
}

export interface RenderFailureRecord {
  url: string;
  at: string;
  kind: string;
  detail: string;
}

/** A stored render: `writeError` is null only when the entry is durably in the store. */
export interface PutResult {
  entry: ServableEntry;
  writeError: string | null;
}

/** hit: fresh; stale: old or a later render failed (still served); miss: nothing usable. */
export type CacheState = 'hit' | 'stale' | 'miss';

/**
 * The bot-facing cache: a hot in-memory tier in front of a Keyv store. A store that
 * fails or is slow reads as a miss and is logged; it never fails a request.
 * Only successful renders are written; a failure is recorded beside the entry. A write
 * that fails is reported to the caller: a refresh must not call such a page done.
 */
export class PageCache {
  private readonly writeListeners: Array<(key: string) => void> = [];
  private readonly purgeListeners: Array<(match: PurgeMatch) => void> = [];
  /** Counts purges begun and ended: a store read that overlapped one does not fill the hot tier. */
  private purgeGeneration = 0;

  constructor(
    private readonly store: Keyv,
    private readonly hot: HotTier,
    private readonly options: PageCacheOptions,
    private readonly logger: Logger,
  ) {
    store.on('error', (err: unknown) => logger.error({ err: errorMessage(err) }, 'cache store error'));
  }

  /** Hot tier only: the crawler fast path. */
  peek(key: string): ServableEntry | undefined {
    return this.hot.get(key);
  }

  async get(key: string): Promise<ServableEntry | undefined> {
    const hot = this.hot.get(key);
    if (hot) return hot;
    const generation = this.purgeGeneration;
    const [value, failure] = await Promise.all([this.read(pageKey(key)), this.read(failureKey(key))]);
    if (value === undefined) return undefined;
    if (!isStoredEntry(value)) {
      this.logger.error({ url: key }, 'ignoring a malformed cache entry');
      return undefined;
    }
    const servable = toServable(value);
    if (isFailureRecord(failure) && Date.parse(failure.at) > servable.renderedAtMs) servable.failedAtMs = Date.parse(failure.at);
    // Read before a purge dropped it: served this once, not kept.
    if (generation === this.purgeGeneration) this.hot.set(key, servable);
    return servable;
  }

  /**
   * Stores a successful render (store first, then the hot tier). When the store write
   * fails the entry is still kept in the hot tier (a lookup can serve it), and the
   * result says why it is not durable.
   */
  async put(key: string, page: RenderedPage): Promise<PutResult> {
    const stored = toStoredEntry(page);
    const entry = toServable(stored);
    let writeError: string | null = null;
    try {
      await withTimeout(this.store.set(pageKey(key), stored), this.options.commandTimeoutMs * 4, 'cache write');
    } catch (err) {
      writeError = errorMessage(err);
      this.logger.error({ url: key, err: writeError }, 'cache write failed; the page is kept in memory only');
    }
    if (writeError === null) {
      // An older failure record is ignored anyway (get compares times): no need to fail on it.
      await withTimeout(this.store.delete(failureKey(key)), this.options.commandTimeoutMs, 'cache write').catch((err: unknown) =>
        this.logger.warn({ url: key, err: errorMessage(err) }, 'could not clear a failure record'),
      );
    }
    this.hot.set(key, entry);
    // Other instances drop their hot copy only when the store holds the new one.
    if (writeError === null) this.notifyWrite(key);
    return { entry, writeError };
  }

  /**
   * Records that a refresh found the entry's inputs unchanged: the same content, fresh from
   * now. Null when the store did not take it (the caller renders the page instead: work is
   * done only once it is durable).
   */
  async markVerified(key: string, entry: ServableEntry): Promise<ServableEntry | null> {
    const stored = verifiedEntry(entry);
    try {
      await withTimeout(this.store.set(pageKey(key), stored), this.options.commandTimeoutMs * 4, 'cache write');
    } catch (err) {
      this.logger.error({ url: key, err: errorMessage(err) }, 'could not record a verified page');
      return null;
    }
    const verified = toServable(stored);
    this.hot.set(key, verified);
    this.notifyWrite(key);
    return verified;
  }

  /** Called after every write of a URL (so other instances can drop their hot copy). */
  onWrite(listener: (key: string) => void): void {
    this.writeListeners.push(listener);
  }

  private notifyWrite(key: string): void {
    for (const listener of this.writeListeners) listener(key);
  }

  /** Records a failed render; the entry already cached stays and is served as stale. */
  async recordFailure(key: string, failure: { kind: string; detail: string }): Promise<void> {
    const record: RenderFailureRecord = { url: key, at: new Date().toISOString(), ...failure };
    const hot = this.hot.get(key);
    if (hot) hot.failedAtMs = Date.parse(record.at);
    try {
      await withTimeout(this.store.set(failureKey(key), record), this.options.commandTimeoutMs, 'cache write');
      this.notifyWrite(key);
    } catch (err) {
      this.logger.error({ url: key, err: errorMessage(err) }, 'could not record a render failure');
    }
  }

  async lastFailure(key: string): Promise<RenderFailureRecord | undefined> {
    const value = await this.read(failureKey(key));
    return isFailureRecord(value) ? value : undefined;
  }

  stateOf(entry: ServableEntry, now = Date.now()): CacheState {
    if (entry.failedAtMs !== null) return 'stale';
    return now - entry.freshSinceMs > this.options.staleAfterMs ? 'stale' : 'hit';
  }

  /** Drops a URL from this process's hot tier (another instance rewrote it). */
  forgetLocal(key: string): void {
    this.hot.delete(key);
  }

  /**
   * Removes every variant of every page URL the match names: the entries and failure
   * records in the store, then this instance's hot tier (also entries that are only
   * there), and tells the other instances to drop theirs (onPurge), also when the store
   * fails part way (the error is thrown after). The store is read in batches: memory is
   * bounded by a batch whatever the size of the cache. Resolves to the number of entries
   * removed from the store.
   */
  async purge(match: PurgeMatch): Promise<number> {
    this.purgeGeneration += 1;
    try {
      let deleted = 0;
      const prefix = keyPrefix(match);
      if (prefix !== null) {
        deleted += await this.purgeKeys(`page:${prefix}`, (keys) => keys.filter((key) => matchesKey(match, key.slice('page:'.length))));
        await this.purgeKeys(`fail:${prefix}`, (keys) => keys.filter((key) => matchesKey(match, key.slice('fail:'.length))));
      }
      // Keys of long URLs are digests: the URL is only in the value (an entry's url has no variant, a failure's has).
      deleted += await this.purgeKeys(`page:${HASHED}`, (keys) => this.hashedMatches(keys, (value) => isStoredEntry(value) && matchesUrl(match, value.url)));
      await this.purgeKeys(`fail:${HASHED}`, (keys) => this.hashedMatches(keys, (value) => isFailureRecord(value) && matchesKey(match, value.url)));
      return deleted;
    } catch (err) {
      this.logger.error({ match, err: errorMessage(err) }, 'cache purge failed part way');
      throw err;
    } finally {
      this.forgetMatching(match);
      for (const listener of this.purgeListeners) listener(match);
    }
  }

  /** Called after every purge (so other instances can drop their hot copies). */
  onPurge(listener: (match: PurgeMatch) => void): void {
    this.purgeListeners.push(listener);
  }

  /** Drops what a purge names from this process's hot tier (a purge here or on another instance); how many. */
  forgetMatching(match: PurgeMatch): number {
    this.purgeGeneration += 1;
    return this.hot.deleteWhere((key) => matchesKey(match, key));
  }

  /** Deletes, batch by batch, the store keys under `prefix` that `pick` picks; how many were there. */
  private async purgeKeys(prefix: string, pick: (keys: string[]) => string[] | Promise<string[]>): Promise<number> {
    let deleted = 0;
    for await (const batch of keysWithPrefix(this.store, prefix, PURGE_SCAN_BATCH)) {
      const doomed = await pick(batch);
      deleted += await withTimeout(deleteKeys(this.store, doomed), this.options.commandTimeoutMs * 4, 'cache purge');
    }
    return deleted;
  }

  /** The hashed keys whose stored value passes `test`, read a few at a time (each value may hold a page). */
  private async hashedMatches(keys: string[], test: (value: unknown) => boolean): Promise<string[]> {
    const picked: string[] = [];
    for (let at = 0; at < keys.length; at += PURGE_VALUE_BATCH) {
      const chunk = keys.slice(at, at + PURGE_VALUE_BATCH);
      const values: unknown[] = await withTimeout(this.store.getMany(chunk), this.options.commandTimeoutMs * 4, 'cache purge read');
      chunk.forEach((key, i) => {
        if (test(values[i])) picked.push(key);
      });
    }
    return picked;
  }

  /**
   * Since when each entry's content is known current (rendered or verified), ms; null for a
   * key with no entry. Read in batches without inflating the HTML; a store that fails reads
   * as no entry (the page is then due).
   */
  async freshSinceOf(keys: readonly string[]): Promise<Array<number | null>> {
    const found: Array<number | null> = [];
    for (let at = 0; at < keys.length; at += PURGE_SCAN_BATCH) {
      const chunk = keys.slice(at, at + PURGE_SCAN_BATCH);
      const fromStore = chunk.map((key) => (this.hot.get(key) ? null : pageKey(key)));
      const wanted = fromStore.filter((k): k is string => k !== null);
      const values: unknown[] =
        wanted.length === 0
          ? []
          : await withTimeout(this.store.getMany(wanted), this.options.commandTimeoutMs * 4, 'cache read').catch(() => wanted.map(() => undefined));
      let next = 0;
      for (const key of chunk) {
        const hot = this.hot.get(key);
        found.push(hot ? hot.freshSinceMs : freshSinceOfStored(values[next++]));
      }
    }
    return found;
  }

  /**
   * Every entry of the pages under `urlPrefix` (a site's origin and base path), as (cache key,
   * since when fresh), read in batches: for reports over a whole site. (Pages whose
   * URL is over 512 characters are keyed by a digest and not among them.)
   */
  async *entriesUnder(urlPrefix: string): AsyncGenerator<Array<{ key: string; freshSinceMs: number }>> {
    for await (const keys of keysWithPrefix(this.store, `page:${urlPrefix}`, PURGE_SCAN_BATCH)) {
      const values: unknown[] = await withTimeout(this.store.getMany(keys), this.options.commandTimeoutMs * 4, 'cache read');
      const batch: Array<{ key: string; freshSinceMs: number }> = [];
      keys.forEach((key, i) => {
        const since = freshSinceOfStored(values[i]);
        if (since !== null) batch.push({ key: key.slice('page:'.length), freshSinceMs: since });
      });
      yield batch;
    }
  }

  /** Readiness: does the store answer? */
  async ping(): Promise<boolean> {
    try {
      await withTimeout(this.store.get('__ping__'), this.options.commandTimeoutMs, 'cache ping');
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Connects the store and proves it with a write read back. Called before the instance
   * takes work: Redis connects lazily, and while it connects (no offline queue) every
   * write fails at once with "The client is offline".
   */
  async connect(): Promise<void> {
    const timeoutMs = this.options.commandTimeoutMs * 4;
    await withTimeout(connectStore(this.store), timeoutMs, 'cache store connect');
    const probe = { nonce: randomUUID() };
    const probeKey = `ready:${probe.nonce}`;
    await withTimeout(this.store.set(probeKey, probe, 60_000), timeoutMs, 'cache store write');
    const back: unknown = await withTimeout(this.store.get(probeKey), timeoutMs, 'cache store read');
    if ((back as typeof probe | undefined)?.nonce !== probe.nonce) throw new Error('cache store: a written value did not read back');
    await this.store.delete(probeKey).catch(() => {});
  }

  async close(): Promise<void> {
    await this.store.disconnect().catch(() => {});
  }

  private async read(key: string): Promise<unknown> {
    try {
      return await withTimeout(this.store.get(key), this.options.commandTimeoutMs, 'cache read');
    } catch (err) {
      this.logger.error({ key, err: errorMessage(err) }, 'cache read failed; answering as a miss');
      return undefined;
    }
  }
}

/** Store keys stay short whatever the URL length. */
const HASHED = 'sha256:';
const storeKey = (prefix: string, url: string) =>
  url.length <= 512 ? `${prefix}:${url}` : `${prefix}:${HASHED}${createHash('sha256').update(url).digest('hex')}`;
/** Store keys a purge lists at once, and stored values it reads at once (each may hold a page). */
const PURGE_SCAN_BATCH = 500;
const PURGE_VALUE_BATCH = 16;
const pageKey = (url: string) => storeKey('page', url);
const failureKey = (url: string) => storeKey('fail', url);

const freshSinceOfStored = (value: unknown): number | null => (isStoredEntry(value) ? freshSince(value) : null);

function isFailureRecord(value: unknown): value is RenderFailureRecord {
  return typeof value === 'object' && value !== null && typeof (value as RenderFailureRecord).at === 'string';
}

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));
