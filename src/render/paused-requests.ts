import type { HTTPRequest, Page } from 'puppeteer';

/** How a render answers a paused request. */
export type RequestAnswer = { action: 'continue'; headers?: Record<string, string> } | { action: 'abort' };

/**
 * Answers a request paused by request interception. A dedicated worker's request is
 * paused by its page's Fetch domain, but puppeteer may file it under the worker's own
 * session and answer it there; Chromium refuses the id there and puppeteer swallows the
 * error, so the request would stay paused for ever (seen: a worker's fetch never sent,
 * one time in two under load). When puppeteer's answer did not take, the same answer is
 * sent on the page's own session.
 */
export async function answerPausedRequest(page: Page, request: HTTPRequest, answer: RequestAnswer): Promise<void> {
  if (answer.action === 'abort') await request.abort('blockedbyclient');
  else await request.continue(answer.headers ? { headers: answer.headers } : {});
  if (request.isInterceptResolutionHandled()) return;
  const interceptionId = (request as unknown as { _interceptionId?: string })._interceptionId;
  const session = (page as unknown as { _client?: () => { send(method: string, params: object): Promise<unknown> } })._client?.();
  if (!interceptionId || !session) return;
  if (answer.action === 'abort') {
    await session.send('Fetch.failRequest', { requestId: interceptionId, errorReason: 'BlockedByClient' }).catch(() => {});
  } else {
    const headers = answer.headers ? Object.entries(answer.headers).map(([name, value]) => ({ name, value })) : undefined;
    await session.send('Fetch.continueRequest', { requestId: interceptionId, ...(headers ? { headers } : {}) }).catch(() => {});
  }
}
