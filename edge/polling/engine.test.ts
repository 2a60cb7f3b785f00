/**
 * The engine against simulated devices through an in-memory transport
 * (test-support/sim-transport.ts), on fake timers: schedules, backoff, faults,
 * writes and report-by-exception, counted exactly and fast. engine.tcp.test.ts
 * and engine.rtu.test.ts run the same guarantees over the real drivers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Value } from '../../shared/codec/index.ts'
import type { DeviceEvent, Reading } from '../../shared/mqtt/messages.ts'
import { validateMessage } from '../../shared/mqtt/validate.ts'
import { resolveProfile } from '../../shared/profile/resolve.ts'
import type { Profile } from '../../shared/profile/schema.ts'
import { SimulatedDevice } from '../../simulators/device/device.ts'
import type { Fault } from '../../simulators/device/faults.ts'
import { PollingEngine, type EngineDevice } from './engine.ts'
import { PUMP_STATION, pumpStation } from './test-support/profiles.ts'
import { SimTransport } from './test-support/sim-transport.ts'

const VALUES: Record<string, Value> = { open: false, level_m: 1.2, flow_lps: 3.5, battery_pct: 90, setpoint_m: 2, heater_enable: true, pump_enable: false, lock: false }

interface Setup {
  units: number[]
  concurrency?: number
  faults?: Record<number, Fault>
  quirks?: Profile['quirks']
  device?: Partial<EngineDevice>
  profile?: ReturnType<typeof pumpStation>
}

function setup(s: Setup) {
  const profile = s.profile ?? pumpStation(s.quirks)
  const sims = new Map(s.units.map((u) => [u, new SimulatedDevice({ profile, values: VALUES, ...(s.faults?.[u] && { fault: s.faults[u] }) })]))
  const transport = new SimTransport(sims, 5)
  const readings: Reading[] = []
  const samples: Reading[] = []
  const events: DeviceEvent[] = []
  const engine = new PollingEngine(
    {
      buses: [{ id: 'rs485-1', transport, concurrency: s.concurrency ?? 1 }],
      devices: s.units.map((u) => ({
        id: `dev-${u}`,
        bus: 'rs485-1',
        unit: u,
        profile,
        pollMs: { fast: 1000, slow: 5000 },
        timeoutMs: 300,
        backoff: { initialMs: 2000, maxMs: 8000 },
        failuresToUnavailable: 3,
        ...s.device,
      })),
    },
    { onReading: (r) => readings.push(r), onSample: (r) => samples.push(r), onEvent: (e) => events.push(e) },
  )
  engines.push(engine)
  const sim = (u: number): SimulatedDevice => {
    const d = sims.get(u)
    if (!d) throw new Error(`no unit ${u}`)
    return d
  }
  return { engine, transport, sim, readings, samples, events }
}

const engines: PollingEngine[] = []
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] })
})
afterEach(async () => {
  const stopping = Promise.all(engines.splice(0).map((e) => e.stop()))
  await vi.runAllTimersAsync()
  await stopping
  vi.useRealTimers()
})
const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms)
/** Stops an engine on fake time: its running jobs need the clock to move to finish. */
async function stop(engine: PollingEngine): Promise<void> {
  const stopping = engine.stop()
  await advance(1000)
  await stopping
}

