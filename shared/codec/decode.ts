/**
 * Registers → engineering value of one point. Pure and total: whatever the words,
 * the answer is a value or a point error, never an exception, so one bad register
 * cannot crash a poll loop.
 *
 * The checks run in this order, each on what the previous step produced:
 * 1. the point is decodable and `words` holds exactly `point.registers` 16-bit words
 *    (else `decode`);
 * 2. the raw value is read in the given order (a bad string byte gives `decode`);
 * 3. numeric types only: a NaN or ±Infinity float gives `nan`; a raw value equal to
 *    one of `point.sentinels` gives `sentinel` (before scaling); the scaled value
 *    outside `point.range` (inclusive) gives `out_of_range`.
 *
 * `bool`, `bit` and `string` points are not scaled and ignore sentinels and range.
 */
import type { WordOrder } from '../profile/schema.ts'
import type { ResolvedPoint } from '../profile/resolve.ts'
import type { PointError } from '../quality.ts'
import { decodeAscii } from './ascii.ts'
import { isIntegerType, layoutProblem } from './layout.ts'
import { clip, decodeError, type PointResult } from './result.ts'
import { toEngineering } from './scale.ts'
import { reorder, wordsProblem, wordsToBytes } from './words.ts'

/** A raw value before sentinel, scale and range: number (possibly NaN/±Infinity for floats), boolean or string. */
export type Raw = number | boolean | string

export type RawResult = { ok: true; raw: Raw } | { ok: false; error: PointError }

/**
 * Decodes one point from exactly `point.registers` 16-bit words (for `bool`, one
 * element 0 or 1), in the point's own word order.
 */
export function decodePoint(point: ResolvedPoint, words: ArrayLike<number>): PointResult {
  return decodePointAs(point, words, point.order)
}

/**
 * Decodes one point under an explicit word order, whatever `point.order` says: the
 * edge's word-order wizard calls it with all four orders to show which one gives
 * plausible values.
 */
export function decodePointAs(point: ResolvedPoint, words: ArrayLike<number>, order: WordOrder): PointResult {
  const r = decodeRaw(point, words, order)
  if (!r.ok) return r
  if (typeof r.raw !== 'number') return { ok: true, value: r.raw }
  return checkNumber(point, r.raw)
}

/**
 * The raw value of a point, before sentinel, scale and range checks: what the
 * registers literally say under `order`. Errors only when the words cannot be read
 * as the point's type at all (`decode`).
 */
export function decodeRaw(point: ResolvedPoint, words: ArrayLike<number>, order: WordOrder): RawResult {
  const problem = layoutProblem(point) ?? wordsProblem(words, point.registers)
  if (problem !== undefined) return decodeError(problem)
  const first = words[0] ?? 0
  switch (point.type) {
    case 'bool':
      if (first !== 0 && first !== 1) return decodeError(`bool reads ${first}, not 0 or 1`)
      return { ok: true, raw: first === 1 }
    case 'bit':
      return { ok: true, raw: ((first >>> (point.bit ?? 0)) & 1) === 1 }
    case 'string': {
      const text = decodeAscii(wordsToBytes(reorder(words, order, 'word')))
      return text.ok ? { ok: true, raw: text.text } : decodeError(text.detail)
    }
    default: {
      const bytes = wordsToBytes(reorder(words, order, 'value'))
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      return { ok: true, raw: readNumber(view, point.type) }
    }
  }
}

function readNumber(view: DataView, type: 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64'): number {
  switch (type) {
    case 'int16':
      return view.getInt16(0)
    case 'uint16':
      return view.getUint16(0)
    case 'int32':
      return view.getInt32(0)
    case 'uint32':
      return view.getUint32(0)
    case 'float32':
      return view.getFloat32(0)
    case 'float64':
      return view.getFloat64(0)
  }
}

/**
 * Whether a raw value equals a declared sentinel. float32 sentinels are compared
 * after rounding to float32, because a profile writes `-999.9` and the device sends
 * the nearest float32 (-999.9000244…).
 */
export function isSentinel(point: Pick<ResolvedPoint, 'type' | 'sentinels'>, raw: number): boolean {
  return point.sentinels.some((s) => (point.type === 'float32' ? Math.fround(s) : s) === raw)
}

/** nan → sentinel → scale → range, for a numeric raw value. */
function checkNumber(point: ResolvedPoint, raw: number): PointResult {
  if (!Number.isFinite(raw)) return { ok: false, error: { code: 'nan', raw: String(raw) } }
  if (isSentinel(point, raw)) return { ok: false, error: { code: 'sentinel', raw } }
  const value = toEngineering(raw, point.scale, point.offset, isIntegerType(point.type))
  const why = rangeProblem(point, value)
  if (why !== undefined) return { ok: false, error: { code: 'out_of_range', raw, detail: clip(why) } }
  return { ok: true, value }
}

/**
 * Why an engineering value lies outside `point.range` (bounds inclusive), or
 * undefined when inside. For float32 points both sides are rounded to float32
 * first: a profile's `max: 0.1` cannot be met exactly by a float32 register, and
 * the float32 nearest to 0.1 (0.100000001…) must count as at the bound, not beyond.
 */
export function rangeProblem(point: Pick<ResolvedPoint, 'range' | 'type'>, value: number): string | undefined {
  const f = point.type === 'float32' ? Math.fround : (x: number): number => x
  const min = point.range?.min
  const max = point.range?.max
  if (min !== undefined && !(f(value) >= f(min))) return `value ${value} is below min ${min}`
  if (max !== undefined && !(f(value) <= f(max))) return `value ${value} is above max ${max}`
  return undefined
}
