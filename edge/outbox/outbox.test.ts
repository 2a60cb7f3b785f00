/**
 * Outbox behaviour in one process: ordering, seq and frozen bytes, the historical rule,
 * interleaving during a drain, bounds and drop counting, restarts. Process deaths are in
 * crash.test.ts, a real broker in store-and-forward.test.ts.
 */
import { existsSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LIMITS, type Reading } from '../../shared/mqtt/index.ts'
import { OutboxError } from './errors.ts'
import { Outbox, type OutboxBatch } from './outbox.ts'
import { decodeBatch, drain, GATEWAY, keyOf, manualClock, openOutbox, reading, SITE, tempDir } from './test-support/outbox-helpers.ts'

let dir: ReturnType<typeof tempDir>
let clock: ReturnType<typeof manualClock>
const open: Outbox[] = []

beforeEach(() => {
  dir = tempDir()
  clock = manualClock()
})
afterEach(() => {
  for (const o of open.splice(0)) o.close()
  dir.remove()
})

function outbox(options: Parameters<typeof openOutbox>[1] = {}, file = 'outbox.db'): Outbox {
  const o = openOutbox(dir.file(file), { now: clock.now, ...options })
  open.push(o)
  return o
}

function must<T>(v: T | undefined, what = 'value'): T {
  if (v === undefined) throw new Error(`expected a ${what}`)
  return v
}

const take = (o: Outbox, maxReadings?: number): OutboxBatch => must(o.nextBatch({ maxReadings }), 'batch')
const devicesTs = (b: OutboxBatch): string[] => decodeBatch(b).readings.map(keyOf)
const flags = (b: OutboxBatch): boolean[] => decodeBatch(b).readings.map((r) => r.historical)

