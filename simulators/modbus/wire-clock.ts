/**
 * Waiting until an absolute moment with sub-millisecond accuracy, for pacing RTU
 * answers to wire time.
 *
 * `setTimeout` alone is too coarse: Node truncates its delay to whole
 * milliseconds (4.01 → 4) against a millisecond clock, and fires on the next turn
 * of the event loop after that. Measured here (`npm run bench -- sim --only timers`,
 * 200 waits of 4.01 ms on the 2-core build machine): setTimeout woke between 0.84 ms
 * early and 5.2 ms late, p50 0.18 ms late, p99 1.1 ms late. So
 * {@link sleepUntil} sleeps with `setTimeout` until `SPIN_MARGIN_MS` before the
 * deadline and then yields with `setImmediate` until `performance.now()` reaches
 * it: the other I/O keeps running, and the wait ends within one event-loop turn
 * after the deadline and never before it (same measurement: min 0.003 ms, p50
 * 0.007 ms, p99 3 ms when another process held the CPU). The spin costs CPU only
 * for its last ~2 ms. Lateness is returned so that callers can report how honest
 * their timing was.
 */

/** How long before a deadline the coarse timer hands over to the `setImmediate` loop. */
export const SPIN_MARGIN_MS = 2

/** Resolves at or after `deadline` (a `performance.now()` time); yields how late it was, in ms. */
export function sleepUntil(deadline: number, signal?: { aborted: boolean }): Promise<number> {
  return new Promise((resolve) => {
    const spin = (): void => {
      const now = performance.now()
      if (now >= deadline || signal?.aborted) resolve(Math.max(0, now - deadline))
      else setImmediate(spin)
    }
    const coarse = deadline - performance.now() - SPIN_MARGIN_MS
    if (coarse >= 1) setTimeout(spin, coarse)
    else spin()
  })
}

/** Running summary of timer lateness, in ms. */
export class Lateness {
  count = 0
  total = 0
  max = 0

  add(ms: number): void {
    this.count++
    this.total += ms
    if (ms > this.max) this.max = ms
  }

  get mean(): number {
    return this.count === 0 ? 0 : this.total / this.count
  }
}
