import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { examples, filters, preparePublish, topics } from '../../shared/mqtt/index.ts'
import { collect, startAedes, within, type AedesBroker, type Collector } from '../test-support/broker.ts'
import { BrokerError, brokerTarget } from './connect.ts'
import { formatEntry, formatHeader, RecordingError, type RecordedMessage } from './format.ts'
import type { ReplayProgress } from './pace.ts'
import { openRecording } from './reader.ts'
import { Recorder } from './recorder.ts'
import { Replayer, type ReplayerOptions } from './replayer.ts'

/** Inter-arrival tolerance asserted below, in ms. */
const TOLERANCE_MS = 25
/** Gaps between the published messages of the recorded stream, ms (100–400). */
const GAPS_MS = [100, 250, 400, 150, 300, 200, 120, 350]

const telemetry = (seq: number) => {
  const batch = structuredClone(examples.telemetry)
  batch.seq = seq
  return preparePublish('telemetry', 'north', 'gw-01', batch)
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const gaps = (ts: number[]) => ts.slice(1).map((t, i) => t - (ts[i] ?? 0))

let dir: string
/** The recording made once from a live stream (recorder on a real broker), used by the timing tests. */
let recorded: { file: string; messages: RecordedMessage[]; sent: Uint8Array[] }

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'muni-replayer-'))
  const source = await startAedes()
  const file = join(dir, 'stream.ndjson')
  const recorder = new Recorder({ broker: brokerTarget({ broker: source.url }, {}), out: file, filters: [filters.allTelemetry()] })
  const pub = await mqtt.connectAsync(source.url, { reconnectPeriod: 0 })
  try {
    await recorder.start()
    const sent: Uint8Array[] = []
    for (let i = 0; i <= GAPS_MS.length; i++) {
      if (i > 0) await sleep(GAPS_MS[i - 1] ?? 0)
      const m = telemetry(i + 1)
      sent.push(m.payload)
      await pub.publishAsync(m.topic, Buffer.from(m.payload), { qos: m.qos, retain: m.retain })
    }
    await within((async () => { while (recorder.stats.messages < sent.length) await sleep(5) })(), 5000, 'recording')
    await recorder.stop()
    const { messages } = await openRecording(file)
    const list: RecordedMessage[] = []
    for await (const m of messages) list.push(m)
    recorded = { file, messages: list, sent }
  } finally {
    await recorder.stop()
    await pub.endAsync(true)
    await source.close()
  }
}, 20_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let target: AedesBroker | undefined
let sub: Collector | undefined
let replayer: Replayer | undefined
afterEach(async () => {
  await replayer?.stop()
  replayer = undefined
  await sub?.close()
  sub = undefined
  await target?.close()
  target = undefined
})

async function replayTo(options: Omit<ReplayerOptions, 'broker'>, filter: string | string[] = '#') {
  target = await startAedes()
  sub = await collect(target.url, filter)
  replayer = new Replayer({ broker: brokerTarget({ broker: target.url }, {}), ...options })
  const scan = await replayer.start()
  return { scan, sub, replayer }
}

function writeRecording(name: string, messages: RecordedMessage[], extraLines: string[] = []): string {
  const file = join(dir, name)
  const header = formatHeader({ format: 'muni-recording', version: 1, startedAt: Date.now(), broker: 'mqtt://test', filters: ['#'], retainAsPublished: true })
  writeFileSync(file, [header, ...messages.map(formatEntry), ...extraLines].join('\n') + '\n')
  return file
}

