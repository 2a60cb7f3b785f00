/**
 * The outbox end to end: a real in-process Aedes broker on 127.0.0.1 and MQTT.js
 * (QoS 1, clean: false, a stable client id), acking on PUBACK. The broker records every
 * PUBLISH it receives in `authorizePublish`, which runs before it sends the PUBACK, so
 * whatever the gateway saw acknowledged has been recorded (like an ingest that stores
 * before it acknowledges).
 *
 * Delivery is judged as the cloud would: by (gateway, seq). Every reading must arrive,
 * in exactly one seq; a seq may arrive more than once only with the same bytes.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { Aedes, type AedesOptions } from 'aedes'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { decode, type Reading, type TelemetryBatch } from '../../shared/mqtt/index.ts'
import type { Outbox } from './outbox.ts'
import { keyOf, openOutbox, reading, tempDir } from './test-support/outbox-helpers.ts'

interface Arrival {
  seq: number
  bytes: Buffer
  batch: TelemetryBatch
}

interface Broker {
  port: number
  close(): Promise<void>
}

/**
 * Aedes on 127.0.0.1 (`port` 0: any), TCP_NODELAY on every socket (CONVENTIONS.md),
 * recording telemetry into `arrivals`. While `hold()` is true a PUBLISH is recorded (in
 * `arrivals` and `held.attempts`) but gets no PUBACK, as if the broker died right after
 * forwarding it: the gateway keeps the batch in flight and must send it again.
 */
async function startBroker(arrivals: Arrival[], port = 0, held?: { hold: () => boolean; attempts: Arrival[] }): Promise<Broker> {
  const options: AedesOptions = {
    authorizePublish(client, packet, done) {
      if (client === null || !packet.topic.endsWith('/telemetry')) return done(null)
      const bytes = Buffer.from(packet.payload)
      const r = decode(packet.topic, bytes)
      if (!r.ok || r.kind !== 'telemetry') throw new Error(`invalid telemetry: ${JSON.stringify(r)}`)
      const arrival = { seq: r.message.seq, bytes, batch: r.message }
      arrivals.push(arrival)
      if (held?.hold()) return void held.attempts.push(arrival)
      done(null)
    },
  }
  const aedes = await Aedes.createBroker(options)
  const sockets = new Set<Socket>()
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    aedes.handle(socket)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
    },
  }
}

/**
 * The gateway's uplink loop, as small as it can be: on CONNACK mark the uplink up and
 * publish up to `window` batches; ack on PUBACK, nack on a publish error. MQTT.js with
 * clean: false resends its own unacknowledged QoS 1 messages on reconnect (before it
 * emits `connect`), so a lost connection needs no nack.
 */
function uplink(outbox: Outbox, port: number, window = 4): { client: MqttClient; pump: () => void; inFlight: () => number; up: () => boolean } {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId: 'gw-01-outbox-e2e', clean: false, reconnectPeriod: 50, connectTimeout: 2_000, keepalive: 10 })
  let inFlight = 0
  let up = false
  const pump = (): void => {
    while (client.connected && inFlight < window) {
      const b = outbox.nextBatch({ maxReadings: 20 })
      if (b === undefined) return
      inFlight++
      client.publish(b.topic, Buffer.from(b.payload), { qos: b.qos, retain: b.retain }, (err) => {
        inFlight--
        if (err) outbox.nack(b.seq)
        else outbox.ack(b.seq)
        pump()
      })
    }
  }
  client.on('connect', () => {
    up = true
    outbox.setUplink(true)
    pump()
  })
  client.on('close', () => {
    up = false
    outbox.setUplink(false)
  })
  client.on('error', () => {}) // ECONNREFUSED while the broker is away: reconnect handles it
  return { client, pump, inFlight: () => inFlight, up: () => up }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function until(what: string, predicate: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(10)
  }
}

/** Checks the arrivals as the cloud would and returns the readings of each seq's first arrival, in arrival order. */
function judge(arrivals: Arrival[]): { readings: Reading[]; seqs: number[]; duplicates: number } {
  const first = new Map<number, Arrival>()
  for (const a of arrivals) {
    const earlier = first.get(a.seq)
    if (earlier === undefined) first.set(a.seq, a)
    else expect(a.bytes.equals(earlier.bytes), `seq ${a.seq} arrived twice with different bytes`).toBe(true)
  }
  const seqs = [...first.keys()]
  const readings = [...first.values()].flatMap((a) => a.batch.readings)
  const keys = readings.map(keyOf)
  expect(new Set(keys).size, 'a reading arrived in two different seqs').toBe(keys.length)
  return { readings, seqs, duplicates: arrivals.length - first.size }
}

/** Per device and per lane (live / historical), ts only grows in arrival order. */
function expectInOrderPerDevice(readings: Reading[]): void {
  const last = new Map<string, number>()
  for (const r of readings) {
    const lane = `${r.device}/${r.historical ? 'historical' : 'live'}`
    expect(r.ts, `${lane} out of order`).toBeGreaterThan(last.get(lane) ?? -1)
    last.set(lane, r.ts)
  }
}

