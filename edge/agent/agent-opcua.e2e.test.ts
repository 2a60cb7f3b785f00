/**
 * An OPC UA server in the gateway config, end to end: `muni edge run` (the real bin, a
 * child process) with an `opcua` bus whose device maps profile points to the nodes of a
 * node-opcua server started by the test (a pumping-station PLC), publishing to Aedes.
 * Its readings take the Modbus devices' way (outbox, uplink): a telemetry batch with the
 * node's value, a bad node status as a point error, a change on the PLC as a new reading.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { filters } from '../../shared/mqtt/index.ts'
import { collect, startAedes, type AedesBroker } from '../../simulators/test-support/broker.ts'
import { MuniProcesses, runMuni } from '../../simulators/test-support/muni-process.ts'
import { startPlcServer, type PlcServer } from '../opcua/test-support/plc-server.ts'
import { Cleanup, until } from '../uplink/test-support/harness.ts'
import { decoded, runAgent } from './test-support/e2e.ts'

const SITE = 'site-opcua'
const GATEWAY = 'gw-pumps'

const cleanup = new Cleanup()
const procs = new MuniProcesses()
let dir: string
let broker: AedesBroker
let plc: PlcServer
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'muni-edge-opcua-'))
  broker = await startAedes()
  plc = await startPlcServer(join(dir, 'plc-pki'))
}, 30_000)
afterEach(async () => {
  await procs.stopAll()
  await cleanup.run()
  await plc.shutdown()
  await broker.close()
  rmSync(dir, { recursive: true, force: true })
}, 30_000)

describe('muni edge run with an OPC UA bus', () => {
  it('reads the mapped nodes and publishes them as readings of the device; a bad node status is a point error', async () => {
    const sub = await collect(broker.url, filters.gateway(SITE, GATEWAY))
    cleanup.add(() => sub.close())
    const config = join(dir, 'gateway.yaml')
    writeFileSync(
      config,
      [
        `gateway: ${GATEWAY}`,
        `site: ${SITE}`,
        'broker:',
        `  url: ${broker.url}`,
        'buffer:',
        `  path: ${join(dir, 'buffer.sqlite')}`,
        'http:',
        '  port: 0',
        'buses:',
        '  - id: plc-1',
        '    type: opcua',
        `    endpoint: ${plc.endpoint}`,
        '    mode: subscribe',
        '    samplingMs: 100',
        'devices:',
        '  - id: ps-01',
        '    bus: plc-1',
        '    profile: presstek-ptx40@5.2',
        '    nodes:',
        '      temperature_c: ns=1;s=Pump1.Temperature',
        '      pressure_bar: ns=1;s=Pump1.Pressure',
        '',
      ].join('\n'),
    )
    const { proc } = await runAgent(procs, config)
    const readings = () => decoded(sub).batches.flatMap((b) => b.readings).filter((r) => r.device === 'ps-01')

    await until(() => `a reading of ps-01 with temperature_c (got ${JSON.stringify(readings())}; stderr ${proc.stderr()})`, () => readings().some((r) => r.values.temperature_c === 41.5), 20_000)
    const first = readings().find((r) => r.values.temperature_c === 41.5)!
    // Pump1.Pressure starts with BadSensorFailure: an error of that point, never a number.
    expect(first.errors.pressure_bar).toBeDefined()
    expect(first.values.pressure_bar).toBeUndefined()
    expect(decoded(sub).births.at(-1)?.devices).toEqual([{ device: 'ps-01', profile: 'presstek-ptx40@5.2', firmware: '5.2', kind: 'pipe-pressure', bus: 'plc-1' }])
    expect(proc.stderr()).toMatch(/opcua ps-01: opc\.tcp:\/\/127\.0\.0\.1:\d+, subscribe every 100 ms, 2 node\(s\), security None\/None/)
    expect(proc.stderr()).toMatch(/device ps-01: available/)

    // The PLC changes: the monitored item reports it, the reading flows to the broker.
    plc.set('Pump1.Temperature', 47.25)
    plc.set('Pump1.Pressure', 3.5)
    await until(
      () => `the change published (got ${JSON.stringify(readings().slice(-3))})`,
      () => readings().some((r) => r.values.temperature_c === 47.25 && r.values.pressure_bar === 3.5),
      10_000,
    )
    // A field engineer sees it with the Modbus devices.
    const status = await runMuni(['edge', 'status', '--config', config], 30_000)
    expect(status.code, status.stderr).toBe(0)
    expect(status.stdout).toMatch(/^ {2}plc-1 {2}opc\.tcp:\/\/127\.0\.0\.1:\d+ {2}0 request\(s\)$/m)
    expect(status.stdout).toMatch(/^ {2}ps-01 {2}plc-1 {2}available/m)
    // Through the outbox: seqs without gaps, nothing left behind.
    const seqs = decoded(sub).batches.map((b) => b.seq)
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i))
    const stopped = await proc.stop(8_000)
    expect(stopped.code).toBe(0)
  }, 60_000)
})
