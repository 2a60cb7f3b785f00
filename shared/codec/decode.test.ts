import { describe, it, expect } from 'vitest'
import { decodePoint, decodePointAs, decodeRaw, isSentinel } from './decode.ts'
import { clip } from './result.ts'
import { ORDERS, NON_FINITE, VECTOR_CASES, arrange, pt, vectorPoint } from './test-vectors.ts'

describe('decodePoint: hand-computed vectors, every type in every order', () => {
  it.each(VECTOR_CASES)('$note in $order', (c) => {
    const r = decodePoint(vectorPoint(c, c.order), c.wire)
    expect(r.ok).toBe(true)
    if (!r.ok) return
    // Object.is keeps -0 apart from +0
    expect(Object.is(r.value, c.value), `got ${String(r.value)}`).toBe(true)
  })
})

describe('IEEE-754 specials', () => {
  it.each(NON_FINITE.flatMap((c) => ORDERS.map((order) => ({ ...c, order }))))('$note in $order → nan error', (c) => {
    const r = decodePoint(pt(c.type, { order: c.order }), arrange(c.abcd, c.order))
    expect(r).toEqual({ ok: false, error: { code: 'nan', raw: c.raw } })
  })

  it('a NaN is a nan error even when a sentinel, scale and range are declared', () => {
    const p = pt('float32', { sentinels: [0], scale: 2, range: { min: 0, max: 1 } })
    expect(decodePoint(p, [0x7fc0, 0])).toEqual({ ok: false, error: { code: 'nan', raw: 'NaN' } })
  })
})

describe('bit and bool', () => {
  it.each([
    { bit: 0, want: true },
    { bit: 1, want: false },
    { bit: 14, want: false },
    { bit: 15, want: true },
  ])('bit $bit of 0x8001 is $want in every order', ({ bit, want }) => {
    for (const order of ORDERS) expect(decodePoint(pt('bit', { bit, order }), [0x8001])).toEqual({ ok: true, value: want })
  })

  it('bool other than 0/1 is a decode error', () => {
    const r = decodePoint(pt('bool'), [2])
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.code).toBe('decode')
  })

  it('bit without a bit number is a decode error', () => {
    const r = decodePoint(pt('bit'), [1])
    expect(r.ok ? undefined : r.error.code).toBe('decode')
  })

  it('bool and bit ignore scale, offset, sentinels and range', () => {
    const extras = { scale: 10, offset: 5, sentinels: [1], range: { max: 0 } }
    expect(decodePoint(pt('bool', extras), [1])).toEqual({ ok: true, value: true })
    expect(decodePoint(pt('bit', { ...extras, bit: 3 }), [0x0008])).toEqual({ ok: true, value: true })
  })
})

describe('strings', () => {
  it('trims trailing NULs and spaces, keeps leading spaces', () => {
    // ' A' 'B ' ' \0' '\0\0' → " AB"
    expect(decodePoint(pt('string', { registers: 4 }), [0x2041, 0x4220, 0x2000, 0x0000])).toEqual({ ok: true, value: ' AB' })
  })

  it('trims NUL padding in BA order', () => {
    // 'O','K' swapped, then padding
    expect(decodePoint(pt('string', { registers: 2, order: 'BADC' }), [0x4b4f, 0x0000])).toEqual({ ok: true, value: 'OK' })
  })

  it.each([
    { note: 'byte 0xE9 (é in Latin-1)', words: [0x41e9] },
    { note: 'byte 0x7F (DEL)', words: [0x417f] },
    { note: 'a control character 0x0A', words: [0x0a41] },
    { note: 'a NUL inside the text', words: [0x4100, 0x4200] },
  ])('$note is a decode error', ({ words }) => {
    const r = decodePoint(pt('string', { registers: words.length }), words)
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.error.code).toBe('decode')
      expect(r.error.detail).toMatch(/not printable ASCII/)
    }
  })

  it('strings ignore scale and sentinels', () => {
    expect(decodePoint(pt('string', { scale: 3, sentinels: [0] }), [0x3030])).toEqual({ ok: true, value: '00' })
  })
})

