import type { z } from 'zod';
import { errors } from './errors.js';

/** Validates input at the edge; any problem is a 400 naming the field. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.length ? issue.path.join('.') : where;
    return `${field}: ${issue.message}`;
  });
  throw errors.badRequest(`Invalid ${where}: ${problems.join('; ')}.`);
}
