/** Reading a platform body against a zod schema, with an error that says what was wrong. */
import type { z } from 'zod';
import { RestartError } from './errors.js';

export function parsePlatformBody<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.map(String).join('.')}` : '';
  const problem = body === undefined ? 'no JSON body' : `${issue?.message ?? 'invalid'}${where}`;
  throw new RestartError('unexpected-response', 'Unexpected platform response', `${what}: ${problem}`);
}

/** A short, single-line rendering of an unknown value for error details. */
export function summarize(value: unknown, maxLength = 300): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > maxLength ? `${line.slice(0, maxLength)}…` : line;
}