describe('schedule', () => {
  it('constructing opens nothing and starts no timer', () => {
    const { transport } = setup({ units: [1] })
    expect(transport.started).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('sweeps fast points every fast interval and all points on slow ticks', async () => {
    const { engine, samples } = setup({ units: [1] })
    await engine.start()
    await advance(10_500)
    // t = 0 … 10 000: 11 sweeps; slow points at 0, 5000, 10000 (read with the `all` plan).
    expect(samples).toHaveLength(11)
    const withSlow = samples.filter((r) => 'battery_pct' in r.values).map((r) => Math.round((r.ts - (samples[0]?.ts ?? 0)) / 1000))
    expect(withSlow).toEqual([0, 5, 10])
    expect(samples[0]?.values).toEqual(VALUES)
    expect(Object.keys(samples[1]?.values ?? {}).sort()).toEqual(['flow_lps', 'level_m', 'open'])
  })

  it("staggers the devices of a bus over the interval, in the description's order", async () => {
    const { engine, transport } = setup({ units: [1, 2, 3, 4], concurrency: 4 })
    const t0 = performance.now()
    await engine.start()
    await advance(900)
    const first = [1, 2, 3, 4].map((u) => Math.round((transport.of(u)[0]?.startAt ?? NaN) - t0))
    expect(first).toEqual([0, 250, 500, 750])
  })

  it('stamps a reading with the time its first data answer arrived', async () => {
    const { engine, samples, transport } = setup({ units: [1] })
    await engine.start()
    await advance(100)
    const firstAnswer = transport.of(1).find((e) => e.outcome === 'data')
    expect(samples[0]?.ts).toBe(Math.round(firstAnswer?.endAt ?? NaN) + (Date.now() - Math.round(performance.now())))
  })

  it('setPollInterval changes the rate; out-of-range intervals are refused', async () => {
    const { engine, samples } = setup({ units: [1] })
    await engine.start()
    await advance(10)
    expect(engine.setPollInterval('dev-1', { fast: 250 })).toEqual({ ok: true, value: undefined })
    const before = samples.length
    await advance(2000)
    expect(samples.length - before).toBeGreaterThanOrEqual(8)
    expect(engine.setPollInterval('dev-1', 50)).toMatchObject({ ok: false, error: { code: 'out_of_range' } })
    expect(engine.setPollInterval('nope', 1000)).toMatchObject({ ok: false, error: { code: 'unknown_device' } })
  })

  it("keeps the device's pause between requests: firmware with that quirk drops nothing", async () => {
    const { engine, sim, samples } = setup({ units: [1, 2], quirks: { pauseBetweenRequestsMs: 50 } })
    await engine.start()
    await advance(6000)
    expect(sim(1).stats.silent).toBe(0)
    expect(sim(2).stats.silent).toBe(0)
    expect(samples.every((r) => Object.keys(r.errors).length === 0)).toBe(true)
  })

  it('a slow bus skips slots instead of queueing polls', async () => {
    // 4 devices, 2 reads each taking 300 ms of timeout: 2.4 s of line time per 1 s interval.
    const { engine, transport } = setup({ units: [1, 2, 3, 4], faults: { 1: { kind: 'no-response' }, 2: { kind: 'no-response' }, 3: { kind: 'no-response' }, 4: { kind: 'no-response' } }, device: { failuresToUnavailable: 10 } })
    await engine.start()
    await advance(5000)
    const st = engine.status()
    expect(st.buses[0]?.queued.poll).toBeLessThanOrEqual(4)
    expect(st.devices.reduce((n, d) => n + d.skippedSlots, 0)).toBeGreaterThan(0)
    expect(transport.maxInFlight).toBe(1)
  })
})

describe('a dead device on a shared line (concurrency 1)', () => {
  it('costs at most one timeout per backoff period; the other devices keep their rate', async () => {
    const window = 60_000
    // Baseline: three healthy devices.
    const base = setup({ units: [1, 2, 3] })
    await base.engine.start()
    await advance(window)
    const baseSweeps = [2, 3].map((u) => base.samples.filter((r) => r.device === `dev-${u}`).length)
    await stop(base.engine)

    const { engine, transport, samples, events, sim } = setup({ units: [1, 2, 3], faults: { 1: { kind: 'no-response' } } })
    await engine.start()
    await advance(window)
    const dead = transport.of(1)
    const timeouts = dead.filter((e) => e.outcome === 'timeout')
    // Every request to the dead device timed out; 3 failed sweeps of ONE request each (the rest of a sweep is not sent),
    // then one probe per backoff period (2 s, 4 s, 8 s, 8 s …).
    expect(dead.every((e) => e.outcome === 'timeout')).toBe(true)
    const unavailableAt = events.find((e) => e.device === 'dev-1' && e.event === 'unavailable')?.ts ?? NaN
    const afterUnavailable = timeouts.filter((e) => e.startAt + (Date.now() - performance.now()) > unavailableAt)
    const span = window - (unavailableAt - (samples[0]?.ts ?? 0))
    expect(afterUnavailable.length).toBeLessThanOrEqual(Math.floor(span / 2000) + 1)
    expect(timeouts.length).toBeLessThanOrEqual(3 + Math.floor(window / 2000) + 1)
    // With doubling up to 8 s: 2+4+8·n ≤ 60 → at most 9 probes, far fewer than 60 polls.
    expect(afterUnavailable.length).toBeLessThanOrEqual(9)
    expect(sim(1).stats.requests).toBe(dead.length)
    // The live devices: as many sweeps as without the dead one (±1), all clean.
    const sweeps = [2, 3].map((u) => samples.filter((r) => r.device === `dev-${u}`).length)
    sweeps.forEach((n, i) => expect(Math.abs(n - (baseSweeps[i] ?? 0))).toBeLessThanOrEqual(1))
    expect(samples.filter((r) => r.device !== 'dev-1').every((r) => Object.keys(r.errors).length === 0)).toBe(true)
    // …and none of their sweeps started later than one timeout (+ the other live sweep) after its slot.
    const st = engine.status()
    expect(st.devices.filter((d) => d.device !== 'dev-1').every((d) => d.skippedSlots === 0)).toBe(true)
    expect(st.devices.find((d) => d.device === 'dev-1')).toMatchObject({ availability: 'unavailable', errors: { timeout: timeouts.length } })
  })

  it('comes back: one answered probe → available, then a full sweep on schedule', async () => {
    const { engine, sim, events, readings } = setup({ units: [1, 2], faults: { 1: { kind: 'no-response' } } })
    await engine.start()
    await advance(20_000)
    expect(events.filter((e) => e.device === 'dev-1').map((e) => e.event)).toEqual(['unavailable'])
    sim(1).setFault({ kind: 'none' })
    const requestsBefore = sim(1).stats.requests
    await advance(9000) // ≥ the longest backoff (8 s + 10 % jitter)
    expect(events.filter((e) => e.device === 'dev-1').map((e) => e.event)).toEqual(['unavailable', 'available'])
    const after = readings.filter((r) => r.device === 'dev-1' && r.ts > (events.at(-1)?.ts ?? Infinity) - 1)
    expect(after[0]?.values).toEqual(VALUES) // the error clears: every value reported again
    expect(sim(1).stats.requests - requestsBefore).toBeGreaterThan(4)
    expect(engine.status().devices[0]).toMatchObject({ availability: 'available', consecutiveFailures: 0 })
  })
})

describe('faults become per-point errors and events', () => {
  it('timeout: every point errs, then unavailable with the error', async () => {
    const { engine, readings, events } = setup({ units: [1], faults: { 1: { kind: 'no-response' } } })
    await engine.start()
    await advance(3500)
    expect(readings[0]?.values).toEqual({})
    expect(Object.values(readings[0]?.errors ?? {}).map((e) => e.code)).toEqual(Array(8).fill('timeout'))
    expect(events).toMatchObject([{ device: 'dev-1', event: 'unavailable', error: { code: 'timeout' } }])
  })

  it('exception 04 on every read: exception errors with the code; unavailable after K sweeps', async () => {
    const { engine, samples, events } = setup({ units: [1], faults: { 1: { kind: 'exception', code: 4 } } })
    await engine.start()
    await advance(2500)
    expect(samples[0]?.errors.level_m).toEqual({ code: 'exception', exception: 4 })
    expect(events.map((e) => e.event)).toEqual(['unavailable'])
    expect(events[0]?.error).toEqual({ code: 'exception', exception: 4 })
  })

  it('exception 02 on every read of a device that answered before: profile_mismatch', async () => {
    const { engine, sim, events, samples } = setup({ units: [1] })
    await engine.start()
    await advance(1500)
    sim(1).setFault({ kind: 'exception', code: 2 })
    await advance(3000)
    expect(events.map((e) => e.event)).toEqual(['available', 'profile_mismatch'])
    expect(events[1]?.reason).toMatch(/exception 0x02 .* other firmware/)
    expect(samples.at(-1)?.errors.level_m).toEqual({ code: 'exception', exception: 2 })
    expect(engine.status().devices[0]).toMatchObject({ availability: 'available', profileMismatch: true })
    sim(1).setFault({ kind: 'none' })
    await advance(1000)
    expect(events.map((e) => e.event)).toEqual(['available', 'profile_mismatch', 'available'])
  })

  it('CRC errors: crc per point', async () => {
    const { engine, samples } = setup({ units: [1], faults: { 1: { kind: 'bad-crc' } } })
    await engine.start()
    await advance(100)
    expect(new Set(Object.values(samples[0]?.errors ?? {}).map((e) => e.code))).toEqual(new Set(['crc']))
  })

  it('sentinel and NaN: errors, never numbers', async () => {
    const { engine, samples } = setup({ units: [1], faults: { 1: { kind: 'sentinel' } } })
    await engine.start()
    await advance(100)
    expect(samples[0]?.errors).toMatchObject({ level_m: { code: 'sentinel', raw: 65535 }, battery_pct: { code: 'sentinel' }, flow_lps: { code: 'nan' } })
    expect(samples[0]?.values.level_m).toBeUndefined()
    expect(samples[0]?.values.flow_lps).toBeUndefined()
  })

  it('stuck: registers unchanged past stuck.afterS give error stuck, sent once; the first change clears it', async () => {
    const profile = resolveProfile({ ...PUMP_STATION, points: PUMP_STATION.points.map((p) => (p.name === 'level_m' ? { ...p, stuck: { afterS: 5 } } : p)) })
    const { engine, sim, samples, readings } = setup({ units: [1], profile })
    await engine.start()
    await advance(8000)
    const level = (r: Reading): string => (r.errors.level_m ? `e:${r.errors.level_m.code}` : `v:${r.values.level_m}`)
    const t0 = samples[0]?.ts ?? 0
    // Sweeps at 0..5 s since the first sample carry the value; from 6 s on, the error.
    expect(samples.map((r) => [r.ts - t0, level(r)])).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((s) => [s * 1000, s <= 5 ? 'v:1.2' : 'e:stuck']))
    expect(samples.at(-1)?.errors.level_m).toMatchObject({ code: 'stuck', raw: '04B0' })
    expect(samples.at(-1)?.values.flow_lps).toBe(3.5) // no stuck in its profile: never stuck
    sim(1).set({ level_m: 1.201 })
    await advance(1000)
    expect(level(samples.at(-1) as Reading)).toBe('v:1.201')
    // After report-by-exception: the value, the stuck error once, the changed value.
    expect(readings.filter((r) => 'level_m' in r.values || 'level_m' in r.errors).map(level)).toEqual(['v:1.2', 'e:stuck', 'v:1.201'])
  })
})

describe('a device that refuses reads across unmapped filler', () => {
  // Two points with 4 unmapped registers between them: the planner reads 0..5 in one
  // request (maxGap 10); a strict device answers 02, as most firmware does.
  const GAPPED = resolveProfile({
    id: 'testco-gap@1.0',
    kind: 'water-level',
    vendor: 'TestCo',
    model: 'GAP',
    firmware: '1.0',
    protocol: 'modbus',
    heartbeatS: 60,
    points: [
      { name: 'level_m', table: 'holding', address: 0, type: 'uint16', scale: 0.01 },
      { name: 'status', table: 'holding', address: 5, type: 'uint16' },
    ],
  })

  it('reads the same points again without filler in the same sweep, and plans without filler from then on', async () => {
    const sim = new SimulatedDevice({ profile: GAPPED, values: { level_m: 1.25, status: 3 } })
    const transport = new SimTransport(new Map([[1, sim]]), 5)
    const samples: Reading[] = []
    const events: DeviceEvent[] = []
    const engine = new PollingEngine(
      {
        buses: [{ id: 'rs485-1', transport, concurrency: 1 }],
        devices: [{ id: 'dev-1', bus: 'rs485-1', unit: 1, profile: GAPPED, pollMs: { fast: 1000, slow: 1000 }, timeoutMs: 300, backoff: { initialMs: 2000, maxMs: 8000 } }],
      },
      { onReading: () => undefined, onSample: (r) => samples.push(r), onEvent: (e) => events.push(e) },
    )
    engines.push(engine)
    await engine.start()
    await advance(2500)
    const reads = transport.of(1).map((e) => `${e.start}+${e.count} ${e.outcome}`)
    expect(reads.slice(0, 3)).toEqual(['0+6 exception', '0+1 data', '5+1 data'])
    expect(reads.slice(3)).toEqual(['0+1 data', '5+1 data', '0+1 data', '5+1 data'])
    expect(samples[0]).toMatchObject({ values: { level_m: 1.25, status: 3 }, errors: {} })
    expect(events.map((e) => e.event)).toEqual(['available'])
    expect(engine.status().devices[0]).toMatchObject({ gapFree: true, profileMismatch: false, errors: { exception: 1 } })
  })

  it('a device that serves the filler keeps the merged read', async () => {
    const sim = new SimulatedDevice({ profile: GAPPED, values: { level_m: 1.25, status: 3 }, unmapped: 'zeros' })
    const transport = new SimTransport(new Map([[1, sim]]), 5)
    const engine = new PollingEngine(
      { buses: [{ id: 'rs485-1', transport, concurrency: 1 }], devices: [{ id: 'dev-1', bus: 'rs485-1', unit: 1, profile: GAPPED, pollMs: { fast: 1000, slow: 1000 }, timeoutMs: 300, backoff: { initialMs: 2000, maxMs: 8000 } }] },
      { onReading: () => undefined, onSample: () => undefined, onEvent: () => undefined },
    )
    engines.push(engine)
    await engine.start()
    await advance(1500)
    expect(transport.of(1).map((e) => `${e.start}+${e.count} ${e.outcome}`)).toEqual(['0+6 data', '0+6 data'])
    expect(engine.status().devices[0]?.gapFree).toBe(false)
  })
})

describe('commands', () => {
  it('a write queued during polling lands between sweeps, is acknowledged and read back', async () => {
    const { engine, transport, sim } = setup({ units: [1, 2, 3] })
    await engine.start()
    await advance(100)
    // Device 1's sweep is on the line right now (4 reads of 5 ms); queue the write behind it.
    const pending = engine.write('dev-1', 'setpoint_m', 3.25)
    await advance(1000)
    const r = await pending
    expect(r).toMatchObject({ ok: true, value: { readBack: { device: 'dev-1', values: { setpoint_m: 3.25 }, errors: {} } } })
    expect(sim(1).get('setpoint_m')).toEqual({ ok: true, value: 3.25 })
    const log = transport.log
    const w = log.findIndex((e) => e.op === 'write')
    expect(w).toBeGreaterThan(0)
    // Nothing overlapped on the line, and the write did not split a sweep: the exchange before it ended device 1's 'all' sweep (input 0..3 is its last read).
    expect(transport.maxInFlight).toBe(1)
    expect(log[w - 1]).toMatchObject({ unit: 1, table: 'input', start: 0, count: 4 })
    expect(log[w + 1]).toMatchObject({ unit: 1, op: 'read', table: 'holding', start: 0, count: 1 }) // the read-back
  })

  it('a bit point is written read-modify-write, keeping the other bits', async () => {
    const { engine, sim } = setup({ units: [1] })
    await engine.start()
    const pending = engine.write('dev-1', 'pump_enable', true)
    await advance(500)
    expect(await pending).toMatchObject({ ok: true, value: { readBack: { values: { pump_enable: true } } } })
    expect(sim(1).words('holding', 1, 1)).toEqual([0b101]) // heater bit 0 kept, pump bit 2 set
  })

  it('refusals: unknown device or point, read-only, bad value; the device says no; it does not answer', async () => {
    const { engine, sim } = setup({ units: [1] })
    await engine.start()
    expect(await engine.write('nope', 'setpoint_m', 1)).toMatchObject({ ok: false, error: { code: 'unknown_device' } })
    expect(await engine.write('dev-1', 'nope', 1)).toMatchObject({ ok: false, error: { code: 'unknown_point' } })
    expect(await engine.write('dev-1', 'level_m', 1)).toMatchObject({ ok: false, error: { code: 'not_writable' } })
    expect(await engine.write('dev-1', 'setpoint_m', 9)).toMatchObject({ ok: false, error: { code: 'out_of_range' } })
    sim(1).setFault({ kind: 'exception', code: 4 })
    const refused = engine.write('dev-1', 'setpoint_m', 1)
    await advance(500)
    expect(await refused).toMatchObject({ ok: false, error: { code: 'device_error', cause: { code: 'exception', exception: 4 } } })
    sim(1).setFault({ kind: 'no-response' })
    const silent = engine.write('dev-1', 'setpoint_m', 1)
    await advance(2000)
    expect(await silent).toMatchObject({ ok: false, error: { code: 'timeout' } })
  })

  it('readNow sweeps every point ahead of waiting polls', async () => {
    const { engine } = setup({ units: [1, 2] })
    await engine.start()
    await advance(1200)
    const pending = engine.readNow('dev-2')
    await advance(200)
    expect(await pending).toMatchObject({ ok: true, value: { device: 'dev-2', values: VALUES, errors: {} } })
    expect(await engine.readNow('nope')).toMatchObject({ ok: false, error: { code: 'unknown_device' } })
    expect(engine.status().devices[1]?.readsNow).toBe(1)
  })

  it('commands after stop are refused as busy', async () => {
    const { engine } = setup({ units: [1] })
    await engine.start()
    await stop(engine)
    expect(await engine.write('dev-1', 'setpoint_m', 1)).toMatchObject({ ok: false, error: { code: 'busy' } })
  })
})

describe('report by exception on the way out', () => {
  it('suppresses unchanged values, passes changes beyond the deadband, sends the heartbeat', async () => {
    const { engine, sim, readings, samples } = setup({ units: [1], device: { heartbeatS: 10 } })
    await engine.start()
    await advance(100)
    expect(readings).toHaveLength(1)
    await advance(3000)
    expect(samples).toHaveLength(4)
    expect(readings).toHaveLength(1) // nothing changed
    sim(1).set({ level_m: 1.203 }) // within the 0.005 deadband
    await advance(1000)
    expect(readings).toHaveLength(1)
    sim(1).set({ level_m: 1.21, open: true })
    await advance(1000)
    expect(readings.at(-1)?.values).toEqual({ level_m: 1.21, open: true })
    await advance(5000) // t ≈ 10.1 s: heartbeat
    expect(readings.at(-1)?.values).toEqual({ ...VALUES, level_m: 1.21, open: true })
    expect(readings.length).toBe(3)
  })
})

describe('the wire contract', () => {
  it('every reading, event and command answer is a valid v1 message', async () => {
    const { engine, readings, samples, events, sim } = setup({
      units: [1, 2, 3, 4, 5],
      faults: { 1: { kind: 'no-response' }, 2: { kind: 'exception', code: 2 }, 3: { kind: 'sentinel' }, 4: { kind: 'bad-crc' } },
    })
    await engine.start()
    await advance(6000)
    sim(1).setFault({ kind: 'none' })
    const write = engine.write('dev-5', 'setpoint_m', 1.5)
    const read = engine.readNow('dev-3')
    await advance(10_000)
    const answers = [await write, await read].map((r, i) => (r.ok ? { id: `c${i}`, ts: Date.now(), ok: true, result: 'readBack' in r.value ? r.value.readBack : r.value } : { id: `c${i}`, ts: Date.now(), ok: false, error: r.error }))
    expect(new Set(events.map((e) => e.event))).toEqual(new Set(['available', 'unavailable', 'profile_mismatch']))
    for (const r of [...readings, ...samples]) expect(validateMessage('telemetry', { gateway: 'gw-1', seq: 1, sentAt: r.ts, readings: [r] }), JSON.stringify(r)).toEqual([])
    for (const e of events) expect(validateMessage('events', e), JSON.stringify(e)).toEqual([])
    for (const a of answers) expect(validateMessage('command/response', a), JSON.stringify(a)).toEqual([])
    const refused = await engine.write('dev-5', 'level_m', 1)
    expect(validateMessage('command/response', { id: 'c9', ts: Date.now(), ok: false, ...(!refused.ok && { error: refused.error }) })).toEqual([])
  })
})

describe('status and validation', () => {
  it('reports per bus and per device', async () => {
    const { engine } = setup({ units: [1, 2], faults: { 2: { kind: 'no-response' } } })
    await engine.start()
    await advance(5500)
    const st = engine.status()
    expect(st.buses).toMatchObject([{ id: 'rs485-1', concurrency: 1, running: expect.any(Number) }])
    expect(st.devices[0]).toMatchObject({ device: 'dev-1', bus: 'rs485-1', availability: 'available', consecutiveFailures: 0, polls: 6, errors: { timeout: 0 } })
    expect(st.devices[0]?.lastSuccessAt).toBeGreaterThan(0)
    expect(st.devices[1]).toMatchObject({ device: 'dev-2', availability: 'unavailable', consecutiveFailures: expect.any(Number), backoffUntil: expect.any(Number), lastError: { code: 'timeout' } })
    expect(st.devices[1]?.errors.timeout).toBeGreaterThanOrEqual(3)
  })

  it('refuses a bad description, naming the problem', () => {
    const profile = pumpStation()
    const t = new SimTransport(new Map())
    const dev = { id: 'a', bus: 'b', unit: 1, profile, pollMs: { fast: 1000, slow: 5000 }, timeoutMs: 100, backoff: { initialMs: 100, maxMs: 1000 } }
    const bus = { id: 'b', transport: t, concurrency: 1 }
    expect(() => new PollingEngine({ buses: [bus, bus], devices: [] })).toThrow(/bus b is listed twice/)
    expect(() => new PollingEngine({ buses: [bus], devices: [dev, dev] })).toThrow(/device a is listed twice/)
    expect(() => new PollingEngine({ buses: [bus], devices: [{ ...dev, bus: 'x' }] })).toThrow(/no bus x/)
    expect(() => new PollingEngine({ buses: [bus], devices: [{ ...dev, pollMs: { fast: 10, slow: 100 } }] })).toThrow(/pollMs.fast/)
    expect(() => new PollingEngine({ buses: [bus], devices: [{ ...dev, deadbands: { nope: 1 } }] })).toThrow(/device a: .*"nope"/)
    expect(() => new PollingEngine({ buses: [bus], devices: [{ ...dev, backoff: { initialMs: 100, maxMs: 10 } }] })).toThrow(/maxMs/)
    expect(() => new PollingEngine({ buses: [bus], devices: [dev, { ...dev, id: 'c' }] })).toThrow(/unit 1/)
  })

  it('a callback that throws does not stop polling', async () => {
    const profile = pumpStation()
    const transport = new SimTransport(new Map([[1, new SimulatedDevice({ profile, values: VALUES })]]))
    let calls = 0
    const engine = new PollingEngine(
      { buses: [{ id: 'b', transport, concurrency: 1 }], devices: [{ id: 'a', bus: 'b', unit: 1, profile, pollMs: { fast: 1000, slow: 5000 }, timeoutMs: 100, backoff: { initialMs: 100, maxMs: 1000 } }] },
      {
        onSample: () => {
          calls++
          throw new Error('consumer bug')
        },
      },
    )
    engines.push(engine)
    await engine.start()
    await advance(3500)
    expect(calls).toBe(4)
    expect(engine.status().callbackErrors).toBe(4)
  })
})
