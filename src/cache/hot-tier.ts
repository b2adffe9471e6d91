import { LRUCache } from 'lru-cache';
import type { ServableEntry } from './entry.js';

/**
 * What an entry costs besides its bodies: the header list, its strings and the Buffer
 * objects (measured ~1.4 KB per entry of a small page on Node 20).
 */
const ENTRY_OVERHEAD_BYTES = 1536;

/** Memory an entry keeps alive: the buffers behind its bodies, not only their lengths. */
export const retainedBytes = (key: string, e: ServableEntry) => e.gzip.buffer.byteLength + e.identity.buffer.byteLength + key.length * 2 + ENTRY_OVERHEAD_BYTES;

/**
 * The in-memory tier in front of the store, bounded by bytes. Serving a hit from here
 * costs no I/O and no decompression.
 */
export class HotTier {
  private readonly entries: LRUCache<string, ServableEntry> | null;

  constructor(maxBytes: number) {
    this.entries = maxBytes > 0 ? new LRUCache<string, ServableEntry>({ maxSize: maxBytes, sizeCalculation: (e, key) => retainedBytes(key, e) }) : null;
  }

  get(key: string): ServableEntry | undefined {
    return this.entries?.get(key);
  }

  set(key: string, entry: ServableEntry): void {
    this.entries?.set(key, entry);
  }

  delete(key: string): void {
    this.entries?.delete(key);
  }

  /** Drops every entry whose key passes `test`; how many. */
  deleteWhere(test: (key: string) => boolean): number {
    if (!this.entries) return 0;
    // Collected first: the LRU is not changed while it is being walked.
    const doomed: string[] = [];
    for (const key of this.entries.keys()) if (test(key)) doomed.push(key);
    for (const key of doomed) this.entries.delete(key);
    return doomed.length;
  }

  clear(): void {
    this.entries?.clear();
  }

  /** Bytes counted against the bound. */
  get countedBytes(): number {
    return this.entries?.calculatedSize ?? 0;
  }
}
