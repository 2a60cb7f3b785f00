import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { decode, examples, filters, preparePublish, topics, type Outgoing } from '../../shared/mqtt/index.ts'
import { freePort, startAedes, within, type AedesBroker } from '../test-support/broker.ts'
import { BrokerError, brokerTarget } from './connect.ts'
import { defaultFilters } from './filters.ts'
import { openRecording } from './reader.ts'
import { Recorder } from './recorder.ts'

/** A valid TelemetryBatch from gateway north/gw-01 with sequence number `seq`. */
function telemetry(seq: number): Outgoing {
  const batch = structuredClone(examples.telemetry)
  batch.seq = seq
  batch.sentAt += seq
  return preparePublish('telemetry', 'north', 'gw-01', batch)
}

async function publisher(url: string): Promise<MqttClient> {
  const client = await within(mqtt.connectAsync(url, { reconnectPeriod: 0 }), 5000, `publisher connect to ${url}`)
  client.on('error', () => {})
  return client
}

const publish = (client: MqttClient, m: { topic: string; payload: Uint8Array | string; qos: 0 | 1 | 2; retain: boolean }): Promise<unknown> =>
  within(client.publishAsync(m.topic, typeof m.payload === 'string' ? m.payload : Buffer.from(m.payload), { qos: m.qos, retain: m.retain }), 5000, `publish to ${m.topic}`)

let dir: string
let broker: AedesBroker | undefined
let recorder: Recorder | undefined
let pub: MqttClient | undefined
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'muni-recorder-'))
})
afterEach(async () => {
  await recorder?.stop()
  recorder = undefined
  await pub?.endAsync(true)
  pub = undefined
  await broker?.close()
  broker = undefined
  rmSync(dir, { recursive: true, force: true })
})

async function readAll(file: string) {
  const { header, messages } = await openRecording(file)
  const list = []
  for await (const m of messages) list.push(m)
  return { header, messages: list }
}

