/**
 * Engineering value → registers, the inverse of `decodePoint`: what a write (FC05/06/15/16)
 * sends and what a simulator serves.
 *
 * - {@link encodePoint} checks everything a write must respect (JS type, range, type
 *   limits, sentinels) and says why when it refuses.
 * - {@link encodeRaw} checks nothing: simulators use it to serve out-of-range values,
 *   sentinels, NaN and bad strings on purpose.
 */
import type { ResolvedPoint } from '../profile/resolve.ts'
import { RAW_LIMITS } from '../profile/resolve.ts'
import { encodeAscii, isPrintableAsciiString } from './ascii.ts'
import { isSentinel, rangeProblem } from './decode.ts'
import { isBitNumber, isIntegerType, layoutProblem } from './layout.ts'
import type { EncodeResult, Value } from './result.ts'
import { toRawNumber } from './scale.ts'
import { bytesToWords, reorder } from './words.ts'

/**
 * Sets or clears bit `bit` (0 = least significant) of a 16-bit register and leaves
 * the other 15 bits as they are: the modify step of a read-modify-write of a `bit`
 * point. Throws a RangeError when `bit` is not 0..15 or `word` not a 16-bit word,
 * both bugs in the caller.
 */
export function encodeBitInto(word: number, bit: number, value: boolean): number {
  if (!isBitNumber(bit)) throw new RangeError(`bit ${bit} is not 0..15`)
  if (!Number.isInteger(word) || word < 0 || word > 0xffff) throw new RangeError(`${word} is not a 16-bit word`)
  return value ? word | (1 << bit) : word & ~(1 << bit) & 0xffff
}

/**
 * Raw value → registers in the point's order, with no checks: no range, no
 * sentinel, no type fit. For simulators, which must be able to serve anything a
 * broken device sends.
 *
 * - Integer types: `raw` is rounded half away from zero and wrapped modulo 2^16 or
 *   2^32 (two's complement), so -1 as uint16 gives 0xFFFF; NaN and ±Infinity give 0.
 * - Float types: any number, NaN and ±Infinity included; float32 rounds to nearest.
 * - `bool`/`bit`: true, a non-zero number, or the string `'true'`/`'1'` is 1. `bit`
 *   gives one word with only that bit set (or 0).
 * - `string`: the low byte of each character code, NUL-padded and cut to
 *   `2 × point.registers` characters.
 * - Numeric types given a boolean or string convert it with `Number()`.
 *
 * Throws a RangeError when the point itself cannot be encoded (span not matching
 * its type, `bit` without a bit number): a bug in the caller, not a value problem.
 */
export function encodeRaw(point: ResolvedPoint, raw: number | boolean | string): number[] {
  const problem = layoutProblem(point)
  if (problem !== undefined) throw new RangeError(`point ${point.name}: ${problem}`)
  switch (point.type) {
    case 'bool':
      return [truthy(raw) ? 1 : 0]
    case 'bit':
      return [encodeBitInto(0, point.bit ?? 0, truthy(raw))]
    case 'string':
      return reorder(bytesToWords(encodeAscii(String(raw), point.registers * 2)), point.order, 'word')
    default: {
      const type = point.type
      const bytes = new Uint8Array(point.registers * 2)
      const view = new DataView(bytes.buffer)
      const n = Number(raw)
      if (type === 'float32') view.setFloat32(0, n)
      else if (type === 'float64') view.setFloat64(0, n)
      else {
        // DataView setters wrap modulo 2^16 / 2^32 (ECMA-262 ToInt16/ToUint32 …).
        const i = Number.isFinite(n) ? roundHalfAway(n) : 0
        if (type === 'int16') view.setInt16(0, i)
        else if (type === 'uint16') view.setUint16(0, i)
        else if (type === 'int32') view.setInt32(0, i)
        else view.setUint32(0, i)
      }
      return reorder(bytesToWords(bytes), point.order, 'value')
    }
  }
}

/**
 * Engineering value → registers in the point's order; the inverse of `decodePoint`.
 *
 * raw = (value − offset) / scale, rounded half away from zero for integer types
 * (12.34 at scale 0.01 → 1234) and to the nearest float32 for float32. Refused, with
 * a reason, when: the value has the wrong JS type (`bool`/`bit` take booleans,
 * `string` a string, the rest a finite number); it lies outside `point.range`; the
 * raw value does not fit the type (outside `RAW_LIMITS`, or overflowing float32/64,
 * or a scale of 0); the raw value is one of `point.sentinels` (it would read back as
 * "no measurement"); a string is not printable ASCII or longer than
 * `2 × point.registers`.
 *
 * For `bit` the result is one word with only that bit set or cleared from 0; to
 * keep the register's other bits, read it and use {@link encodeBitInto}.
 */
export function encodePoint(point: ResolvedPoint, value: Value): EncodeResult {
  const problem = layoutProblem(point)
  if (problem !== undefined) return { ok: false, reason: problem }
  const type = point.type
  if (type === 'bool' || type === 'bit') {
    if (typeof value !== 'boolean') return wrongType(type, 'a boolean', value)
    return { ok: true, words: encodeRaw(point, value) }
  }
  if (type === 'string') {
    if (typeof value !== 'string') return wrongType(type, 'a string', value)
    if (!isPrintableAsciiString(value)) return { ok: false, reason: 'string has characters outside printable ASCII (0x20..0x7E)' }
    const capacity = point.registers * 2
    if (value.length > capacity) return { ok: false, reason: `string of ${value.length} characters exceeds ${capacity} (${point.registers} registers)` }
    return { ok: true, words: encodeRaw(point, value) }
  }
  if (typeof value !== 'number') return wrongType(type, 'a number', value)
  if (!Number.isFinite(value)) return { ok: false, reason: `${value} is not a finite number` }
  const outside = rangeProblem(point, value)
  if (outside !== undefined) return { ok: false, reason: outside }
  if (point.scale === 0) return { ok: false, reason: 'scale is 0: every raw value reads as the offset' }

  let raw = toRawNumber(value, point.scale, point.offset)
  if (isIntegerType(type)) {
    raw = roundHalfAway(raw)
    const limits = RAW_LIMITS[type]
    if (limits && !(raw >= limits.min && raw <= limits.max)) {
      return { ok: false, reason: `raw ${raw} does not fit ${type} (${limits.min}..${limits.max})` }
    }
  } else if (!Number.isFinite(type === 'float32' ? Math.fround(raw) : raw)) {
    return { ok: false, reason: `raw ${raw} does not fit ${type}` }
  }
  if (isSentinel(point, type === 'float32' ? Math.fround(raw) : raw)) {
    return { ok: false, reason: `raw ${raw} is a sentinel ("no measurement") of this point` }
  }
  return { ok: true, words: encodeRaw(point, raw) }
}

function wrongType(type: string, wanted: string, value: unknown): EncodeResult {
  return { ok: false, reason: `${type} point needs ${wanted}, got ${typeof value}` }
}

function truthy(raw: number | boolean | string): boolean {
  if (typeof raw === 'string') return raw === 'true' || raw === '1'
  return typeof raw === 'boolean' ? raw : raw !== 0 && !Number.isNaN(raw)
}

/** Rounds half away from zero (2.5 → 3, −2.5 → −3), symmetric for negative raws. */
function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x))
}
