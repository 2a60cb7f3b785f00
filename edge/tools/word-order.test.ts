import { describe, expect, it } from 'vitest'
import { resolveProfile } from '../../shared/profile/resolve.ts'
import type { Profile, WordOrder } from '../../shared/profile/schema.ts'
import { isPlausible, rankOrders, wordOrderWizard } from './word-order.ts'

const profile = (order: WordOrder) =>
  resolveProfile({
    id: 'test-wo@1', kind: 'pipe-pressure', vendor: 'T', model: 'WO', firmware: '1', protocol: 'modbus',
    defaults: { order },
    points: [
      { name: 'pressure', table: 'input', address: 0, type: 'float32', range: { min: 0, max: 16 }, sentinels: [-1] },
      { name: 'temp', table: 'input', address: 2, type: 'float32', range: { min: -10, max: 60 } },
      { name: 'count', table: 'input', address: 4, type: 'uint32', range: { min: 0, max: 1_000_000 } },
      { name: 'status', table: 'input', address: 6, type: 'uint16' },
    ],
  } satisfies Profile)

// 5.5 = 0x40B00000, 12.25 = 0x41440000, 70000 = 0x00011170, hand-encoded per order.
const WORDS: Record<WordOrder, number[]> = {
  ABCD: [0x40b0, 0x0000, 0x4144, 0x0000, 0x0001, 0x1170, 0],
  CDAB: [0x0000, 0x40b0, 0x0000, 0x4144, 0x1170, 0x0001, 0],
  BADC: [0xb040, 0x0000, 0x4441, 0x0000, 0x0100, 0x7011, 0],
  DCBA: [0x0000, 0xb040, 0x0000, 0x4441, 0x7011, 0x0100, 0],
}
const block = (data: number[]) => [{ table: 'input' as const, start: 0, data }]

describe('rankOrders', () => {
  it.for(['ABCD', 'CDAB', 'BADC', 'DCBA'] as const)('words served in %s: only %s makes all 3 multi-register points plausible', (served) => {
    const ranks = rankOrders(profile('ABCD'), block(WORDS[served]))
    expect(ranks.map((r) => r.order)).toEqual(['ABCD', 'CDAB', 'BADC', 'DCBA'])
    for (const r of ranks) {
      expect(r.total).toBe(3)
      if (r.order === served) expect(r.plausible).toBe(3)
      else expect(r.plausible).toBeLessThan(3)
    }
  })

  it('leaves out points no block covers', () => {
    expect(rankOrders(profile('ABCD'), [{ table: 'input', start: 0, data: WORDS.ABCD.slice(0, 2) }])[0]).toEqual({ order: 'ABCD', plausible: 1, total: 1, points: ['pressure'] })
  })

  it('a sentinel or a NaN is not plausible', () => {
    const ranks = rankOrders(profile('ABCD'), block([0xbf80, 0x0000, 0x7fc0, 0x0000, 0x0001, 0x1170, 0])) // -1.0, NaN
    expect(ranks[0]).toMatchObject({ plausible: 1, points: ['count'] })
  })
})

describe('wordOrderWizard verdicts', () => {
  it.for([
    ['CDAB', 'CDAB', 'ok', 'profile says CDAB; values look right under CDAB'],
    ['ABCD', 'CDAB', 'mismatch', "profile says ABCD but only CDAB gives plausible values — check the device's word order setting"],
    ['CDAB', 'ABCD', 'mismatch', "profile says CDAB but only ABCD gives plausible values — check the device's word order setting"],
    ['ABCD', 'DCBA', 'mismatch', 'profile says ABCD but only DCBA gives plausible values'],
  ] as const)('profile %s, device %s → %s', ([declared, served, kind, message]) => {
    const w = wordOrderWizard(profile(declared), block(WORDS[served]))
    expect(w.verdict.kind).toBe(kind)
    expect(w.verdict.message).toContain(message)
    expect(w.fitting).toEqual([served])
  })

  it('no multi-register point read', () => {
    expect(wordOrderWizard(profile('ABCD'), []).verdict.kind).toBe('no-points')
  })

  it('garbage fits no order', () => {
    const w = wordOrderWizard(profile('ABCD'), block([0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0]))
    expect(w.verdict.kind).toBe('unclear')
    expect(w.fitting).toEqual([])
  })
})

describe('isPlausible', () => {
  it.for([
    [2.3e-41, false], // 5.5 with its words swapped
    [7e29, false],
    [0, true],
    [-3.5, true],
  ] as const)('float %d → %s', ([value, ok]) => {
    expect(isPlausible({ type: 'float32' }, { ok: true, value })).toBe(ok)
  })
})
