import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { nextSlot, pickNext, staggerOffset, type QueuedJob } from './schedule.ts'

const job = (device: string, priority: 'command' | 'poll', seq: number): QueuedJob => ({ device, priority, seq })

describe('pickNext (table)', () => {
  const cases: { name: string; queue: QueuedJob[]; busy: string[]; pick: number }[] = [
    { name: 'empty', queue: [], busy: [], pick: -1 },
    { name: 'oldest poll first', queue: [job('a', 'poll', 3), job('b', 'poll', 1), job('c', 'poll', 2)], busy: [], pick: 1 },
    { name: 'a command before older polls', queue: [job('a', 'poll', 1), job('b', 'poll', 2), job('c', 'command', 3)], busy: [], pick: 2 },
    { name: 'oldest command first', queue: [job('a', 'command', 5), job('b', 'command', 4), job('c', 'poll', 1)], busy: [], pick: 1 },
    { name: 'a busy device waits: its command does not jump in', queue: [job('a', 'command', 3), job('b', 'poll', 1)], busy: ['a'], pick: 1 },
    { name: 'everything busy', queue: [job('a', 'poll', 1), job('a', 'command', 2)], busy: ['a'], pick: -1 },
  ]
  for (const c of cases) it(c.name, () => expect(pickNext(c.queue, new Set(c.busy))).toBe(c.pick))
})

describe('staggerOffset', () => {
  it('spreads n devices evenly over the interval, in order', () => {
    expect([0, 1, 2, 3].map((i) => staggerOffset(i, 4, 1000))).toEqual([0, 250, 500, 750])
    expect([0, 1, 2].map((i) => staggerOffset(i, 3, 1000))).toEqual([0, 333, 666])
    expect(staggerOffset(0, 1, 5000)).toBe(0)
  })
  it('property: offsets lie in [0, interval), strictly increase, and gaps differ by at most 1 ms', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 100, max: 86_400_000 }), (n, interval) => {
        const offs = Array.from({ length: n }, (_, i) => staggerOffset(i, n, interval))
        expect(offs[0]).toBe(0)
        for (const o of offs) expect(o >= 0 && o < interval).toBe(true)
        const gaps = offs.slice(1).map((o, i) => o - (offs[i] ?? 0))
        if (gaps.length > 0 && interval >= n) {
          expect(Math.max(...gaps) - Math.min(...gaps)).toBeLessThanOrEqual(1)
          expect(Math.min(...gaps)).toBeGreaterThan(0)
        }
      }),
    )
  })
  it('refuses a place outside the bus', () => {
    expect(() => staggerOffset(4, 4, 1000)).toThrow(RangeError)
  })
})

describe('nextSlot (table)', () => {
  it.each([
    // anchor, interval, previous, now → at, skipped
    [0, 100, 0, 10, 100, 0],
    [0, 100, 0, 99, 100, 0],
    [0, 100, 0, 100, 200, 1],
    [0, 100, 0, 350, 400, 3],
    [50, 100, 150, 160, 250, 0],
    [1000, 100, 1000, 500, 1000, 0],
  ])('anchor %i interval %i previous %i now %i → %i, %i skipped', (anchor, interval, previous, now, at, skipped) => {
    expect(nextSlot(anchor, interval, previous, now)).toEqual({ at, skipped })
  })
  it('property: the slot is on the grid, after now, at most one interval after now', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 0, max: 1e7 }), (anchor, interval, dt) => {
        const now = anchor + dt
        const { at } = nextSlot(anchor, interval, anchor, now)
        expect(at).toBeGreaterThan(now)
        expect(at - now).toBeLessThanOrEqual(interval)
        expect((at - anchor) % interval).toBe(0)
      }),
    )
  })
})
