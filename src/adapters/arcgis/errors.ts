/**
 * ArcGIS errors arrive in the body, often with HTTP 200, in two shapes:
 * `{"error": {"code", "message", "details"}}` and `{"status": "error", "messages": [...], "code"}`.
 */
import { z } from 'zod';
import { summarize } from '../platform-response.js';

export interface ArcgisError {
  code: number | undefined;
  message: string;
}

const numberLike = z.union([z.number(), z.string()]).optional();

const errorObjectShape = z.looseObject({
  error: z.looseObject({
    code: numberLike,
    message: z.string().optional(),
    details: z.unknown().optional(),
  }),
});

const statusErrorShape = z.looseObject({
  status: z.literal('error'),
  messages: z.array(z.unknown()).optional(),
  code: numberLike,
});

function toCode(value: number | string | undefined): number | undefined {
  const code = Number(value);
  return value === undefined || Number.isNaN(code) ? undefined : code;
}

function joinMessages(values: unknown[]): string {
  return values
    .map((value) => summarize(value, 200))
    .filter((text) => text !== '')
    .join('; ');
}

/** The ArcGIS error in `body`, whatever the HTTP status, or undefined. */
export function arcgisErrorIn(body: unknown): ArcgisError | undefined {
  const objectShape = errorObjectShape.safeParse(body);
  if (objectShape.success) {
    const { code, message, details } = objectShape.data.error;
    const detailList = Array.isArray(details) ? joinMessages(details) : details === undefined ? '' : summarize(details, 200);
    const text = [message, detailList].filter((part) => part !== undefined && part !== '').join(' ');
    return { code: toCode(code), message: text || 'unspecified error' };
  }
  const statusShape = statusErrorShape.safeParse(body);
  if (statusShape.success) {
    const text = joinMessages(statusShape.data.messages ?? []);
    return { code: toCode(statusShape.data.code), message: text || 'unspecified error' };
  }
  return undefined;
}

/** 498 invalid or expired token, 499 token required. */
export function isTokenError(error: ArcgisError): boolean {
  return error.code === 498 || error.code === 499;
}

export function formatArcgisError(error: ArcgisError): string {
  return error.code === undefined ? error.message : `error ${error.code}: ${error.message}`;
}
