/**
 * kill -9 of the cloud during a stream, then a restart: every reading a gateway got a
 * PUBACK for is in storage, counted by device and sample time; and after the gateway
 * resends what was not acknowledged, every reading is stored exactly once.
 *
 * Real processes: `muni cloud run` as a child (killed with SIGKILL), a gateway client
 * (mqtt.js, persistent session) in the test; in external mode also Debian's mosquitto.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { BINARIES, requireBinary } from '../shared/test-support/binaries.ts'
import { MuniProcesses, runMuni, type MuniProcess } from '../simulators/test-support/muni-process.ts'
import { freePort, startMosquitto, type MosquittoBroker } from '../simulators/test-support/broker.ts'
import { openSqliteStore } from './storage/sqlite.ts'
import { batchOf, connectGateway, READINGS_PER_BATCH, type TestGateway } from './test-support/gateway.ts'

const SITE = 'dur-site'
const GATEWAY = 'gw-dur'
const BATCHES = 300

const procs = new MuniProcesses()
const cleanup: Array<() => Promise<void> | void> = []
afterEach(async () => {
  await procs.stopAll()
  for (const c of cleanup.splice(0).reverse()) await c()
})

async function startCloud(config: string): Promise<MuniProcess> {
  const p = procs.spawn(['cloud', 'run', '--config', config, '--ready-json'])
  const [line] = await p.lines(1, 30_000)
  expect(JSON.parse(line ?? '{}')).toMatchObject({ event: 'ready' })
  return p
}

/** Every (device, ts) in the SQLite store, read after the cloud stopped. */
async function storedKeys(dataDir: string): Promise<Set<string>> {
  const store = openSqliteStore(join(dataDir, 'telemetry.sqlite'))
  try {
    const keys = new Set<string>()
    for (const device of ['wl-1', 'pp-1']) {
      const r = await store.query({ gateway: GATEWAY, device, from: 0, to: Number.MAX_SAFE_INTEGER, limit: 10_000 })
      for (const row of r.rows) keys.add(`${device}@${row.ts}`)
    }
    return keys
  } finally {
    await store.close()
  }
}

function expectedKeys(seqs: Iterable<number>, base: number): string[] {
  return [...seqs].flatMap((seq) => batchOf(GATEWAY, seq, base).readings.map((r) => `${r.device}@${r.ts}`))
}

/** Publishes all batches; kills the cloud with SIGKILL once `killAfter` are acknowledged; restarts it. */
async function streamThroughKill(gw: TestGateway, cloud: () => Promise<MuniProcess>, first: MuniProcess, killAfter: number, afterKill: () => Promise<void> = async () => undefined): Promise<{ ackedBeforeKill: Set<number> }> {
  const publishing = gw.publish(1, BATCHES, 10, 2)
  while (gw.acked.size < killAfter) await new Promise((r) => setTimeout(r, 5))
  first.child.kill('SIGKILL')
  await new Promise<void>((r) => first.child.once('exit', () => r()))
  const ackedBeforeKill = new Set(gw.acked)
  await afterKill()
  await cloud()
  await publishing
  return { ackedBeforeKill }
}

describe('the cloud killed with SIGKILL mid-stream', () => {
  it('embedded broker: every PUBACKed reading is stored, and after redelivery all of them exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'muni-dur-'))
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
    const [mqttPort, apiPort] = [await freePort(), await freePort()]
    const init = await runMuni(['cloud', 'init', dir, '--gateway', `${SITE}/${GATEWAY}`, '--mqtt-port', String(mqttPort), '--api-port', String(apiPort), '--json'], 60_000)
    expect(init.code, init.stderr).toBe(0)
    const setup = JSON.parse(init.stdout) as { config: string; passwords: Record<string, string> }
    const config = setup.config
    const first = await startCloud(config)
    const base = Date.now() - 3_600_000
    const gw = await connectGateway(`mqtt://127.0.0.1:${mqttPort}`, { site: SITE, gateway: GATEWAY, username: GATEWAY, password: setup.passwords[GATEWAY], base })
    cleanup.push(() => gw.close())
    const { ackedBeforeKill } = await streamThroughKill(gw, () => startCloud(config), first, 60)
    expect(ackedBeforeKill.size).toBeGreaterThanOrEqual(60)
    expect(ackedBeforeKill.size).toBeLessThan(BATCHES)
    expect(gw.acked.size).toBe(BATCHES)
    await procs.stopAll()

    const stored = await storedKeys(join(dir, 'data'))
    const missing = expectedKeys(ackedBeforeKill, base).filter((k) => !stored.has(k))
    expect(missing).toEqual([])
    expect(stored.size).toBe(BATCHES * READINGS_PER_BATCH)
  }, 120_000)

  it('external mosquitto: every reading mosquitto acknowledged is stored once the cloud is back', async (ctx) => {
    requireBinary(ctx, BINARIES.mosquitto)
    const broker: MosquittoBroker = await startMosquitto()
    cleanup.push(() => broker.close())
    const dir = mkdtempSync(join(tmpdir(), 'muni-dur-ext-'))
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
    const config = join(dir, 'cloud.yaml')
    writeFileSync(config, `dataDir: data\nbroker:\n  mode: external\n  url: ${broker.url}\n  clientId: muni-cloud-dur\n  connections: 2\napi:\n  port: ${await freePort()}\n`)
    const first = await startCloud(config)
    const base = Date.now() - 3_600_000
    const gw = await connectGateway(broker.url, { site: SITE, gateway: GATEWAY, base })
    cleanup.push(() => gw.close())
    // Give the cloud's direct subscription time to take the retained birth before telemetry flows.
    await new Promise((r) => setTimeout(r, 300))
    let storedAtKill = 0
    const { ackedBeforeKill } = await streamThroughKill(gw, () => startCloud(config), first, 60, async () => {
      storedAtKill = await storedCount(config)
    })
    expect(ackedBeforeKill.size).toBeGreaterThanOrEqual(60)
    // The kill came mid-stream: the cloud had not stored everything yet.
    expect(storedAtKill).toBeLessThan(BATCHES * READINGS_PER_BATCH)
    // mosquitto queues QoS 1 messages for the cloud's persistent sessions while it is down; wait until they are stored.
    const deadline = Date.now() + 30_000
    while ((await storedCount(config)) < BATCHES * READINGS_PER_BATCH && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500))
    await procs.stopAll()
    const stored = await storedKeys(join(dir, 'data'))
    expect(expectedKeys(ackedBeforeKill, base).filter((k) => !stored.has(k))).toEqual([])
    expect(stored.size).toBe(BATCHES * READINGS_PER_BATCH)
  }, 150_000)
})

/** Readings stored so far, read from the running cloud's SQLite file (WAL: a reader sees every commit). */
async function storedCount(config: string): Promise<number> {
  const store = openSqliteStore(join(config, '..', 'data', 'telemetry.sqlite'))
  try {
    let n = 0
    for (const v of (await store.countByDevice()).values()) n += v
    return n
  } finally {
    await store.close()
  }
}
