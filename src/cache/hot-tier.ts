import { LRUCache } from 'lru-cache';
import type { ServableEntry } from './entry.js';

/**
 * The in-memory tier in front of the store, bounded by bytes. Serving a hit from here
 * costs no I/O and no decompression.
 */
export class HotTier {
  private readonly entries: LRUCache<string, ServableEntry> | null;

  constructor(maxBytes: number) {
    this.entries = maxBytes > 0
      ? new LRUCache<string, ServableEntry>({
          maxSize: maxBytes,
          sizeCalculation: (e) => Math.max(1, e.gzip.length + e.identity.length + 512),
        })
      : null;
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

  clear(): void {
    this.entries?.clear();
  }
}
