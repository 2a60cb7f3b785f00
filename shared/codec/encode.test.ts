import { describe, it, expect } from 'vitest'
import { encodeBitInto, encodePoint, encodeRaw } from './encode.ts'
import { VECTOR_CASES, pt, vectorPoint } from './test-vectors.ts'

describe('encodePoint and encodeRaw: hand-computed vectors, every type in every order', () => {
  it.each(VECTOR_CASES)('$note in $order', (c) => {
    const p = vectorPoint(c, c.order)
    const want = c.encoded ?? c.wire
    expect(encodePoint(p, c.value)).toEqual({ ok: true, words: want })
    expect(encodeRaw(p, c.value)).toEqual(want)
  })
})

describe('encodePoint scaling', () => {
  it.each([
    { note: '12.34 at scale 0.01 → raw 1234', point: pt('uint16', { scale: 0.01 }), value: 12.34, words: [1234] },
    { note: '-0.3 at scale -0.1 → raw 3', point: pt('int16', { scale: -0.1 }), value: -0.3, words: [3] },
    { note: '-73.15 at scale 0.1, offset -273.15 → raw 2000', point: pt('uint16', { scale: 0.1, offset: -273.15 }), value: -73.15, words: [2000] },
    { note: '12.345 at scale 0.01 rounds half away from zero → 1235', point: pt('uint16', { scale: 0.01 }), value: 12.345, words: [1235] },
    { note: '-12.345 at scale 0.01 rounds half away from zero → -1235 = 0xFB2D', point: pt('int16', { scale: 0.01 }), value: -12.345, words: [0xfb2d] },
    { note: '-1.5 at offset 0.5 → raw -2 = 0xFFFE', point: pt('int16', { offset: 0.5 }), value: -1.5, words: [0xfffe] },
    { note: '-123.456 at scale 0.001 in CDAB → 0xFFFE1DC0 word-swapped', point: pt('int32', { scale: 0.001, order: 'CDAB' }), value: -123.456, words: [0x1dc0, 0xfffe] },
    { note: '293.65 at offset 273.15 as float32 → 20.5 = 0x41A40000', point: pt('float32', { offset: 273.15 }), value: 293.65, words: [0x41a4, 0x0000] },
  ])('$note', ({ point, value, words }) => {
    expect(encodePoint(point, value)).toEqual({ ok: true, words })
  })

  it('bit encodes a single word from 0', () => {
    expect(encodePoint(pt('bit', { bit: 15 }), true)).toEqual({ ok: true, words: [0x8000] })
    expect(encodePoint(pt('bit', { bit: 3 }), false)).toEqual({ ok: true, words: [0x0000] })
  })

  it('a string shorter than the registers is NUL-padded; trailing spaces are kept on the wire', () => {
    expect(encodePoint(pt('string', { registers: 2 }), 'A ')).toEqual({ ok: true, words: [0x4120, 0x0000] })
  })
})

describe('encodePoint refuses with a reason', () => {
  it.each([
    { note: 'int16 above 32767', point: pt('int16'), value: 32768, reason: /does not fit int16/ },
    { note: 'int16 below -32768', point: pt('int16'), value: -32769, reason: /does not fit int16/ },
    { note: 'uint16 negative', point: pt('uint16'), value: -1, reason: /does not fit uint16/ },
    { note: 'uint16 that only overflows after scaling', point: pt('uint16', { scale: 0.01 }), value: 655.36, reason: /raw 65536 does not fit/ },
    { note: 'uint32 above 2^32-1', point: pt('uint32'), value: 4294967296, reason: /does not fit uint32/ },
    { note: 'int32 that rounds past the limit', point: pt('int32'), value: 2147483647.5, reason: /does not fit int32/ },
    { note: 'float32 beyond float32 max', point: pt('float32'), value: 1e39, reason: /does not fit float32/ },
    { note: 'float64 that overflows after scaling', point: pt('float64', { scale: 1e-10 }), value: Number.MAX_VALUE, reason: /does not fit float64/ },
    { note: 'NaN', point: pt('float32'), value: Number.NaN, reason: /not a finite number/ },
    { note: 'Infinity', point: pt('float64'), value: Number.POSITIVE_INFINITY, reason: /not a finite number/ },
    { note: 'a string for a number', point: pt('uint16'), value: '12', reason: /needs a number, got string/ },
    { note: 'a boolean for a number', point: pt('int32'), value: true, reason: /needs a number, got boolean/ },
    { note: 'a number for a bool', point: pt('bool'), value: 1, reason: /needs a boolean, got number/ },
    { note: 'a number for a bit', point: pt('bit', { bit: 0 }), value: 0, reason: /needs a boolean/ },
    { note: 'a number for a string', point: pt('string'), value: 42, reason: /needs a string/ },
    { note: 'a string longer than the registers', point: pt('string', { registers: 2 }), value: 'ABCDE', reason: /5 characters exceeds 4/ },
    { note: 'a non-ASCII string', point: pt('string', { registers: 2 }), value: 'café', reason: /printable ASCII/ },
    { note: 'a control character in a string', point: pt('string', { registers: 2 }), value: 'a\nb', reason: /printable ASCII/ },
    { note: 'a value above range max', point: pt('uint16', { range: { max: 100 } }), value: 100.5, reason: /above max 100/ },
    { note: 'a value below range min', point: pt('int16', { range: { min: -10 } }), value: -11, reason: /below min -10/ },
    { note: 'a value whose raw is a sentinel', point: pt('uint16', { scale: 0.1, sentinels: [65535] }), value: 6553.5, reason: /sentinel/ },
    { note: 'a float32 value whose raw is a sentinel', point: pt('float32', { sentinels: [-999.9] }), value: -999.9, reason: /sentinel/ },
    { note: 'scale 0', point: pt('uint16', { scale: 0 }), value: 0, reason: /scale is 0/ },
    { note: 'a malformed point', point: pt('int32', { registers: 3 }), value: 1, reason: /int32 spans 2 registers/ },
  ])('$note', ({ point, value, reason }) => {
    const r = encodePoint(point, value)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).toMatch(reason)
  })

  it('values at the range bounds are accepted', () => {
    const p = pt('int16', { scale: 0.5, range: { min: -10, max: 10 } })
    expect(encodePoint(p, -10)).toEqual({ ok: true, words: [0xffec] }) // raw -20
    expect(encodePoint(p, 10)).toEqual({ ok: true, words: [0x0014] }) // raw 20
    expect(encodePoint(pt('float32', { range: { max: 0.1 } }), 0.1)).toEqual({ ok: true, words: [0x3dcc, 0xcccd] })
  })
})

