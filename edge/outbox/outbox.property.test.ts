/**
 * Random sequences of appends, takes, acks, nacks, restarts, uplink changes and clock
 * steps, checked against the outbox's promises:
 * - a seq's bytes never change; new seqs only grow;
 * - every batch is a valid telemetry message;
 * - every appended reading is acknowledged exactly once, or counted as dropped;
 * - a batch in flight is never dropped (its ack succeeds);
 * - readings appended while the uplink is down go out historical;
 * - live readings, and historical readings, each leave in append order.
 */
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import type { Outbox } from './outbox.ts'
import { decodeBatch, manualClock, openOutbox, reading, tempDir } from './test-support/outbox-helpers.ts'

type Op =
  | { t: 'append'; n: number }
  | { t: 'dup' }
  | { t: 'take'; max: number }
  | { t: 'ack'; pick: number }
  | { t: 'nack'; pick: number }
  | { t: 'reopen' }
  | { t: 'uplink'; up: boolean }
  | { t: 'tick'; ms: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('append' as const), n: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'dup' as const }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('take' as const), max: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('ack' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('nack' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ t: 'reopen' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('uplink' as const), up: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 8_000 }) }) },
)

const dir = tempDir('muni-outbox-prop-')
afterAll(() => dir.remove())
let runs = 0

/** Runs `ops` and checks every promise; `maxReadings` small makes the bounds drop. */
function check(ops: Op[], maxReadings: number): void {
  const path = dir.file(`run-${runs++}.db`)
  const clock = manualClock()
  const options = { now: clock.now, maxReadings, liveWindowMs: 5_000 }
  let outbox: Outbox = openOutbox(path, options)
  let up = false
  let next = 0 // n of the next reading: the global append order
  const devices = ['a', 'b', 'c']
  const appended = new Map<number, { device: string; ts: number; whileDown: boolean }>()
  const bytesBySeq = new Map<number, Buffer>()
  const inFlight: number[] = []
  const acked = new Map<number, number>() // n → seq
  let lastNewSeq = -1

  const take = (max?: number): boolean => {
    const b = outbox.nextBatch({ maxReadings: max })
    if (b === undefined) return false
    const bytes = Buffer.from(b.payload)
    const known = bytesBySeq.get(b.seq)
    if (b.redelivery) {
      expect(known?.equals(bytes), `seq ${b.seq} resent with other bytes`).toBe(true)
    } else {
      expect(known, `seq ${b.seq} reused`).toBeUndefined()
      expect(b.seq).toBeGreaterThan(lastNewSeq)
      lastNewSeq = b.seq
      bytesBySeq.set(b.seq, bytes)
    }
    const batch = decodeBatch(b)
    expect(batch.seq).toBe(b.seq)
    for (const r of batch.readings) {
      const info = appended.get(r.values.n as number)
      expect(info).toMatchObject({ device: r.device, ts: r.ts })
      if (info?.whileDown) expect(r.historical, `n=${String(r.values.n)} was appended while the uplink was down`).toBe(true)
    }
    inFlight.push(b.seq)
    return true
  }
  const ack = (seq: number): void => {
    // An in-flight batch is never dropped, so its ack always finds it.
    expect(outbox.ack(seq), `ack ${seq}`).toBe(true)
    const payload = bytesBySeq.get(seq)
    if (payload === undefined) throw new Error(`acked unknown seq ${seq}`)
    for (const r of decodeBatch({ topic: 'muni/v1/north/gw-01/telemetry', payload }).readings) {
      const n = r.values.n as number
      expect(acked.has(n), `n=${n} acknowledged twice`).toBe(false)
      acked.set(n, seq)
    }
  }

  for (const o of ops) {
    switch (o.t) {
      case 'append': {
        const rs = Array.from({ length: o.n }, () => {
          const n = next++
          const device = devices[n % devices.length] ?? 'a'
          appended.set(n, { device, ts: n, whileDown: !up })
          return reading(device, n, n)
        })
        outbox.append(rs)
        break
      }
      case 'dup': {
        // Same (device, ts) as an earlier reading, new content: must never share a batch with it.
        const earlier = appended.get(next - 1)
        if (earlier === undefined) break
        const n = next++
        appended.set(n, { device: earlier.device, ts: earlier.ts, whileDown: !up })
        outbox.append([reading(earlier.device, earlier.ts, n)])
        break
      }
      case 'take':
        take(o.max)
        break
      case 'ack': {
        const seq = inFlight.splice(o.pick % Math.max(1, inFlight.length), 1)[0]
        if (seq !== undefined) ack(seq)
        break
      }
      case 'nack': {
        const seq = inFlight.splice(o.pick % Math.max(1, inFlight.length), 1)[0]
        if (seq !== undefined) expect(outbox.nack(seq)).toBe(true)
        break
      }
      case 'reopen':
        outbox.close()
        outbox = openOutbox(path, options)
        inFlight.length = 0
        up = false
        break
      case 'uplink':
        outbox.setUplink(o.up)
        up = o.up
        break
      case 'tick':
        clock.advance(o.ms)
        break
    }
    const stats = outbox.stats()
    expect(stats.inFlight).toBe(inFlight.length)
    expect(stats.readings + acked.size + stats.dropped).toBe(next)
  }

  // Drain: everything left goes out and is acknowledged.
  outbox.nackAll()
  inFlight.length = 0
  while (take()) ack(inFlight.pop() ?? -1)
  const { dropped } = outbox.stats()
  outbox.close()
  expect(acked.size + dropped).toBe(next)
  if (maxReadings >= next) expect(dropped).toBe(0)

  // Order: by seq, then position in the batch, each lane's n only grows.
  const lanes = { live: [] as number[], historical: [] as number[] }
  for (const seq of [...bytesBySeq.keys()].sort((a, b) => a - b)) {
    const payload = bytesBySeq.get(seq)
    if (payload === undefined) continue
    for (const r of decodeBatch({ topic: 'muni/v1/north/gw-01/telemetry', payload }).readings) {
      if (acked.get(r.values.n as number) === seq) (r.historical ? lanes.historical : lanes.live).push(r.values.n as number)
    }
  }
  expect(lanes.live).toEqual([...lanes.live].sort((a, b) => a - b))
  expect(lanes.historical).toEqual([...lanes.historical].sort((a, b) => a - b))
}

describe('Outbox (properties)', () => {
  it('keeps every promise with no bounds hit', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => check(ops, 1_000_000)), { numRuns: 60 })
  })

  it('accounts for every reading, acknowledged or dropped, with tight bounds', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 12 }), (ops, max) => check(ops, max)), { numRuns: 60 })
  })
})
