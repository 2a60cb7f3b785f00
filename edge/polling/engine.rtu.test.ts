/**
 * The polling engine over the real Modbus RTU driver on one end of a socat pty
 * pair, the project's wire-timed RTU server (several slaves on one RS-485 line,
 * 9600 baud 8E1) on the other. Real time; assertions count requests, sweeps and
 * timeouts, never how fast something was. Every wait bounded.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Value } from '../../shared/codec/index.ts'
import type { Profile } from '../../shared/profile/schema.ts'
import { BINARIES, requireBinary } from '../../shared/test-support/binaries.ts'
import { SimulatedDevice } from '../../simulators/device/device.ts'
import type { Fault } from '../../simulators/device/faults.ts'
import { openPtyPair } from '../../simulators/modbus/pty-pair.ts'
import { ModbusRtuServer } from '../../simulators/modbus/rtu-server.ts'
import { ModbusRtuTransport } from '../drivers/modbus-rtu.ts'
import { PollingEngine, type EngineDevice } from './engine.ts'
import { pumpStation } from './test-support/profiles.ts'
import { Recorder, sleep, waitFor } from './test-support/recorder.ts'
import { TapTransport } from './test-support/tap.ts'

const BAUD = 9600
const VALUES: Record<string, Value> = { open: false, level_m: 1.2, flow_lps: 3.5, battery_pct: 90, setpoint_m: 2, heater_enable: true, pump_enable: false, lock: false }

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface LineOptions {
  units: number[]
  faults?: Record<number, Fault>
  quirks?: Profile['quirks']
  device?: Partial<EngineDevice>
}

/** One RS-485 line: simulated slaves on end a of a pty pair, the engine with the RTU driver on end b. */
async function line(o: LineOptions) {
  const profile = pumpStation({ turnaroundMs: 10, ...o.quirks })
  const sims = new Map(o.units.map((u) => [u, new SimulatedDevice({ profile, values: VALUES, ...(o.faults?.[u] && { fault: o.faults[u] }) })]))
  const pty = await openPtyPair()
  cleanups.push(() => pty.close())
  const server = new ModbusRtuServer({ units: sims, path: pty.a, baudRate: BAUD, parity: 'even' })
  await server.start()
  cleanups.push(() => server.stop())
  const tap = new TapTransport(new ModbusRtuTransport({ path: pty.b, baud: BAUD, parity: 'even' }))
  const rec = new Recorder()
  const engine = new PollingEngine(
    {
      buses: [{ id: 'rs485-1', transport: tap, concurrency: 1 }],
      devices: o.units.map((u) => ({
        id: `dev-${u}`,
        bus: 'rs485-1',
        unit: u,
        profile,
        pollMs: { fast: 400, slow: 60_000 },
        timeoutMs: 250,
        backoff: { initialMs: 1000, maxMs: 2000 },
        failuresToUnavailable: 2,
        ...o.device,
      })),
    },
    rec.options,
  )
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await engine.stop()
  }
  cleanups.push(stop)
  await engine.start()
  const sim = (u: number): SimulatedDevice => {
    const d = sims.get(u)
    if (!d) throw new Error(`no unit ${u}`)
    return d
  }
  return { engine, tap, rec, sim, server, stop }
}

type Line = Awaited<ReturnType<typeof line>>
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0)

/**
 * Lets a line settle (first sweeps done; a dead device past its K failed sweeps and backing off), then counts
 * what happened on it during `windowMs`: sweeps by reading timestamps, requests by when they were sent.
 */
async function observe(l: Line, windowMs: number, live: number[], dead?: number, backsOff = true) {
  await waitFor(() => l.rec.samples.length > 0, 5000, 'a first sweep')
  if (dead !== undefined && backsOff) await waitFor(() => l.rec.eventsOf(`dev-${dead}`).includes('unavailable'), 5000, 'the dead device unavailable')
  await sleep(1000)
  const skippedBefore = l.engine.status().devices.map((d) => d.skippedSlots)
  const from = { wall: Date.now(), mono: performance.now() }
  await sleep(windowMs)
  const to = { wall: Date.now(), mono: performance.now() }
  const skippedAfter = l.engine.status().devices.map((d) => d.skippedSlots)
  await l.stop()
  const inWindow = (ts: number) => ts >= from.wall && ts < to.wall
  const sent = (u: number) => l.tap.of(u).filter((e) => e.startAt >= from.mono && e.startAt < to.mono)
  const liveIndex = live.map((u) => l.engine.status().devices.findIndex((d) => d.device === `dev-${u}`))
  return {
    liveSweeps: live.map((u) => l.rec.samplesOf(`dev-${u}`).filter((r) => inWindow(r.ts)).length),
    liveErrors: live.flatMap((u) => l.rec.samplesOf(`dev-${u}`).filter((r) => Object.keys(r.errors).length > 0)),
    liveSkipped: liveIndex.map((i) => (skippedAfter[i] ?? 0) - (skippedBefore[i] ?? 0)),
    deadTimeouts: dead === undefined ? 0 : sent(dead).filter((e) => e.outcome === 'timeout').length,
    deadRequests: dead === undefined ? 0 : sent(dead).length,
  }
}

