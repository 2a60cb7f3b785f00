/**
 * Report by exception (Sparkplug 3.0 report-by-exception; Kapacitor's
 * `stateChangesOnly`), pure: a reading in, the part worth sending (or nothing)
 * and the new state out. The comparison is always against the last REPORTED
 * value, never the last read one, so a slow drift is reported once it has added
 * up to the deadband instead of creeping past it in small steps.
 *
 * A point of the reading passes when
 * - it was never reported;
 * - numbers: |value − last reported| > its deadband (absolute; the device's
 *   override, else the profile point's `deadband`, else 0: any change);
 * - booleans, strings: on any change (deadbands do not apply); a change of type
 *   (number ↔ boolean ↔ string) is a change;
 * - errors: when an error appears (the point had a value), changes (another
 *   code, or another exception code; `detail` and `raw` are not compared, so an
 *   out-of-range value that wanders, or a `stuck` error whose duration grows, does
 *   not repeat its error) or clears (the point has a value again: the value is
 *   reported whatever the deadband). A standing error goes again on heartbeat.
 *
 * Heartbeat (maximum silence, the device's `heartbeatS`, else the profile's):
 * when any point of the reading was last reported `heartbeatMs` or more before
 * the reading's `ts` (or never), every point of the reading passes. Kept per
 * point rather than one clock per device because fast and slow points come in
 * different sweeps: one device clock would be reset by a fast sweep and the slow
 * points would miss their heartbeat. So every point is sent at least every
 * heartbeat (plus one poll interval), and points read together stay together.
 * Time is the readings' own `ts` (sample time), so the filter is deterministic.
 *
 * Points absent from a reading (not read in that sweep) are left alone.
 */
import type { Value } from '../../shared/codec/index.ts'
import type { Reading } from '../../shared/mqtt/messages.ts'
import type { ResolvedProfile } from '../../shared/profile/resolve.ts'
import type { PointError } from '../../shared/quality.ts'

export interface RbeConfig {
  /** Absolute deadband per point name; a point not listed (or 0) reports any change. */
  readonly deadbands: Readonly<Record<string, number>>
  /** Longest a point goes unreported, ms; undefined: report by exception only. */
  readonly heartbeatMs?: number
}

/** What was last sent for one point, and when (the reading's ts). */
export interface Reported {
  readonly value?: Value
  readonly error?: PointError
  readonly at: number
}

export interface RbeState {
  readonly points: ReadonlyMap<string, Reported>
}

export const INITIAL_RBE: RbeState = Object.freeze({ points: new Map<string, Reported>() })

/**
 * The RBE settings of a device: the profile's deadbands, overridden point by point
 * by `deadbands`, and `heartbeatS` (else the profile's). Throws a RangeError for a
 * negative or non-finite deadband or heartbeat, or a deadband on an unknown point.
 */
export function rbeConfig(profile: ResolvedProfile, deadbands: Readonly<Record<string, number>> = {}, heartbeatS?: number): RbeConfig {
  const merged: Record<string, number> = {}
  for (const p of profile.points) if (p.deadband !== undefined) merged[p.name] = p.deadband
  const known = new Set(profile.points.map((p) => p.name))
  for (const [name, db] of Object.entries(deadbands)) {
    if (!known.has(name)) throw new RangeError(`${profile.id}: deadband for "${name}", which is not a point of the profile`)
    merged[name] = db
  }
  for (const [name, db] of Object.entries(merged)) {
    if (!(Number.isFinite(db) && db >= 0)) throw new RangeError(`${profile.id}: deadband of "${name}" must be a finite number ≥ 0, not ${db}`)
  }
  const hb = heartbeatS ?? profile.heartbeatS
  if (hb !== undefined && !(Number.isFinite(hb) && hb > 0)) throw new RangeError(`${profile.id}: heartbeatS must be > 0, not ${hb}`)
  return hb === undefined ? { deadbands: merged } : { deadbands: merged, heartbeatMs: hb * 1000 }
}

/** Filters one reading. `reading` is undefined when nothing passes. */
export function reportByException(cfg: RbeConfig, state: RbeState, reading: Reading): { state: RbeState; reading?: Reading } {
  const ts = reading.ts
  const names = [...Object.keys(reading.values), ...Object.keys(reading.errors)]
  const hb = cfg.heartbeatMs
  const heartbeat = names.some((n) => {
    const last = state.points.get(n)
    return last === undefined || (hb !== undefined && ts - last.at >= hb)
  })
  const values: Record<string, Value> = {}
  const errors: Record<string, PointError> = {}
  const points = new Map(state.points)
  for (const [name, value] of Object.entries(reading.values)) {
    if (heartbeat || valueChanged(state.points.get(name), value, cfg.deadbands[name] ?? 0)) {
      values[name] = value
      points.set(name, { value, at: ts })
    }
  }
  for (const [name, error] of Object.entries(reading.errors)) {
    if (heartbeat || errorChanged(state.points.get(name), error)) {
      errors[name] = error
      points.set(name, { error, at: ts })
    }
  }
  if (Object.keys(values).length === 0 && Object.keys(errors).length === 0) return { state }
  return { state: { points }, reading: { device: reading.device, ts, values, errors, historical: reading.historical } }
}

function valueChanged(last: Reported | undefined, value: Value, deadband: number): boolean {
  if (last === undefined || last.value === undefined) return true // new, or an error clears
  const before = last.value
  if (typeof value === 'number' && typeof before === 'number') return Math.abs(value - before) > deadband
  return value !== before
}

function errorChanged(last: Reported | undefined, error: PointError): boolean {
  const before = last?.error
  if (before === undefined) return true // new, or a value turned into an error
  return before.code !== error.code || before.exception !== error.exception
}
