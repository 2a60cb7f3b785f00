/**
 * The polling engine over the real Modbus TCP driver against the project's TCP
 * gateway simulator (several simulated devices behind one port, like an
 * RTU-to-TCP converter in a cabinet). Real sockets, real time; every wait bounded.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Value } from '../../shared/codec/index.ts'
import type { ResolvedProfile } from '../../shared/profile/resolve.ts'
import { SimulatedDevice } from '../../simulators/device/device.ts'
import type { Fault } from '../../simulators/device/faults.ts'
import { ModbusTcpServer } from '../../simulators/modbus/tcp-server.ts'
import { ModbusTcpTransport } from '../drivers/modbus-tcp.ts'
import { PollingEngine, type EngineDevice } from './engine.ts'
import { pumpStation } from './test-support/profiles.ts'
import { Recorder, sleep, waitFor } from './test-support/recorder.ts'
import { TapTransport } from './test-support/tap.ts'

const VALUES: Record<string, Value> = { open: false, level_m: 1.2, flow_lps: 3.5, battery_pct: 90, setpoint_m: 2, heater_enable: true, pump_enable: false, lock: false }

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface Rig {
  engine: PollingEngine
  tap: TapTransport
  rec: Recorder
  sim: (unit: number) => SimulatedDevice
}

async function rig(opts: { units: number[]; faults?: Record<number, Fault>; concurrency?: number; device?: Partial<EngineDevice>; profile?: ResolvedProfile }): Promise<Rig> {
  const profile = opts.profile ?? pumpStation()
  const sims = new Map(opts.units.map((u) => [u, new SimulatedDevice({ profile, values: VALUES, ...(opts.faults?.[u] && { fault: opts.faults[u] }) })]))
  const server = new ModbusTcpServer({ units: sims })
  await server.start()
  cleanups.push(() => server.stop())
  const concurrency = opts.concurrency ?? 1
  const tap = new TapTransport(new ModbusTcpTransport({ host: '127.0.0.1', port: server.port, concurrency }))
  const rec = new Recorder()
  const engine = new PollingEngine(
    {
      buses: [{ id: 'conv-1', transport: tap, concurrency }],
      devices: opts.units.map((u) => ({
        id: `dev-${u}`,
        bus: 'conv-1',
        unit: u,
        profile,
        pollMs: { fast: 200, slow: 1000 },
        timeoutMs: 250,
        backoff: { initialMs: 1000, maxMs: 2000 },
        failuresToUnavailable: 2,
        ...opts.device,
      })),
    },
    rec.options,
  )
  await engine.start()
  cleanups.push(() => engine.stop())
  const sim = (u: number): SimulatedDevice => {
    const d = sims.get(u)
    if (!d) throw new Error(`no unit ${u}`)
    return d
  }
  return { engine, tap, rec, sim }
}

describe('engine over Modbus TCP (real driver, simulated gateway)', () => {
  it('polls every device behind the gateway and decodes its values', async () => {
    const { rec } = await rig({ units: [1, 2] })
    await waitFor(() => rec.samplesOf('dev-2').length >= 3, 5000, 'three sweeps of dev-2')
    expect(rec.samplesOf('dev-1')[0]).toMatchObject({ values: VALUES, errors: {}, historical: false })
    expect(rec.samplesOf('dev-2')[0]?.values).toEqual(VALUES)
    expect(rec.eventsOf('dev-1')).toEqual(['available'])
  }, 15_000)

  it('exception, timeout, gateway 0B: per-point errors and events; sentinel/NaN are errors, not numbers', async () => {
    const { rec } = await rig({
      units: [1, 2, 3, 4, 5],
      concurrency: 5,
      faults: {
        1: { kind: 'no-response' },
        2: { kind: 'exception', code: 4 },
        3: { kind: 'exception', code: 2 },
        4: { kind: 'sentinel' },
        5: { kind: 'bad-crc' }, // a gateway that gets a corrupt RTU answer reports 0B
      },
    })
    await waitFor(
      () => ['dev-1', 'dev-2', 'dev-5'].every((d) => rec.eventsOf(d).includes('unavailable')) && rec.eventsOf('dev-3').includes('profile_mismatch') && rec.samplesOf('dev-4').length > 0,
      8000,
      'events of every faulty device',
    )
    const first = (d: string) => rec.samplesOf(d)[0]
    expect(Object.values(first('dev-1')?.errors ?? {}).map((e) => e.code)).toEqual(Array(8).fill('timeout'))
    expect(first('dev-2')?.errors.level_m).toEqual({ code: 'exception', exception: 4 })
    expect(first('dev-3')?.errors.setpoint_m).toEqual({ code: 'exception', exception: 2 })
    expect(first('dev-5')?.errors.level_m).toEqual({ code: 'exception', exception: 0x0b })
    expect(first('dev-4')?.errors).toMatchObject({ level_m: { code: 'sentinel', raw: 65535 }, flow_lps: { code: 'nan' }, battery_pct: { code: 'sentinel' } })
    // Points with no sentinel (setpoint_m) and booleans keep their values; no sentinel or NaN became a number.
    expect(first('dev-4')?.values).toEqual({ open: false, setpoint_m: 2, heater_enable: true, pump_enable: false, lock: false })
    expect(rec.events.find((e) => e.device === 'dev-1' && e.event === 'unavailable')?.error).toEqual({ code: 'timeout' })
    expect(rec.events.find((e) => e.device === 'dev-2' && e.event === 'unavailable')?.error).toEqual({ code: 'exception', exception: 4 })
    expect(rec.eventsOf('dev-3')).toEqual(['available', 'profile_mismatch'])
    expect(rec.eventsOf('dev-4')).toEqual(['available'])
  }, 20_000)

  it('concurrency N: a dead device does not hold the other devices on a pipelining gateway', async () => {
    const { rec, tap } = await rig({ units: [1, 2, 3], concurrency: 3, faults: { 1: { kind: 'no-response' } }, device: { failuresToUnavailable: 100 } })
    await sleep(2000)
    // Without backoff (K = 100) the dead device always has a request waiting out its timeout, and the live
    // devices' requests go out and come back meanwhile instead of queueing behind it.
    expect(tap.maxInFlight).toBeGreaterThanOrEqual(2)
    const deadWaits = tap.of(1)
    const during = [2, 3].flatMap((u) => tap.of(u)).filter((e) => deadWaits.some((d) => e.startAt > d.startAt && e.endAt < d.endAt))
    expect(during.length).toBeGreaterThanOrEqual(5)
    expect(deadWaits.every((e) => e.outcome === 'timeout')).toBe(true)
    for (const d of ['dev-2', 'dev-3']) {
      expect(rec.samplesOf(d).length).toBeGreaterThanOrEqual(6)
      expect(rec.samplesOf(d).every((r) => Object.keys(r.errors).length === 0)).toBe(true)
    }
    // Never two requests to one device at once.
    for (const u of [1, 2, 3]) {
      const ex = tap.of(u).sort((a, b) => a.startAt - b.startAt)
      for (let i = 1; i < ex.length; i++) expect((ex[i]?.startAt ?? 0) >= (ex[i - 1]?.endAt ?? 0)).toBe(true)
    }
  }, 15_000)

  it('a write queued during polling lands between sweeps and is acknowledged', async () => {
    const { engine, tap, sim, rec } = await rig({ units: [1, 2, 3], device: { pollMs: { fast: 100, slow: 100 } } })
    await waitFor(() => rec.samples.length >= 6, 5000, 'polling under way')
    const results = await Promise.all([engine.write('dev-2', 'setpoint_m', 3.5), engine.write('dev-1', 'lock', true), engine.write('dev-3', 'pump_enable', true)])
    for (const r of results) expect(r.ok).toBe(true)
    expect(results[0]).toMatchObject({ ok: true, value: { readBack: { device: 'dev-2', values: { setpoint_m: 3.5 } } } })
    expect(sim(2).get('setpoint_m')).toEqual({ ok: true, value: 3.5 })
    expect(sim(1).get('lock')).toEqual({ ok: true, value: true })
    expect(sim(3).words('holding', 1, 1)).toEqual([0b101])
    // On one line (concurrency 1) nothing overlapped, and no write split a sweep: every sweep (the `all` plan:
    // coil 0, discrete 0, holding 0..1, input 0..3) went out as four back-to-back reads of one unit.
    expect(tap.maxInFlight).toBe(1)
    const log = tap.log
    const label = (e: (typeof log)[number]) => `${e.unit} ${e.op} ${e.table} ${e.start}`
    let sweeps = 0
    log.forEach((e, i) => {
      const prev = log[i - 1]
      const readBack = prev?.op === 'write' && prev.table === 'coil' && prev.unit === e.unit
      if (e.op !== 'read' || e.table !== 'coil' || readBack || i + 4 > log.length) return
      sweeps++
      expect(log.slice(i, i + 4).map(label)).toEqual(['coil 0', 'discrete 0', 'holding 0', 'input 0'].map((x) => `${e.unit} read ${x}`))
    })
    expect(sweeps).toBeGreaterThanOrEqual(6)
    expect(log.filter((e) => e.op === 'write').map((e) => e.outcome)).toEqual(['written', 'written', 'written'])
    // The sweeps after the writes read the new values.
    await waitFor(() => rec.samplesOf('dev-2').at(-1)?.values.setpoint_m === 3.5, 3000, 'a sweep with the new setpoint')
  }, 15_000)

  it('report by exception: unchanged values suppressed, changes passed, heartbeat sent', async () => {
    const { rec, sim } = await rig({ units: [1], device: { pollMs: { fast: 100, slow: 100 }, heartbeatS: 2 } })
    await waitFor(() => rec.samples.length >= 5, 5000, 'five sweeps')
    expect(rec.readings).toHaveLength(1) // only the first: nothing changed
    sim(1).set({ level_m: 1.25 })
    await waitFor(() => rec.readings.length >= 2, 3000, 'the change')
    expect(rec.readings[1]?.values).toEqual({ level_m: 1.25 })
    const t0 = rec.readings[0]?.ts ?? 0
    await waitFor(() => rec.readings.some((r) => r.ts - t0 >= 2000), 5000, 'the heartbeat')
    const beat = rec.readings.find((r) => r.ts - t0 >= 2000)
    expect(beat?.values).toEqual({ ...VALUES, level_m: 1.25 })
    expect(rec.samples.length).toBeGreaterThan(rec.readings.length * 4)
  }, 15_000)

  it('status per bus and device, and readNow', async () => {
    const { engine, rec } = await rig({ units: [1, 2], faults: { 2: { kind: 'no-response' } } })
    await waitFor(() => rec.eventsOf('dev-2').includes('unavailable'), 5000, 'dev-2 unavailable')
    const now = await engine.readNow('dev-1')
    expect(now).toMatchObject({ ok: true, value: { values: VALUES } })
    const st = engine.status()
    expect(st.buses[0]).toMatchObject({ id: 'conv-1', concurrency: 1 })
    expect(st.buses[0]?.failures.timeout).toBeGreaterThanOrEqual(2)
    expect(st.devices[0]).toMatchObject({ device: 'dev-1', availability: 'available', consecutiveFailures: 0, readsNow: 1 })
    expect(st.devices[1]).toMatchObject({ device: 'dev-2', availability: 'unavailable', lastError: { code: 'timeout' } })
    expect(st.devices[1]?.backoffUntil).toBeGreaterThan(Date.now() - 5000)
  }, 15_000)
})
