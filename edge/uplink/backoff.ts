/**
 * Reconnect delays: exponential with "equal jitter" (half fixed, half random), so a
 * district's gateways that lost the same cell tower do not all come back in the same
 * second, and a gateway keeps trying at least every `maxMs`. Pure.
 */

export interface BackoffOptions {
  /** Delay before the first retry (default 1000). */
  readonly initialMs: number
  /** Longest delay (default 60000). */
  readonly maxMs: number
}

export const BACKOFF_DEFAULTS: BackoffOptions = Object.freeze({ initialMs: 1_000, maxMs: 60_000 })

/**
 * The delay before retry number `attempt` (0 = the first retry after a loss):
 * `d = min(maxMs, initialMs · 2^attempt)`, then a uniform pick in `[d/2, d]`.
 * `random` returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exp = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30))
  return Math.round(exp / 2 + (exp / 2) * random())
}
