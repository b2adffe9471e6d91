import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** "auto": readable lines on a terminal, JSON otherwise (a file, a pipe, a log collector). */
export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * The service's logger: JSON lines, or pino-pretty's readable ones for a person at a
 * terminal. Secrets are redacted wherever they may appear.
 */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stdout, format: LogFormat = 'json'): Logger {
  const readable = format === 'pretty' || (format === 'auto' && 'isTTY' in destination && destination.isTTY === true);
  return pino(
    {
      level,
      base: { service: 'rendercache' },
      redact: { paths: ['token', '*.token', 'password', '*.password', 'authorization', '*.authorization', 'headers.authorization'], censor: '***' },
    },
    readable ? pretty({ destination, sync: true, ignore: 'service,pid,hostname', translateTime: 'SYS:HH:MM:ss.l' }) : destination,
  );
}
