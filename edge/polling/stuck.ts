/**
 * Stuck-sensor detection, pure: a sweep's decoded reading and the raw registers it
 * came from in, the reading with stuck points turned into errors and the new state out.
 *
 * A working analogue sensor has noise, so its raw registers are never bit-identical for
 * long; a fouled radar, a frozen logger or a seized transmitter repeats the same registers.
 * A point whose profile has `stuck: { afterS }` is tracked by its raw registers (before
 * scaling, so no rounding of the engineering value can hide a change): while they stay
 * identical for more than `afterS` seconds of sample time (the readings' `ts`), the point
 * carries the error `stuck` instead of its value; the first sweep whose registers differ
 * gives the value again (report-by-exception then sends it: an error cleared).
 *
 * - The timer starts at the first sample of the current registers. A reading of
 *   identical registers `afterS` later is not yet stuck; one after that is.
 * - A value listed in `stuck.except` (0 m over a dry road) is never stuck.
 * - A point whose decode already failed (sentinel, nan, out_of_range…) keeps that error;
 *   its registers still move the timer.
 * - A point not read in a sweep (its read failed, or another poll class) leaves its timer
 *   alone: the same registers after an outage are still the same frozen value.
 * - State is in memory: a restart of the edge starts every timer over.
 */
import { clip } from '../../shared/codec/result.ts'
import { covers, type Block, type Value } from '../../shared/codec/index.ts'
import type { ResolvedPoint } from '../../shared/profile/resolve.ts'
import type { PointError } from '../../shared/quality.ts'

/** The registers last seen for a point and the sample time they first appeared. */
export interface Held {
  readonly raw: string
  readonly since: number
}

export type StuckState = ReadonlyMap<string, Held>

export const INITIAL_STUCK: StuckState = new Map()

export interface Decoded {
  readonly values: Readonly<Record<string, Value>>
  readonly errors: Readonly<Record<string, PointError>>
}

/**
 * Applies stuck detection to one sweep. `blocks` are the sweep's answered reads, `ts`
 * its sample time. Points without `stuck` in their profile pass through untouched.
 */
export function detectStuck(
  state: StuckState,
  points: readonly ResolvedPoint[],
  blocks: readonly Block[],
  decoded: Decoded,
  ts: number,
): { state: StuckState; values: Record<string, Value>; errors: Record<string, PointError> } {
  const values = { ...decoded.values }
  const errors = { ...decoded.errors }
  let next: Map<string, Held> | undefined
  for (const p of points) {
    if (p.stuck === undefined) continue
    const block = blocks.find((b) => covers(b, p))
    if (!block) continue
    const raw = registers(block, p)
    const last = state.get(p.name)
    const held: Held = last !== undefined && last.raw === raw ? last : { raw, since: ts }
    if (held !== last) (next ??= new Map(state)).set(p.name, held)
    const value = values[p.name]
    if (typeof value !== 'number' || exempt(value, p.stuck.except)) continue
    const heldMs = ts - held.since
    if (heldMs <= p.stuck.afterS * 1000) continue
    delete values[p.name]
    errors[p.name] = { code: 'stuck', raw, detail: clip(`${value} (registers ${raw}) unchanged for ${seconds(heldMs)} s; the profile allows ${p.stuck.afterS} s`) }
  }
  return { state: next ?? state, values, errors }
}

/** The point's registers (or bits) as hex words, e.g. `0A3D 3F57`. */
function registers(block: Block, p: ResolvedPoint): string {
  const from = p.address - block.start
  const words: string[] = []
  for (let i = 0; i < p.registers; i++) {
    const w = block.data[from + i]
    words.push(typeof w === 'boolean' ? (w ? '1' : '0') : (w ?? Number.NaN).toString(16).toUpperCase().padStart(4, '0'))
  }
  return words.join(' ')
}

/** Whether `value` is one of the profile's `except` values (a float32 point decodes 0.84 as its nearest float). */
function exempt(value: number, except: readonly number[] | undefined): boolean {
  return except?.some((e) => value === e || value === Math.fround(e) || Math.abs(value - e) <= 1e-9 * Math.max(1, Math.abs(e))) ?? false
}

function seconds(ms: number): string {
  return ms >= 10_000 ? String(Math.round(ms / 1000)) : (ms / 1000).toFixed(1)
}
