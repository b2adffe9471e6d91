import { expect } from 'vitest';

/**
 * vitest's asymmetric matchers typed `unknown` instead of `any` (vitest types them `any` so
 * that they fit any field): the objects a test builds with them stay typed. The same matchers,
 * for the objects given to toMatchObject and toEqual.
 */
export const anyOfType = (type: unknown): unknown => expect.any(type);
export const stringContaining = (text: string): unknown => expect.stringContaining(text);
export const stringMatching = (pattern: string | RegExp): unknown => expect.stringMatching(pattern);