describe('Outbox: append, nextBatch, ack', () => {
  it('hands out readings oldest first, with seq starting at the current ms and +1 per batch', () => {
    const o = outbox()
    o.append([reading('a', 1), reading('b', 1)])
    o.append([reading('a', 2)])
    const b1 = take(o, 2)
    expect(b1.seq).toBe(clock.now())
    expect(b1.topic).toBe(`muni/v1/${SITE}/${GATEWAY}/telemetry`)
    expect(b1).toMatchObject({ qos: 1, retain: false, readings: 2, redelivery: false })
    expect(devicesTs(b1)).toEqual(['a@1', 'b@1'])
    const batch = decodeBatch(b1)
    expect(batch).toMatchObject({ gateway: GATEWAY, seq: b1.seq, sentAt: clock.now() })
    const b2 = take(o)
    expect(b2.seq).toBe(b1.seq + 1)
    expect(devicesTs(b2)).toEqual(['a@2'])
    expect(o.nextBatch()).toBeUndefined()
    expect(o.ack(b1.seq)).toBe(true)
    expect(o.ack(b2.seq)).toBe(true)
    expect(o.ack(b2.seq)).toBe(false) // already acked
    expect(o.stats()).toMatchObject({ readings: 0, pending: 0, batches: 0, inFlight: 0, lastSeq: b2.seq })
  })

  it('keeps readings exactly as appended (values, errors, string and boolean points)', () => {
    const o = outbox()
    o.setUplink(true)
    const r: Reading = {
      device: 'pp-0113',
      ts: 1_764_052_860_010,
      values: { temperature_c: 11.5, open: false, label: 'nördlich ✓' },
      errors: { pressure_bar: { code: 'sentinel', raw: 65535 } },
      historical: false,
    }
    o.append([r])
    const b = take(o)
    expect(decodeBatch(b).readings).toEqual([r])
    expect(b.payload.byteLength).toBe(Buffer.byteLength(JSON.stringify(decodeBatch(b))))
  })

  it('rejects an append with an invalid reading as a whole, naming the reading and the field', () => {
    const o = outbox()
    const bad = { device: 'a', ts: 2, values: { n: 1 }, errors: { n: { code: 'timeout' } }, historical: false } as Reading
    const e = (() => {
      try {
        o.append([reading('a', 1), bad])
      } catch (err) {
        return err
      }
      return undefined
    })()
    expect(e).toBeInstanceOf(OutboxError)
    expect(e).toMatchObject({ code: 'OUTBOX_INVALID_READING', violations: [{ path: '/1/errors/n' }] })
    expect((e as Error).message).toMatch(/reading 1: \/1\/errors\/n: point is also in values.*nothing from this call was stored/)
    expect(o.stats().readings).toBe(0)
    expect(() => o.append([{ ...reading('a', 1), extra: 1 } as Reading])).toThrow(/\/0\/extra: unknown field/)
    expect(() => o.append([{ ...reading('a', 1), values: { n: Number.NaN } }])).toThrow(OutboxError)
  })

  it('sends a reading larger than maxBytes alone, and rejects one that could not fit the contract\'s limit alone', () => {
    const o = outbox()
    const points = (text: string): Reading['values'] => Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`p${i}`, text]))
    o.append([{ device: 'a', ts: 1, values: points('x'.repeat(256)), errors: {}, historical: false }]) // ~70 KB
    o.append([reading('b', 1)])
    const b = must(o.nextBatch({ maxBytes: 1000 }))
    expect(b.readings).toBe(1)
    expect(b.payload.byteLength).toBeGreaterThan(1000)
    // 256 points of 256 four-byte characters: schema-valid, but 264 KB > 256 KiB.
    expect(() => o.append([{ device: 'c', ts: 1, values: points('😀'.repeat(256)), errors: {}, historical: false }])).toThrow(
      expect.objectContaining({ code: 'OUTBOX_INVALID_READING', violations: [expect.objectContaining({ path: '/0' })] }),
    )
    expect(o.stats().readings).toBe(2)
  })

  it('fills batches up to maxBytes exactly as the payload is counted', () => {
    const o = outbox()
    o.append(Array.from({ length: 200 }, (_, i) => reading(`dev-${i % 7}`, 1000 + i)))
    const batches: Array<{ bytes: number; first: string }> = []
    let total = 0
    for (let b = o.nextBatch({ maxBytes: 1200 }); b !== undefined; b = o.nextBatch({ maxBytes: 1200 })) {
      batches.push({ bytes: b.payload.byteLength, first: JSON.stringify(decodeBatch(b).readings[0]) })
      total += b.readings
      o.ack(b.seq)
    }
    expect(total).toBe(200)
    batches.forEach((b, i) => {
      expect(b.bytes).toBeLessThanOrEqual(1200)
      // Full: the reading that opened the next batch (plus its comma) did not fit this one.
      const next = batches[i + 1]
      if (next !== undefined) expect(b.bytes + 1 + Buffer.byteLength(next.first)).toBeGreaterThan(1200)
    })
  })

  it('caps batches at LIMITS.readingsPerBatch', () => {
    const o = outbox()
    o.append(Array.from({ length: LIMITS.readingsPerBatch + 5 }, (_, i) => reading('a', i)))
    expect(take(o, 5000).readings).toBe(LIMITS.readingsPerBatch)
  })

  it('never puts the same (device, ts) twice in one batch', () => {
    const o = outbox()
    o.append([reading('a', 1, 1), reading('b', 1), reading('a', 1, 2), reading('c', 1)])
    const b1 = take(o)
    expect(devicesTs(b1)).toEqual(['a@1', 'b@1'])
    const b2 = take(o)
    expect(devicesTs(b2)).toEqual(['a@1', 'c@1'])
    expect(decodeBatch(b2).readings[0]?.values).toEqual({ n: 2 })
  })
})

