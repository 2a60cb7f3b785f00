/**
 * Record and replay against real mosquitto processes (Debian `mosquitto`): the recorder
 * speaks MQTT 5 there, so live retained messages keep their retain flag (Retain As
 * Published), which the in-process Aedes (3.1.1 only) cannot show.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { examples, filters, preparePublish, type Outgoing } from '../../shared/mqtt/index.ts'
import { BINARIES, requireBinary } from '../../shared/test-support/binaries.ts'
import { collect, startMosquitto, within, type Collector, type MosquittoBroker } from '../test-support/broker.ts'
import { brokerTarget } from './connect.ts'
import type { RecordedMessage } from './format.ts'
import { openRecording } from './reader.ts'
import { Recorder } from './recorder.ts'
import { Replayer } from './replayer.ts'

const TOLERANCE_MS = 25
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let dir: string
const brokers: MosquittoBroker[] = []
const closers: Array<() => Promise<unknown>> = []
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'muni-mosquitto-replay-'))
})
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {})
  for (const b of brokers.splice(0)) await b.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('record and replay with mosquitto', () => {
  it(`records live retained messages as retained (MQTT 5) and replays them into another mosquitto byte-identical, in order, gaps within ±${TOLERANCE_MS} ms`, async (ctx) => {
    requireBinary(ctx, BINARIES.mosquitto)
    const source = await startMosquitto()
    brokers.push(source)
    const sink = await startMosquitto()
    brokers.push(sink)

    const file = join(dir, 'rec.ndjson')
    const recorder = new Recorder({ broker: brokerTarget({ broker: source.url }, {}), out: file })
    closers.push(() => recorder.stop())
    const header = await within(recorder.start(), 5000, 'recorder start')
    expect(header.retainAsPublished).toBe(true)

    const pub: MqttClient = await within(mqtt.connectAsync(source.url, { reconnectPeriod: 0 }), 5000, 'publisher')
    closers.push(() => pub.endAsync(true))
    const stream: Outgoing[] = [preparePublish('state', 'north', 'gw-01', examples.state), preparePublish('birth', 'north', 'gw-01', examples.birth)]
    for (let seq = 1; seq <= 5; seq++) stream.push(preparePublish('telemetry', 'north', 'gw-01', { ...structuredClone(examples.telemetry), seq }))
    const plannedGaps = [100, 150, 200, 120, 180, 250]
    for (const [i, m] of stream.entries()) {
      if (i > 0) await sleep(plannedGaps[i - 1] ?? 100)
      await pub.publishAsync(m.topic, Buffer.from(m.payload), { qos: m.qos, retain: m.retain })
    }
    await within((async () => { while (recorder.stats.messages < stream.length) await sleep(5) })(), 5000, 'recording')
    await recorder.stop()

    const { messages } = await openRecording(file)
    const recorded: RecordedMessage[] = []
    for await (const m of messages) recorded.push(m)
    expect(recorded.map((m) => [m.topic, m.retain])).toEqual(stream.map((m) => [m.topic, m.retain]))
    expect(recorded.every((m) => m.violation === undefined)).toBe(true)

    const sub: Collector = await collect(sink.url, '#')
    closers.push(() => sub.close())
    const replayer = new Replayer({ broker: brokerTarget({ broker: sink.url }, {}), file })
    closers.push(() => replayer.stop())
    await replayer.start()
    expect(await within(replayer.done, 10_000, 'replay')).toMatchObject({ outcome: 'finished', published: stream.length })
    const got = await sub.waitFor(stream.length, 5000)
    got.forEach((m, i) => expect(m.payload.equals(Buffer.from(stream[i]?.payload ?? [])), `payload ${i}`).toBe(true))
    const want = recorded.slice(1).map((m, i) => m.t - (recorded[i]?.t ?? 0))
    const seen = got.slice(1).map((m, i) => m.at - (got[i]?.at ?? 0))
    const deviation = seen.map((g, i) => Math.abs(g - (want[i] ?? 0)))
    console.info(`mosquitto replay timing at speed 1: recorded gaps ${want.join(",")}; replayed ${seen.map((g) => g.toFixed(1)).join(",")}; max deviation ${Math.max(...deviation).toFixed(1)} ms`)
    for (const d of deviation) expect(d).toBeLessThanOrEqual(TOLERANCE_MS)

    // Replayed retained: a subscriber arriving afterwards gets state and birth from the sink's store.
    const late = await collect(sink.url, [filters.all('state'), filters.all('birth')])
    closers.push(() => late.close())
    const kept = await late.waitFor(2, 5000)
    expect(kept.every((m) => m.retain)).toBe(true)
    expect(kept.map((m) => m.topic).sort()).toEqual([stream[0]?.topic, stream[1]?.topic].sort())
  }, 30_000)
})
