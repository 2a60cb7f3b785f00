/**
 * Checking a write against the profile before anything goes on the wire, and
 * turning its outcome into a command answer. Pure: the device poller runs the
 * plan as one bus job (write, then read back).
 *
 * A write is refused, with the command error code the uplink answers with, when
 * the point is unknown (`unknown_point`), is not `access: readwrite` or lives in
 * a read-only table (`not_writable`), the value has the wrong type for the point
 * (`invalid`), or `encodePoint` refuses it: outside the profile's range, not
 * representable, a sentinel (`out_of_range`).
 *
 * Writes go out as FC06/FC16 (holding) or FC05/FC15 (coil), as the driver
 * chooses by count. A `bit` point is a read-modify-write of its register: the
 * other 15 bits are read first and kept (`encodeBitInto`), in the same bus job,
 * so no poll or other write can land in between.
 */
import { encodePoint, type Value } from '../../shared/codec/index.ts'
import type { CommandError } from '../../shared/mqtt/messages.ts'
import type { ResolvedPoint, ResolvedProfile } from '../../shared/profile/resolve.ts'
import type { Failure } from '../drivers/transport.ts'
import { failureError } from './sweep.ts'

export interface WritePlan {
  readonly point: ResolvedPoint
  readonly table: 'holding' | 'coil'
  readonly address: number
  /** The registers (bits, for coils) to write; for a `bit` point, the word with only that bit set or cleared. */
  readonly words: readonly number[]
  /** Read-modify-write: keep the register's other bits and set this one. */
  readonly bit?: { readonly bit: number; readonly value: boolean }
}

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: CommandError }

/** Checks a write of `value` to `pointName` against `profile`. */
export function planWrite(profile: ResolvedProfile, pointName: string, value: Value): Checked<WritePlan> {
  const point = profile.points.find((p) => p.name === pointName)
  if (!point) return refuse('unknown_point', `${profile.id} has no point "${pointName}"`)
  if (point.access !== 'readwrite') return refuse('not_writable', `${pointName} is read-only (access: ${point.access})`)
  if (point.table !== 'holding' && point.table !== 'coil') return refuse('not_writable', `${pointName} is in the ${point.table} table, which Modbus cannot write`)
  const wanted = point.type === 'bool' || point.type === 'bit' ? 'boolean' : point.type === 'string' ? 'string' : 'number'
  if (typeof value !== wanted) return refuse('invalid', `${pointName} is ${point.type} and takes a ${wanted}, not a ${typeof value}`)
  const enc = encodePoint(point, value)
  if (!enc.ok) return refuse('out_of_range', `${pointName}: ${enc.reason}`)
  const base = { point, table: point.table, address: point.address, words: enc.words }
  return { ok: true, value: point.type === 'bit' ? { ...base, bit: { bit: point.bit ?? 0, value: value === true } } : base }
}

/** The command error of a write (or its read-modify-write read) that the device did not acknowledge. */
export function writeFailure(pointName: string, f: Failure): CommandError {
  const cause = failureError(f)
  if (f.kind === 'timeout') return { code: 'timeout', message: `the device did not acknowledge the write of ${pointName} in time`, cause }
  const why = f.kind === 'exception' ? `answered exception ${f.code}` : f.kind === 'crc' ? 'answered a corrupt frame' : `could not be reached (${f.detail})`
  return { code: 'device_error', message: clipMessage(`the write of ${pointName} failed: the device ${why}`), cause }
}

function refuse(code: CommandError['code'], message: string): { ok: false; error: CommandError } {
  return { ok: false, error: { code, message: clipMessage(message) } }
}

function clipMessage(s: string): string {
  return s.length <= 500 ? s : `${s.slice(0, 499)}…`
}