describe('Outbox: redelivery', () => {
  it('hands out a nacked batch again with the same seq and bytes, before anything new', () => {
    const o = outbox()
    o.append([reading('a', 1), reading('a', 2)])
    const first = take(o, 1)
    clock.advance(5_000)
    expect(o.nack(first.seq)).toBe(true)
    expect(o.nack(first.seq)).toBe(false)
    const again = take(o, 1)
    expect(again).toMatchObject({ seq: first.seq, redelivery: true })
    expect(Buffer.from(again.payload).equals(Buffer.from(first.payload))).toBe(true)
    const next = take(o, 1)
    expect(next.seq).toBe(first.seq + 1)
  })

  it('keeps an unacked batch in flight: nextBatch moves on to new readings', () => {
    const o = outbox()
    o.append([reading('a', 1), reading('a', 2)])
    const b1 = take(o, 1)
    const b2 = take(o, 1)
    expect(b2.seq).toBe(b1.seq + 1)
    expect(o.nextBatch()).toBeUndefined()
    expect(o.stats()).toMatchObject({ inFlight: 2, batches: 2, readings: 2, pending: 0 })
  })

  it('hands out every unacked batch again after close and open, oldest seq first, then continues the seq', () => {
    const path = dir.file('outbox.db')
    const o1 = openOutbox(path, { now: clock.now })
    o1.append([reading('a', 1), reading('a', 2), reading('a', 3)])
    const b1 = take(o1, 1)
    const b2 = take(o1, 1)
    o1.ack(b2.seq)
    o1.close()
    clock.advance(60_000)
    const o2 = outbox()
    const again = take(o2, 1)
    expect(again).toMatchObject({ seq: b1.seq, redelivery: true })
    expect(Buffer.from(again.payload).equals(Buffer.from(b1.payload))).toBe(true)
    const b3 = take(o2, 1)
    expect(b3.seq).toBe(b2.seq + 1)
    expect(devicesTs(b3)).toEqual(['a@3'])
  })

  it('nackAll puts every in-flight batch back', () => {
    const o = outbox()
    o.append([reading('a', 1), reading('a', 2)])
    const b1 = take(o, 1)
    const b2 = take(o, 1)
    o.nackAll()
    expect([take(o).seq, take(o).seq]).toEqual([b1.seq, b2.seq])
  })
})

describe('Outbox: historical marking', () => {
  it('marks readings appended before the uplink came up historical, and later ones live', () => {
    const o = outbox()
    o.append([reading('a', 1)]) // uplink not up yet since open
    o.setUplink(true)
    o.append([reading('a', 2)])
    const b = take(o)
    expect(decodeBatch(b).readings.map((r) => [r.ts, r.historical])).toEqual([
      [1, true],
      [2, false],
    ])
    expect(b.live).toBe(1)
  })

  it('marks readings appended while the uplink was down historical', () => {
    const o = outbox()
    o.setUplink(true)
    o.append([reading('a', 1)])
    o.ack(take(o).seq)
    o.setUplink(false)
    o.append([reading('a', 2)])
    o.setUplink(true)
    o.append([reading('a', 3)])
    expect(flags(take(o))).toEqual([true, false])
  })

  it('marks readings still queued when the uplink dropped historical, though appended while it was up', () => {
    const o = outbox()
    o.setUplink(true)
    o.append([reading('a', 1)])
    o.setUplink(false)
    o.setUplink(true)
    expect(flags(take(o))).toEqual([true])
  })

  it('marks readings that waited longer than liveWindowMs historical', () => {
    const o = outbox({ liveWindowMs: 1_000 })
    o.setUplink(true)
    o.append([reading('a', 1)])
    clock.advance(1_000)
    o.append([reading('a', 2)])
    clock.advance(1)
    expect(flags(take(o))).toEqual([true, false])
  })

  it('keeps a reading the caller already marked historical', () => {
    const o = outbox()
    o.setUplink(true)
    o.append([reading('a', 1, 1, true)])
    expect(flags(take(o))).toEqual([true])
  })

  it('resends a frozen live batch with its live flags: the bytes never change', () => {
    const o = outbox()
    o.setUplink(true)
    o.append([reading('a', 1)])
    const b = take(o)
    o.setUplink(false)
    o.nack(b.seq)
    clock.advance(3_600_000)
    o.setUplink(true)
    expect(flags(take(o))).toEqual([false])
  })
})

