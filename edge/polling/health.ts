/**
 * A device's availability, as a pure state machine: sweep outcomes in, state and
 * device events out. The device poller (device.ts) feeds it and reads from it
 * whether to sweep on schedule or send one probe when the backoff expires.
 *
 * States: `unknown` (nothing heard since start) → `available` ⇄ `unavailable`.
 *
 * - A sweep is **ok** when at least one of its requests returned data. It resets
 *   the failure count and the backoff; from `unknown` or `unavailable` it emits
 *   `available`.
 * - A sweep **failed** when no request returned data (timeouts, CRC, transport,
 *   exceptions 04/05/06/0A/0B…). After `failuresToUnavailable` (K) failed sweeps in
 *   a row the device becomes `unavailable` (event with the last error) and backs
 *   off: the next attempt is one probe request after `initialMs`, then each failed
 *   probe doubles the wait up to `maxMs`. Each wait is stretched by a deterministic
 *   jitter of 0..`jitter` × the period (a hash of the device and the attempt), so
 *   devices that died together do not probe together, and a wait is never shorter
 *   than its period: a dead device costs at most one timeout per backoff period.
 * - A sweep is a **mismatch** when every request was answered with exception
 *   01 (illegal function), 02 (illegal data address) or 03 (illegal data value).
 *   The device is alive — it frames answers — but refuses the whole register map
 *   of its profile, which in the field means other firmware (replaced in place, or
 *   configured with the wrong profile; the two look the same to an operator, so
 *   whether it answered before does not matter). Such a sweep counts as an answer
 *   for availability (no backoff: an exception answer costs no timeout), and after
 *   K mismatch sweeps in a row `profile_mismatch` is emitted once. The first ok
 *   sweep after that clears it with an `available` event ("answers its profile's
 *   reads again"). Exceptions 04 and up are the device failing, not refusing the
 *   map, so they count as failed sweeps. K sweeps, not one, because a device that
 *   is booting may refuse reads for a moment.
 */
import type { PointError } from '../../shared/quality.ts'
import type { DeviceEventType } from '../../shared/mqtt/messages.ts'

/** Exception codes that mean "this device does not have what the profile asks for" (Modbus Application Protocol v1.1b3 §7). */
export const MAP_REFUSALS: ReadonlySet<number> = new Set([0x01, 0x02, 0x03])

export interface BackoffConfig {
  /** First wait after the device became unavailable, ms. */
  readonly initialMs: number
  /** Longest wait, ms. */
  readonly maxMs: number
  /** Extra wait as a fraction of the period, 0..1, deterministic per device and attempt (default 0.1). */
  readonly jitter?: number
}

export interface HealthConfig {
  /** K: failed sweeps in a row before `unavailable` (and mismatch sweeps before `profile_mismatch`). */
  readonly failuresToUnavailable: number
  readonly backoff: BackoffConfig
  /** Seeds the jitter; the device id. */
  readonly seed: string
}

export type Availability = 'unknown' | 'available' | 'unavailable'

export interface Health {
  readonly availability: Availability
  /** Failed sweeps (and probes) in a row. */
  readonly failures: number
  /** Mismatch sweeps in a row. */
  readonly mismatches: number
  /** `profile_mismatch` was emitted and no ok sweep came since. */
  readonly mismatch: boolean
  /** While unavailable: the current backoff period, ms, and when the next probe is due. */
  readonly backoff?: { readonly periodMs: number; readonly attempt: number; readonly until: number }
  readonly lastSuccessAt?: number
  readonly lastError?: PointError
}

/** What one sweep (or probe) came to. */
export type SweepOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'failed'; readonly error: PointError }
  | { readonly kind: 'mismatch'; readonly error: PointError }

/** A device event without the device and time, which the caller adds. */
export interface HealthEvent {
  readonly event: DeviceEventType
  readonly reason?: string
  readonly error?: PointError
}

export const INITIAL_HEALTH: Health = Object.freeze({ availability: 'unknown', failures: 0, mismatches: 0, mismatch: false })

