import type { IncomingHttpHeaders } from 'node:http';
import { LRUCache } from 'lru-cache';
import UAParser from 'ua-parser-js';
import { variantKey } from '../cache/key.js';
import { errors } from '../api/errors.js';

/** The header that names a variant outright (an edge that knows better than the User-Agent). */
export const DEVICE_HEADER = 'x-rendercache-device';

/** The query parameter that names a variant (prerender.io's "adaptive type"); never part of the page URL. */
export const DEVICE_PARAM = '_device';

/** What answers from a site with several variants vary by, beside Accept-Encoding. */
export const DEVICE_VARY = ['User-Agent', 'X-Rendercache-Device'] as const;

/**
 * The variants a device class may be served, in order of preference: a phone gets `mobile`,
 * a tablet `tablet`, else `mobile`. Anything else (desktops, and crawlers that say nothing
 * of a device, as Googlebot desktop) gets the site's first variant.
 */
const PREFERRED: Readonly<Record<string, readonly string[]>> = {
  mobile: ['mobile'],
  wearable: ['mobile'],
  tablet: ['tablet', 'mobile'],
};

// Crawlers send a handful of User-Agents: parsing each once keeps lookups at a map read.
const deviceClasses = new LRUCache<string, string>({ max: 2000 });

/** The device class a User-Agent announces ('mobile', 'tablet', …), or '' when it names none. */
export function deviceClassOf(userAgent: string): string {
  let found = deviceClasses.get(userAgent);
  if (found === undefined) {
    found = new UAParser(userAgent).getDevice().type ?? '';
    deviceClasses.set(userAgent, found);
  }
  return found;
}

/**
 * The variant of a site's pages a lookup gets, the rule in one place: the variant named by
 * X-Rendercache-Device, else by `?_device=`, else the one the User-Agent's device class
 * prefers, else the site's first. A named variant the site does not render is a 400.
 */
export function pickVariant(variants: readonly string[], named: string | null, headers: IncomingHttpHeaders): string {
  const header = headers[DEVICE_HEADER];
  const explicit = typeof header === 'string' && header !== '' ? header.toLowerCase() : named?.toLowerCase();
  if (explicit !== undefined && explicit !== '') {
    if (variants.includes(explicit)) return explicit;
    throw errors.unknownDevice(`This site renders no "${explicit.slice(0, 32)}" variant; its variants: ${variants.join(', ')}.`);
  }
  const first = variants[0] as string;
  if (variants.length === 1) return first;
  const preferred = PREFERRED[deviceClassOf(headers['user-agent'] ?? '')] ?? [];
  return preferred.find((v) => variants.includes(v)) ?? first;
}

/** A lookup's page and variant, and the cache key they make. */
export interface VariantTarget {
  url: string;
  variant: string;
  key: string;
}

export const variantTarget = (url: string, variant: string): VariantTarget => ({ url, variant, key: variantKey(url, variant) });
