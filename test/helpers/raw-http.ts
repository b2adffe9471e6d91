import net from 'node:net';

/** One answer read off a socket, as sent. */
export interface RawAnswer {
  status: number;
  /** Lower-case header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
  /** Bytes that came after the answer (a second answer on the same connection). */
  trailing: string;
  /** ms from the first byte sent to the answer's head. */
  elapsedMs: number;
  /** The server closed the connection after the answer. */
  closed: boolean;
  /** ms from the first byte sent to the close (untilClose only). */
  closedAfterMs?: number;
}

export interface RawOptions {
  /** Give up after this long with no complete answer. Default 5000 ms. */
  timeoutMs?: number;
  /** Bytes to send after the first write, once the first write is out (a body that trickles). */
  thenSend?: string;
  /** Resolve only when the server closes the connection, not at the end of the answer. */
  untilClose?: boolean;
}

/**
 * Sends bytes as they are (broken request lines, raw paths, partial bodies) and reads the
 * first answer. Resolves with status 0 when the server closed without answering.
 */
export function rawRequest(url: string, bytes: string | Buffer, options: RawOptions = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let answeredAt = 0;
    const chunks: Buffer[] = [];
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(bytes);
      if (options.thenSend !== undefined) socket.write(options.thenSend);
    });
    let settled = false;
    const done = (closed: boolean) => {
      if (settled) return;
      const parsed = parseAnswer(Buffer.concat(chunks));
      if (!closed && (!parsed || options.untilClose)) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (!parsed) resolve({ status: 0, headers: {}, body: '', trailing: '', elapsedMs: Date.now() - started, closed: true });
      else resolve({ ...parsed, elapsedMs: answeredAt - started, closed, ...(closed ? { closedAfterMs: Date.now() - started } : {}) });
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms; got ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 200))}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      if (answeredAt === 0) answeredAt = Date.now();
      chunks.push(chunk);
      // A complete answer on a connection the server keeps open: done without waiting for a close.
      const parsed = parseAnswer(Buffer.concat(chunks));
      if (parsed?.complete) done(false);
    });
    socket.on('end', () => done(true));
    socket.on('close', () => done(true));
    // A reset after the answer still leaves the answer read.
    socket.on('error', () => done(true));
  });
}

function parseAnswer(data: Buffer): (Omit<RawAnswer, 'elapsedMs' | 'closed' | 'closedAfterMs'> & { complete: boolean }) | null {
  const text = data.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const rest = data.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
  let body: Buffer = rest;
  let trailing: Buffer = Buffer.alloc(0);
  let complete = false;
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    complete = rest.length >= length;
    body = rest.subarray(0, length);
    trailing = rest.subarray(length);
  } else if (headers['transfer-encoding']?.includes('chunked')) {
    const decoded = dechunk(rest);
    complete = decoded !== null;
    body = decoded ?? Buffer.alloc(0);
  } else if (status === 204 || status === 304) {
    complete = true;
    trailing = rest;
  }
  return { status, headers, body: body.toString('utf8'), trailing: trailing.toString('latin1'), complete };
}

function dechunk(data: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return null;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) return null;
    if (size === 0) return Buffer.concat(parts);
    const start = lineEnd + 2;
    if (data.length < start + size + 2) return null;
    parts.push(data.subarray(start, start + size));
    at = start + size + 2;
  }
}

/** An HTTP/1.1 request's bytes; `Host` and `Connection: close` unless given. */
export function requestBytes(method: string, path: string, headers: Record<string, string> = {}, body = ''): string {
  const all: Record<string, string> = { host: '127.0.0.1', connection: 'close', ...headers };
  if (body !== '' && all['content-length'] === undefined && all['transfer-encoding'] === undefined) all['content-length'] = String(Buffer.byteLength(body));
  const lines = [
    `${method} ${path} HTTP/1.1`,
    ...Object.entries(all)
      .filter(([, v]) => v !== '')
      .map(([k, v]) => `${k}: ${v}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** The documented JSON error body, or null when the answer does not carry one. */
export function errorBodyOf(answer: Pick<RawAnswer, 'headers' | 'body' | 'status'>): Record<string, unknown> | null {
  if (!/^application\/json/.test(answer.headers['content-type'] ?? '')) return null;
  try {
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    const ok =
      typeof body.type === 'string' &&
      typeof body.title === 'string' &&
      body.status === String(answer.status) &&
      typeof body.detail === 'string' &&
      typeof body['o:errorCode'] === 'string';
    return ok ? body : null;
  } catch {
    return null;
  }
}
