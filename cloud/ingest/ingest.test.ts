import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { encode, type TelemetryBatch } from '../../shared/mqtt/index.ts'
import type { StoredReading, TelemetryStore } from '../model.ts'
import { Registry } from '../registry/registry.ts'
import { openStateDb, type StateDb } from '../state/db.ts'
import { BINARIES, requireBinary } from '../../shared/test-support/binaries.ts'
import { openTelemetryStore } from '../storage/index.ts'
import { startInfluxd } from '../test-support/influxd.ts'
import { DeadLetters } from './dead-letters.ts'
import { Ingest, type IngestOptions } from './ingest.ts'
import { BIRTH, GATEWAY, SITE, malformedCorpus } from './test-support/malformed.ts'

const T = `muni/v1/${SITE}/${GATEWAY}`
const NOW = Date.now()

function telemetry(seq: number, readings: Array<Partial<TelemetryBatch['readings'][number]>>, gateway = GATEWAY): Uint8Array {
  return encode('telemetry', {
    gateway,
    seq,
    sentAt: NOW,
    readings: readings.map((r, i) => ({ device: 'wl-1', ts: NOW - 1000 + i, values: { level_m: 1 + i / 100 }, errors: {}, historical: false, ...r })),
  })
}

/**
 * The real SQLite store, with one fault added: `failNext` makes the next writes reject, as
 * a full disk or an unreachable InfluxDB would — a fault SQLite does not produce on demand.
 * `delayMs` makes writes slow, to fill the queue.
 */
class FaultyStore implements TelemetryStore {
  readonly name = 'faulty-sqlite'
  failNext = 0
  delayMs = 0
  writes: number[] = []
  constructor(readonly inner: TelemetryStore) {}
  async write(readings: readonly StoredReading[]): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs))
    if (this.failNext > 0) {
      this.failNext--
      throw new Error('disk full (injected)')
    }
    this.writes.push(readings.length)
    return this.inner.write(readings)
  }
  query = (q: Parameters<TelemetryStore['query']>[0]) => this.inner.query(q)
  countByDevice = () => this.inner.countByDevice()
  close = () => this.inner.close()
}