describe('Outbox: live readings keep flowing while the backlog drains', () => {
  it('gives live readings half of each batch, backlog oldest first, each lane in append order', () => {
    const o = outbox()
    // An outage: 20 readings of 2 devices queue up.
    o.append(Array.from({ length: 20 }, (_, i) => reading(`d${i % 2}`, 1000 + i)))
    o.setUplink(true)
    const seen: Reading[] = []
    let live = 50_000
    const compositions: Array<[number, number]> = []
    for (let round = 0; round < 12; round++) {
      o.append([reading('d0', live), reading('d1', live)]) // the poller keeps sampling: 2 live readings per batch interval
      live++
      const b = o.nextBatch({ maxReadings: 4 })
      if (b === undefined) break
      const readings = decodeBatch(b).readings
      compositions.push([readings.filter((r) => !r.historical).length, readings.filter((r) => r.historical).length])
      seen.push(...readings)
      o.ack(b.seq)
    }
    // Every batch during the drain: 2 live + 2 backlog; once the backlog is gone, live only.
    expect(compositions.slice(0, 10)).toEqual(Array.from({ length: 10 }, () => [2, 2]))
    expect(compositions.slice(10)).toEqual([
      [2, 0],
      [2, 0],
    ])
    // Backlog oldest first, all historical; live in order, none historical.
    expect(seen.filter((r) => r.historical).map((r) => r.ts)).toEqual(Array.from({ length: 20 }, (_, i) => 1000 + i))
    for (const device of ['d0', 'd1']) {
      const liveTs = seen.filter((r) => !r.historical && r.device === device).map((r) => r.ts)
      expect(liveTs).toEqual([...liveTs].sort((a, b) => a - b))
      expect(liveTs).toHaveLength(12)
    }
  })

  it('lets the backlog take the whole batch when no live reading is waiting, and the reverse', () => {
    const o = outbox()
    o.append(Array.from({ length: 10 }, (_, i) => reading('a', i)))
    o.setUplink(true)
    expect(flags(take(o, 6))).toEqual(Array(6).fill(true))
    o.append(Array.from({ length: 10 }, (_, i) => reading('b', i)))
    const mixed = take(o, 10)
    expect(flags(mixed)).toEqual([...Array(4).fill(true), ...Array(6).fill(false)])
    expect(flags(take(o, 10))).toEqual(Array(4).fill(false))
  })

  it('honours liveShare', () => {
    const o = outbox({ liveShare: 0.25 })
    o.append(Array.from({ length: 20 }, (_, i) => reading('a', i)))
    o.setUplink(true)
    o.append(Array.from({ length: 20 }, (_, i) => reading('b', i)))
    const b = take(o, 8)
    expect(b.live).toBe(2)
    expect(b.readings).toBe(8)
  })
})

describe('Outbox: bounds and drop counting', () => {
  it('drops the oldest pending readings beyond maxReadings and counts them, persistently', () => {
    const path = dir.file('outbox.db')
    const o = openOutbox(path, { now: clock.now, maxReadings: 10 })
    o.append(Array.from({ length: 15 }, (_, i) => reading('a', i)))
    expect(o.stats()).toMatchObject({ readings: 10, dropped: 5 })
    o.close()
    const again = outbox({ maxReadings: 10 })
    expect(again.stats()).toMatchObject({ readings: 10, dropped: 5 })
    expect(drain(again).flatMap((b) => b.readings.map((r) => r.ts))).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
  })

  it('never drops a batch in flight: the bound is exceeded by at most the in-flight readings', () => {
    const o = outbox({ maxReadings: 5 })
    o.append(Array.from({ length: 5 }, (_, i) => reading('a', i)))
    const inFlight = take(o, 5)
    o.append(Array.from({ length: 3 }, (_, i) => reading('b', i)))
    expect(o.stats()).toMatchObject({ readings: 5, pending: 0, batches: 1, dropped: 3 })
    expect(o.ack(inFlight.seq)).toBe(true)
    expect(o.stats()).toMatchObject({ readings: 0, dropped: 3, droppedBatches: 0 })
  })

  it('drops a frozen batch that is not in flight whole, when it holds the oldest readings, and counts the seq gap', () => {
    const path = dir.file('outbox.db')
    const o1 = openOutbox(path, { now: clock.now, maxReadings: 6 })
    o1.append(Array.from({ length: 4 }, (_, i) => reading('a', i)))
    const frozen = take(o1, 3)
    o1.close() // a restart: the batch waits for redelivery, no longer in flight
    const o2 = outbox({ maxReadings: 6 })
    o2.append(Array.from({ length: 3 }, (_, i) => reading('b', i))) // 7 > 6: the oldest is in the frozen batch
    expect(o2.stats()).toMatchObject({ readings: 4, batches: 0, dropped: 3, droppedBatches: 1 })
    expect(o2.ack(frozen.seq)).toBe(false)
    expect(drain(o2).flatMap((b) => b.readings.map(keyOf))).toEqual(['a@3', 'b@0', 'b@1', 'b@2'])
  })

  it('drops readings older than maxAgeMs, counted, but not a batch in flight', () => {
    const o = outbox({ maxAgeMs: 60_000 })
    o.append([reading('a', 1), reading('a', 2)])
    const b = take(o, 1)
    clock.advance(30_000)
    o.append([reading('a', 3)])
    clock.advance(30_001)
    expect(o.prune()).toBe(1) // a@2; a@1 is in flight
    expect(o.stats()).toMatchObject({ readings: 2, dropped: 1 })
    o.nack(b.seq) // no longer in flight: now it expires too
    expect(o.nextBatch()?.readings).toBe(1)
    expect(o.stats()).toMatchObject({ dropped: 2, droppedBatches: 1 })
  })

  it('reports depth, in-flight batches, the oldest age and the last seq', () => {
    const o = outbox()
    expect(o.stats()).toEqual({ readings: 0, pending: 0, batches: 0, inFlight: 0, oldestAgeMs: undefined, dropped: 0, droppedBatches: 0, lastSeq: undefined, uplink: false })
    o.append([reading('a', 1), reading('a', 2), reading('a', 3)])
    clock.advance(1_500)
    const b = take(o, 2)
    clock.advance(500)
    o.setUplink(true)
    expect(o.stats()).toEqual({ readings: 3, pending: 1, batches: 1, inFlight: 1, oldestAgeMs: 2_000, dropped: 0, droppedBatches: 0, lastSeq: b.seq, uplink: true })
  })
})

