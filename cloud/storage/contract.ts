/**
 * The one test-suite every `TelemetryStore` passes (MQTT.js's abstract-client idea):
 * `describeTelemetryStore(name, factory)` defines it, each backend's `*.test.ts` calls it.
 *
 * Tests about what was written read it back through the harness's `verifier` — by default
 * the store's own `query`/`countByDevice`, for influxdb2 VictoriaMetrics' export API. Tests
 * about `query` itself are skipped, with the reason printed, when the harness says the
 * store's query cannot be exercised here.
 */
import { describe, expect, it, type TestContext } from 'vitest'
import type { PointValue } from '../../shared/mqtt/messages.ts'
import { MAX_QUERY_POINTS, type StoredReading, type TelemetryQuery, type TelemetryRow, type TelemetryStore } from '../model.ts'

/** Reads back what a store wrote, by some path other than the code under test if need be. */
export interface Verifier {
  /** Every stored reading of a device in [from, to), ascending: number/boolean point values. */
  readAll(gateway: string, device: string, from: number, to: number): Promise<TelemetryRow[]>
  /** `{gateway}/{device}` → stored readings. */
  countByDevice(): Promise<Map<string, number>>
  /** How a written value reads back this way; undefined when this way cannot show it. */
  expected(v: PointValue): PointValue | undefined
  /** Whether rewriting a (gateway, device, ts) with other values keeps the last written. */
  lastWriteWins: boolean
}

/** One store under test, and how to tear down what the factory started. */
export interface StoreHarness {
  store: TelemetryStore
  /** Defaults to the store's own query and countByDevice. */
  verifier?: Verifier
  /** When set, the tests of `query` are skipped with this reason. */
  queryUntestable?: string
  /** Closes the store, stops servers, removes temp dirs. Runs even when the test failed. */
  dispose(): Promise<void>
}

/** Makes a fresh, empty store for one test (call `requireBinary(ctx, …)` first if it needs one). */
export type StoreFactory = (ctx: TestContext) => Promise<StoreHarness>

const DAY = 86_400_000
/** Recent enough for a 30-day retention policy, aligned to every bucket width used below. */
const T0 = Math.floor((Date.now() - 2 * DAY) / DAY) * DAY
const WINDOW = { from: T0 - DAY, to: T0 + DAY }
const TIMEOUT = 30_000

/** A reading of `gw-1/wl-1` (a water-level sensor at site `s1`) at T0 + `dt`. */
export function reading(dt: number, values: Record<string, PointValue>, over: Partial<StoredReading> = {}): StoredReading {
  return { site: 's1', gateway: 'gw-1', device: 'wl-1', kind: 'water-level', ts: T0 + dt, values, errors: {}, historical: false, seq: 1, ...over }
}

/** The store's own query/countByDevice as a verifier. */
export function queryVerifier(store: TelemetryStore): Verifier {
  return {
    async readAll(gateway, device, from, to) {
      const r = await store.query({ gateway, device, from, to, limit: MAX_QUERY_POINTS })
      return r.rows.map((row) => ({ ts: row.ts, values: row.values }))
    },
    countByDevice: () => store.countByDevice(),
    // Without named points a query returns numbers and booleans, not strings.
    expected: (v) => (typeof v === 'string' ? undefined : v),
    lastWriteWins: true,
  }
}