describe('ingest', () => {
  let dir: string
  let db: StateDb
  let store: FaultyStore
  let registry: Registry
  let dead: DeadLetters
  let ingest: Ingest

  const make = async (o: Partial<IngestOptions> = {}): Promise<void> => {
    ingest = new Ingest({ store, registry, deadLetters: dead, db, birthGraceMs: 200, ...o })
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'muni-ingest-'))
    db = openStateDb(join(dir, 'state.sqlite'))
    store = new FaultyStore(await openTelemetryStore({ kind: 'sqlite', path: join(dir, 'telemetry.sqlite') }))
    registry = new Registry(db)
    dead = new DeadLetters(db)
    await make()
  })

  afterEach(async () => {
    await ingest.close()
    await store.close()
    db.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const count = async (): Promise<number> => [...(await store.countByDevice()).values()].reduce((a, b) => a + b, 0)

  it('stores the readings of a born gateway with their kind, and keeps last values', async () => {
    await ingest.handle(`${T}/birth`, encode('birth', BIRTH))
    await ingest.handle(`${T}/telemetry`, telemetry(1, [{}, { device: 'pp-1', values: { pressure_bar: 3.2 } }]))
    expect(await store.countByDevice()).toEqual(new Map([[`${GATEWAY}/wl-1`, 1], [`${GATEWAY}/pp-1`, 1]]))
    const rows = await store.query({ gateway: GATEWAY, device: 'pp-1', from: NOW - 10_000, to: NOW + 1, limit: 10 })
    expect(rows.rows[0]?.values.pressure_bar).toBe(3.2)
    expect(registry.device(GATEWAY, 'pp-1')).toMatchObject({ kind: 'pipe-pressure', availability: 'available', lastValues: { pressure_bar: 3.2 } })
    expect(ingest.stats()).toMatchObject({ readingsStored: 2, duplicates: 0, messages: { birth: 1, telemetry: 1 } })
  })

  it('stores a redelivered batch once: dedupe by (gateway, seq), also across a restart', async () => {
    await ingest.handle(`${T}/birth`, encode('birth', BIRTH))
    const msg = telemetry(7, [{}, {}, {}])
    await ingest.handle(`${T}/telemetry`, msg)
    await Promise.all([ingest.handle(`${T}/telemetry`, msg), ingest.handle(`${T}/telemetry`, msg)])
    expect(ingest.stats().duplicates).toBe(2)
    expect(store.writes).toEqual([3])
    // A new pipeline over the same state database still knows seq 7.
    await ingest.close()
    registry = new Registry(db)
    await make()
    await ingest.handle(`${T}/telemetry`, msg)
    expect(ingest.stats().duplicates).toBe(1)
    expect(await count()).toBe(3)
  })

  it('hands durable readings to onStored in the order the writes started, even when they finish out of order; never a failed write', async () => {
    const seen: number[][] = []
    await ingest.close()
    // The first write is slow and the second fast, so they finish in the other order.
    const delays = [80, 0]
    const inner = store
    const slowFirst: TelemetryStore = {
      name: 'slow-first',
      write: async (r) => {
        const d = delays.shift() ?? 0
        if (d > 0) await new Promise((res) => setTimeout(res, d))
        return inner.write(r)
      },
      query: (q) => inner.query(q),
      countByDevice: () => inner.countByDevice(),
      close: async () => {},
    }
    ingest = new Ingest({ store: slowFirst, registry, deadLetters: dead, db, batchReadings: 2, onStored: (rs) => seen.push(rs.map((r) => r.seq)) })
    await ingest.handle(`${T}/birth`, encode('birth', BIRTH))
    // One socket read: two messages of 2 readings → two writes of batchReadings 2, in flight together.
    await Promise.all([ingest.handle(`${T}/telemetry`, telemetry(1, [{}, {}])), ingest.handle(`${T}/telemetry`, telemetry(2, [{}, {}]))])
    expect(seen).toEqual([[1, 1], [2, 2]])
    inner.failNext = 1
    await expect(ingest.handle(`${T}/telemetry`, telemetry(3, [{}]))).rejects.toThrow(/disk full/)
    await ingest.handle(`${T}/telemetry`, telemetry(3, [{}]))
    expect(seen).toEqual([[1, 1], [2, 2], [3]])
  })

  it('waits briefly for a birth that the broker handed over after the telemetry', async () => {
    const pending = ingest.handle(`${T}/telemetry`, telemetry(1, [{}]))
    await new Promise((r) => setTimeout(r, 50))
    await ingest.handle(`${T}/birth`, encode('birth', BIRTH))
    await pending
    expect(await count()).toBe(1)
    expect(dead.count()).toBe(0)
  })

  it('dead-letters unknown devices and far-future readings but stores the rest of the batch', async () => {
    await ingest.handle(`${T}/birth`, encode('birth', BIRTH))
    await ingest.handle(`${T}/telemetry`, telemetry(2, [{}, { device: 'ghost' }, { ts: NOW + 3_600_000 }]))
    expect(await count()).toBe(1)
    const letters = dead.list({ limit: 10 })
    expect(letters.map((l) => l.reason).sort()).toEqual(['future_timestamp', 'unknown_device'])
    expect(letters.find((l) => l.reason === 'unknown_device')?.detail).toEqual([`/readings/1/device: no device "ghost" in the birth of gateway ${GATEWAY}`])
  })

  it(`turns every message of the malformed corpus into a dead letter with its reason, and keeps going`, async () => {
    await ingest.handle(`${T}/birth`, encode('birth', BIRTH))
    const corpus = malformedCorpus(Date.now())
    expect(corpus.length).toBeGreaterThanOrEqual(200)
    for (const c of corpus) {
      const before = dead.countByReason()[c.reason] ?? 0
      await ingest.handle(c.topic, c.payload, { client: 'evil' })
      expect(dead.countByReason()[c.reason] ?? 0, c.name).toBe(before + 1)
      const [last] = dead.list({ limit: 1 })
      expect(last?.detail.length, c.name).toBeGreaterThan(0)
      expect(last?.client).toBe('evil')
    }
    // Only the valid halves of the "one of two readings ahead" cases were stored: the same
    // (device, ts) each time, so they overwrite one another into one stored reading.
    expect(corpus.filter((c) => c.name.startsWith('one of two')).length).toBe(5)
    expect(await count()).toBe(1)
    // Still alive and storing.
    await ingest.handle(`${T}/telemetry`, telemetry(99, [{ ts: NOW - 5 }]))
    expect(ingest.stats().writeErrors).toBe(0)
  })

  it('rejects (so the broker withholds the PUBACK) when the store fails, and stores the redelivery', async () => {
    await ingest.handle(`${T}/birth`, encode('birth', BIRTH))
    store.failNext = 1
    const msg = telemetry(3, [{}, {}])
    await expect(ingest.handle(`${T}/telemetry`, msg)).rejects.toThrow(/disk full/)
    expect(await count()).toBe(0)
    await ingest.handle(`${T}/telemetry`, msg)
    expect(await count()).toBe(2)
    expect(ingest.stats()).toMatchObject({ writeErrors: 1, duplicates: 0 })
  })

  it('group-commits concurrent messages into few writes', async () => {
    await ingest.handle(`${T}/birth`, encode('birth', BIRTH))
    store.delayMs = 20
    await Promise.all(Array.from({ length: 100 }, (_, i) => ingest.handle(`${T}/telemetry`, telemetry(100 + i, Array.from({ length: 50 }, (_, j) => ({ ts: NOW - 100_000 + i * 100 + j }))))))
    expect(await count()).toBe(5000)
    expect(store.writes.length).toBeLessThanOrEqual(3)
    expect(Math.max(...store.writes)).toBeLessThanOrEqual(5000)
  })

  it('applies backpressure instead of dropping: handle() waits while the queue is full', async () => {
    await make({ maxPendingReadings: 1000, batchReadings: 500 })
    await ingest.handle(`${T}/birth`, encode('birth', BIRTH))
    store.delayMs = 30
    let peak = 0
    const all = Array.from({ length: 60 }, (_, i) => {
      const p = ingest.handle(`${T}/telemetry`, telemetry(200 + i, Array.from({ length: 100 }, (_, j) => ({ ts: NOW - 200_000 + i * 100 + j }))))
      peak = Math.max(peak, ingest.stats().pendingReadings)
      return p
    })
    const sampler = setInterval(() => (peak = Math.max(peak, ingest.stats().pendingReadings)), 2)
    await Promise.all(all)
    clearInterval(sampler)
    expect(peak).toBeLessThanOrEqual(1000)
    expect(await count()).toBe(6000)
  })

  it('ignores a Last Will of an older session than the newest birth', async () => {
    await ingest.handle(`${T}/birth`, encode('birth', { ...BIRTH, session: 5 }))
    await ingest.handle(`${T}/state`, encode('state', { state: 'online', session: 5, ts: NOW }))
    await ingest.handle(`${T}/state`, encode('state', { state: 'offline', session: 4 }))
    expect(registry.gateway(SITE, GATEWAY)?.state).toBe('online')
    await ingest.handle(`${T}/state`, encode('state', { state: 'offline', session: 5 }))
    expect(registry.gateway(SITE, GATEWAY)?.state).toBe('offline')
  })

  it('tracks availability from device events', async () => {
    await ingest.handle(`${T}/birth`, encode('birth', BIRTH))
    await ingest.handle(`${T}/events`, encode('events', { device: 'wl-1', ts: NOW, event: 'unavailable', error: { code: 'timeout' } }))
    expect(registry.device(GATEWAY, 'wl-1')).toMatchObject({ availability: 'unavailable', lastError: 'timeout' })
    await ingest.handle(`${T}/events`, encode('events', { device: 'wl-1', ts: NOW, event: 'available' }))
    expect(registry.device(GATEWAY, 'wl-1')?.availability).toBe('available')
  })
})

