/**
 * Test support, not part of the codec API: a point factory and hand-computed
 * register vectors shared by decode.test.ts and encode.test.ts. Every word below
 * was worked out by hand from the IEEE-754 / two's-complement bit pattern named in
 * `note` (A = most significant byte; CDAB = words reversed, BADC = bytes swapped in
 * each word, DCBA = both), never produced by the codec.
 */
import type { PointType, WordOrder } from '../profile/schema.ts'
import { TYPE_REGISTERS, type ResolvedPoint } from '../profile/resolve.ts'
import type { Value } from './result.ts'

export const ORDERS: readonly WordOrder[] = ['ABCD', 'CDAB', 'BADC', 'DCBA']

/** A resolved point with neutral defaults (scale 1, offset 0, ABCD, no sentinels, no range). */
export function pt(type: PointType, over: Partial<ResolvedPoint> = {}): ResolvedPoint {
  return {
    name: 'p',
    table: 'holding',
    address: 0,
    registers: type === 'string' ? 1 : TYPE_REGISTERS[type],
    type,
    order: 'ABCD',
    scale: 1,
    offset: 0,
    access: 'readwrite',
    sentinels: [],
    poll: 'fast',
    ...over,
  }
}

export interface Vector {
  note: string
  type: PointType
  /** register count, for strings */
  registers?: number
  /** bit number, for `bit` */
  bit?: number
  value: Value
  words: Record<WordOrder, number[]>
  /** what encoding `value` gives when it is not `words` (a `bit` point encodes from 0, every order alike) */
  encoded?: number[]
}

/** The same words in every order (bool, bit, palindromic patterns). */
const same = (words: number[]): Record<WordOrder, number[]> => ({ ABCD: words, CDAB: words, BADC: words, DCBA: words })

/** float32 max = (2 − 2^−23) × 2^127. */
const FLOAT32_MAX = (2 - 2 ** -23) * 2 ** 127

