import { z } from 'zod';

/** Query strings and path parameters of the management routes, checked at the edge (validate). */
const flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const links = z.enum(['none']).optional();

export const siteQuery = z.strictObject({ includeDeleted: flag.optional(), links });
export const listQuery = z.strictObject({
  includeDeleted: flag.optional(),
  links,
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .default(50)
    .transform((n) => Math.min(n, 250)),
});
export const pagesQuery = listQuery.omit({ includeDeleted: true }).extend({
  q: z
    .string()
    .regex(/^status eq "(pending|processing|complete|failed)"$/, 'expected q=status eq "<pending|processing|complete|failed>"')
    .optional(),
  /** Only pages whose URL contains this, ignoring case. */
  search: z.string().min(1).max(2048).optional(),
});
export const plainQuery = z.strictObject({ links });
export const siteIdParam = z.string().regex(/^(name:[^/]{1,200}|[A-Za-z0-9_-]{1,128})$/, 'not a site id or name:<SiteName>');
export const jobIdParam = z.string().regex(/^[A-F0-9]{32}$/, 'not a job id');