describe('Outbox: seq across restarts', () => {
  it('never goes backwards across close and open, even with the clock set back and everything acked', () => {
    const path = dir.file('outbox.db')
    const seqs: number[] = []
    for (let run = 0; run < 3; run++) {
      const o = openOutbox(path, { now: clock.now })
      o.append([reading('a', run)])
      seqs.push(...drain(o).map((b) => b.seq))
      o.close()
      clock.advance(-86_400_000)
    }
    expect(seqs).toEqual([seqs[0], (seqs[0] ?? 0) + 1, (seqs[0] ?? 0) + 2])
  })

  it('starts at the current ms again when the file is replaced (docs/wire-contract.md)', () => {
    const o1 = outbox({}, 'first.db')
    o1.append([reading('a', 1)])
    const s1 = take(o1).seq
    clock.advance(10)
    const o2 = outbox({}, 'second.db')
    o2.append([reading('a', 1)])
    expect(take(o2).seq).toBe(s1 + 10)
  })
})

describe('Outbox: lifecycle and failures', () => {
  it('touches no file in its constructor and refuses calls before open and after close', () => {
    const path = dir.file('outbox.db')
    const o = new Outbox({ path, site: SITE, gateway: GATEWAY, maxReadings: 10, maxAgeMs: 1000 })
    expect(existsSync(path)).toBe(false)
    expect(() => o.append([reading('a', 1)])).toThrow(expect.objectContaining({ code: 'OUTBOX_STATE' }))
    o.open()
    expect(() => o.open()).toThrow(expect.objectContaining({ code: 'OUTBOX_STATE' }))
    o.close()
    o.close()
    expect(() => o.stats()).toThrow(/not open/)
    expect(() => o.nextBatch()).toThrow(/not open/)
    // Signals from an MQTT client that outlives the outbox during shutdown are harmless.
    expect(o.ack(1)).toBe(false)
    expect(o.nack(1)).toBe(false)
    o.setUplink(true)
    o.nackAll()
  })

  it('refuses nonsense options', () => {
    const base = { path: dir.file('x.db'), site: SITE, gateway: GATEWAY, maxReadings: 10, maxAgeMs: 1000 }
    expect(() => new Outbox({ ...base, gateway: 'gw/1' })).toThrow(expect.objectContaining({ code: 'OUTBOX_OPTIONS' }))
    expect(() => new Outbox({ ...base, maxReadings: 0 })).toThrow(/maxReadings/)
    expect(() => new Outbox({ ...base, liveShare: 2 })).toThrow(/liveShare/)
  })

  it('writes a WAL and no shared-memory file (exclusive locking)', () => {
    const path = dir.file('outbox.db')
    const o = outbox()
    o.append([reading('a', 1)])
    expect(existsSync(`${path}-wal`)).toBe(true)
    expect(existsSync(`${path}-shm`)).toBe(false) // exclusive locking: no shared memory
  })
})
