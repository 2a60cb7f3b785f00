/**
 * The OPC UA driver against a real node-opcua server started here on 127.0.0.1 and a
 * free port. The first server start generates certificates (~4 s); all PKI folders are
 * in a temp dir removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { decode, encode, topicFor, type Reading } from '../../shared/mqtt/index.ts'
import { OpcuaDriver, type OpcuaDeviceEvent } from './driver.ts'
import type { OpcuaDeviceSpec } from './spec.ts'
import { freePort, startPlcServer, type PlcServer } from './test-support/plc-server.ts'

const pki = mkdtempSync(join(tmpdir(), 'muni-opcua-test-'))
let plc: PlcServer | undefined
const drivers: OpcuaDriver[] = []
const servers: PlcServer[] = []
const emitted: Reading[] = []

beforeAll(async () => {
  plc = await startPlcServer(pki)
}, 20_000)

afterEach(async () => {
  await Promise.all(drivers.splice(0).map((d) => d.stop()))
  await Promise.all(servers.splice(0).map((s) => s.shutdown().catch(() => undefined)))
})

afterAll(async () => {
  await plc?.shutdown()
  rmSync(pki, { recursive: true, force: true })
}, 10_000)

function server(): PlcServer {
  if (plc === undefined) throw new Error('server not started')
  return plc
}

const ns = (name: string) => `ns=1;s=${name}`

function spec(endpoint: string, mode: OpcuaDeviceSpec['mode']): OpcuaDeviceSpec {
  return {
    id: 'ps-01',
    endpoint,
    mode,
    intervalMs: 100,
    points: [
      { name: 'speed_rpm', nodeId: ns('Pump1.Speed'), unit: 'rpm', range: { min: 0, max: 3000 } },
      { name: 'running', nodeId: ns('Pump1.Running') },
      { name: 'mode', nodeId: ns('Pump1.Mode') },
      { name: 'pressure_bar', nodeId: ns('Pump1.Pressure'), unit: 'bar' },
      { name: 'temperature_c', nodeId: ns('Pump1.Temperature'), unit: '°C', range: { min: 0, max: 80 } },
      { name: 'flow_m3h', nodeId: ns('Pump1.Flow') },
    ],
  }
}

function drive(device: OpcuaDeviceSpec) {
  const readings: Reading[] = []
  const events: OpcuaDeviceEvent[] = []
  const driver = new OpcuaDriver({
    device,
    pkiRoot: join(pki, 'client'),
    connectRetries: 1,
    retryDelayMs: { initial: 100, max: 500 },
    reconnectDelayMs: 500,
    onReading: (r) => {
      readings.push(r)
      emitted.push(r)
    },
    onEvent: (e) => events.push(e),
  })
  drivers.push(driver)
  /** Resolves with the first reading (from index `from`) that satisfies `pred`. */
  const reading = (pred: (r: Reading) => boolean, from = 0, timeoutMs = 8000) => until(() => readings.slice(from).find(pred), timeoutMs)
  const event = (type: OpcuaDeviceEvent['event'], from = 0, timeoutMs = 8000) => until(() => events.slice(from).find((e) => e.event === type), timeoutMs)
  return { driver, readings, events, reading, event }
}

