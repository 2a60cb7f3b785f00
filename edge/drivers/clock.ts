/**
 * Waiting until an absolute moment with sub-millisecond accuracy, for the RTU
 * silence before a request (t3.5 is 1.75 ms above 19200 baud, 4 ms at 9600).
 * `setTimeout` truncates to whole milliseconds and fires on a later loop turn, so
 * it sleeps until SPIN_MARGIN_MS before the deadline and `setImmediate` yields from
 * there on: never early, and other I/O keeps running. (The simulators pace their
 * answers the same way, `simulators/modbus/wire-clock.ts`.)
 */

const SPIN_MARGIN_MS = 2

/** Resolves at or after `deadline` (a `performance.now()` time), at once if it has passed or `signal.aborted`. */
export function sleepUntil(deadline: number, signal?: { readonly aborted: boolean }): Promise<void> {
  if (performance.now() >= deadline || signal?.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const spin = (): void => {
      if (performance.now() >= deadline || signal?.aborted) resolve()
      else setImmediate(spin)
    }
    const coarse = deadline - performance.now() - SPIN_MARGIN_MS
    if (coarse >= 1) setTimeout(spin, coarse)
    else spin()
  })
}
