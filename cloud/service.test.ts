/**
 * The cloud service wired together, through real MQTT: malformed messages from an
 * authenticated gateway become dead letters with reasons (read back through the API) and
 * the service keeps storing; foreign topics are refused by the broker's ACL; in external
 * mode two workers split one gateway's telemetry through a mosquitto shared subscription.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { parseTopic } from '../shared/mqtt/topics.ts'
import { BINARIES, requireBinary } from '../shared/test-support/binaries.ts'
import { startMosquitto } from '../simulators/test-support/broker.ts'
import { hashPassword } from './broker/password.ts'
import type { CloudConfig } from './config/config.ts'
import { GATEWAY, SITE, malformedCorpus } from './ingest/test-support/malformed.ts'
import { Cloud } from './service.ts'
import { connectGateway, READINGS_PER_BATCH } from './test-support/gateway.ts'

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no PUBACK within ${ms} ms: ${what}`)), ms).unref())])

const cleanup: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'muni-cloud-'))
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function config(dir: string, broker: CloudConfig['broker']): CloudConfig {
  return {
    dataDir: dir,
    broker,
    storage: { kind: 'sqlite', path: join(dir, 'telemetry.sqlite') },
    api: { host: '127.0.0.1', port: 0 },
    ingest: { batchReadings: 5000, maxPendingReadings: 50_000, maxFutureMs: 600_000 },
  }
}

async function startCloud(c: CloudConfig): Promise<{ cloud: Cloud; api: string; mqtt?: string; token: string }> {
  const cloud = new Cloud(c, { log: () => undefined })
  const endpoints = await cloud.start()
  cleanup.push(() => cloud.stop())
  await cloud.ready()
  const { token } = cloud.tokens.create('test', 'admin')
  return { cloud, ...endpoints, token }
}

const get = async <T>(api: string, token: string, path: string): Promise<{ status: number; body: T }> => {
  const r = await fetch(`${api}${path}`, { headers: { authorization: `Bearer ${token}` } })
  return { status: r.status, body: (await r.json()) as T }
}

describe('muni cloud (embedded broker)', () => {
  it('turns the malformed corpus from an authenticated gateway into dead letters with reasons, refuses foreign topics, and keeps storing', async () => {
    const dir = tempDir()
    const password = 'correct horse battery staple'
    writeFileSync(join(dir, 'credentials.yaml'), stringify([{ username: GATEWAY, role: 'gateway', site: SITE, gateway: GATEWAY, passwordHash: await hashPassword(password, { N: 1024 }) }]))
    const { cloud, api, mqtt: url, token } = await startCloud(config(dir, { mode: 'embedded', host: '127.0.0.1', port: 0, allowAnonymous: false, credentials: join(dir, 'credentials.yaml') }))
    const base = Date.now() - 600_000
    const gw = await connectGateway(url as string, { site: SITE, gateway: GATEWAY, username: GATEWAY, password, base })
    cleanup.push(() => gw.close())

    const corpus = malformedCorpus(Date.now())
    // The gateway's own topics reach ingest; anything else (other gateways, deep or foreign topics) the ACL refuses.
    const mine = (t: string): boolean => parseTopic(t)?.gateway === GATEWAY && parseTopic(t)?.site === SITE
    const own = corpus.filter((c) => c.publishable && mine(c.topic))
    const foreign = corpus.filter((c) => c.publishable && !mine(c.topic))
    expect(own.length).toBeGreaterThanOrEqual(150)
    const expected: Record<string, number> = {}
    for (const c of own) {
      await within(gw.client.publishAsync(c.topic, c.payload, { qos: 1 }), 5000, c.name)
      expected[c.reason] = (expected[c.reason] ?? 0) + 1
    }
    const stats = await get<{ total: number; byReason: Record<string, number> }>(api, token, '/api/v1/dead-letters/stats')
    expect(stats.body.byReason).toEqual(expected)
    const letters = await get<{ items: Array<{ reason: string; detail: string[]; client?: string }> }>(api, token, '/api/v1/dead-letters?limit=1000')
    expect(letters.body.items).toHaveLength(own.length)
    for (const l of letters.body.items) {
      expect(l.detail.length).toBeGreaterThan(0)
      expect(l.client).toBe(`muni-edge-${GATEWAY}`)
    }

    // Another gateway's topics (and non-muni topics) never reach ingest: the broker's ACL refuses them.
    for (const c of foreign.slice(0, 10)) {
      const intruder = await mqtt.connectAsync(url as string, { clientId: 'intruder', username: GATEWAY, password, reconnectPeriod: 0 })
      const closed = new Promise<void>((r) => intruder.once('close', () => r()))
      intruder.publish(c.topic, c.payload, { qos: 1 })
      await closed
      intruder.end(true)
    }
    expect(cloud.ingest.stats().messages.invalid ?? 0).toBe(own.filter((c) => c.reason === 'invalid' || c.reason === 'topic').length)

    // Still alive: health is ok and a good batch is stored and queryable.
    expect((await fetch(`${api}/health`)).status).toBe(200)
    const before = cloud.ingest.stats().readingsStored
    await gw.publish(1, 3)
    expect(cloud.ingest.stats().readingsStored - before).toBe(3 * READINGS_PER_BATCH)
    const rows = await get<{ rows: unknown[] }>(api, token, `/api/v1/devices/${GATEWAY}/wl-1/telemetry?from=${base}&to=${base + 10_000}`)
    expect(rows.body.rows).toHaveLength((3 * READINGS_PER_BATCH) / 2)
    const metrics = await (await fetch(`${api}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text()
    expect(metrics).toMatch(/^muni_dead_letters_total\{reason="invalid"\} \d+$/m)
    expect(metrics).toMatch(/^muni_broker_denials\{kind="publish"\} 10$/m)
    expect(metrics).toMatch(new RegExp(`^muni_ingest_readings_stored_total ${cloud.ingest.stats().readingsStored}$`, 'm'))
  }, 60_000)
})

describe('muni cloud (external broker)', () => {
  it('splits one gateway between two workers through a mosquitto shared subscription, each batch stored once', async (ctx) => {
    requireBinary(ctx, BINARIES.mosquitto)
    const broker = await startMosquitto()
    cleanup.push(() => broker.close())
    const workers = await Promise.all(
      ['a', 'b'].map((w) => startCloud(config(tempDir(), { mode: 'external', url: broker.url, clientId: `worker-${w}`, group: 'muni-ingest', connections: 1 }))),
    )
    const base = Date.now() - 600_000
    const gw = await connectGateway(broker.url, { site: SITE, gateway: GATEWAY, base })
    cleanup.push(() => gw.close())
    // Every worker takes the retained birth on its own (plain) subscription.
    for (const w of workers) await expect.poll(() => w.cloud.registry.device(GATEWAY, 'wl-1')?.kind, { timeout: 5000 }).toBe('water-level')
    const batches = 200
    await gw.publish(1, batches, 20)
    const total = batches * READINGS_PER_BATCH
    await expect.poll(() => workers.reduce((n, w) => n + w.cloud.ingest.stats().readingsStored, 0), { timeout: 15_000 }).toBe(total)
    const shares = workers.map((w) => w.cloud.ingest.stats().readingsStored)
    // mosquitto hands each message of a shared subscription to one member (round robin).
    expect(Math.min(...shares)).toBeGreaterThan(total / 4)
    expect(workers.map((w) => w.cloud.ingest.stats().duplicates)).toEqual([0, 0])
    // And nothing was stored twice across the two: the per-worker stores add up to the batches sent.
    const counts = await Promise.all(workers.map(async (w) => [...(await w.cloud.store.countByDevice()).values()].reduce((a, b) => a + b, 0)))
    expect(counts[0]! + counts[1]!).toBe(total)

  }, 60_000)
})