describe('Replayer (recorded on one in-process Aedes, replayed to another)', () => {
  it(`speed 1: every payload byte-identical and in order; inter-arrival times within ±${TOLERANCE_MS} ms of the recorded gaps (100–400 ms)`, async () => {
    const { sub: s, replayer: r } = await replayTo({ file: recorded.file })
    const summary = await within(r.done, 10_000, 'replay')
    expect(summary).toMatchObject({ outcome: 'finished', published: recorded.messages.length, total: recorded.messages.length, loops: 1 })
    const got = await s.waitFor(recorded.messages.length, 5000)
    expect(got.map((m) => m.topic)).toEqual(recorded.messages.map((m) => m.topic))
    got.forEach((m, i) => {
      expect(m.payload.equals(Buffer.from(recorded.messages[i]?.payload ?? [])), `payload ${i} as recorded`).toBe(true)
      expect(m.payload.equals(Buffer.from(recorded.sent[i] ?? [])), `payload ${i} as originally published`).toBe(true)
    })
    const want = gaps(recorded.messages.map((m) => m.t))
    const seen = gaps(got.map((m) => m.at))
    const deviation = seen.map((g, i) => Math.abs(g - (want[i] ?? 0)))
    console.info(`replay timing at speed 1: recorded gaps ${want.join(',')} ms; max deviation ${Math.max(...deviation).toFixed(1)} ms`)
    for (const [i, d] of deviation.entries()) expect(d, `gap ${i}: recorded ${want[i]} ms, replayed ${seen[i]?.toFixed(1)} ms`).toBeLessThanOrEqual(TOLERANCE_MS)
  })

  it(`--speed 10 scales the gaps to a tenth (each gap and the whole span within ±${TOLERANCE_MS} ms)`, async () => {
    const { sub: s, replayer: r } = await replayTo({ file: recorded.file, pace: { mode: 'timed', speed: 10 } })
    await within(r.done, 10_000, 'replay')
    const got = await s.waitFor(recorded.messages.length, 5000)
    const want = gaps(recorded.messages.map((m) => m.t)).map((g) => g / 10)
    const seen = gaps(got.map((m) => m.at))
    const deviation = seen.map((g, i) => Math.abs(g - (want[i] ?? 0)))
    console.info(`replay timing at speed 10: max deviation ${Math.max(...deviation).toFixed(1)} ms`)
    for (const d of deviation) expect(d).toBeLessThanOrEqual(TOLERANCE_MS)
    const span = (got.at(-1)?.at ?? 0) - (got[0]?.at ?? 0)
    const recordedSpan = (recorded.messages.at(-1)?.t ?? 0) - (recorded.messages[0]?.t ?? 0)
    expect(Math.abs(span - recordedSpan / 10)).toBeLessThanOrEqual(TOLERANCE_MS)
  })

  it('--fast delivers all 2000 messages in order though they were recorded an hour apart, and reports progress to the end', async () => {
    const n = 2000
    const file = writeRecording('fast.ndjson', Array.from({ length: n }, (_, i) => ({ t: i * 3_600_000, topic: topics.telemetry('north', 'gw-01'), qos: 1 as const, retain: false, payload: telemetry(i + 1).payload })))
    const progress: ReplayProgress[] = []
    const { sub: s, replayer: r, scan } = await replayTo({ file, pace: { mode: 'fast' }, maxInFlight: 50, onProgress: (p) => progress.push(p) })
    expect(scan.messages).toBe(n)
    const summary = await within(r.done, 20_000, 'fast replay')
    expect(summary).toMatchObject({ outcome: 'finished', published: n })
    const got = await s.waitFor(n, 10_000)
    expect(got.map((m) => (JSON.parse(m.payload.toString()) as { seq: number }).seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1))
    expect(progress.at(-1)).toMatchObject({ done: n, total: n, etaMs: 0 })
    expect(progress.at(-1)?.rate).toBeGreaterThan(0)
  })

  it('replays retained messages retained (a subscriber arriving afterwards gets them) and QoS as recorded', async () => {
    const state = preparePublish('state', 'north', 'gw-01', examples.state)
    const file = writeRecording('retained.ndjson', [
      { t: 0, topic: state.topic, qos: 1, retain: true, payload: state.payload },
      { t: 5, topic: topics.events('north', 'gw-01'), qos: 0, retain: false, payload: new TextEncoder().encode('{"not":"valid"}'), violation: { path: '', reason: 'x' } },
    ])
    const { sub: s, replayer: r } = await replayTo({ file })
    await within(r.done, 5000, 'replay')
    const live = await s.waitFor(2)
    expect(live.map((m) => m.qos)).toEqual([1, 0])
    const late = await collect(target?.url ?? '', filters.all('state'))
    try {
      const [m] = await late.waitFor(1, 5000)
      expect(m?.retain).toBe(true)
      expect(m?.payload.equals(Buffer.from(state.payload))).toBe(true)
    } finally {
      await late.close()
    }
  })

  it('validates the whole file first: a corrupt line 7 stops the replay before anything is published (file:line: reason)', async () => {
    const good = Array.from({ length: 5 }, (_, i) => ({ t: i, topic: topics.telemetry('north', 'gw-01'), qos: 1 as const, retain: false, payload: telemetry(i + 1).payload }))
    const file = writeRecording('corrupt.ndjson', good, ['{"t":9,"topic":"muni/v1/north/gw-01/telemetry","qos":1,"retain":fals'])
    const err = await replayTo({ file, pace: { mode: 'fast' } }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RecordingError)
    expect((err as Error).message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:7: not valid JSON`))
    await sleep(200)
    expect(sub?.messages).toHaveLength(0)
    expect(await replayer?.done).toMatchObject({ outcome: 'failed', published: 0 })
  })

  it('refuses a recording with requests to gateways (command topics) unless allowed', async () => {
    const cmd = preparePublish('command', 'north', 'gw-01', examples.command)
    const file = writeRecording('commands.ndjson', [{ t: 0, topic: cmd.topic, qos: 1, retain: false, payload: cmd.payload }])
    await expect(replayTo({ file })).rejects.toThrow(/holds 1 message\(s\) on command topics .* Pass --with-commands/)
    await sub?.close()
    await target?.close()
    const { sub: s, replayer: r } = await replayTo({ file, allowCommands: true })
    expect(await within(r.done, 5000, 'replay')).toMatchObject({ outcome: 'finished', published: 1 })
    expect(await s.waitFor(1)).toHaveLength(1)
  })

  it('stop() ends a replay early with what the broker acknowledged', async () => {
    const file = writeRecording('slow.ndjson', Array.from({ length: 10 }, (_, i) => ({ t: i * 200, topic: topics.telemetry('north', 'gw-01'), qos: 1 as const, retain: false, payload: telemetry(i + 1).payload })))
    const { sub: s, replayer: r } = await replayTo({ file })
    await s.waitFor(2, 5000)
    const summary = await within(r.stop(), 5000, 'stop')
    expect(summary.outcome).toBe('stopped')
    expect(summary.published).toBeGreaterThanOrEqual(2)
    expect(summary.published).toBeLessThan(10)
  })

  it('--loop starts over after the last message until stopped', async () => {
    const file = writeRecording('loop.ndjson', Array.from({ length: 3 }, (_, i) => ({ t: i * 10, topic: topics.telemetry('north', 'gw-01'), qos: 1 as const, retain: false, payload: telemetry(i + 1).payload })))
    const { sub: s, replayer: r } = await replayTo({ file, loop: true })
    const got = await s.waitFor(9, 5000)
    expect(got.map((m) => (JSON.parse(m.payload.toString()) as { seq: number }).seq)).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3])
    const summary = await within(r.stop(), 5000, 'stop')
    expect(summary).toMatchObject({ outcome: 'stopped' })
    // Pass 3 began only after pass 2 was fully acknowledged; its own last PUBACK may still be in flight.
    expect(summary.loops).toBeGreaterThanOrEqual(2)
  })

  it('ends as failed, saying how far it got, when the broker goes away mid-replay', async () => {
    const file = writeRecording('lost.ndjson', Array.from({ length: 10 }, (_, i) => ({ t: i * 100, topic: topics.telemetry('north', 'gw-01'), qos: 1 as const, retain: false, payload: telemetry(i + 1).payload })))
    const { sub: s, replayer: r } = await replayTo({ file })
    await s.waitFor(2, 5000)
    await target?.close()
    const summary = await within(r.done, 5000, 'replay end')
    expect(summary.outcome).toBe('failed')
    expect(summary.error).toBeInstanceOf(BrokerError)
    expect(summary.error?.message).toMatch(new RegExp(`^lost the connection to broker ${target?.url} after \\d+ acknowledged publish\\(es\\)$`))
  })
})
