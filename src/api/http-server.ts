import http from 'node:http';
import type { Duplex } from 'node:stream';
import { errorResponse, errors, type ApiError } from './errors.js';

export interface HttpServerOptions {
  /** server.headersTimeoutMs */
  headersTimeoutMs: number;
  /** server.requestTimeoutMs */
  requestTimeoutMs: number;
  /** server.keepAliveTimeoutMs */
  keepAliveTimeoutMs: number;
}

/**
 * After an answer on a connection we close, the client may still be sending. Reading on
 * for a moment before closing lets the answer reach it: closing with unread data sends
 * a reset, which can destroy the answer in the client's buffers.
 */
const LINGER_MS = 1000;

/**
 * The HTTP server with its timeouts set on purpose, and a JSON error body on the answers
 * Node would otherwise write itself (400, 408, 413, 431 from the parser, 400 for a missing
 * Host, 417) or not at all (CONNECT). A request with two Host headers is refused (400).
 */
export function createHttpServer(options: HttpServerOptions, handler: http.RequestListener): http.Server {
  // The latest request on each connection: a timeout on a body that was already answered
  // (a route that did not read it) must not put a second answer on the wire.
  const latest = new WeakMap<Duplex, { req: http.IncomingMessage; res: http.ServerResponse }>();
  const server = http.createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      // Node only looks for timed-out requests this often (30 s by default): a quarter of
      // the headers timeout keeps the cut close to the configured time.
      connectionsCheckingInterval: Math.min(1000, Math.ceil(options.headersTimeoutMs / 4)),
      // Node would answer 400 with no body; the listener below answers it with one.
      requireHostHeader: false,
    },
    (req, res) => {
      latest.set(req.socket, { req, res });
      if (req.httpVersion === '1.1' && req.headers.host === undefined) {
        writeError(res, errors.badRequest('An HTTP/1.1 request needs a Host header.'));
        return;
      }
      // Node keeps the first of two Host headers; a proxy in front may have used the other.
      if (hostCount(req.rawHeaders) > 1) {
        writeError(res, errors.badRequest('A request may carry one Host header only.'));
        return;
      }
      handler(req, res);
    },
  );
  server.keepAliveTimeout = options.keepAliveTimeoutMs;
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    const last = latest.get(socket);
    if (last && !last.req.complete && last.res.headersSent) {
      socket.destroy();
      return;
    }
    answerOnSocket(socket, clientError(err, options));
  });
  server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
    answerOnSocket(socket, errors.notImplemented('CONNECT is not supported: rendercache is not a proxy.'));
  });
  server.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => {
    writeError(res, errors.expectationFailed(`Only "Expect: 100-continue" is supported, not "${req.headers.expect ?? ''}".`));
  });
  return server;
}

function hostCount(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === 'host') count++;
  return count;
}

/** What a parser error or a timeout means to the client. */
function clientError(err: Error & { code?: string }, options: HttpServerOptions): ApiError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return errors.requestTimeout(
        `The request was not received within ${options.headersTimeoutMs} ms (headers) or ${options.requestTimeoutMs} ms (whole request).`,
      );
    case 'HPE_HEADER_OVERFLOW':
      return errors.headersTooLarge('The request headers are larger than this server accepts.');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return errors.payloadTooLarge('The chunk extensions of the request body are too large.');
    default:
      return errors.badRequest(`The request is not valid HTTP/1.1 (${err.code ?? 'parse error'}).`);
  }
}

/** An answer through a ServerResponse, on a connection that ends after it. */
function writeError(res: http.ServerResponse, error: ApiError): void {
  const { status, headers, body } = errorResponse(error);
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

/** An answer written straight to a socket the HTTP parser has given up on. */
function answerOnSocket(socket: Duplex, error: ApiError): void {
  // An answer already started on this connection cannot be followed by another one.
  const inFlight = (socket as Duplex & { _httpMessage?: http.ServerResponse | null })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const { status, headers, body } = errorResponse(error);
  const lines = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}`];
  for (const [name, value] of Object.entries({ ...headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' })) {
    lines.push(`${name}: ${value}`);
  }
  // A CONNECT socket has left the HTTP server and its error listener: a reset must not throw.
  socket.on('error', () => {});
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  socket.resume();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}