describe('ingest into InfluxDB 1.x', () => {
  it('acknowledges a partial write (400) instead of retrying it forever: refused lines become a dead letter, the rest is stored', async (ctx) => {
    requireBinary(ctx, BINARIES.influxd)
    const influx = await startInfluxd()
    const dir = mkdtempSync(join(tmpdir(), 'muni-ingest-influx-'))
    const db = openStateDb(join(dir, 'state.sqlite'))
    const store = await openTelemetryStore({ kind: 'influxdb1', url: influx.url, database: 'partial' })
    const registry = new Registry(db)
    const dead = new DeadLetters(db)
    const ingest = new Ingest({ store, registry, deadLetters: dead, db })
    try {
      await ingest.handle(`${T}/birth`, encode('birth', BIRTH))
      await ingest.handle(`${T}/telemetry`, telemetry(1, [{ values: { level_m: 1.5 } }]))
      // level_m is a float field now; a boolean in the same field is a type conflict InfluxDB refuses.
      await ingest.handle(`${T}/telemetry`, telemetry(2, [{ ts: NOW - 10, values: { level_m: true } }, { device: 'pp-1', ts: NOW - 10, values: { pressure_bar: 2 } }]))
      expect(dead.countByReason()).toEqual({ store_refused: 1 })
      expect(dead.list({ limit: 1 })[0]?.detail[0]).toMatch(/^influxdb1: .*400/)
      expect(await store.countByDevice()).toEqual(new Map([[`${GATEWAY}/wl-1`, 1], [`${GATEWAY}/pp-1`, 1]]))
      // Acknowledged: a redelivery is a duplicate, not another refusal.
      await ingest.handle(`${T}/telemetry`, telemetry(2, [{ ts: NOW - 10, values: { level_m: true } }]))
      expect(ingest.stats()).toMatchObject({ duplicates: 1, writeErrors: 0 })
    } finally {
      await ingest.close()
      await store.close()
      db.close()
      await influx.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
