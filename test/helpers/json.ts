/**
 * JSON bodies as the tests read them. `Response.json()` is typed `any`: `json<T>(res)` names
 * the shape a test expects instead. Unchecked, like the cast it replaces: the test's own
 * assertions check the body.
 */
export async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** The error body of every error answer (OCM shape): the type the service writes them with. */
export type { ErrorBody } from '../../src/api/errors.js';
