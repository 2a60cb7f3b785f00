import { describe, expect, it } from 'vitest'
import { dueAt, progressAt, type ProgressInput } from './pace.ts'

describe('dueAt', () => {
  it.each([
    // startMs, firstT, t, speed → due
    [1000, 0, 0, 1, 1000],
    [1000, 0, 250, 1, 1250],
    [1000, 500, 750, 1, 1250], // silence before the first message is not replayed
    [1000, 0, 250, 10, 1025],
    [1000, 0, 250, 0.5, 1500],
  ])('start %d, first %d, t %d at %d× → %d', (startMs, firstT, t, speed, due) => {
    expect(dueAt(startMs, firstT, t, speed)).toBe(due)
  })

  it('is absolute: the n-th message is due at the same time whatever happened before it', () => {
    const ts = [0, 100, 350, 700]
    expect(ts.map((t) => dueAt(0, 0, t, 2))).toEqual([0, 50, 175, 350])
  })
})

describe('progressAt', () => {
  const base: ProgressInput = { loop: 0, done: 0, total: 100, startMs: 0, nowMs: 0, pace: { mode: 'fast' }, spanMs: 10_000 }
  it.each<[string, Partial<ProgressInput>, { rate: number; etaMs: number | undefined }]>([
    ['nothing done yet: rate 0, ETA unknown', {}, { rate: 0, etaMs: undefined }],
    ['fast: ETA from the average rate', { done: 25, nowMs: 1000 }, { rate: 25, etaMs: 3000 }],
    ['fast: done', { done: 100, nowMs: 4000 }, { rate: 25, etaMs: 0 }],
    ['timed: ETA is what remains of the schedule', { pace: { mode: 'timed', speed: 1 }, done: 10, nowMs: 1000 }, { rate: 10, etaMs: 9000 }],
    ['timed at 10×: the schedule shrinks', { pace: { mode: 'timed', speed: 10 }, done: 10, nowMs: 100 }, { rate: 100, etaMs: 900 }],
    ['timed, behind schedule: ETA from the rate', { pace: { mode: 'timed', speed: 1 }, done: 50, nowMs: 20_000 }, { rate: 2.5, etaMs: 20_000 }],
  ])('%s', (_name, input, expected) => {
    const p = progressAt({ ...base, ...input })
    expect(p.rate).toBeCloseTo(expected.rate)
    if (expected.etaMs === undefined) expect(p.etaMs).toBeUndefined()
    else expect(p.etaMs).toBeCloseTo(expected.etaMs)
  })
})