export const VECTORS: readonly Vector[] = [
  // 16-bit: only the byte swap (BADC, DCBA) applies
  { note: 'int16 -1 = 0xFFFF', type: 'int16', value: -1, words: same([0xffff]) },
  { note: 'int16 -2 = 0xFFFE', type: 'int16', value: -2, words: { ABCD: [0xfffe], CDAB: [0xfffe], BADC: [0xfeff], DCBA: [0xfeff] } },
  { note: 'int16 4660 = 0x1234', type: 'int16', value: 4660, words: { ABCD: [0x1234], CDAB: [0x1234], BADC: [0x3412], DCBA: [0x3412] } },
  { note: 'int16 min -32768 = 0x8000', type: 'int16', value: -32768, words: { ABCD: [0x8000], CDAB: [0x8000], BADC: [0x0080], DCBA: [0x0080] } },
  { note: 'int16 max 32767 = 0x7FFF', type: 'int16', value: 32767, words: { ABCD: [0x7fff], CDAB: [0x7fff], BADC: [0xff7f], DCBA: [0xff7f] } },
  { note: 'uint16 max 65535 = 0xFFFF', type: 'uint16', value: 65535, words: same([0xffff]) },
  { note: 'uint16 255 = 0x00FF', type: 'uint16', value: 255, words: { ABCD: [0x00ff], CDAB: [0x00ff], BADC: [0xff00], DCBA: [0xff00] } },
  { note: 'uint16 0xABCD', type: 'uint16', value: 43981, words: { ABCD: [0xabcd], CDAB: [0xabcd], BADC: [0xcdab], DCBA: [0xcdab] } },
  // 32-bit integers
  { note: 'int32 -2 = 0xFFFFFFFE', type: 'int32', value: -2, words: { ABCD: [0xffff, 0xfffe], CDAB: [0xfffe, 0xffff], BADC: [0xffff, 0xfeff], DCBA: [0xfeff, 0xffff] } },
  { note: 'int32 -123456 = 0xFFFE1DC0', type: 'int32', value: -123456, words: { ABCD: [0xfffe, 0x1dc0], CDAB: [0x1dc0, 0xfffe], BADC: [0xfeff, 0xc01d], DCBA: [0xc01d, 0xfeff] } },
  { note: 'int32 max = 0x7FFFFFFF', type: 'int32', value: 2147483647, words: { ABCD: [0x7fff, 0xffff], CDAB: [0xffff, 0x7fff], BADC: [0xff7f, 0xffff], DCBA: [0xffff, 0xff7f] } },
  { note: 'int32 min = 0x80000000', type: 'int32', value: -2147483648, words: { ABCD: [0x8000, 0x0000], CDAB: [0x0000, 0x8000], BADC: [0x0080, 0x0000], DCBA: [0x0000, 0x0080] } },
  { note: 'uint32 max = 0xFFFFFFFF', type: 'uint32', value: 4294967295, words: same([0xffff, 0xffff]) },
  { note: 'uint32 0x12345678', type: 'uint32', value: 305419896, words: { ABCD: [0x1234, 0x5678], CDAB: [0x5678, 0x1234], BADC: [0x3412, 0x7856], DCBA: [0x7856, 0x3412] } },
  // float32
  { note: 'float32 123.456 = 0x42F6E979', type: 'float32', value: Math.fround(123.456), words: { ABCD: [0x42f6, 0xe979], CDAB: [0xe979, 0x42f6], BADC: [0xf642, 0x79e9], DCBA: [0x79e9, 0xf642] } },
  { note: 'float32 -9999 = 0xC61C3C00', type: 'float32', value: -9999, words: { ABCD: [0xc61c, 0x3c00], CDAB: [0x3c00, 0xc61c], BADC: [0x1cc6, 0x003c], DCBA: [0x003c, 0x1cc6] } },
  { note: 'float32 +0 = 0x00000000', type: 'float32', value: 0, words: same([0x0000, 0x0000]) },
  { note: 'float32 -0 = 0x80000000', type: 'float32', value: -0, words: { ABCD: [0x8000, 0x0000], CDAB: [0x0000, 0x8000], BADC: [0x0080, 0x0000], DCBA: [0x0000, 0x0080] } },
  { note: 'float32 smallest denormal 2^-149 = 0x00000001', type: 'float32', value: 2 ** -149, words: { ABCD: [0x0000, 0x0001], CDAB: [0x0001, 0x0000], BADC: [0x0000, 0x0100], DCBA: [0x0100, 0x0000] } },
  { note: 'float32 max = 0x7F7FFFFF', type: 'float32', value: FLOAT32_MAX, words: { ABCD: [0x7f7f, 0xffff], CDAB: [0xffff, 0x7f7f], BADC: [0x7f7f, 0xffff], DCBA: [0xffff, 0x7f7f] } },
  { note: 'float32 -max = 0xFF7FFFFF', type: 'float32', value: -FLOAT32_MAX, words: { ABCD: [0xff7f, 0xffff], CDAB: [0xffff, 0xff7f], BADC: [0x7fff, 0xffff], DCBA: [0xffff, 0x7fff] } },
  // float64: ABCDEFGH, GHEFCDAB, BADCFEHG, HGFEDCBA
  { note: 'float64 pi = 0x400921FB54442D18', type: 'float64', value: Math.PI, words: { ABCD: [0x4009, 0x21fb, 0x5444, 0x2d18], CDAB: [0x2d18, 0x5444, 0x21fb, 0x4009], BADC: [0x0940, 0xfb21, 0x4454, 0x182d], DCBA: [0x182d, 0x4454, 0xfb21, 0x0940] } },
  { note: 'float64 -1.5 = 0xBFF8000000000000', type: 'float64', value: -1.5, words: { ABCD: [0xbff8, 0, 0, 0], CDAB: [0, 0, 0, 0xbff8], BADC: [0xf8bf, 0, 0, 0], DCBA: [0, 0, 0, 0xf8bf] } },
  { note: 'float64 -0 = 0x8000000000000000', type: 'float64', value: -0, words: { ABCD: [0x8000, 0, 0, 0], CDAB: [0, 0, 0, 0x8000], BADC: [0x0080, 0, 0, 0], DCBA: [0, 0, 0, 0x0080] } },
  { note: 'float64 smallest denormal 5e-324 = 0x0000000000000001', type: 'float64', value: Number.MIN_VALUE, words: { ABCD: [0, 0, 0, 0x0001], CDAB: [0x0001, 0, 0, 0], BADC: [0, 0, 0, 0x0100], DCBA: [0x0100, 0, 0, 0] } },
  { note: 'float64 max = 0x7FEFFFFFFFFFFFFF', type: 'float64', value: Number.MAX_VALUE, words: { ABCD: [0x7fef, 0xffff, 0xffff, 0xffff], CDAB: [0xffff, 0xffff, 0xffff, 0x7fef], BADC: [0xef7f, 0xffff, 0xffff, 0xffff], DCBA: [0xffff, 0xffff, 0xffff, 0xef7f] } },
  // bits and bools ignore the order
  { note: 'bit 0 of 0x8001', type: 'bit', bit: 0, value: true, words: same([0x8001]), encoded: [0x0001] },
  { note: 'bit 15 of 0x8001', type: 'bit', bit: 15, value: true, words: same([0x8001]), encoded: [0x8000] },
  { note: 'bit 1 of 0x0000', type: 'bit', bit: 1, value: false, words: same([0x0000]) },
  { note: 'bool 1', type: 'bool', value: true, words: same([1]) },
  { note: 'bool 0', type: 'bool', value: false, words: same([0]) },
  // strings: first char in the high byte; BADC/DCBA swap bytes per word; CDAB/DCBA never reverse words
  { note: "string 'AB12' (2 registers)", type: 'string', registers: 2, value: 'AB12', words: { ABCD: [0x4142, 0x3132], CDAB: [0x4142, 0x3132], BADC: [0x4241, 0x3231], DCBA: [0x4241, 0x3231] } },
  { note: "string 'HELLO' NUL-padded in 3 registers", type: 'string', registers: 3, value: 'HELLO', words: { ABCD: [0x4845, 0x4c4c, 0x4f00], CDAB: [0x4845, 0x4c4c, 0x4f00], BADC: [0x4548, 0x4c4c, 0x004f], DCBA: [0x4548, 0x4c4c, 0x004f] } },
  { note: 'empty string, all NUL', type: 'string', registers: 2, value: '', words: same([0, 0]) },
]

