/** Zod building blocks shared by the adapters' config schemas. */
import { z } from 'zod';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function isHttpsOrLoopback(value: string): boolean {
  const url = new URL(value);
  return url.protocol === 'https:' || LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * A platform base URL. Credentials travel to it, so plain http is refused except on the
 * local machine (fakes, sidecars). Trailing slashes are dropped so paths can be appended.
 */
export const platformUrl = z
  .url({ protocol: /^https?$/ })
  .refine(isHttpsOrLoopback, 'must use https (plain http is accepted only for localhost)')
  .transform((value) => value.replace(/\/+$/, ''));

export const nonEmpty = z.string().trim().min(1);

/** The name of an environment variable (holding a secret). */
export const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

/**
 * Refinement: exactly one of the inline secret `inlineKey` and the env variable name `envKey`.
 * The messages name the keys, never the values.
 */
export function exactlyOneSecret(inlineKey: string, envKey: string) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx): void => {
    const hasInline = value[inlineKey] !== undefined;
    const hasEnv = value[envKey] !== undefined;
    if (hasInline && hasEnv) {
      ctx.addIssue({ code: 'custom', path: [inlineKey], message: `give either ${inlineKey} or ${envKey}, not both` });
    } else if (!hasInline && !hasEnv) {
      ctx.addIssue({
        code: 'custom',
        path: [inlineKey],
        message: `${inlineKey} is required: give ${inlineKey} or ${envKey} (the name of an environment variable holding it)`,
      });
    }
  };
}
