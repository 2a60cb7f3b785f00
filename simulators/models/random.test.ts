import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createRng, mulberry32, seedFromString } from './random.ts'

describe('mulberry32', () => {
  it('produces the reference sequence for seed 42', () => {
    const r = mulberry32(42)
    expect([r(), r(), r()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099])
  })

  it('gives the same sequence for the same seed, bit for bit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
        const a = mulberry32(seed)
        const b = mulberry32(seed)
        for (let i = 0; i < 50; i++) expect(Object.is(a(), b())).toBe(true)
      }),
    )
  })

  it('gives different sequences for different seeds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (s1, s2) => {
        fc.pre(s1 !== s2)
        const a = mulberry32(s1)
        const b = mulberry32(s2)
        const xs = Array.from({ length: 8 }, () => a())
        const ys = Array.from({ length: 8 }, () => b())
        expect(xs).not.toEqual(ys)
      }),
    )
  })

  it('stays in [0, 1)', () => {
    const r = mulberry32(7)
    for (let i = 0; i < 10_000; i++) {
      const x = r()
      expect(x >= 0 && x < 1).toBe(true)
    }
  })
})

describe('createRng', () => {
  it('draws normals with the asked mean and deviation', () => {
    const rng = createRng(1)
    const xs = Array.from({ length: 20_000 }, () => rng.normal(5, 2))
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length)
    expect(mean).toBeCloseTo(5, 1)
    expect(sd).toBeCloseTo(2, 1)
  })

  it('accepts a string seed, and the same string gives the same draws', () => {
    const a = createRng('wl-gqm-01')
    const b = createRng('wl-gqm-01')
    expect(Array.from({ length: 5 }, () => a.uniform(60, 90))).toEqual(Array.from({ length: 5 }, () => b.uniform(60, 90)))
  })
})

describe('seedFromString (FNV-1a, 32 bit)', () => {
  it.each([
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ])('%j → %i', (text, hash) => {
    expect(seedFromString(text)).toBe(hash)
  })
})
