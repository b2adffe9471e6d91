/**
 * Waits for `condition` to return a truthy value, polling every `everyMs`, and fails with
 * `what` when `deadlineMs` passes first. Never a fixed sleep: it returns as soon as the
 * condition holds. A condition that throws is tried again (its last error is reported).
 */
export async function waitFor<T>(what: string, condition: () => Promise<T> | T, deadlineMs: number, everyMs = 50): Promise<NonNullable<T>> {
  const until = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= until)
      throw new Error(
        `timed out after ${deadlineMs} ms waiting for ${what}${last === undefined ? '' : ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})`}`,
      );
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
