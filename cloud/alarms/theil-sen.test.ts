import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { median, theilSen } from './theil-sen.ts'

describe('theilSen', () => {
  it('fits an exact line exactly, R² = 1', () => {
    const xs = [0, 1, 2, 3, 4, 5]
    const f = theilSen(xs, xs.map((x) => 2 + 0.5 * x))
    expect(f).toEqual({ slope: 0.5, intercept: 2, r2: 1, confidence: 1, tau: 1, n: 6 })
  })

  it('ignores a minority of wild samples (breakdown point ≈ 29 %)', () => {
    const xs = Array.from({ length: 20 }, (_, i) => i)
    const ys = xs.map((x) => 1 + 0.1 * x)
    for (const i of [3, 8, 12, 17, 19]) ys[i] = 50 // 25 % outliers
    const f = theilSen(xs, ys)
    expect(f?.slope).toBeCloseTo(0.1, 10)
    expect(f?.intercept).toBeCloseTo(1, 10)
    expect(f?.r2).toBe(0) // least-squares R² collapses: the outliers dominate the variance
    expect(f?.confidence).toBe(1) // the robust one does not: most residuals are 0
  })

  it('a constant series has slope 0 and confidence 0; one x gives no fit', () => {
    expect(theilSen([0, 1, 2], [3, 3, 3])).toEqual({ slope: 0, intercept: 3, r2: 0, confidence: 0, tau: 0, n: 3 })
    expect(theilSen([1, 1], [0, 5])).toBeUndefined()
  })

  it('pure noise gets a low confidence', () => {
    let x = 11
    const ys = Array.from({ length: 40 }, () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32))
    const f = theilSen(ys.map((_, i) => i), ys)
    expect(f?.confidence).toBeLessThan(0.5)
    expect(Math.abs(f?.tau as number)).toBeLessThan(0.3)
  })

  it('median agrees with sorting', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 50 }), (xs) => {
        const s = [...xs].sort((a, b) => a - b)
        const m = s.length >> 1
        const expected = s.length % 2 ? s[m] : ((s[m - 1] as number) + (s[m] as number)) / 2
        expect(median(xs)).toBe(expected)
      }),
    )
  })
})