let dir: ReturnType<typeof tempDir>
const cleanup: Array<() => Promise<void> | void> = []
beforeEach(() => (dir = tempDir('muni-outbox-e2e-')))
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
  dir.remove()
})

describe('store and forward through a real broker (Aedes + MQTT.js)', () => {
  it('delivers every reading across a broker outage: the backlog historical, live readings live, each device in order', async () => {
    const arrivals: Arrival[] = []
    const held = { hold: () => false, attempts: [] as Arrival[] }
    let broker = await startBroker(arrivals, 0, held)
    const port = broker.port
    cleanup.push(() => broker.close())
    const outbox = openOutbox(dir.file('outbox.db'))
    cleanup.push(() => outbox.close())
    const gw = uplink(outbox, port)
    cleanup.push(() => new Promise<void>((r) => gw.client.end(true, {}, () => r())))
    await until('the first CONNACK', gw.up)

    // The poller: 3 devices every 5 ms, whether the uplink is up or not.
    const appended: Array<{ key: string; whileDown: boolean }> = []
    let ts = 1_000
    const poller = setInterval(() => {
      const rs = ['wl-1', 'wl-2', 'pp-3'].map((d) => reading(d, ts))
      ts++
      outbox.append(rs)
      for (const r of rs) appended.push({ key: keyOf(r), whileDown: !gw.up() })
      gw.pump()
    }, 5)
    cleanup.push(() => clearInterval(poller))

    await sleep(300)
    const beforeOutage = arrivals.length
    expect(beforeOutage).toBeGreaterThan(0)

    // The broker goes down with batches unacknowledged: forwarded, but no PUBACK sent.
    held.hold = () => true
    await until('a batch without PUBACK', () => held.attempts.length > 0)
    await broker.close() // the uplink is down: readings keep being appended
    await until('the gateway to notice', () => !gw.up())
    await sleep(500)
    expect(outbox.stats().pending).toBeGreaterThan(100)

    broker = await startBroker(arrivals, port) // same port: the client reconnects by itself
    await until('the reconnect', gw.up)
    await sleep(300)
    clearInterval(poller)
    await until('the outbox to drain', () => outbox.stats().readings === 0 && gw.inFlight() === 0)

    const { readings, seqs, duplicates } = judge(arrivals)
    // Every reading arrived, in exactly one seq.
    expect(readings.map(keyOf).sort()).toEqual(appended.map((a) => a.key).sort())
    // seq: +1 per batch, first arrivals in order.
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe((seqs.at(-1) ?? 0) - (seqs[0] ?? 0) + 1)
    // Readings sampled while the uplink was down arrived historical; live ones kept flowing.
    const historical = new Map(readings.map((r) => [keyOf(r), r.historical]))
    const downKeys = appended.filter((a) => a.whileDown).map((a) => a.key)
    expect(downKeys.length).toBeGreaterThan(100)
    expect(downKeys.filter((k) => historical.get(k) !== true)).toEqual([])
    const lastKeys = appended.slice(-30).map((a) => a.key)
    expect(lastKeys.filter((k) => historical.get(k) === true)).toEqual([])
    expectInOrderPerDevice(readings)
    expect(outbox.stats()).toMatchObject({ dropped: 0, batches: 0 })
    expect(duplicates).toBeGreaterThan(0) // the unacknowledged batches came again (judge: same bytes)
    process.stdout.write(`[store-and-forward] ${appended.length} readings, ${seqs.length} batches, ${downKeys.length} queued during the outage, ${duplicates} duplicate deliveries\n`)
  }, 30_000)

  it('resends batches that were in flight when the gateway restarted, with the same seq and bytes', async () => {
    const arrivals: Arrival[] = []
    const held = { hold: () => true, attempts: [] as Arrival[] }
    const broker = await startBroker(arrivals, 0, held)
    cleanup.push(() => broker.close())
    const path = dir.file('outbox.db')

    // First life: three batches published, none acknowledged.
    const first = openOutbox(path)
    first.append(Array.from({ length: 50 }, (_, i) => reading(`d${i % 2}`, i)))
    const gw1 = uplink(first, broker.port, 3)
    await until('three batches at the broker', () => held.attempts.length === 3)
    expect(first.stats()).toMatchObject({ inFlight: 3, batches: 3 })
    // The gateway dies: no DISCONNECT, no ack; the outbox file is all that is left.
    await new Promise<void>((r) => gw1.client.end(true, {}, () => r()))
    first.close()

    // Second life, with a broker that acknowledges.
    held.hold = () => false
    const second = openOutbox(path)
    cleanup.push(() => second.close())
    const gw2 = uplink(second, broker.port)
    cleanup.push(() => new Promise<void>((r) => gw2.client.end(true, {}, () => r())))
    await until('the outbox to drain', () => second.stats().readings === 0 && gw2.inFlight() === 0)

    const { readings, seqs, duplicates } = judge(arrivals) // judge: a seq that comes twice has the same bytes
    expect(seqs.slice(0, 3)).toEqual(held.attempts.map((a) => a.seq))
    expect(duplicates).toBe(3) // each in-flight batch once more, from the outbox file
    expect(readings.map(keyOf).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `d${i % 2}@${i}`).sort())
    expectInOrderPerDevice(readings)
  }, 30_000)
})