/** The point a vector describes, in `order`. */
export function vectorPoint(v: Vector, order: WordOrder): ResolvedPoint {
  return pt(v.type, {
    order,
    ...(v.registers !== undefined && { registers: v.registers }),
    ...(v.bit !== undefined && { bit: v.bit }),
  })
}

/** Every vector × every order, flattened for `it.each`. */
export const VECTOR_CASES = VECTORS.flatMap((v) => ORDERS.map((order) => ({ ...v, order, wire: v.words[order] })))

/** Non-finite float patterns (big-endian words) and the `raw` the nan error must carry. */
export const NON_FINITE: readonly { note: string; type: 'float32' | 'float64'; abcd: number[]; raw: string }[] = [
  { note: 'float32 quiet NaN 0x7FC00000', type: 'float32', abcd: [0x7fc0, 0x0000], raw: 'NaN' },
  { note: 'float32 NaN with payload 0x7F800001', type: 'float32', abcd: [0x7f80, 0x0001], raw: 'NaN' },
  { note: 'float32 +Infinity 0x7F800000', type: 'float32', abcd: [0x7f80, 0x0000], raw: 'Infinity' },
  { note: 'float32 -Infinity 0xFF800000', type: 'float32', abcd: [0xff80, 0x0000], raw: '-Infinity' },
  { note: 'float64 quiet NaN 0x7FF8000000000000', type: 'float64', abcd: [0x7ff8, 0, 0, 0], raw: 'NaN' },
  { note: 'float64 +Infinity 0x7FF0000000000000', type: 'float64', abcd: [0x7ff0, 0, 0, 0], raw: 'Infinity' },
  { note: 'float64 -Infinity 0xFFF0000000000000', type: 'float64', abcd: [0xfff0, 0, 0, 0], raw: '-Infinity' },
]

/**
 * `abcd` rearranged into `order` by the definition of the orders, written out
 * independently of the codec's `reorder` (index arithmetic on bytes).
 */
export function arrange(abcd: readonly number[], order: WordOrder): number[] {
  const bytes = abcd.flatMap((w) => [w >> 8, w & 0xff])
  const n = bytes.length
  const at = (i: number): number => bytes[i] ?? 0
  return abcd.map((_, i) => {
    switch (order) {
      case 'ABCD':
        return (at(2 * i) << 8) | at(2 * i + 1)
      case 'BADC':
        return (at(2 * i + 1) << 8) | at(2 * i)
      case 'CDAB':
        return (at(n - 2 - 2 * i) << 8) | at(n - 1 - 2 * i)
      case 'DCBA':
        return (at(n - 1 - 2 * i) << 8) | at(n - 2 - 2 * i)
    }
  })
}
