/**
 * Broker down 60 s, then back (issue #4, "Tests"): `muni edge run` (the real bin) polls two
 * simulated Modbus TCP devices whose values change on every read, so every poll is a
 * reading; mosquitto is stopped for 60 s and started again on the same port with its
 * persisted state. The cloud is a subscriber with a persistent session on that broker.
 *
 * Judged by what the cloud received, by (gateway, seq): every seq from the first to the
 * last, none missing; a seq received twice carries the same batch; per device the readings
 * in seq order have increasing timestamps with no gap longer than a few poll intervals
 * across the outage (every poll made while the broker was away arrived); the readings
 * sampled during the outage arrive marked historical; the agent's backlog ends empty.
 *
 * The one long test of the edge: bounded at 120 s.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { decode, filters, type TelemetryBatch } from '../../shared/mqtt/index.ts'
import { BINARIES, requireBinary } from '../../shared/test-support/binaries.ts'
import { SimulatedDevice } from '../../simulators/device/device.ts'
import { ModbusTcpServer } from '../../simulators/modbus/tcp-server.ts'
import { freePort } from '../../simulators/test-support/broker.ts'
import { MuniProcesses } from '../../simulators/test-support/muni-process.ts'
import { Cleanup, until } from '../uplink/test-support/harness.ts'
import { getText, profile, runAgent, swinging } from './test-support/e2e.ts'
import { startPersistentMosquitto } from './test-support/mosquitto.ts'

const SITE = 'site-outage'
const GATEWAY = 'gw-outage'
const OUTAGE_MS = 60_000
const POLL_MS = 500
const DEVICES = [
  { id: 'wl-01', unit: 1, profile: 'hydrolux-rl80@2.3' },
  { id: 'pp-01', unit: 2, profile: 'presstek-ptx40@5.2' },
] as const

const cleanup = new Cleanup()
const procs = new MuniProcesses()
afterEach(async () => {
  await procs.stopAll()
  await cleanup.run()
})

describe('muni edge run across a broker outage', () => {
  it('mosquitto down 60 s, then back: every reading arrives, in order per device, none missing; a redelivered seq is the same batch', async (ctx) => {
    requireBinary(ctx, BINARIES.mosquitto)
    const dir = mkdtempSync(join(tmpdir(), 'muni-edge-outage-'))
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }))
    const brokerDir = join(dir, 'broker')
    mkdirSync(brokerDir)
    const port = await freePort()
    let broker = await startPersistentMosquitto(brokerDir, port)
    cleanup.add(() => broker.stop())

    const units = new Map(DEVICES.map((d) => [d.unit, new SimulatedDevice({ profile: profile(d.profile), source: swinging(profile(d.profile)) })]))
    const modbus = new ModbusTcpServer({ units })
    await modbus.start()
    cleanup.add(() => modbus.stop())

    // The cloud: a persistent session, so what is queued for it while it is away is kept.
    const batches: { seq: number; json: string; batch: TelemetryBatch }[] = []
    const cloud = mqtt.connect(broker.url, { clientId: 'muni-test-outage-cloud', clean: false, reconnectPeriod: 200, connectTimeout: 2_000 })
    cloud.on('error', () => {})
    cloud.on('message', (topic, payload) => {
      const r = decode(topic, payload)
      if (r.ok && r.kind === 'telemetry') batches.push({ seq: r.message.seq, json: JSON.stringify(r.message), batch: r.message })
    })
    cleanup.add(() => new Promise<void>((resolve) => cloud.end(true, () => resolve())))
    await new Promise<void>((resolve) => cloud.once('connect', () => resolve()))
    await cloud.subscribeAsync(filters.gateway(SITE, GATEWAY), { qos: 1 })

    const config = join(dir, 'gateway.yaml')
    writeFileSync(
      config,
      [
        `gateway: ${GATEWAY}`,
        `site: ${SITE}`,
        'broker:',
        `  url: ${broker.url}`,
        // Back within 5 s of the broker, not up to a minute later.
        '  reconnectMaxS: 5',
        'buffer:',
        `  path: ${join(dir, 'buffer.sqlite')}`,
        'http:',
        '  port: 0',
        'defaults:',
        '  timeoutMs: 300',
        'buses:',
        '  - id: conv-1',
        '    type: tcp',
        '    host: 127.0.0.1',
        `    port: ${modbus.port}`,
        'devices:',
        ...DEVICES.flatMap((d) => [`  - id: ${d.id}`, '    bus: conv-1', `    unit: ${d.unit}`, `    profile: ${d.profile}`, `    pollMs: ${POLL_MS}`]),
        '',
      ].join('\n'),
    )
    const { proc, health } = await runAgent(procs, config)
    type H = { uplink: { connected: boolean }; backlog: { readings: number; dropped: number } }
    const h = async (): Promise<H> => JSON.parse(await getText(`${health}/health`)) as H
    await until('live batches', () => batches.length >= 3, 10_000)

    // The outage.
    await broker.stop()
    const downAt = Date.now()
    await new Promise((r) => setTimeout(r, OUTAGE_MS))
    const upAt = Date.now()
    expect((await h()).backlog.readings).toBeGreaterThan((OUTAGE_MS / POLL_MS) * DEVICES.length * 0.8)
    broker = await startPersistentMosquitto(brokerDir, port)

    // Back: the backlog drains, the cloud gets everything.
    let last: H | undefined
    const deadline = Date.now() + 25_000
    for (;;) {
      last = await h()
      if (last.uplink.connected && last.backlog.readings === 0) break
      if (Date.now() > deadline) throw new Error(`backlog not drained: ${JSON.stringify(last)}; stderr ${proc.stderr().slice(-2000)}`)
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(last.backlog.dropped).toBe(0)
    const stopped = await proc.stop(8_000)
    expect(stopped.code).toBe(0)
    await until('the cloud caught up', () => batches.length > 0 && Math.max(...batches.map((b) => b.seq)) - batches[0]!.seq + 1 <= new Set(batches.map((b) => b.seq)).size, 10_000)

    // None missing: every seq from the first to the last; a seq seen twice is the same batch.
    const bySeq = new Map<number, string>()
    for (const b of batches) {
      expect(bySeq.get(b.seq) ?? b.json, `seq ${b.seq} redelivered with other content`).toBe(b.json)
      bySeq.set(b.seq, b.json)
    }
    const seqs = [...bySeq.keys()].sort((a, b) => a - b)
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i))
    const readings = seqs.flatMap((q) => (JSON.parse(bySeq.get(q)!) as TelemetryBatch).readings)
    ctx.annotate(`${seqs.length} batches, ${readings.length} readings, ${batches.length - seqs.length} redelivered`)

    for (const d of DEVICES) {
      const ts = readings.filter((r) => r.device === d.id).map((r) => r.ts)
      // In order per device: increasing sample times in seq order.
      for (let i = 1; i < ts.length; i++) expect(ts[i]!, `${d.id} reading ${i} out of order`).toBeGreaterThan(ts[i - 1]!)
      // None missing: polling went on through the outage and every poll arrived.
      const gaps = ts.slice(1).map((t, i) => t - ts[i]!)
      expect(Math.max(...gaps), `${d.id}: longest gap between readings`).toBeLessThan(POLL_MS * 6)
      expect(ts[0]!).toBeLessThan(downAt)
      expect(ts.at(-1)!).toBeGreaterThan(upAt)
    }
    // What was sampled while the broker was away went out marked historical.
    const during = readings.filter((r) => r.ts > downAt + 1_000 && r.ts < upAt - 1_000)
    expect(during.length).toBeGreaterThan((OUTAGE_MS / POLL_MS) * DEVICES.length * 0.8)
    expect(during.every((r) => r.historical)).toBe(true)
  }, 120_000)
})
