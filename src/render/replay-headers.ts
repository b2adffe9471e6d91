// The headers of an origin or of a page's `<meta name="prerender-header">` that are replayed
// to crawlers: names of the allow-list in config/replayable-headers (why each header is or is
// not on it is written there), with values that can be written as they are.
import { REPLAYABLE_HEADERS } from '../config/replayable-headers.js';

const allowed = new Set(REPLAYABLE_HEADERS);

/**
 * Longest value replayed: Node's HTTP clients (prerender-node among them) refuse answers
 * whose headers pass 16 KiB, so one page must not fill that with a header.
 */
const MAX_VALUE_BYTES = 4096;

/** Characters Node accepts in a header value; anything else throws at write time. */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * The replayable part of a header record: allow-listed names (lower-case), values that can
 * be written as they are. A name given twice in different cases keeps its last value.
 */
export function replayableHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawName, rawValue] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    if (!allowed.has(name) || typeof rawValue !== 'string') continue;
    const value = rawValue.trim();
    if (value === '' || INVALID_VALUE.test(value) || Buffer.byteLength(value) > MAX_VALUE_BYTES) continue;
    out[name] = value;
  }
  return out;
}
