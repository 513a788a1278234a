/**
 * The one way tests wait: poll a condition against a deadline, never sleep a fixed time. The
 * deadline is generous because the suite must pass on a loaded machine; a condition that holds
 * early returns early, so the generous deadline costs nothing when the test passes.
 */
export const DEFAULT_WAIT_MS = 20_000;

/** Resolves after `ms`; only for pacing a poll or a load generator, never to wait for a result. */
export const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `predicate` (sync or async) every `everyMs` until it holds; throws naming `what` at the deadline. */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = DEFAULT_WAIT_MS,
  everyMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await tick(everyMs);
  }
}

/** Polls `probe` until it returns a value other than undefined, and returns that value. */
export async function eventually<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = DEFAULT_WAIT_MS,
  everyMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await tick(everyMs);
  }
}
