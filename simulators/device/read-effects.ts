/**
 * How the value faults change what a device serves for one point: pure functions
 * from a point and its words in the image to the words sent instead. `bool`,
 * `bit` and `string` points are never touched.
 */
import { decodeRaw, encodeRaw, isNumericType, reorder } from '../../shared/codec/index.ts'
import { RAW_LIMITS, type ResolvedPoint } from '../../shared/profile/resolve.ts'
import type { WordOrder } from '../../shared/profile/schema.ts'
import { swappedWordOrder } from './faults.ts'

/**
 * Whether a point carries a measured quantity (noise applies to it): a float, or an
 * integer with a unit, a range, a scale or an offset. Bare integers — status
 * words, bit fields, counters — are not analog: real noise does not flip them.
 */
export function isAnalog(point: ResolvedPoint): boolean {
  if (point.type === 'float32' || point.type === 'float64') return true
  if (!isNumericType(point.type)) return false
  return point.unit !== undefined || point.range !== undefined || point.scale !== 1 || point.offset !== 0
}

/** Uniform deviates in [0, 1). */
export type Uniform = () => number

/**
 * `sentinel`: the point's first declared sentinel raw value; NaN for a float
 * without sentinels; undefined (serve unchanged) for an integer without any.
 */
export function sentinelWords(point: ResolvedPoint): number[] | undefined {
  if (!isNumericType(point.type)) return undefined
  const s = point.sentinels[0]
  if (s !== undefined) return encodeRaw(point, s)
  return point.type === 'float32' || point.type === 'float64' ? encodeRaw(point, Number.NaN) : undefined
}

/**
 * `wrong-order`: the raw value re-encoded in `order` (default: the point's order
 * with its words swapped), as a firmware configured for the other order sends it.
 * Single-register points are left alone: a word swap does not exist for them.
 */
export function wrongOrderWords(point: ResolvedPoint, words: readonly number[], order?: WordOrder): number[] | undefined {
  if (!isNumericType(point.type) || point.registers < 2) return undefined
  const bigEndian = reorder(words, point.order, 'value')
  return reorder(bigEndian, order ?? swappedWordOrder(point.order), 'value')
}

/**
 * `noise`: with chance `probability`, a spike of ±(0.5..1) × amplitude engineering
 * units on top of the current value; integer raws are clamped to their type's
 * limits (a spike saturates rather than wraps). Only {@link isAnalog} points;
 * always draws exactly two deviates per analog point, spiked or not, so a seed
 * gives the same sequence whatever the values.
 */
export function noiseWords(
  point: ResolvedPoint,
  words: readonly number[],
  next: Uniform,
  opts: { probability?: number; amplitude?: number } = {},
): number[] | undefined {
  if (!isAnalog(point)) return undefined
  const hit = next() < (opts.probability ?? 0.25)
  const size = next()
  if (!hit) return undefined
  const r = decodeRaw(point, words, point.order)
  if (!r.ok || typeof r.raw !== 'number' || !Number.isFinite(r.raw) || point.scale === 0) return undefined
  const value = r.raw * point.scale + point.offset
  const { min, max } = point.range ?? {}
  const amplitude = opts.amplitude ?? (min !== undefined && max !== undefined && max > min ? (max - min) / 2 : Math.max(Math.abs(value), 1))
  // size in [0, 1): the low half picks a downward spike, the high half an upward one, each 0.5..1 × amplitude.
  const signed = size < 0.5 ? -(0.5 + size) : size
  let raw = r.raw + (signed * amplitude) / point.scale
  const limits = RAW_LIMITS[point.type]
  if (limits) raw = Math.min(limits.max, Math.max(limits.min, Math.round(raw)))
  return encodeRaw(point, raw)
}
