/** Table tests for the batch composer: lane shares, limits, duplicate keys. */
import { describe, expect, it } from 'vitest'
import { compose, type Candidate } from './compose.ts'

/** `n` candidates of device `device`, ids from `firstId`, 10 bytes each. */
const lane = (device: string, firstId: number, n: number, bytes = 10): Candidate[] =>
  Array.from({ length: n }, (_, i) => ({ id: firstId + i, device, ts: firstId + i, bytes }))

const ids = (c: Candidate[]): number[] => c.map((x) => x.id)
const limits = { maxReadings: 100, maxBytes: 1_000_000, envelopeBytes: 50, liveShare: 0.5 }

describe('compose', () => {
  const cases: Array<{ name: string; live: Candidate[]; backlog: Candidate[]; limits: Partial<typeof limits>; live_: number[]; backlog_: number[] }> = [
    { name: 'empty lanes give an empty batch', live: [], backlog: [], limits: {}, live_: [], backlog_: [] },
    { name: 'half and half while both lanes have readings', live: lane('l', 100, 10), backlog: lane('b', 1, 10), limits: { maxReadings: 6 }, live_: [100, 101, 102], backlog_: [1, 2, 3] },
    { name: 'an odd batch gives the extra reading to live', live: lane('l', 100, 10), backlog: lane('b', 1, 10), limits: { maxReadings: 5 }, live_: [100, 101, 102], backlog_: [1, 2] },
    { name: 'a short live lane leaves the rest to the backlog', live: lane('l', 100, 1), backlog: lane('b', 1, 10), limits: { maxReadings: 6 }, live_: [100], backlog_: [1, 2, 3, 4, 5] },
    { name: 'a short backlog leaves the rest to live', live: lane('l', 100, 10), backlog: lane('b', 1, 2), limits: { maxReadings: 6 }, live_: [100, 101, 102, 103], backlog_: [1, 2] },
    { name: 'liveShare 0.25: one live in four', live: lane('l', 100, 10), backlog: lane('b', 1, 10), limits: { maxReadings: 8, liveShare: 0.25 }, live_: [100, 101], backlog_: [1, 2, 3, 4, 5, 6] },
    { name: 'liveShare 0: live only once the backlog is empty', live: lane('l', 100, 10), backlog: lane('b', 1, 3), limits: { maxReadings: 5, liveShare: 0 }, live_: [100, 101], backlog_: [1, 2, 3] },
    { name: 'liveShare 1: backlog only when live is empty', live: lane('l', 100, 2), backlog: lane('b', 1, 10), limits: { maxReadings: 5, liveShare: 1 }, live_: [100, 101], backlog_: [1, 2, 3] },
    // envelope 50 + 10 + (1 + 10) × 3 = 93 ≤ 95 < 104
    { name: 'stops at maxBytes, counting commas', live: [], backlog: lane('b', 1, 10), limits: { maxBytes: 95 }, live_: [], backlog_: [1, 2, 3, 4] },
    { name: 'the first reading goes even when larger than maxBytes', live: [], backlog: lane('b', 1, 3, 500), limits: { maxBytes: 100 }, live_: [], backlog_: [1] },
    { name: 'maxReadings below 1 still takes one', live: lane('l', 100, 3), backlog: [], limits: { maxReadings: 0 }, live_: [100], backlog_: [] },
  ]
  it.each(cases)('$name', (c) => {
    const out = compose(c.live, c.backlog, { ...limits, ...c.limits })
    expect(ids(out.live)).toEqual(c.live_)
    expect(ids(out.backlog)).toEqual(c.backlog_)
  })

  it('ends the batch before a second reading with the same (device, ts)', () => {
    const backlog: Candidate[] = [
      { id: 1, device: 'a', ts: 5, bytes: 10 },
      { id: 2, device: 'b', ts: 5, bytes: 10 },
      { id: 3, device: 'a', ts: 5, bytes: 10 },
      { id: 4, device: 'c', ts: 5, bytes: 10 },
    ]
    expect(ids(compose([], backlog, limits).backlog)).toEqual([1, 2])
    expect(ids(compose([], backlog.slice(2), limits).backlog)).toEqual([3, 4])
  })
})
