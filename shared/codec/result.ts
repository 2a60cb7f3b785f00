/**
 * What the codec hands back: a value, or a point error that says why there is none
 * (the values/errors split of a reading), and the outcome of an encode.
 */
import type { PointError } from '../quality.ts'

/** An engineering value: a number for numeric types, a boolean for `bool`/`bit`, a string for `string`. */
export type Value = number | boolean | string

/** The outcome of decoding one point: its value, or the error that takes its place. */
export type PointResult = { ok: true; value: Value } | { ok: false; error: PointError }

/** The outcome of encoding one point: the registers in the point's order, or why it cannot be written. */
export type EncodeResult = { ok: true; words: number[] } | { ok: false; reason: string }

/** `PointErrorSchema` caps `detail` at 200 characters. */
const DETAIL_MAX = 200

/** A `decode` error with a detail clipped to what the error schema allows. */
export function decodeError(detail: string): { ok: false; error: PointError } {
  return { ok: false, error: { code: 'decode', detail: clip(detail) } }
}

/** Clips a detail string to the 200 characters `PointErrorSchema` allows. */
export function clip(detail: string): string {
  return detail.length <= DETAIL_MAX ? detail : `${detail.slice(0, DETAIL_MAX - 1)}…`
}
