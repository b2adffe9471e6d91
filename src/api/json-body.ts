import type { IncomingMessage } from 'node:http';
import { errors } from './errors.js';

export interface BodyLimits {
  maxBytes: number;
  /** From the start of the read; a body still incomplete then is a 408. */
  timeoutMs: number;
}

/** Answers that leave a body unread: the connection cannot carry another request. */
const CLOSE = { connection: 'close' };

/**
 * Reads a request's JSON body within a size and a time limit: undefined when there is
 * no body, the parsed value otherwise; 400, 408, 413 or 415 as ApiErrors.
 */
export async function readJsonBody(req: IncomingMessage, limits: BodyLimits): Promise<unknown> {
  const length = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (!chunked && (length === undefined || Number(length) === 0)) return undefined;
  if (Number(length) > limits.maxBytes) throw tooLarge(limits.maxBytes);
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity') throw errors.unsupportedMediaType(`Request bodies are not accepted with Content-Encoding "${encoding}".`, {}, CLOSE);
  const raw = await readLimited(req, limits);
  if (raw.length === 0) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw errors.badRequest('The request body is not valid UTF-8.');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw errors.badRequest(`The request body is not valid JSON: ${(err as Error).message}`);
  }
}

function tooLarge(maxBytes: number) {
  return errors.payloadTooLarge(`The request body is larger than ${maxBytes} bytes.`, {}, CLOSE);
}

function readLimited(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error: Error | null) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onAborted);
      if (error) {
        // Stop reading what is left; the answer closes the connection.
        req.pause();
        reject(error);
      } else {
        resolve(Buffer.concat(chunks));
      }
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBytes) finish(tooLarge(limits.maxBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => finish(null);
    // The client went away or sent a broken body: nobody reads this answer.
    const onError = () => finish(errors.badRequest('The request body could not be read.', {}, CLOSE));
    const onAborted = () => finish(errors.badRequest('The request body was cut short.', {}, CLOSE));
    const timer = setTimeout(
      () => finish(errors.requestTimeout(`The request body did not arrive within ${limits.timeoutMs} ms.`, {}, CLOSE)),
      limits.timeoutMs,
    );
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onAborted);
  });
}
