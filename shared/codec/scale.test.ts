import { describe, it, expect } from 'vitest'
import { fractionDigits, toEngineering, toRawNumber } from './scale.ts'

describe('fractionDigits', () => {
  it.each([
    { x: 0.01, want: 2 },
    { x: 0.1, want: 1 },
    { x: -273.15, want: 2 },
    { x: 250, want: 0 },
    { x: 1e-7, want: 7 },
    { x: 1.5e-7, want: 8 },
    { x: 1e21, want: 0 },
    { x: 0.0625, want: 4 },
    { x: Number.NaN, want: 0 },
  ])('$x → $want', ({ x, want }) => {
    expect(fractionDigits(x)).toBe(want)
  })
})

describe('toEngineering', () => {
  it('the naive product is noisy; the rounded one is not', () => {
    expect(57 * 0.01).not.toBe(0.57) // 0.5700000000000001: the reason the rounding exists
    expect(toEngineering(57, 0.01, 0, true)).toBe(0.57)
    expect(toEngineering(3, 0.1, 0, true)).toBe(0.3)
    expect(toEngineering(1234, 0.01, 0, true)).toBe(12.34)
  })

  it('identity scale returns the raw value untouched, -0 included', () => {
    expect(toEngineering(123.45600128173828, 1, 0, false)).toBe(123.45600128173828)
    expect(Object.is(toEngineering(-0, 1, 0, false), -0)).toBe(true)
  })

  it('scales without a short decimal form are left as computed', () => {
    expect(toEngineering(3, 1 / 3, 0, true)).toBe(1)
    expect(toEngineering(1, 1 / 3, 0, true)).toBe(1 / 3)
  })

  it('never returns -0 after rounding a cancellation', () => {
    const r = toEngineering(13, -0.001, 0.013, true) // -0.013 + 0.013 leaves -1.7e-18 in doubles
    expect(Object.is(r, 0)).toBe(true)
    expect(Object.is(toEngineering(13, -0.001, 0.013, false), 0)).toBe(true)
  })

  it('float cancellation rounds relative to the larger term', () => {
    expect(toEngineering(0.7, 0.1, -0.07, false)).toBe(0)
    expect(toEngineering(2e-9, 1, 273.15, false)).toBe(273.150000002)
    expect(toEngineering(4e-13, 1, 273.15, false)).toBe(273.15)
  })

  it('float raws keep 12 significant digits', () => {
    expect(toEngineering(1e30, 3, 0, false)).toBe(3e30)
    expect(toEngineering(Math.fround(1e-20), 10, 0, false)).toBe(9.99999968266e-20)
    expect(toEngineering(0.1 + 0.2, 1, 1, false)).toBe(1.3)
    expect(toEngineering(Math.PI, 2, 0, false)).toBe(6.28318530718)
  })
})

describe('toRawNumber', () => {
  it('inverts scale and offset', () => {
    expect(toRawNumber(-73.15, 0.1, -273.15)).toBeCloseTo(2000, 9)
    expect(toRawNumber(5, 1, 0)).toBe(5)
  })
})