describe('scale and offset', () => {
  it.each([
    { note: '1234 × 0.01 = 12.34 without float noise', type: 'uint16' as const, words: [1234], scale: 0.01, offset: 0, want: 12.34 },
    { note: '57 × 0.01 = 0.57 (the naive product is 0.5700000000000001)', type: 'uint16' as const, words: [57], scale: 0.01, offset: 0, want: 0.57 },
    { note: '3 × -0.1 = -0.3 (negative scale)', type: 'int16' as const, words: [3], scale: -0.1, offset: 0, want: -0.3 },
    { note: '-200 × -0.5 = 100', type: 'int16' as const, words: [0xff38], scale: -0.5, offset: 0, want: 100 },
    { note: '2000 × 0.1 − 273.15 = -73.15', type: 'uint16' as const, words: [2000], scale: 0.1, offset: -273.15, want: -73.15 },
    { note: 'offset only: 7 + 0.1 = 7.1', type: 'uint16' as const, words: [7], scale: 1, offset: 0.1, want: 7.1 },
    { note: 'int32 -123456 × 0.001 = -123.456', type: 'int32' as const, words: [0xfffe, 0x1dc0], scale: 0.001, offset: 0, want: -123.456 },
    { note: 'uint32 max × 0.0625 = 268435455.9375 (13 significant digits, kept exactly)', type: 'uint32' as const, words: [0xffff, 0xffff], scale: 0.0625, offset: 0, want: 268435455.9375 },
    { note: 'float32 20.5 + 273.15 = 293.65', type: 'float32' as const, words: [0x41a4, 0x0000], scale: 1, offset: 273.15, want: 293.65 },
    { note: 'float32 123.456 × 10 rounds to 12 significant digits', type: 'float32' as const, words: [0x42f6, 0xe979], scale: 10, offset: 0, want: 1234.56001282 },
  ])('$note', ({ type, words, scale, offset, want }) => {
    expect(decodePoint(pt(type, { scale, offset }), words)).toEqual({ ok: true, value: want })
  })

  it('scale 1 offset 0 returns the float32 raw untouched', () => {
    expect(decodePoint(pt('float32'), [0x42f6, 0xe979])).toEqual({ ok: true, value: 123.45600128173828 })
  })
})

describe('sentinels (checked on the raw value, before scaling)', () => {
  it('0xFFFF on uint16', () => {
    expect(decodePoint(pt('uint16', { sentinels: [65535], scale: 0.1 }), [0xffff])).toEqual({ ok: false, error: { code: 'sentinel', raw: 65535 } })
  })

  it('-32768 on int16, also in BA order', () => {
    const want = { ok: false, error: { code: 'sentinel', raw: -32768 } }
    expect(decodePoint(pt('int16', { sentinels: [-32768] }), [0x8000])).toEqual(want)
    expect(decodePoint(pt('int16', { sentinels: [-32768], order: 'DCBA' }), [0x0080])).toEqual(want)
  })

  it('float sentinel -9999.0 (0xC61C3C00) in CDAB', () => {
    expect(decodePoint(pt('float32', { sentinels: [-9999], order: 'CDAB' }), [0x3c00, 0xc61c])).toEqual({
      ok: false,
      error: { code: 'sentinel', raw: -9999 },
    })
  })

  it('float32 sentinel -999.9 matches the float32 the device sends (0xC479F99A)', () => {
    const r = decodePoint(pt('float32', { sentinels: [-999.9] }), [0xc479, 0xf99a])
    expect(r.ok ? undefined : r.error.code).toBe('sentinel')
  })

  it('float64 sentinel -9999 (0xC0C3878000000000)', () => {
    expect(decodePoint(pt('float64', { sentinels: [-9999] }), [0xc0c3, 0x8780, 0, 0])).toEqual({ ok: false, error: { code: 'sentinel', raw: -9999 } })
  })

  it('an engineering value equal to a sentinel is not a sentinel', () => {
    // raw 100 × 0.1 = 10; the sentinel 10 speaks about raw values
    expect(decodePoint(pt('uint16', { sentinels: [10], scale: 0.1 }), [100])).toEqual({ ok: true, value: 10 })
  })

  it('isSentinel rounds float32 sentinels but not float64 ones', () => {
    expect(isSentinel({ type: 'float32', sentinels: [-999.9] }, Math.fround(-999.9))).toBe(true)
    expect(isSentinel({ type: 'float64', sentinels: [-999.9] }, Math.fround(-999.9))).toBe(false)
  })
})