describe('encodeRaw serves what a broken device sends', () => {
  it('out-of-range and sentinel raws, ignoring range and sentinels', () => {
    const p = pt('uint16', { scale: 0.1, range: { max: 10 }, sentinels: [65535] })
    expect(encodeRaw(p, 65535)).toEqual([0xffff])
    expect(encodeRaw(p, 1000)).toEqual([1000])
  })

  it('NaN and infinities for floats, in the point order', () => {
    expect(encodeRaw(pt('float32'), Number.NaN)).toEqual([0x7fc0, 0x0000])
    expect(encodeRaw(pt('float32', { order: 'CDAB' }), Number.NEGATIVE_INFINITY)).toEqual([0x0000, 0xff80])
    expect(encodeRaw(pt('float64', { order: 'DCBA' }), Number.POSITIVE_INFINITY)).toEqual([0, 0, 0, 0xf07f])
  })

  it('integers wrap two’s-complement and round half away from zero; NaN is 0', () => {
    expect(encodeRaw(pt('uint16'), -1)).toEqual([0xffff])
    expect(encodeRaw(pt('int16'), 0x8000)).toEqual([0x8000])
    expect(encodeRaw(pt('uint32'), -2)).toEqual([0xffff, 0xfffe])
    expect(encodeRaw(pt('int16'), 2.5)).toEqual([3])
    expect(encodeRaw(pt('int16'), -2.5)).toEqual([0xfffd])
    expect(encodeRaw(pt('int32'), Number.NaN)).toEqual([0, 0])
  })

  it('strings: any byte, cut to the registers', () => {
    expect(encodeRaw(pt('string', { registers: 1 }), 'Aé')).toEqual([0x41e9])
    expect(encodeRaw(pt('string', { registers: 1 }), 'ABCD')).toEqual([0x4142])
  })

  it('bool and bit from numbers and strings', () => {
    expect(encodeRaw(pt('bool'), 1)).toEqual([1])
    expect(encodeRaw(pt('bool'), 0)).toEqual([0])
    expect(encodeRaw(pt('bool'), 'true')).toEqual([1])
    expect(encodeRaw(pt('bit', { bit: 4 }), true)).toEqual([0x0010])
  })

  it('numeric types convert booleans and numeric strings', () => {
    expect(encodeRaw(pt('uint16'), true)).toEqual([1])
    expect(encodeRaw(pt('int16'), '-2')).toEqual([0xfffe])
  })

  it('throws on a point it cannot encode', () => {
    expect(() => encodeRaw(pt('float32', { registers: 1 }), 1)).toThrow(/float32 spans 2 registers/)
    expect(() => encodeRaw(pt('bit'), true)).toThrow(/bit number/)
  })
})

describe('encodeBitInto', () => {
  it.each([
    { word: 0x8000, bit: 0, value: true, want: 0x8001 },
    { word: 0x8001, bit: 15, value: false, want: 0x0001 },
    { word: 0xffff, bit: 7, value: false, want: 0xff7f },
    { word: 0x0000, bit: 15, value: true, want: 0x8000 },
    { word: 0x0010, bit: 4, value: true, want: 0x0010 },
    { word: 0x0000, bit: 4, value: false, want: 0x0000 },
  ])('bit $bit of $word := $value', ({ word, bit, value, want }) => {
    expect(encodeBitInto(word, bit, value)).toBe(want)
  })

  it('rejects a bit outside 0..15 and a word outside 16 bits', () => {
    expect(() => encodeBitInto(0, 16, true)).toThrow(RangeError)
    expect(() => encodeBitInto(0, -1, true)).toThrow(RangeError)
    expect(() => encodeBitInto(0x10000, 0, true)).toThrow(RangeError)
  })
})