async function until<T>(probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Every reading must survive the wire contract: encode (validates) and decode on the telemetry topic. */
function expectWireValid(readings: Reading[]): void {
  const topic = topicFor('telemetry', 'north', 'gw-01')
  for (const r of readings) {
    const payload = encode('telemetry', { gateway: 'gw-01', seq: 1, sentAt: Date.now(), readings: [r] }, { site: 'north', gateway: 'gw-01' })
    const back = decode(topic, payload)
    expect(back.ok, JSON.stringify(back)).toBe(true)
    for (const name of Object.keys(r.values)) expect(r.errors[name], `${name} in values and errors`).toBeUndefined()
  }
}

describe('OpcuaDriver (real node-opcua server)', () => {
  it('subscribe: delivers the latest values, then a reading with a value the server changed', async () => {
    const s = server()
    s.set('Pump1.Speed', 1450.5)
    s.set('Pump1.Temperature', 41.5)
    const d = drive(spec(s.endpoint, 'subscribe'))
    await d.driver.start()
    await d.event('available')
    const first = await d.reading((r) => r.values.speed_rpm === 1450.5 && r.values.mode === 'auto' && r.values.running === true && 'temperature_c' in r.values)
    expect(first.historical).toBe(false)

    const from = d.readings.length
    const before = Date.now()
    s.set('Pump1.Speed', 1200.25)
    const changed = await d.reading((r) => r.values.speed_rpm === 1200.25, from)
    // ts is the server's sourceTimestamp of the change, set by the write above.
    expect(changed.ts).toBeGreaterThanOrEqual(before - 5)
    expect(changed.ts).toBeLessThanOrEqual(Date.now())
    expect(changed.values).toMatchObject({ running: true, mode: 'auto', temperature_c: 41.5 })
    expect(changed.errors.flow_m3h).toMatchObject({ code: 'decode', detail: expect.stringContaining('BadNodeIdUnknown') })
    expect(changed.errors.pressure_bar).toMatchObject({ code: 'decode', detail: expect.stringContaining('BadSensorFailure') })
    expect(changed.values.flow_m3h).toBeUndefined()
    expect(changed.values.pressure_bar).toBeUndefined()
    expectWireValid(d.readings)
  }, 20_000)

  it('subscribe: an out-of-range value gives out_of_range, not a number', async () => {
    const s = server()
    const d = drive(spec(s.endpoint, 'subscribe'))
    await d.driver.start()
    await d.reading((r) => 'temperature_c' in r.values)
    const from = d.readings.length
    s.set('Pump1.Temperature', 95)
    const r = await d.reading((x) => x.errors.temperature_c !== undefined, from)
    expect(r.errors.temperature_c).toEqual({ code: 'out_of_range', raw: 95, detail: 'value 95 is above max 80' })
    expect(r.values.temperature_c).toBeUndefined()
    s.set('Pump1.Temperature', 41.5)
    expectWireValid(d.readings)
  }, 20_000)

  it('poll: reads every point each interval, one reading per read, with per-point errors', async () => {
    const s = server()
    s.set('Pump1.Speed', 980)
    s.set('Pump1.Temperature', 120)
    const d = drive(spec(s.endpoint, 'poll'))
    await d.driver.start()
    const r = await d.reading(() => true)
    expect(Object.keys({ ...r.values, ...r.errors }).sort()).toEqual(['flow_m3h', 'mode', 'pressure_bar', 'running', 'speed_rpm', 'temperature_c'])
    expect(r.values).toEqual({ speed_rpm: 980, running: true, mode: 'auto' })
    expect(r.errors.flow_m3h).toMatchObject({ code: 'decode', detail: expect.stringContaining('BadNodeIdUnknown') })
    expect(r.errors.pressure_bar).toMatchObject({ code: 'decode', detail: expect.stringContaining('BadSensorFailure') })
    expect(r.errors.temperature_c).toMatchObject({ code: 'out_of_range', raw: 120 })

    const from = d.readings.length
    s.set('Pump1.Speed', 1010.5)
    s.set('Pump1.Temperature', 41.5)
    const next = await d.reading((x) => x.values.speed_rpm === 1010.5 && x.values.temperature_c === 41.5, from)
    expect(Object.keys(next.values).length + Object.keys(next.errors).length).toBe(6)
    expect(d.events).toEqual([expect.objectContaining({ device: 'ps-01', event: 'available' })])
    expectWireValid(d.readings)
  }, 20_000)

  it('server shutdown → unavailable and transport errors on every point; server back → available', async () => {
    const own = await startPlcServer(join(pki, 'own'))
    servers.push(own)
    const d = drive(spec(own.endpoint, 'subscribe'))
    await d.driver.start()
    await d.reading((r) => r.values.speed_rpm === 1450.5)

    const from = d.readings.length
    await own.shutdown()
    servers.splice(servers.indexOf(own), 1)
    const down = await d.event('unavailable')
    expect(down).toMatchObject({ device: 'ps-01', reason: expect.any(String) })
    const dead = await d.reading((r) => Object.keys(r.errors).length === 6, from)
    expect(dead.values).toEqual({})
    for (const e of Object.values(dead.errors)) expect(e.code).toBe('transport')

    const back = await startPlcServer(join(pki, 'own'), own.port)
    servers.push(back)
    const after = d.readings.length
    await d.event('available', 1, 15_000)
    back.set('Pump1.Speed', 777)
    await d.reading((r) => r.values.speed_rpm === 777, after, 10_000)
    expectWireValid(d.readings)
  }, 30_000)

  it('no server: start() resolves, unavailable with transport errors, and it keeps retrying', async () => {
    const port = await freePort()
    const d = drive({ ...spec(`opc.tcp://127.0.0.1:${port}`, 'poll') })
    await d.driver.start()
    expect(d.driver.available).toBe(false)
    expect(d.events).toEqual([expect.objectContaining({ event: 'unavailable' })])
    const r = await d.reading(() => true)
    expect(Object.values(r.errors).map((e) => e.code)).toEqual(Array(6).fill('transport'))
    expectWireValid(d.readings)
  }, 20_000)

  it('rejects a bad spec at start()', async () => {
    const d = drive({ ...spec(server().endpoint, 'poll'), id: 'bad id', points: [{ name: 'Speed', nodeId: ns('Pump1.Speed') }] })
    await expect(d.driver.start()).rejects.toThrow(/id: .*; points\[0\]\.name/)
  })

  it('every reading emitted in this file passed the wire contract', () => {
    expect(emitted.length).toBeGreaterThan(5)
    expectWireValid(emitted)
  })
})
