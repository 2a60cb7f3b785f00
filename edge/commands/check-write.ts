/**
 * Whether a `write` command may go to the device, judged from the profile alone: the
 * point exists, it is writable, and the value fits it. Pure.
 *
 * Order of the checks, and the code each failure answers with:
 * 1. no such point in the profile            → `unknown_point`
 * 2. `access` is not `readwrite`, or the point lives in a table Modbus cannot write
 *    (input registers, discrete inputs)      → `not_writable`
 * 3. the value has the wrong JS type for the point (a number for a `bool`…) → `invalid`
 * 4. `encodePoint` refuses it: outside the profile's range, not representable in the
 *    point's type, a sentinel, a string too long or not printable ASCII → `out_of_range`
 */
import { encodePoint, type Value } from '../../shared/codec/index.ts'
import type { CommandError } from '../../shared/mqtt/index.ts'
import type { ResolvedPoint, ResolvedProfile } from '../../shared/profile/resolve.ts'
import { commandError } from './responses.ts'

/** The point a write may go to, or why not. */
export type WriteCheck = { readonly ok: true; readonly point: ResolvedPoint } | { readonly ok: false; readonly error: CommandError }

/** Checks a write of `value` to point `pointName` of a device with `profile`. */
export function checkWrite(profile: ResolvedProfile, pointName: string, value: Value): WriteCheck {
  const point = profile.points.find((p) => p.name === pointName)
  if (point === undefined) return refuse('unknown_point', `profile ${profile.id} has no point "${pointName}"`)
  if (point.access !== 'readwrite') return refuse('not_writable', `${pointName} is read-only (access: ${point.access})`)
  if (point.table !== 'holding' && point.table !== 'coil') {
    // Modbus Application Protocol v1.1b3 §6: only coils (FC05/15) and holding registers (FC06/16) are written.
    return refuse('not_writable', `${pointName} is in the ${point.table} table, which Modbus cannot write`)
  }
  const wanted = point.type === 'bool' || point.type === 'bit' ? 'boolean' : point.type === 'string' ? 'string' : 'number'
  if (typeof value !== wanted) return refuse('invalid', `${pointName} is ${point.type} and takes a ${wanted}, not a ${typeof value}`)
  const encoded = encodePoint(point, value)
  if (!encoded.ok) return refuse('out_of_range', `${pointName}: ${encoded.reason}`)
  return { ok: true, point }
}

function refuse(code: CommandError['code'], message: string): WriteCheck {
  return { ok: false, error: commandError(code, message) }
}
