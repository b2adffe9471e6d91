import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout; secrets are redacted wherever they may appear. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'rendercache' },
      redact: { paths: ['token', '*.token', 'password', '*.password', 'authorization', '*.authorization', 'headers.authorization'], censor: '***' },
    },
    destination ?? process.stdout,
  );
}
