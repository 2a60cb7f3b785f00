/**
 * Which points the codec can handle at all: the register span must match the type,
 * a `bit` point needs its bit number, scale and offset must be finite. Profiles that
 * passed validation always satisfy this; the check guards hand-built points so the
 * decoder can answer with a `decode` error instead of throwing.
 */
import type { PointType } from '../profile/schema.ts'
import { TYPE_REGISTERS, type ResolvedPoint } from '../profile/resolve.ts'

/** Point types carried as numbers (and scaled). */
export type NumericType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64'

/** Integer point types, whose raw value is limited by `RAW_LIMITS`. */
export type IntegerType = 'int16' | 'uint16' | 'int32' | 'uint32'

/** Whether `type` is carried as a number (scaled, range-checked, sentinel-checked). */
export function isNumericType(type: PointType): type is NumericType {
  return isIntegerType(type) || isFloatType(type)
}

/** Whether `type` is one of the integer types. */
export function isIntegerType(type: PointType): type is IntegerType {
  return type === 'int16' || type === 'uint16' || type === 'int32' || type === 'uint32'
}

/** Whether `type` is an IEEE-754 float type. */
export function isFloatType(type: PointType): type is 'float32' | 'float64' {
  return type === 'float32' || type === 'float64'
}

/** Why the codec cannot handle `point`, or undefined when it can. */
export function layoutProblem(point: ResolvedPoint): string | undefined {
  const { type, registers } = point
  if (type === 'string') {
    if (!Number.isInteger(registers) || registers < 1) return `string point spans ${registers} registers, needs at least 1`
  } else {
    const width = (TYPE_REGISTERS as Partial<Record<string, number>>)[type]
    if (width === undefined) return `unknown point type ${String(type).slice(0, 20)}`
    if (registers !== width) return `${type} spans ${width} register${width === 1 ? '' : 's'}, point declares ${registers}`
  }
  if (type === 'bit' && !isBitNumber(point.bit)) return `bit point needs a bit number 0..15, has ${String(point.bit)}`
  if (isNumericType(type) && !(Number.isFinite(point.scale) && Number.isFinite(point.offset))) {
    return `scale ${point.scale} and offset ${point.offset} must be finite numbers`
  }
  return undefined
}

/** Whether `bit` names a bit of a 16-bit register (0 = least significant). */
export function isBitNumber(bit: unknown): bit is number {
  return typeof bit === 'number' && Number.isInteger(bit) && bit >= 0 && bit <= 15
}