/** Throws a RangeError for a config no device can run with. */
export function checkHealthConfig(cfg: HealthConfig): void {
  const { failuresToUnavailable: k, backoff: b } = cfg
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`failuresToUnavailable must be an integer ≥ 1, not ${k}`)
  if (!(b.initialMs > 0)) throw new RangeError(`backoff.initialMs must be > 0, not ${b.initialMs}`)
  if (!(b.maxMs >= b.initialMs)) throw new RangeError(`backoff.maxMs (${b.maxMs}) must be ≥ backoff.initialMs (${b.initialMs})`)
  const j = b.jitter ?? DEFAULT_JITTER
  if (!(j >= 0 && j <= 1)) throw new RangeError(`backoff.jitter must be 0..1, not ${j}`)
}

export const DEFAULT_JITTER = 0.1

/** The period of backoff attempt `attempt` (0-based): initial × 2^attempt, at most max. */
export function backoffPeriod(b: BackoffConfig, attempt: number): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.min(attempt, 52))
}

/** The wait before probe `attempt`: its period stretched by 0..jitter of itself, the same for the same seed and attempt. */
export function backoffDelay(b: BackoffConfig, seed: string, attempt: number): number {
  const period = backoffPeriod(b, attempt)
  return Math.round(period * (1 + (b.jitter ?? DEFAULT_JITTER) * unitHash(`${seed}#${attempt}`)))
}

/** Applies one sweep outcome observed at `now`. */
export function observe(cfg: HealthConfig, h: Health, outcome: SweepOutcome, now: number): { health: Health; events: HealthEvent[] } {
  const k = cfg.failuresToUnavailable
  switch (outcome.kind) {
    case 'ok': {
      const events: HealthEvent[] = []
      if (h.availability === 'unavailable') events.push({ event: 'available', reason: `answers again after ${h.failures} failed sweeps` })
      else if (h.availability === 'unknown') events.push({ event: 'available', reason: 'first answer' })
      else if (h.mismatch) events.push({ event: 'available', reason: "answers its profile's reads again" })
      return { health: { availability: 'available', failures: 0, mismatches: 0, mismatch: false, lastSuccessAt: now }, events }
    }
    case 'mismatch': {
      const events: HealthEvent[] = []
      if (h.availability !== 'available') events.push({ event: 'available', reason: 'answers, with exceptions only' })
      const mismatches = h.mismatches + 1
      const raise = mismatches >= k && !h.mismatch
      if (raise) {
        const code = outcome.error.exception
        events.push({
          event: 'profile_mismatch',
          reason: `every planned read answered with exception ${code === undefined ? '?' : hex(code)} ${k} sweeps in a row: the device likely runs other firmware than its profile`,
        })
      }
      return {
        health: { ...without(h, 'backoff'), availability: 'available', failures: 0, mismatches, mismatch: h.mismatch || raise, lastError: outcome.error },
        events,
      }
    }
    case 'failed': {
      const failures = h.failures + 1
      const base = { ...h, failures, mismatches: 0, lastError: outcome.error }
      if (h.availability === 'unavailable') {
        const attempt = (h.backoff?.attempt ?? -1) + 1
        return { health: { ...base, backoff: backoffAt(cfg, attempt, now) }, events: [] }
      }
      if (failures < k) return { health: base, events: [] }
      return {
        health: { ...base, availability: 'unavailable', backoff: backoffAt(cfg, 0, now) },
        events: [{ event: 'unavailable', reason: `${failures} sweeps in a row without an answer`, error: outcome.error }],
      }
    }
  }
}

/** Whether the device is backing off: only one probe, at `backoff.until`. */
export function isBackingOff(h: Health): h is Health & { backoff: NonNullable<Health['backoff']> } {
  return h.availability === 'unavailable' && h.backoff !== undefined
}

function backoffAt(cfg: HealthConfig, attempt: number, now: number): NonNullable<Health['backoff']> {
  return { periodMs: backoffPeriod(cfg.backoff, attempt), attempt, until: now + backoffDelay(cfg.backoff, cfg.seed, attempt) }
}

function without<T extends object, K extends keyof T>(o: T, key: K): Omit<T, K> {
  const { [key]: _drop, ...rest } = o
  return rest
}

const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0').toUpperCase()}`

/** FNV-1a of `s`, as a fraction in [0, 1). */
function unitHash(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h / 0x1_0000_0000
}
