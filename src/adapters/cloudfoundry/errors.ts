/**
 * Cloud Foundry error bodies: v2 `{"description", "error_code", "code"}`, v3
 * `{"errors": [{"code", "title", "detail"}]}`, and UAA `{"error", "error_description"}`.
 */
import { z } from 'zod';
import { RestartError } from '../errors.js';
import { summarize } from '../platform-response.js';

export interface CfError {
  status: number;
  /** `CF-AppNotFound`, `CF-NotStaged`, ... (v2 error_code, v3 title). */
  name: string | undefined;
  code: number | undefined;
  message: string;
}

const v2Error = z.looseObject({ error_code: z.string(), description: z.string().optional(), code: z.number().optional() });
const v3Errors = z.looseObject({
  errors: z.array(z.looseObject({ code: z.number().optional(), title: z.string().optional(), detail: z.string().optional() })).min(1),
});
const uaaError = z.looseObject({ error: z.string(), error_description: z.string().optional() });

/** The error an HTTP >= 400 answer carries, in whichever shape; undefined for a success. */
export function cfErrorIn(status: number, body: unknown): CfError | undefined {
  if (status < 400) return undefined;
  const v2 = v2Error.safeParse(body);
  if (v2.success) return { status, name: v2.data.error_code, code: v2.data.code, message: v2.data.description ?? '' };
  const v3 = v3Errors.safeParse(body);
  if (v3.success) {
    const [first] = v3.data.errors;
    const message = v3.data.errors
      .map((error) => error.detail ?? '')
      .filter(Boolean)
      .join('; ');
    return { status, name: first?.title, code: first?.code, message };
  }
  const uaa = uaaError.safeParse(body);
  if (uaa.success) return { status, name: uaa.data.error, code: undefined, message: uaa.data.error_description ?? '' };
  return { status, name: undefined, code: undefined, message: body === undefined ? '' : summarize(body, 200) };
}

export function isInvalidTokenError(error: CfError): boolean {
  return error.status === 401 && (error.name === 'CF-InvalidAuthToken' || error.code === 1000);
}

export function formatCfError(error: CfError): string {
  let text = `HTTP ${error.status}`;
  if (error.name) text += ` ${error.name}`;
  if (error.code !== undefined) text += ` (${error.code})`;
  if (error.message) text += `: ${error.message}`;
  return text;
}

/** A Cloud Controller error as a RestartError; access problems are `auth`, the rest `platform`. */
export function cfRestartError(what: string, error: CfError): RestartError {
  const denied = error.status === 401 || error.status === 403;
  return new RestartError(
    denied ? 'auth' : 'platform',
    denied ? 'Cloud Foundry refused access' : 'Cloud Foundry request failed',
    `${what}: ${formatCfError(error)}`,
  );
}
