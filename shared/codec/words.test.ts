import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { bytesToWords, reorder, swapBytes, wordsProblem, wordsToBytes } from './words.ts'
import { ORDERS, arrange } from './test-vectors.ts'

// Bytes A..H = 0x01..0x08, so every byte's position is visible in the hex.
const ABCDEFGH = [0x0102, 0x0304, 0x0506, 0x0708]

describe('reorder', () => {
  it.each([
    { order: 'ABCD' as const, wire: [0x0102, 0x0304, 0x0506, 0x0708] }, // ABCDEFGH
    { order: 'CDAB' as const, wire: [0x0708, 0x0506, 0x0304, 0x0102] }, // GHEFCDAB
    { order: 'BADC' as const, wire: [0x0201, 0x0403, 0x0605, 0x0807] }, // BADCFEHG
    { order: 'DCBA' as const, wire: [0x0807, 0x0605, 0x0403, 0x0201] }, // HGFEDCBA
  ])('64-bit $order', ({ order, wire }) => {
    expect(reorder(ABCDEFGH, order)).toEqual(wire)
    expect(reorder(wire, order)).toEqual(ABCDEFGH)
  })

  it.each([
    { order: 'ABCD' as const, wire: [0x0102, 0x0304] },
    { order: 'CDAB' as const, wire: [0x0102, 0x0304] },
    { order: 'BADC' as const, wire: [0x0201, 0x0403] },
    { order: 'DCBA' as const, wire: [0x0201, 0x0403] },
  ])("'word' scope applies only the byte swap: $order", ({ order, wire }) => {
    expect(reorder([0x0102, 0x0304], order, 'word')).toEqual(wire)
  })

  it('is an involution and matches the byte-index definition of each order', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ORDERS), fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 8 }), (order, words) => {
        expect(reorder(reorder(words, order), order)).toEqual(words)
        expect(reorder(words, order)).toEqual(arrange(words, order))
      }),
    )
  })

  it('does not modify its input', () => {
    const words = [0x0102, 0x0304]
    reorder(words, 'DCBA')
    expect(words).toEqual([0x0102, 0x0304])
  })
})

describe('byte helpers', () => {
  it('swapBytes', () => {
    expect(swapBytes(0x1234)).toBe(0x3412)
    expect(swapBytes(0xff00)).toBe(0x00ff)
  })

  it('wordsToBytes is big-endian and bytesToWords inverts it', () => {
    expect(Array.from(wordsToBytes([0x0102, 0xfffe]))).toEqual([0x01, 0x02, 0xff, 0xfe])
    expect(bytesToWords([0x01, 0x02, 0xff, 0xfe])).toEqual([0x0102, 0xfffe])
    expect(bytesToWords([0x41])).toEqual([0x4100])
  })
})

describe('wordsProblem', () => {
  it.each([
    { words: [1, 2], count: 2, ok: true },
    { words: [0, 0xffff], count: 2, ok: true },
    { words: [1], count: 2, ok: false },
    { words: [1, 2, 3], count: 2, ok: false },
    { words: [0x10000], count: 1, ok: false },
    { words: [-1], count: 1, ok: false },
    { words: [0.5], count: 1, ok: false },
  ])('$words for $count → ok $ok', ({ words, count, ok }) => {
    expect(wordsProblem(words, count) === undefined).toBe(ok)
  })

  it('names the short count', () => {
    expect(wordsProblem([1], 2)).toBe('expected 2 registers, got 1')
  })
})
