import type { RequestGuard } from '../../render/request-guard.js';

export interface FetchPolicy {
  siteOrigin: string;
  allowPrivateNetwork: boolean;
  userAgent: string;
  timeoutMs: number;
  maxBytes: number;
}

/** A fetch for discovery (sitemaps, robots.txt, crawl) with the renderer's address rules, redirects re-checked. */
export async function guardedFetch(url: string, guard: RequestGuard, policy: FetchPolicy): Promise<{ status: number; url: string; body: Buffer; contentType: string }> {
  let current = url;
  for (let hop = 0; hop <= 5; hop++) {
    const verdict = await guard.check(current, { siteOrigin: policy.siteOrigin, allowPrivateNetwork: policy.allowPrivateNetwork, isNavigation: true });
    if (!verdict.allow) throw new Error(`refused to fetch ${current}: ${verdict.reason}`);
    const res = await fetch(current, {
      redirect: 'manual',
      headers: { 'user-agent': policy.userAgent, 'x-prerender': '1' },
      signal: AbortSignal.timeout(policy.timeoutMs),
    });
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      current = new URL(location, current).href;
      continue;
    }
    const body = await readLimited(res, policy.maxBytes);
    return { status: res.status, url: current, body, contentType: res.headers.get('content-type') ?? '' };
  }
  throw new Error(`too many redirects from ${url}`);
}

async function readLimited(res: Response, maxBytes: number): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > maxBytes) throw new Error(`response larger than ${maxBytes} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