describe('range (inclusive, on the engineering value)', () => {
  const p = pt('uint16', { scale: 0.1, range: { min: 1, max: 100 } })
  it.each([
    { raw: 10, ok: true },
    { raw: 1000, ok: true },
    { raw: 9, ok: false },
    { raw: 1001, ok: false },
    { raw: 0, ok: false },
    { raw: 65534, ok: false },
  ])('raw $raw → ok $ok', ({ raw, ok }) => {
    const r = decodePoint(p, [raw])
    if (ok) expect(r).toEqual({ ok: true, value: raw / 10 })
    else expect(r).toMatchObject({ ok: false, error: { code: 'out_of_range', raw } })
  })

  it('only min', () => {
    const q = pt('int16', { range: { min: -5 } })
    expect(decodePoint(q, [0xfffb])).toEqual({ ok: true, value: -5 })
    expect(decodePoint(q, [0xfffa])).toMatchObject({ ok: false, error: { code: 'out_of_range', raw: -6, detail: 'value -6 is below min -5' } })
    expect(decodePoint(q, [0x7fff])).toEqual({ ok: true, value: 32767 })
  })

  it('only max, on a float', () => {
    const q = pt('float32', { range: { max: 100 } })
    expect(decodePoint(q, [0x42c8, 0x0000])).toEqual({ ok: true, value: 100 })
    expect(decodePoint(q, [0x42c8, 0x0001])).toMatchObject({ ok: false, error: { code: 'out_of_range' } })
  })

  it('float32 bounds compare at float32 precision: the float32 nearest 0.1 is at max 0.1', () => {
    const q = pt('float32', { range: { min: -0.1, max: 0.1 } })
    expect(decodePoint(q, [0x3dcc, 0xcccd])).toEqual({ ok: true, value: Math.fround(0.1) }) // 0.100000001…
    expect(decodePoint(q, [0x3dcc, 0xccce])).toMatchObject({ ok: false, error: { code: 'out_of_range' } }) // next float32 up
    expect(decodePoint(q, [0xbdcc, 0xcccd])).toEqual({ ok: true, value: Math.fround(-0.1) })
  })

  it('the sentinel check comes before the range check', () => {
    const q = pt('uint16', { sentinels: [65535], range: { max: 100 } })
    expect(decodePoint(q, [0xffff])).toEqual({ ok: false, error: { code: 'sentinel', raw: 65535 } })
  })
})

describe('undecodable input → decode error, never a throw', () => {
  it.each([
    { note: 'short block for float32', point: pt('float32'), words: [0x42f6] },
    { note: 'short block for float64', point: pt('float64'), words: [0x4009, 0x21fb, 0x5444] },
    { note: 'empty words for uint16', point: pt('uint16'), words: [] },
    { note: 'too many words for int32', point: pt('int32'), words: [1, 2, 3] },
    { note: 'word above 0xFFFF', point: pt('uint16'), words: [0x10000] },
    { note: 'negative word', point: pt('int16'), words: [-1] },
    { note: 'fractional word', point: pt('uint16'), words: [1.5] },
    { note: 'NaN word', point: pt('uint16'), words: [Number.NaN] },
    { note: 'int32 point declaring 1 register', point: pt('int32', { registers: 1 }), words: [1] },
    { note: 'string point with 0 registers', point: pt('string', { registers: 0 }), words: [] },
    { note: 'bit number 16', point: pt('bit', { bit: 16 }), words: [1] },
    { note: 'non-finite scale', point: pt('uint16', { scale: Number.NaN }), words: [1] },
  ])('$note', ({ point, words }) => {
    const r = decodePoint(point, words)
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.error.code).toBe('decode')
      expect(r.error.detail?.length).toBeGreaterThan(0)
    }
  })

  it('clip keeps details within the 200 characters PointErrorSchema allows', () => {
    expect(clip('x'.repeat(500))).toHaveLength(200)
    expect(clip('short')).toBe('short')
  })
})

describe('decodePointAs', () => {
  it('decodes under the given order, not the point order (the word-order wizard)', () => {
    const p = pt('float32', { order: 'ABCD' })
    const cdab = [0xe979, 0x42f6]
    expect(decodePointAs(p, cdab, 'CDAB')).toEqual({ ok: true, value: Math.fround(123.456) })
    // the same words in ABCD are 0xE97942F6, a large negative float
    const wrong = decodePoint(p, cdab)
    expect(wrong.ok && wrong.value).not.toBe(Math.fround(123.456))
  })

  it('decodeRaw gives the value before sentinel, scale and range', () => {
    const p = pt('uint16', { sentinels: [65535], scale: 0.1, range: { max: 1 } })
    expect(decodeRaw(p, [0xffff], 'ABCD')).toEqual({ ok: true, raw: 65535 })
    expect(decodeRaw(pt('float32'), [0x7fc0, 0], 'ABCD')).toEqual({ ok: true, raw: Number.NaN })
  })
})