describe('Recorder (in-process Aedes)', () => {
  it('records every message in order with byte-identical payloads, flags invalid ones, and keeps retained ones', async () => {
    broker = await startAedes()
    pub = await publisher(broker.url)
    // Retained before the recorder subscribes: served from the broker's store, retain 1.
    const birth = preparePublish('birth', 'north', 'gw-01', examples.birth)
    await publish(pub, birth)
    const out = join(dir, 'rec.ndjson')
    recorder = new Recorder({ broker: brokerTarget({ broker: broker.url }, {}), out })
    const header = await within(recorder.start(), 5000, 'recorder start')
    expect(header).toMatchObject({ format: 'muni-recording', version: 1, broker: broker.url, filters: defaultFilters(), retainAsPublished: false })
    const sent: Array<{ topic: string; payload: Uint8Array }> = [birth]
    for (let seq = 1; seq <= 50; seq++) {
      const m = telemetry(seq)
      await publish(pub, m)
      sent.push(m)
    }
    const invalid = { topic: topics.telemetry('north', 'gw-01'), payload: '{"gateway":"gw-01","seq":"x"}', qos: 1 as const, retain: false }
    await publish(pub, invalid)
    sent.push({ topic: invalid.topic, payload: new TextEncoder().encode(invalid.payload) })
    await publish(pub, { topic: topics.command('north', 'gw-01'), payload: '{}', qos: 1, retain: false }) // not subscribed by default
    await within(waitUntil(() => recorder?.stats.messages === sent.length), 5000, 'all messages recorded')
    const stats = await recorder.stop()
    expect(stats).toMatchObject({ messages: 52, invalid: 1 })

    const rec = await readAll(out)
    expect(rec.header).toEqual(header)
    expect(rec.messages.map((m) => m.topic)).toEqual(sent.map((m) => m.topic))
    rec.messages.forEach((m, i) => expect(Buffer.from(m.payload).equals(Buffer.from(sent[i]?.payload ?? [])), `message ${i}`).toBe(true))
    expect(rec.messages[0]).toMatchObject({ retain: true, qos: 1 })
    expect(rec.messages.slice(1).every((m) => !m.retain && m.qos === 1)).toBe(true)
    expect(rec.messages.slice(0, 51).every((m) => m.violation === undefined)).toBe(true)
    const rejected = decode(invalid.topic, invalid.payload)
    expect(rejected.ok).toBe(false)
    expect(rec.messages[51]?.violation).toEqual(rejected.ok ? undefined : rejected.violations[0])
    // t is the receive time: never decreasing, and within the recording's duration.
    const ts = rec.messages.map((m) => m.t)
    expect(ts).toEqual([...ts].sort((a, b) => a - b))
    // The common case is stored readable, once: a muni payload is a JSON object on the line.
    const line2 = readFileSync(out, 'utf8').split('\n')[2] ?? ''
    expect(JSON.parse(line2)).toMatchObject({ topic: topics.telemetry('north', 'gw-01'), payload: { gateway: 'gw-01', seq: 1 } })
    expect(line2).not.toContain('payloadText')
  })

  it('stops by itself after maxMessages and writes exactly that many', async () => {
    broker = await startAedes()
    pub = await publisher(broker.url)
    const out = join(dir, 'rec.ndjson')
    recorder = new Recorder({ broker: brokerTarget({ broker: broker.url }, {}), out, maxMessages: 3, filters: [filters.allTelemetry()] })
    await recorder.start()
    for (let seq = 1; seq <= 6; seq++) await publish(pub, telemetry(seq))
    expect(await within(recorder.ended, 5000, 'ended')).toEqual({ reason: 'count' })
    await recorder.stop()
    expect((await readAll(out)).messages).toHaveLength(3)
  })

  it('keeps credentials out of the file and the errors', async () => {
    broker = await startAedes({ authenticate: (_c, user, password, done) => done(null, user === 'ann' && password?.toString() === 'hunter2') })
    const out = join(dir, 'rec.ndjson')
    recorder = new Recorder({ broker: brokerTarget({ broker: `mqtt://ann:hunter2@127.0.0.1:${broker.port}` }, {}), out })
    await recorder.start()
    await recorder.stop()
    const text = readFileSync(out, 'utf8')
    expect(text).not.toContain('hunter2')
    expect(text).not.toContain('ann')
    expect(JSON.parse(text.split('\n')[0] ?? '')).toMatchObject({ broker: `mqtt://127.0.0.1:${broker.port}` })
  })

  it('refuses to overwrite an existing recording unless asked', async () => {
    broker = await startAedes()
    const out = join(dir, 'rec.ndjson')
    writeFileSync(out, 'evidence\n')
    recorder = new Recorder({ broker: brokerTarget({ broker: broker.url }, {}), out })
    await expect(recorder.start()).rejects.toThrow(`${out} already exists: choose another file (or overwrite it with --force)`)
    expect(readFileSync(out, 'utf8')).toBe('evidence\n')
    recorder = new Recorder({ broker: brokerTarget({ broker: broker.url }, {}), out, overwrite: true })
    await recorder.start()
    await recorder.stop()
    expect(readFileSync(out, 'utf8')).toMatch(/^\{"format":"muni-recording"/)
  })

  it('leaves no file behind when the broker is unreachable or refuses the subscription', async () => {
    const out = join(dir, 'rec.ndjson')
    recorder = new Recorder({ broker: brokerTarget({ broker: `mqtt://127.0.0.1:${await freePort()}` }, {}), out, connectTimeoutMs: 2000 })
    await expect(recorder.start()).rejects.toBeInstanceOf(BrokerError)
    expect(existsSync(out)).toBe(false)

    // Aedes answers a negative SUBACK when authorizeSubscribe grants null, and drops the connection on an error.
    broker = await startAedes({ authorizeSubscribe: (_c, sub, done) => done(null, sub.topic.endsWith('/state') ? null : sub) })
    recorder = new Recorder({ broker: brokerTarget({ broker: broker.url }, {}), out })
    const err = await recorder.start().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BrokerError)
    expect((err as Error).message).toBe('broker refused the subscription to muni/v1/+/+/state (SUBACK 0x80)')
    expect(existsSync(out)).toBe(false)
    await broker.close()

    broker = await startAedes({ authorizeSubscribe: (_c, sub, done) => done(new Error('no'), sub) })
    recorder = new Recorder({ broker: brokerTarget({ broker: broker.url }, {}), out, filters: [filters.allTelemetry()] })
    await expect(recorder.start()).rejects.toThrow('broker refused the subscription to muni/v1/+/+/telemetry: Connection closed')
    expect(existsSync(out)).toBe(false)
  })

  it('survives a broker restart: reconnects, resubscribes, and keeps recording into the same file', async () => {
    broker = await startAedes()
    const port = broker.port
    const out = join(dir, 'rec.ndjson')
    const status: string[] = []
    recorder = new Recorder({ broker: brokerTarget({ broker: broker.url }, {}), out, filters: [filters.allTelemetry()], onStatus: (s) => status.push(s) })
    await recorder.start()
    pub = await publisher(broker.url)
    await publish(pub, telemetry(1))
    await within(waitUntil(() => recorder?.stats.messages === 1), 5000, 'first message')
    await pub.endAsync(true)
    await broker.close()
    broker = await startAedes({}, port)
    await broker.subscribed(filters.allTelemetry(), 10_000)
    pub = await publisher(broker.url)
    await publish(pub, telemetry(2))
    await within(waitUntil(() => recorder?.stats.messages === 2), 5000, 'message after the restart')
    expect(recorder.stats.reconnects).toBe(1)
    expect(status).toEqual(['offline', 'online'])
    await recorder.stop()
    const rec = await readAll(out)
    expect(rec.messages.map((m) => (JSON.parse(Buffer.from(m.payload).toString()) as { seq: number }).seq)).toEqual([1, 2])
  }, 15_000)

  it('refuses an invalid topic filter before connecting', async () => {
    recorder = new Recorder({ broker: brokerTarget({ broker: 'mqtt://127.0.0.1:1' }, {}), out: join(dir, 'x'), filters: ['muni/#/x'] })
    await expect(recorder.start()).rejects.toThrow('invalid topic filter "muni/#/x": # must be a whole level and the last one')
  })
})

async function waitUntil(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5))
}
