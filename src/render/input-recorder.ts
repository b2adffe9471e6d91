import { createHash } from 'node:crypto';
import type { HTTPResponse } from 'puppeteer';
import type { InputRecord } from './types.js';

/** The resource types whose content shapes the HTML; images and fonts do not. */
const INPUT_TYPES = new Set(['document', 'script', 'stylesheet', 'xhr', 'fetch']);

/** Beyond this a page is not revalidated: checking it would cost about what rendering does. */
const MAX_INPUTS = 200;

/** A body hash is given up after this (the page is then rendered on every refresh). */
const HASH_WAIT_MS = 2000;

/** sha-1, base64url, 16 characters: enough to tell two versions of one input apart. */
export const bodyHash = (body: Uint8Array): string => createHash('sha1').update(body).digest('base64url').slice(0, 16);

/**
 * The input manifest of one render, from the responses Chromium received: each input's URL,
 * status and validators, or a hash of its body when it has none. A page that loaded an input
 * by another method than GET cannot be revalidated from outside: it has no manifest.
 */
export class InputRecorder {
  private readonly inputs = new Map<string, InputRecord>();
  private readonly hashes: Promise<void>[] = [];
  private revalidatable = true;

  constructor(private readonly origin: string) {}

  record(response: HTTPResponse): void {
    const request = response.request();
    if (!this.revalidatable || !INPUT_TYPES.has(request.resourceType())) return;
    const status = response.status();
    if (status >= 300 && status < 400) return; // the redirect's target is the input
    if (request.method() !== 'GET') {
      this.revalidatable = false;
      return;
    }
    const url = response.url();
    if (this.inputs.size >= MAX_INPUTS) {
      this.revalidatable = false;
      return;
    }
    const headers = response.headers();
    const input: InputRecord = { u: url.startsWith(`${this.origin}/`) ? url.slice(this.origin.length) : url, s: status };
    if (headers['etag']) input.e = headers['etag'];
    if (headers['last-modified']) input.l = headers['last-modified'];
    this.inputs.set(url, input);
    if (input.e === undefined && input.l === undefined) {
      this.hashes.push(
        response.buffer().then(
          (body) => void (input.h = bodyHash(body)),
          () => void (this.revalidatable = false),
        ),
      );
    }
  }

  /** The manifest, once every body hash is in; null when the page cannot be revalidated. */
  async finish(): Promise<InputRecord[] | null> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), HASH_WAIT_MS)));
    const done = await Promise.race([Promise.all(this.hashes).then(() => true), gaveUp]);
    clearTimeout(timer);
    if (!done || !this.revalidatable || this.inputs.size === 0) return null;
    const inputs = [...this.inputs.values()];
    // Every input needs a validator or a hash: one without either could change unseen.
    return inputs.every((i) => i.e !== undefined || i.l !== undefined || i.h !== undefined) ? inputs : null;
  }
}
