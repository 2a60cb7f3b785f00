/**
 * Linear scaling between raw register values and engineering values:
 * engineering = raw × scale + offset.
 *
 * Binary floating point cannot hold most decimal scales exactly, so the naive
 * product carries noise (57 × 0.01 = 0.5700000000000001, 3 × 0.1 = 0.30000000000000004). The noise is removed
 * as follows:
 *
 * - Integer raw values (int16/uint16/int32/uint32): the exact result is a decimal
 *   with at most max(fraction digits of scale, fraction digits of offset) digits
 *   after the point (57 × 0.01 has at most 2). The product is rounded to that many
 *   digits, which yields the double nearest to the exact decimal whenever the
 *   result has at most ~15 significant digits — always the case for 32-bit raws
 *   with scales and offsets of a few decimals. For scales without a short decimal
 *   form (1/3) the rounding is a no-op.
 * - Float raw values (float32/float64): rounded to 12 significant digits of the
 *   larger of |raw × scale| and |offset| (so 0.1 + 0.2 → 0.3, and a result that
 *   cancels to almost nothing rounds to 0 rather than keeping 12 digits of noise).
 *   A float32 carries about 7 digits, so nothing measurable is lost; a scaled
 *   float64 keeps 12.
 *
 * A result is never -0 (rounding a tiny negative would give one).
 *
 * With scale 1 and offset 0 the raw value is returned untouched (no rounding at
 * all), so unscaled floats keep every bit.
 */

/** Significant digits kept for scaled float raws. */
export const FLOAT_SIGNIFICANT_DIGITS = 12

/** Whether scaling with these parameters is the identity. */
export function isIdentityScale(scale: number, offset: number): boolean {
  return scale === 1 && offset === 0
}

/**
 * Digits after the decimal point in the shortest decimal form of `x`
 * (0.01 → 2, 1.5e-7 → 8, 250 → 0). Non-finite values give 0.
 */
export function fractionDigits(x: number): number {
  if (!Number.isFinite(x)) return 0
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(Math.abs(x).toString())
  if (!m) return 0
  return Math.max(0, (m[2]?.length ?? 0) - Number(m[3] ?? 0))
}

/**
 * raw × scale + offset, with the float noise removed as described in this module's
 * header. `integerRaw` says whether the raw value came from an integer type.
 */
export function toEngineering(raw: number, scale: number, offset: number, integerRaw: boolean): number {
  if (isIdentityScale(scale, offset)) return raw
  const product = raw * scale
  const value = product + offset
  if (!Number.isFinite(value)) return value
  // `+ 0` turns a -0 left by rounding a tiny negative ("-0.000") into 0.
  if (integerRaw) {
    // toFixed accepts up to 100 digits; past ~17 the rounding changes nothing anyway.
    const digits = Math.min(Math.max(fractionDigits(scale), fractionDigits(offset)), 100)
    return Number(value.toFixed(digits)) + 0
  }
  // 12 significant digits of the larger term, so that cancellation (raw × scale ≈ −offset)
  // rounds its noise away instead of keeping 12 digits of it.
  const magnitude = Math.max(Math.abs(product), Math.abs(offset))
  if (magnitude === 0) return 0
  const exponent = Math.floor(Math.log10(magnitude))
  if (exponent >= FLOAT_SIGNIFICANT_DIGITS - 1) return Number(value.toPrecision(FLOAT_SIGNIFICANT_DIGITS))
  return Number(value.toFixed(Math.min(FLOAT_SIGNIFICANT_DIGITS - 1 - exponent, 100))) + 0
}

/**
 * (value − offset) / scale, unrounded: the raw value an engineering value stands for.
 * A scale of 0 gives a non-finite result, which callers must reject.
 */
export function toRawNumber(value: number, scale: number, offset: number): number {
  if (isIdentityScale(scale, offset)) return value
  return (value - offset) / scale
}