describe('engine over Modbus RTU (real driver, wire-timed slaves on a pty, 9600 baud)', () => {
  it(
    'a dead device on the shared line costs at most one timeout per backoff period; the live devices keep their rate',
    async (ctx) => {
      requireBinary(ctx, BINARIES.socat)
      const window = 6000
      const live = [1, 2, 3]
      // 1. Three healthy slaves: the baseline.
      const base = await observe(await line({ units: live }), window, live)
      // 2. The same with a fourth, dead slave (no answer at all), with backoff.
      const withDead = await observe(await line({ units: [...live, 4], faults: { 4: { kind: 'no-response' } } }), window, live, 4)
      // 3. The same dead slave without backoff (K so large it never becomes unavailable): what gateways do today.
      const noBackoff = await observe(await line({ units: [...live, 4], faults: { 4: { kind: 'no-response' } }, device: { failuresToUnavailable: 1000 } }), window, live, 4, false)
      ctx.annotate(`in ${window} ms, live sweeps ${JSON.stringify({ base: base.liveSweeps, withDead: withDead.liveSweeps, noBackoff: noBackoff.liveSweeps })}, live slots skipped ${JSON.stringify({ withDead: withDead.liveSkipped, noBackoff: noBackoff.liveSkipped })}; timeouts on the dead one: with backoff ${withDead.deadTimeouts}, without ${noBackoff.deadTimeouts}`)

      // With backoff, once the device is unavailable: one probe (one timeout) per backoff period at most.
      expect(withDead.deadRequests).toBe(withDead.deadTimeouts)
      expect(withDead.deadTimeouts).toBeLessThanOrEqual(Math.floor(window / 1000) + 1)
      // Each of those timeouts can push a live device back by at most one slot: the live devices lose no more
      // sweeps than that (±1 for where the window falls), and see no error. (On an idle machine they lose none:
      // 240 ms of live sweeps per 400 ms round leave room for a 250 ms probe once per ≥ 1 s.)
      withDead.liveSweeps.forEach((n, i) => expect(n).toBeGreaterThanOrEqual((base.liveSweeps[i] ?? 0) - withDead.deadTimeouts - 1))
      withDead.liveSkipped.forEach((n) => expect(n).toBeLessThanOrEqual(withDead.deadTimeouts))
      expect(withDead.liveErrors).toEqual([])
      expect(base.liveErrors).toEqual([])
      // Without backoff the dead slave costs a timeout every round it gets (250 ms + 240 ms > 400 ms): more than
      // twice as many timeouts, and the live devices lose more slots and sweeps than with backoff.
      expect(noBackoff.deadTimeouts).toBeGreaterThan(2 * withDead.deadTimeouts)
      expect(sum(noBackoff.liveSkipped)).toBeGreaterThan(sum(withDead.liveSkipped))
      expect(sum(noBackoff.liveSweeps)).toBeLessThan(sum(withDead.liveSweeps))
    },
    60_000,
  )

  it('CRC, timeout, exception: per-point errors and events; sentinel/NaN become errors', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    const { rec } = await line({
      units: [1, 2, 3, 4, 5],
      faults: { 1: { kind: 'bad-crc' }, 2: { kind: 'no-response' }, 3: { kind: 'exception', code: 2 }, 4: { kind: 'sentinel' } },
      device: { pollMs: { fast: 500, slow: 500 } },
    })
    await waitFor(
      () => rec.eventsOf('dev-1').includes('unavailable') && rec.eventsOf('dev-2').includes('unavailable') && rec.eventsOf('dev-3').includes('profile_mismatch') && rec.samplesOf('dev-5').length > 1,
      10_000,
      'every fault reported',
    )
    const first = (d: string) => rec.samplesOf(d)[0]
    expect(new Set(Object.values(first('dev-1')?.errors ?? {}).map((e) => e.code))).toEqual(new Set(['crc']))
    expect(rec.events.find((e) => e.device === 'dev-1' && e.event === 'unavailable')?.error?.code).toBe('crc')
    expect(Object.values(first('dev-2')?.errors ?? {}).map((e) => e.code)).toEqual(Array(8).fill('timeout'))
    expect(rec.events.find((e) => e.device === 'dev-2' && e.event === 'unavailable')?.error).toEqual({ code: 'timeout' })
    expect(first('dev-3')?.errors.level_m).toEqual({ code: 'exception', exception: 2 })
    expect(rec.eventsOf('dev-3')).toEqual(['available', 'profile_mismatch'])
    expect(first('dev-4')?.errors).toMatchObject({ level_m: { code: 'sentinel', raw: 65535 }, flow_lps: { code: 'nan' }, battery_pct: { code: 'sentinel', raw: 65535 } })
    expect(['level_m', 'flow_lps', 'battery_pct'].filter((p) => p in (first('dev-4')?.values ?? {}))).toEqual([])
    expect(first('dev-5')).toMatchObject({ values: VALUES, errors: {} })
    expect(rec.eventsOf('dev-5')).toEqual(['available'])
  }, 30_000)

  it('a write queued during polling lands between sweeps, never collides with a read, and is acknowledged', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    const { engine, tap, sim, rec } = await line({ units: [1, 2, 3], device: { pollMs: { fast: 300, slow: 300 } } })
    await waitFor(() => rec.samples.length >= 4, 5000, 'polling under way')
    const results = await Promise.all([engine.write('dev-2', 'setpoint_m', 3.5), engine.write('dev-3', 'pump_enable', true), engine.write('dev-1', 'lock', true)])
    expect(results.map((r) => r.ok)).toEqual([true, true, true])
    expect(results[0]).toMatchObject({ value: { readBack: { values: { setpoint_m: 3.5 } } } })
    expect(sim(2).get('setpoint_m')).toEqual({ ok: true, value: 3.5 })
    expect(sim(3).words('holding', 1, 1)).toEqual([0b101])
    expect(sim(1).get('lock')).toEqual({ ok: true, value: true })
    await waitFor(() => rec.samplesOf('dev-2').at(-1)?.values.setpoint_m === 3.5, 3000, 'a sweep reading the new setpoint')
    // One transaction on the line at a time, and every sweep's four reads back to back (no write inside one).
    expect(tap.maxInFlight).toBe(1)
    const log = tap.log
    for (let i = 1; i < log.length; i++) expect((log[i]?.startAt ?? 0) >= (log[i - 1]?.endAt ?? 0) - 0.001).toBe(true)
    let sweeps = 0
    log.forEach((e, i) => {
      const prev = log[i - 1]
      const readBack = prev?.op === 'write' && prev.table === 'coil' && prev.unit === e.unit
      if (e.op !== 'read' || e.table !== 'coil' || readBack || i + 4 > log.length) return
      sweeps++
      expect(log.slice(i, i + 4).map((x) => `${x.unit} ${x.op} ${x.table} ${x.start}`)).toEqual(['coil 0', 'discrete 0', 'holding 0', 'input 0'].map((x) => `${e.unit} read ${x}`))
    })
    expect(sweeps).toBeGreaterThanOrEqual(4)
    expect(log.filter((e) => e.op === 'write').map((e) => e.outcome)).toEqual(['written', 'written', 'written'])
  }, 30_000)

  it("keeps the firmware's pause between requests: a slave that ignores early requests drops none", async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    const { sim, rec, tap } = await line({ units: [1, 2], quirks: { pauseBetweenRequestsMs: 60 }, device: { pollMs: { fast: 500, slow: 500 } } })
    await waitFor(() => rec.samples.length >= 6, 8000, 'six sweeps')
    expect(sim(1).stats.silent + sim(2).stats.silent).toBe(0)
    expect(tap.log.filter((e) => e.outcome !== 'data')).toEqual([])
    expect(rec.samples.every((r) => Object.keys(r.errors).length === 0)).toBe(true)
  }, 20_000)

  it('report by exception over RTU: suppressed while unchanged, the change and the heartbeat pass', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    const { rec, sim } = await line({ units: [1], device: { pollMs: { fast: 200, slow: 200 }, heartbeatS: 2 } })
    await waitFor(() => rec.samples.length >= 4, 5000, 'four sweeps')
    expect(rec.readings).toHaveLength(1)
    sim(1).set({ open: true })
    await waitFor(() => rec.readings.length >= 2, 3000, 'the change')
    expect(rec.readings[1]?.values).toEqual({ open: true })
    const t0 = rec.readings[0]?.ts ?? 0
    await waitFor(() => rec.readings.some((r) => r.ts - t0 >= 2000), 5000, 'the heartbeat')
    expect(rec.readings.find((r) => r.ts - t0 >= 2000)?.values).toEqual({ ...VALUES, open: true })
  }, 20_000)
})
