import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { RAW_LIMITS } from '../profile/resolve.ts'
import { decodePoint, decodePointAs } from './decode.ts'
import { encodeBitInto, encodePoint, encodeRaw } from './encode.ts'
import type { IntegerType } from './layout.ts'
import { ORDERS, arrange, pt } from './test-vectors.ts'

const INTEGER_TYPES: readonly IntegerType[] = ['int16', 'uint16', 'int32', 'uint32']
const WIDTH = { int16: 1, uint16: 1, int32: 2, uint32: 2, float32: 2, float64: 4 } as const

function limits(type: IntegerType): { min: number; max: number } {
  const l = RAW_LIMITS[type]
  if (!l) throw new Error(`no RAW_LIMITS for ${type}`)
  return l
}

const rawArbitrary = {
  int16: fc.integer(limits('int16')),
  uint16: fc.integer(limits('uint16')),
  int32: fc.integer(limits('int32')),
  uint32: fc.integer(limits('uint32')),
  float32: fc.float({ noNaN: true, noDefaultInfinity: true }).map(Math.fround),
  float64: fc.double({ noNaN: true, noDefaultInfinity: true }),
} as const

const NUMERIC = (Object.keys(rawArbitrary) as (keyof typeof rawArbitrary)[]).flatMap((type) => ORDERS.map((order) => ({ type, order })))
const word = fc.integer({ min: 0, max: 0xffff })

describe('raw → encodeRaw → decodePoint gives the raw back', () => {
  it.each(NUMERIC)('$type in $order', ({ type, order }) => {
    const p = pt(type, { order })
    fc.assert(
      fc.property(rawArbitrary[type], (raw) => {
        const r = decodePoint(p, encodeRaw(p, raw))
        expect(r.ok && Object.is(r.value, raw)).toBe(true)
      }),
    )
  })

  it.each(ORDERS)('bool and bit in %s', (order) => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 0, max: 15 }), (b, bit) => {
        expect(decodePoint(pt('bool', { order }), encodeRaw(pt('bool', { order }), b))).toEqual({ ok: true, value: b })
        expect(decodePoint(pt('bit', { order, bit }), encodeRaw(pt('bit', { order, bit }), b))).toEqual({ ok: true, value: b })
      }),
    )
  })
})

describe('wire order: the same value in any order decodes alike', () => {
  it.each(NUMERIC)('$type: ABCD words rearranged into $order decode under $order', ({ type, order }) => {
    const abcd = pt(type)
    fc.assert(
      fc.property(rawArbitrary[type], (raw) => {
        // `arrange` moves bytes by the definition of the orders, independently of the codec's reorder
        const r = decodePointAs(abcd, arrange(encodeRaw(abcd, raw), order), order)
        expect(r.ok && Object.is(r.value, raw)).toBe(true)
      }),
    )
  })
})

describe('words → decodePoint → encodePoint gives the same words', () => {
  /** Whether big-endian words hold a NaN/±Infinity pattern (exponent bits all ones). */
  const nonFinite = (type: string, abcd: number[]): boolean =>
    (type === 'float32' && ((abcd[0] ?? 0) & 0x7f80) === 0x7f80) || (type === 'float64' && ((abcd[0] ?? 0) & 0x7ff0) === 0x7ff0)

  it.each(NUMERIC)('$type in $order', ({ type, order }) => {
    const p = pt(type, { order })
    fc.assert(
      fc.property(fc.array(word, { minLength: WIDTH[type], maxLength: WIDTH[type] }), (words) => {
        const r = decodePoint(p, words)
        // every order is its own inverse, so arranging wire words by `order` gives ABCD
        if (nonFinite(type, arrange(words, order))) {
          expect(r.ok ? undefined : r.error.code).toBe('nan')
          return
        }
        expect(r.ok).toBe(true)
        if (r.ok) expect(encodePoint(p, r.value)).toEqual({ ok: true, words })
      }),
    )
  })

  it('bit: decode then read-modify-write leaves the register unchanged', () => {
    fc.assert(
      fc.property(word, fc.integer({ min: 0, max: 15 }), fc.constantFrom(...ORDERS), (w, bit, order) => {
        const r = decodePoint(pt('bit', { bit, order }), [w])
        expect(r.ok && typeof r.value === 'boolean' && encodeBitInto(w, bit, r.value)).toBe(w)
      }),
    )
  })
})

describe('scaled integer points: decodePoint(encodePoint(v)) = v', () => {
  // v, scale and offset are built as exact decimals m·10^-k, so the expected value is
  // the double JavaScript parses from the decimal string, not something the codec computed.
  it.each(INTEGER_TYPES.flatMap((type) => ORDERS.map((order) => ({ type, order }))))('$type in $order', ({ type, order }) => {
    const { min, max } = limits(type)
    fc.assert(
      fc.property(
        fc.integer({ min, max }),
        fc.constantFrom(1, -1, 2, 5, -25),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: -100000, max: 100000 }),
        (raw, m, k, q) => {
          const scale = Number(`${m}e-${k}`)
          const offset = Number(`${q}e-${k}`)
          const value = Number(`${m * raw + q}e-${k}`)
          const p = pt(type, { order, scale, offset })
          const enc = encodePoint(p, value)
          expect(enc).toEqual({ ok: true, words: encodeRaw(p, raw) })
          if (!enc.ok) return
          expect(decodePoint(p, enc.words)).toEqual({ ok: true, value })
        },
      ),
    )
  })
})

describe('strings', () => {
  const printable = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c))

  it.each(ORDERS)('printable ASCII round-trips in %s (trailing spaces are padding)', (order) => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }).chain((registers) => fc.tuple(fc.constant(registers), fc.string({ unit: printable, maxLength: registers * 2 }))), ([registers, s]) => {
        const p = pt('string', { registers, order })
        const enc = encodePoint(p, s)
        expect(enc.ok).toBe(true)
        if (enc.ok) expect(decodePoint(p, enc.words)).toEqual({ ok: true, value: s.replace(/ +$/, '') })
      }),
    )
  })

  it('a string longer than its registers is refused, never cut', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.string({ unit: printable, minLength: 9, maxLength: 20 }), (registers, s) => {
        expect(encodePoint(pt('string', { registers }), s).ok).toBe(false)
      }),
    )
  })
})
