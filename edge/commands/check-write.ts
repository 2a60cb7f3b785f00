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
import type { Value } from '../../shared/codec/index.ts'
import type { CommandError } from '../../shared/mqtt/index.ts'
import type { ResolvedPoint, ResolvedProfile } from '../../shared/profile/resolve.ts'
import { planWrite } from '../polling/write.ts'

/** The point a write may go to, or why not. */
export type WriteCheck = { readonly ok: true; readonly point: ResolvedPoint } | { readonly ok: false; readonly error: CommandError }

/**
 * Checks a write of `value` to point `pointName` of a device with `profile`: the same
 * rules the polling engine applies before it writes (`planWrite`), answered before the
 * command is queued so a refusal costs no bus time.
 */
export function checkWrite(profile: ResolvedProfile, pointName: string, value: Value): WriteCheck {
  const plan = planWrite(profile, pointName, value)
  return plan.ok ? { ok: true, point: plan.value.point } : plan
}
