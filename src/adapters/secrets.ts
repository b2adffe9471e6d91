/** Resolving secrets at restart time, and keeping them out of everything we report. */
import { RestartError } from './errors.js';

/** The inline secret, or the value of the named environment variable. */
export function resolveSecret(
  label: string,
  inline: string | undefined,
  envName: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  if (inline !== undefined) return inline;
  if (envName === undefined) throw new RestartError('credentials', 'Restart credentials missing', `no ${label} configured`);
  const value = env[envName];
  if (value === undefined || value === '') {
    throw new RestartError('credentials', 'Restart credentials missing', `environment variable ${envName} (${label}) is not set`);
  }
  return value;
}

const MASK = '***';

/**
 * Replaces known secret values (passwords, tokens) in text. Defence in depth: details are built
 * without secrets, but a platform may echo a request back in an error message.
 */
export class SecretScrubber {
  private readonly secrets = new Set<string>();

  add(secret: string): void {
    // Very short values would mask ordinary words; real secrets are longer.
    if (secret.length < 4) return;
    // Also the encoded forms, as a platform may echo a form body or a URL.
    for (const form of [secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)]) {
      this.secrets.add(form);
    }
  }

  scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join(MASK);
    return out;
  }
}
