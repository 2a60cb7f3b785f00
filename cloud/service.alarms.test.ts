/**
 * Alarms wired into the running cloud, through real MQTT into the embedded Aedes broker:
 * the rules come from the shipped profiles' hints (hydrolux-rl80@2.3: level_m hi 2.5 m,
 * hihi 3.5 m), readings are evaluated once they are durable, transitions reach the live
 * feed only after they are logged, a restart rebuilds without duplicates, a gateway's Last
 * Will raises one parent alarm, and the rules file reloads with file:line errors.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { encode, topics, type TelemetryBatch } from '../shared/mqtt/index.ts'
import { BINARIES, requireBinary } from '../shared/test-support/binaries.ts'
import { startMosquitto } from '../simulators/test-support/broker.ts'
import type { LiveEvent } from './alarms/feed.ts'
import { startReceiver } from './alarms/test-support/webhook-receiver.ts'
import type { CloudConfig } from './config/config.ts'
import { Cloud } from './service.ts'
import { birthOf } from './test-support/gateway.ts'

const SITE = 'dongcheng'
const cleanup: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'muni-cloud-alarms-'))
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function config(dir: string, alarms: Partial<NonNullable<CloudConfig['alarms']>> = {}, broker: CloudConfig['broker'] = { mode: 'embedded', host: '127.0.0.1', port: 0, allowAnonymous: true }): CloudConfig {
  return {
    dataDir: dir,
    broker,
    storage: { kind: 'sqlite', path: join(dir, 'telemetry.sqlite') },
    api: { host: '127.0.0.1', port: 0 },
    ingest: { batchReadings: 5000, maxPendingReadings: 50_000, maxFutureMs: 600_000 },
    alarms: { enabled: true, tickMs: 100, webhooks: [], ...alarms },
  }
}

async function startCloud(c: CloudConfig, lines: string[] = []): Promise<{ cloud: Cloud; url: string; events: LiveEvent[] }> {
  const cloud = new Cloud(c, { log: (l) => lines.push(l) })
  const endpoints = await cloud.start()
  await cloud.ready()
  const events: LiveEvent[] = []
  cloud.live.subscribe((e) => events.push(e))
  return { cloud, url: endpoints.mqtt ?? '', events }
}

interface Gw {
  client: MqttClient
  send(readings: Array<{ device: string; ts: number; values: Record<string, number | boolean> }>): Promise<void>
}

let seq = 0
async function gateway(url: string, gw: string, will = false): Promise<Gw> {
  const client = mqtt.connect(url, {
    clientId: `muni-edge-${gw}`,
    clean: false,
    reconnectPeriod: 0,
    ...(will ? { will: { topic: topics.state(SITE, gw), payload: Buffer.from(encode('state', { state: 'offline', session: 1 })), qos: 1, retain: true } } : {}),
  })
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  client.on('error', () => undefined)
  await client.publishAsync(topics.birth(SITE, gw), Buffer.from(encode('birth', birthOf(SITE, gw))), { qos: 1, retain: true })
  await client.publishAsync(topics.state(SITE, gw), Buffer.from(encode('state', { state: 'online', session: 1, ts: Date.now() })), { qos: 1, retain: true })
  return {
    client,
    send: async (readings) => {
      const batch: TelemetryBatch = {
        gateway: gw,
        seq: ++seq,
        sentAt: Date.now(),
        readings: readings.map((r) => ({ ...r, errors: {}, historical: false })),
      }
      await client.publishAsync(topics.telemetry(SITE, gw), Buffer.from(encode('telemetry', batch)), { qos: 1 })
    },
  }
}

const until = async (what: string, f: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const level = (ts: number, level_m: number) => ({ device: 'wl-1', ts, values: { level_m } })

describe('alarms in the running cloud', () => {
  it('raises a threshold alarm from published telemetry once stored, announces it on the live feed, rebuilds it after a restart without a duplicate, and clears it', async () => {
    const dir = tempDir()
    const first = await startCloud(config(dir))
    let gw = await gateway(first.url, 'gw-a')
    const t0 = Date.now() - 60_000
    await gw.send([level(t0, 1.0), level(t0 + 1000, 1.1)])
    await gw.send([level(t0 + 2000, 2.8)])
    await until('the threshold alarm', () => (first.cloud.alarms?.list({ rule: 'level_m.threshold' }).length ?? 0) === 1)
    const [raised] = first.cloud.alarms?.list({ rule: 'level_m.threshold' }) ?? []
    expect(raised).toMatchObject({ status: 'ACTIVE_UNACK', severity: 'MAJOR', gateway: 'gw-a', device: 'wl-1' })
    // The readings were stored before the alarm: the store has them.
    expect((await first.cloud.store.countByDevice()).get('gw-a/wl-1')).toBe(3)
    const announced = first.events.filter((e) => e.type === 'alarm' && e.alarm.rule === 'level_m.threshold')
    expect(announced).toHaveLength(1)
    expect(first.events.some((e) => e.type === 'registry' && e.change.type === 'birth')).toBe(true)
    await gw.client.endAsync()
    await first.cloud.stop()

    // Restart on the same data: the alarm is rebuilt from the log; still high → no second alarm.
    const second = await startCloud(config(dir))
    cleanup.push(() => second.cloud.stop())
    expect(second.cloud.alarms?.list({ rule: 'level_m.threshold' })).toMatchObject([{ id: raised?.id, status: 'ACTIVE_UNACK' }])
    gw = await gateway(second.url, 'gw-a')
    cleanup.push(() => gw.client.endAsync())
    await gw.send([level(t0 + 3000, 3.0)])
    await gw.send([level(t0 + 4000, 1.0)])
    await until('the clear', () => second.cloud.alarms?.list({ rule: 'level_m.threshold' })[0]?.status === 'CLEARED_UNACK')
    expect(second.cloud.alarms?.list({ rule: 'level_m.threshold' })).toHaveLength(1)
    const threshold = second.events.filter((e) => e.type === 'alarm' && e.alarm.rule === 'level_m.threshold')
    expect(threshold.map((e) => (e.type === 'alarm' ? e.transition.to : ''))).toEqual(['CLEARED_UNACK'])
  })

  it('a gateway whose connection dies raises one parent alarm from its Last Will, and its return clears it', async () => {
    const dir = tempDir()
    const { cloud, url, events } = await startCloud(config(dir))
    cleanup.push(() => cloud.stop())
    const gw = await gateway(url, 'gw-b', true)
    await gw.send([level(Date.now() - 1000, 1.0)])
    await until('the reading', () => cloud.registry.device('gw-b', 'wl-1')?.lastValues !== undefined)
    // Kill the socket under the client: the broker publishes the Will.
    ;(gw.client as unknown as { stream: { destroy(): void } }).stream.destroy()
    await until('the parent alarm', () => (cloud.alarms?.list({ rule: 'gateway.offline' }).length ?? 0) === 1)
    expect(cloud.alarms?.list({ gateway: 'gw-b', state: ['ACTIVE_UNACK', 'ACTIVE_ACK'] })).toHaveLength(1)
    expect(events.filter((e) => e.type === 'registry' && e.change.type === 'state' && e.change.state === 'offline')).toHaveLength(1)
    gw.client.end(true)

    const back = await gateway(url, 'gw-b')
    cleanup.push(() => back.client.endAsync())
    await until('the parent clears', () => cloud.alarms?.list({ rule: 'gateway.offline' })[0]?.status === 'CLEARED_UNACK')
  })

  it('reloads the rules file: a bad edit is refused with file:line and the running rules stay; a good one applies without a restart', async () => {
    const dir = tempDir()
    const rules = join(dir, 'rules.yaml')
    writeFileSync(rules, 'overrides: []\n')
    const { cloud, url } = await startCloud(config(dir, { rulesFile: rules }))
    cleanup.push(() => cloud.stop())
    const gw = await gateway(url, 'gw-c')
    cleanup.push(() => gw.client.endAsync())
    const t0 = Date.now() - 60_000
    await gw.send([level(t0, 2.0)])

    writeFileSync(rules, ['overrides:', '  - match: { site: dongcheng }', '    rules:', '      - { id: level_m.threshold, kind: threshold, point: level_m, levels: { hi: { value: "high" } } }', ''].join('\n'))
    const bad = cloud.reloadRules()
    expect(bad.ok).toBe(false)
    expect(bad.ok ? [] : bad.issues.join('\n')).toMatch(/rules\.yaml:4:\d+: overrides\[0\]\.rules\[0\]\.levels\.hi\.value: must be number/)

    // Lower the road level for this site: 2.0 m is now above it.
    writeFileSync(rules, ['overrides:', '  - match: { site: dongcheng }', '    rules:', '      - { id: level_m.threshold, kind: threshold, point: level_m, levels: { hi: { value: 1.5 } }, deadband: 0.05 }', ''].join('\n'))
    expect(cloud.reloadRules()).toEqual({ ok: true })
    await gw.send([level(t0 + 1000, 2.0)])
    await until('the alarm under the new rule', () => (cloud.alarms?.list({ rule: 'level_m.threshold' }).length ?? 0) === 1)
    expect(cloud.alarms?.list({ rule: 'level_m.threshold' })[0]?.message).toMatch(/1\.5/)
  })

  it('refuses to start on a rules file with errors, naming file:line', async () => {
    const dir = tempDir()
    const rules = join(dir, 'rules.yaml')
    writeFileSync(rules, 'defaults:\n  water-level:\n    - { id: x, kind: nope }\n')
    const cloud = new Cloud(config(dir, { rulesFile: rules }), { log: () => undefined })
    await expect(cloud.start()).rejects.toThrow(/rules\.yaml:3:\d+: defaults\.water-level\[0\]\.kind: must be one of/)
  })

  it('posts announced transitions to the configured webhook, signed, and reports delivery in /metrics', async () => {
    const secret = 'a-webhook-secret-of-32-characters'
    const receiver = await startReceiver(secret)
    cleanup.push(() => receiver.close())
    const dir = tempDir()
    const { cloud, url } = await startCloud(config(dir, { webhooks: [{ name: 'control-room', url: receiver.url, secret, minSeverity: 'major' }] }))
    cleanup.push(() => cloud.stop())
    const gw = await gateway(url, 'gw-w')
    cleanup.push(() => gw.client.endAsync())
    await gw.send([level(Date.now() - 2000, 1.0)])
    await gw.send([level(Date.now() - 1000, 2.8)])
    await until('the webhook', () => receiver.requests.some((r) => r.payload.alarm?.rule === 'level_m.threshold'))
    const hit = receiver.requests.find((r) => r.payload.alarm?.rule === 'level_m.threshold')
    expect(hit).toMatchObject({ valid: true, payload: { type: 'raise', to: 'ACTIVE_UNACK', alarm: { severity: 'MAJOR', gateway: 'gw-w' } } })
    const { token } = cloud.tokens.create('metrics', 'viewer')
    const metrics = await (await fetch(`${cloud.endpoints.api}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text()
    expect(metrics).toMatch(/^muni_webhook_delivered_total\{target="control-room"\} [1-9]\d*$/m)
    expect(metrics).toMatch(/^muni_alarms_open\{status="ACTIVE_UNACK",severity="MAJOR"\} [1-9]/m)
    expect(metrics).not.toContain(secret)
  })

  it('runs without alarms when they are disabled: no engine, telemetry still stored', async () => {
    const dir = tempDir()
    const { cloud, url } = await startCloud(config(dir, { enabled: false }))
    cleanup.push(() => cloud.stop())
    const gw = await gateway(url, 'gw-d')
    cleanup.push(() => gw.client.endAsync())
    await gw.send([level(Date.now() - 1000, 3.0)])
    expect(cloud.alarms).toBeUndefined()
    expect((await cloud.store.countByDevice()).get('gw-d/wl-1')).toBe(1)
  })
})

describe('alarms with two workers on an external mosquitto', () => {
  it('the one alarm worker evaluates every reading of a gateway in order, though the two workers split storing it', async (ctx) => {
    requireBinary(ctx, BINARIES.mosquitto)
    const broker = await startMosquitto()
    cleanup.push(() => broker.close())
    const external = (id: string): CloudConfig['broker'] => ({ mode: 'external', url: broker.url, clientId: id, group: 'muni-ingest', connections: 1 })
    const alarmWorker = await startCloud(config(tempDir(), {}, external('worker-alarms')))
    cleanup.push(() => alarmWorker.cloud.stop())
    const storeOnly = await startCloud(config(tempDir(), { enabled: false }, external('worker-store')))
    cleanup.push(() => storeOnly.cloud.stop())
    expect(storeOnly.cloud.alarms).toBeUndefined()

    const gw = await gateway(broker.url, 'gw-x')
    cleanup.push(() => gw.client.endAsync())
    for (const w of [alarmWorker, storeOnly]) await until('the birth', () => w.cloud.registry.device('gw-x', 'wl-1') !== undefined)
    // One reading per message: high, low, high again — 3 transitions if and only if every
    // reading is evaluated once and in order (a skipped or reordered one changes the count).
    const series = [1, 1.2, 2.7, 2.9, 2.8, 1.0, 0.9, 1.1, 2.8, 3.0]
    const t0 = Date.now() - 60_000
    for (const [i, v] of series.entries()) await gw.send([level(t0 + i * 1000, v)])
    await until('every reading stored', () => alarmWorker.cloud.ingest.stats().readingsStored + storeOnly.cloud.ingest.stats().readingsStored === series.length)
    // mosquitto spreads the shared subscription over both workers.
    expect(storeOnly.cloud.ingest.stats().readingsStored).toBeGreaterThan(0)
    expect(alarmWorker.cloud.ingest.stats().readingsStored).toBeGreaterThan(0)
    await until('the second raise', () => alarmWorker.cloud.alarms?.history(alarmWorker.cloud.alarms.list({ rule: 'level_m.threshold' })[0]?.id ?? '').length === 3)
    const [alarm] = alarmWorker.cloud.alarms?.list({ rule: 'level_m.threshold' }) ?? []
    expect(alarm).toMatchObject({ status: 'ACTIVE_UNACK', seq: 1 })
    expect(alarmWorker.cloud.alarms?.history(alarm?.id ?? '').map((t) => t.to)).toEqual(['ACTIVE_UNACK', 'CLEARED_UNACK', 'ACTIVE_UNACK'])
  }, 30_000)
})