/** Defines the TelemetryStore contract suite for one backend. */
export function describeTelemetryStore(name: string, factory: StoreFactory): void {
  async function open(ctx: TestContext): Promise<{ store: TelemetryStore; verify: Verifier; queryUntestable: string | undefined }> {
    const h = await factory(ctx)
    ctx.onTestFinished(() => h.dispose())
    return { store: h.store, verify: h.verifier ?? queryVerifier(h.store), queryUntestable: h.queryUntestable }
  }
  /** For tests of `query`: skips with the harness's reason when it cannot be exercised. */
  async function openForQuery(ctx: TestContext): Promise<TelemetryStore> {
    const { store, queryUntestable } = await open(ctx)
    if (queryUntestable !== undefined) {
      process.stderr.write(`[skipped] ${name}: ${queryUntestable}\n`)
      ctx.skip(queryUntestable)
    }
    return store
  }
  const q = (over: Partial<TelemetryQuery> = {}): TelemetryQuery => ({ gateway: 'gw-1', device: 'wl-1', from: WINDOW.from, to: WINDOW.to, limit: 1000, ...over })

  describe(`TelemetryStore contract: ${name}`, () => {
    it('writes numbers, booleans and strings and reads them back', { timeout: TIMEOUT }, async (ctx) => {
      const { store, verify } = await open(ctx)
      const written = [
        reading(0, { level_m: 1.25, pump_on: true, mode: 'auto', count: 7 }),
        reading(1000, { level_m: -0.5, pump_on: false, mode: 'manual', count: 0 }, { historical: true, seq: 2 }),
        reading(2000, { level_m: 1e-7, pump_on: true, mode: 'a "quoted", spaced=string\\', count: 123456789.125 }, { seq: 3 }),
      ]
      await store.write(written)
      const rows = await verify.readAll('gw-1', 'wl-1', WINDOW.from, WINDOW.to)
      expect(rows.map((r) => r.ts)).toEqual(written.map((r) => r.ts))
      written.forEach((w, i) => {
        for (const [point, value] of Object.entries(w.values)) {
          const exp = verify.expected(value)
          if (exp !== undefined) expect(rows[i]?.values[point], `${point} at ${w.ts}`).toEqual(exp)
        }
      })
    })

    it('returns strings when they are asked for by name', { timeout: TIMEOUT }, async (ctx) => {
      const store = await openForQuery(ctx)
      await store.write([reading(0, { mode: 'a "quoted", spaced=string\\', level_m: 1 }), reading(1000, { mode: 'line\nbreak', level_m: 2 })])
      const r = await store.query(q({ points: ['mode'] }))
      expect(r.rows).toEqual([
        { ts: T0, values: { mode: 'a "quoted", spaced=string\\' } },
        { ts: T0 + 1000, values: { mode: 'line\nbreak' } },
      ])
      // Without named points strings are left out.
      const all = await store.query(q())
      expect(all.rows.map((row) => row.values)).toEqual([{ level_m: 1 }, { level_m: 2 }])
    })

    it('keeps point errors apart from values', { timeout: TIMEOUT }, async (ctx) => {
      const store = await openForQuery(ctx)
      await store.write([
        reading(0, { level_m: 1 }, { errors: { flow_lps: { code: 'timeout' }, temp_c: { code: 'exception', exception: 2 } } }),
        reading(1000, { level_m: 2, flow_lps: 3.5, temp_c: 11 }),
      ])
      const r = await store.query(q({ points: ['flow_lps', 'temp_c', 'level_m'] }))
      expect(r.rows).toEqual([
        { ts: T0, values: { flow_lps: null, temp_c: null, level_m: 1 }, errors: { flow_lps: 'timeout', temp_c: 'exception' } },
        { ts: T0 + 1000, values: { flow_lps: 3.5, temp_c: 11, level_m: 2 } },
      ])
      // A sample whose only queried point failed is still a row: the failure is data.
      const only = await store.query(q({ points: ['flow_lps'] }))
      expect(only.rows).toEqual([
        { ts: T0, values: { flow_lps: null }, errors: { flow_lps: 'timeout' } },
        { ts: T0 + 1000, values: { flow_lps: 3.5 } },
      ])
    })

    it('stores a redelivered reading once', { timeout: TIMEOUT }, async (ctx) => {
      const { store, verify } = await open(ctx)
      const batch = Array.from({ length: 20 }, (_, i) => reading(i * 1000, { level_m: i }, { seq: 5 }))
      await store.write(batch)
      await store.write(batch)
      await store.write(batch.slice(5, 10))
      expect((await verify.countByDevice()).get('gw-1/wl-1')).toBe(20)
      const rows = await verify.readAll('gw-1', 'wl-1', WINDOW.from, WINDOW.to)
      expect(rows.map((r) => r.values.level_m)).toEqual(batch.map((_, i) => i))
    })

    it('replaces a reading rewritten with other values', { timeout: TIMEOUT }, async (ctx) => {
      const { store, verify } = await open(ctx)
      if (!verify.lastWriteWins) {
        const reason = 'its verifier does not keep the last of two samples with one timestamp'
        process.stderr.write(`[skipped] ${name}: ${reason}\n`)
        ctx.skip(reason)
      }
      await store.write([reading(0, { level_m: 1, pump_on: false }), reading(1000, { level_m: 2, pump_on: false })])
      await store.write([reading(0, { level_m: 10, pump_on: true }, { seq: 9 })])
      expect((await verify.countByDevice()).get('gw-1/wl-1')).toBe(2)
      const rows = await verify.readAll('gw-1', 'wl-1', WINDOW.from, WINDOW.to)
      expect(rows).toEqual([
        { ts: T0, values: { level_m: 10, pump_on: verify.expected(true) } },
        { ts: T0 + 1000, values: { level_m: 2, pump_on: verify.expected(false) } },
      ])
    })

    it('returns readings ordered by ts whatever the write order', { timeout: TIMEOUT }, async (ctx) => {
      const { store, verify } = await open(ctx)
      const order = [5, 1, 9, 0, 3, 8, 2, 7, 4, 6]
      await store.write(order.slice(0, 5).map((i) => reading(i * 1000, { level_m: i })))
      await store.write(order.slice(5).map((i) => reading(i * 1000, { level_m: i })))
      const rows = await verify.readAll('gw-1', 'wl-1', WINDOW.from, WINDOW.to)
      expect(rows.map((r) => [r.ts - T0, r.values.level_m])).toEqual(order.toSorted((a, b) => a - b).map((i) => [i * 1000, i]))
    })

    it('includes from and excludes to', { timeout: TIMEOUT }, async (ctx) => {
      const store = await openForQuery(ctx)
      await store.write([0, 1, 2, 3, 4].map((i) => reading(i * 1000, { level_m: i })))
      const r = await store.query(q({ from: T0 + 1000, to: T0 + 3000 }))
      expect(r).toEqual({ rows: [{ ts: T0 + 1000, values: { level_m: 1 } }, { ts: T0 + 2000, values: { level_m: 2 } }], truncated: false })
      expect((await store.query(q({ from: T0 + 4001, to: T0 + 9000 }))).rows).toEqual([])
      expect((await store.query(q({ from: T0 + 3999, to: T0 + 4001 }))).rows.map((row) => row.ts)).toEqual([T0 + 4000])
    })

    it('downsamples into epoch-aligned buckets with min, max, mean and last', { timeout: TIMEOUT }, async (ctx) => {
      const store = await openForQuery(ctx)
      // Buckets of 10 s: [T0, T0+10s) holds 1, 3, 2; [T0+10s, T0+20s) holds -4, 10; T0+20s is empty; T0+30s holds 5.
      await store.write([
        reading(0, { level_m: 1, pump_on: true, mode: 'a' }),
        reading(2000, { level_m: 3 }),
        reading(9999, { level_m: 2, pump_on: false, mode: 'b' }),
        reading(10_000, { level_m: -4 }),
        reading(15_000, { level_m: 10, pump_on: true }),
        reading(30_000, { level_m: 5 }, { errors: { pump_on: { code: 'crc' } } }),
      ])
      const run = async (aggregate: 'min' | 'max' | 'mean' | 'last', over: Partial<TelemetryQuery> = {}) =>
        (await store.query(q({ every: 10_000, aggregate, points: ['level_m', 'pump_on', 'mode'], ...over }))).rows
      const at = (dt: number, level_m: PointValue | null, pump_on: PointValue | null = null, mode: PointValue | null = null) => ({ ts: T0 + dt, values: { level_m, pump_on, mode } })
      expect(await run('min')).toEqual([at(0, 1), at(10_000, -4), at(30_000, 5)])
      expect(await run('max')).toEqual([at(0, 3), at(10_000, 10), at(30_000, 5)])
      expect(await run('mean')).toEqual([at(0, 2), at(10_000, 3), at(30_000, 5)])
      // last: any type; a point's error is not a value, so the 30 s bucket has no pump_on.
      expect(await run('last')).toEqual([at(0, 2, false, 'b'), at(10_000, 10, true), at(30_000, 5)])
      // mean is the default aggregate; a range starting mid-bucket still reports the bucket's start.
      expect((await store.query(q({ every: 10_000, from: T0 + 2000, to: T0 + 12_000 }))).rows).toEqual([
        { ts: T0, values: { level_m: 2.5 } },
        { ts: T0 + 10_000, values: { level_m: -4 } },
      ])
      // Without named points, min/max/mean cover numbers only; last covers booleans too.
      expect((await store.query(q({ every: 60_000, aggregate: 'max' }))).rows).toEqual([{ ts: T0, values: { level_m: 10 } }])
      expect((await store.query(q({ every: 60_000, aggregate: 'last' }))).rows).toEqual([{ ts: T0, values: { level_m: 5, pump_on: true } }])
    })

    it('cuts at limit and says so', { timeout: TIMEOUT }, async (ctx) => {
      const store = await openForQuery(ctx)
      await store.write(Array.from({ length: 25 }, (_, i) => reading(i * 1000, { level_m: i, pump_on: i % 2 === 0 })))
      const cut = await store.query(q({ limit: 10 }))
      expect(cut.truncated).toBe(true)
      expect(cut.rows.map((r) => r.values.level_m)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      expect(await store.query(q({ limit: 25 }))).toMatchObject({ truncated: false, rows: { length: 25 } })
      expect(await store.query(q({ limit: 26 }))).toMatchObject({ truncated: false, rows: { length: 25 } })
      const buckets = await store.query(q({ every: 5000, aggregate: 'max', limit: 3 }))
      expect(buckets).toEqual({
        truncated: true,
        rows: [0, 5000, 10_000].map((dt) => ({ ts: T0 + dt, values: { level_m: dt / 1000 + 4 } })),
      })
      expect(await store.query(q({ every: 5000, limit: 5 }))).toMatchObject({ truncated: false, rows: { length: 5 } })
      await expect(store.query(q({ limit: MAX_QUERY_POINTS + 1 }))).rejects.toThrow(/limit/)
      await expect(store.query(q({ limit: 0 }))).rejects.toThrow(/limit/)
    })

    it('counts readings per device', { timeout: TIMEOUT }, async (ctx) => {
      const { store, verify } = await open(ctx)
      expect(await verify.countByDevice()).toEqual(new Map())
      await store.write([
        ...Array.from({ length: 3 }, (_, i) => reading(i, { level_m: i })),
        ...Array.from({ length: 2 }, (_, i) => reading(i, { open: true }, { device: 'mc-1', kind: 'manhole-cover' })),
        reading(0, { pressure_bar: 2.5 }, { gateway: 'gw-2', device: 'pp-1', kind: 'pipe-pressure', site: 's2' }),
      ])
      expect(await verify.countByDevice()).toEqual(
        new Map([
          ['gw-1/wl-1', 3],
          ['gw-1/mc-1', 2],
          ['gw-2/pp-1', 1],
        ]),
      )
    })

    it('keeps devices and gateways apart', { timeout: TIMEOUT }, async (ctx) => {
      const { store, verify, queryUntestable } = await open(ctx)
      await store.write([
        reading(0, { level_m: 1 }),
        reading(0, { level_m: 2 }, { device: 'wl-2' }),
        reading(0, { level_m: 3 }, { gateway: 'gw-2' }),
        reading(0, { level_m: 4 }, { gateway: 'gw-2', device: 'wl-2', site: 's2' }),
      ])
      const level = async (gateway: string, device: string) => (await verify.readAll(gateway, device, WINDOW.from, WINDOW.to)).map((r) => r.values.level_m)
      expect(await level('gw-1', 'wl-1')).toEqual([1])
      expect(await level('gw-1', 'wl-2')).toEqual([2])
      expect(await level('gw-2', 'wl-1')).toEqual([3])
      expect(await level('gw-2', 'wl-2')).toEqual([4])
      expect(await level('gw-3', 'wl-1')).toEqual([])
      if (queryUntestable === undefined) {
        expect((await store.query(q({ gateway: 'gw-2', device: 'wl-2', site: 's2' }))).rows).toHaveLength(1)
        expect((await store.query(q({ gateway: 'gw-2', device: 'wl-2', site: 's1' }))).rows).toEqual([])
      }
    })

    it('writes 20,000 readings in one call', { timeout: 120_000 }, async (ctx) => {
      const { store, verify } = await open(ctx)
      const devices = 20
      const batch = Array.from({ length: 20_000 }, (_, i) =>
        reading(Math.floor(i / devices) * 1000, { level_m: i / 100, pump_on: i % 3 === 0, mode: 'auto' }, { device: `wl-${i % devices}`, seq: i }),
      )
      await store.write(batch)
      const counts = await verify.countByDevice()
      expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(20_000)
      expect(counts.get('gw-1/wl-7')).toBe(1000)
      const rows = await verify.readAll('gw-1', 'wl-7', WINDOW.from, WINDOW.to)
      expect(rows).toHaveLength(1000)
      expect(rows[999]?.values.level_m).toBe(19_987 / 100)
    })

    it('closes, and refuses work afterwards', { timeout: TIMEOUT }, async (ctx) => {
      const { store } = await open(ctx)
      await store.write([reading(0, { level_m: 1 })])
      await store.close()
      await store.close()
      await expect(store.write([reading(1000, { level_m: 2 })])).rejects.toThrow(new RegExp(store.name))
    })
  })
}
