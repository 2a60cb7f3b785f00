/**
 * The uplink over an outage, end to end: readings keep being appended while the broker
 * (Aedes: stopped and started again on the same port, losing its sessions) or the link
 * (mosquitto: the proxy refuses connections) is down. Batches that were in flight when
 * it went — published, forwarded, but their PUBACK withheld — must come again with the
 * same seq and bytes; everything appended during the outage must arrive historical,
 * oldest first; nothing may be missing.
 *
 * Judged as the cloud judges: by (gateway, seq) over everything its subscriber received.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Reading, TelemetryBatch } from '../../shared/mqtt/index.ts'
import { startAedes, type TestBroker } from '../../simulators/test-support/broker.ts'
import { keyOf } from '../outbox/test-support/outbox-helpers.ts'
import { BROKERS, Cleanup, reading, startCloud, startGateway, startSite, until, type Cloud } from './test-support/harness.ts'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

interface Arrival {
  seq: number
  bytes: string
  batch: TelemetryBatch
  /** Which subscriber saw it: before or after the outage. */
  phase: 'before' | 'after'
}

function arrivals(cloud: Cloud, phase: Arrival['phase']): Arrival[] {
  return cloud.of('telemetry').map((t) => ({ seq: t.message.seq, bytes: t.bytes.toString('base64'), batch: t.message, phase }))
}

describe.each(BROKERS)('store and forward on $name', (brokerKind) => {
  it('readings appended while the broker is away all arrive, historical, oldest first; batches in flight come again with the same seq', async (ctx) => {
    const site = await startSite(brokerKind, ctx, cleanup)
    const gw = startGateway(site.proxy.url, cleanup, { batch: { maxReadings: 10, maxBytes: 64 * 1024, maxDelayMs: 0 }, maxInFlight: 4 })
    await site.cloud.next('state', (s) => s.state === 'online')
    let ts = 1_764_052_800_000
    const appended: Reading[] = []
    const add = (n: number): void => {
      const rs = Array.from({ length: n }, () => reading(`pv-0${(ts % 3) + 1}`, ts++))
      appended.push(...rs)
      gw.append(rs)
    }

    // Live, acknowledged.
    add(25)
    await until('the live readings acknowledged', () => gw.outbox.stats().readings === 0)

    // In flight when the outage starts: forwarded to the cloud, PUBACKs withheld.
    const acked = arrivals(site.cloud, 'before').length
    site.proxy.holdDownstream()
    add(45)
    await until('4 batches in flight', () => gw.uplink.stats().inFlight === 4)
    expect(gw.outbox.stats()).toMatchObject({ inFlight: 4, pending: 5 })
    await until('the held batches forwarded', () => arrivals(site.cloud, 'before').length === acked + 4)

    // The outage.
    let cloudAfter: Cloud
    let broker: TestBroker = site.broker
    if (brokerKind.name === 'aedes') {
      await site.broker.close()
      site.proxy.cut()
    } else {
      site.proxy.down()
    }
    await until('the gateway to notice', () => gw.uplink.stats().state !== 'online')
    const offlineFrom = appended.length
    for (let i = 0; i < 5; i++) {
      add(11)
      await new Promise((r) => setTimeout(r, 30))
    }
    expect(gw.uplink.stats().state).not.toBe('online')
    expect(gw.outbox.stats().pending).toBeGreaterThanOrEqual(55)

    // Back.
    if (brokerKind.name === 'aedes') {
      broker = await startAedes({}, site.broker.port)
      cleanup.add(() => broker.close())
      cloudAfter = await startCloud(broker.url)
      cleanup.add(() => cloudAfter.close())
    } else {
      cloudAfter = site.cloud
      site.proxy.up()
    }
    await until(() => `the outbox drained (${JSON.stringify(gw.outbox.stats())})`, () => gw.outbox.stats().readings === 0 && gw.outbox.stats().batches === 0, 15_000)

    // Judge. With mosquitto the one subscriber saw both sides of the outage; split them by the new online state.
    const onlineAgain = await cloudAfter.next('state', (s) => s.state === 'online' && s.session > (site.cloud.of('state')[0]?.message.session ?? 0))
    const all: Arrival[] =
      brokerKind.name === 'aedes'
        ? [...arrivals(site.cloud, 'before'), ...arrivals(cloudAfter, 'after')]
        : cloudAfter.of('telemetry').map((t) => ({ seq: t.message.seq, bytes: t.bytes.toString('base64'), batch: t.message, phase: t.index > onlineAgain.index ? 'after' : 'before' }))

    const first = new Map<number, Arrival>()
    for (const a of all) {
      const earlier = first.get(a.seq)
      if (earlier === undefined) first.set(a.seq, a)
      else expect(a.bytes, `seq ${a.seq} came again with other bytes`).toBe(earlier.bytes)
    }
    // None missing, none twice: every appended reading in exactly one seq.
    const delivered = [...first.values()].flatMap((a) => a.batch.readings.map(keyOf))
    expect(new Set(delivered).size).toBe(delivered.length)
    expect(new Set(delivered)).toEqual(new Set(appended.map(keyOf)))
    // No gap in seq.
    const seqs = [...first.keys()].sort((a, b) => a - b)
    expect(seqs[seqs.length - 1]! - seqs[0]! + 1).toBe(seqs.length)

    // The batches held in flight came again after the outage, same seq (bytes checked above).
    const before = new Set(all.filter((a) => a.phase === 'before').map((a) => a.seq))
    const after = all.filter((a) => a.phase === 'after')
    const redelivered = after.filter((a) => before.has(a.seq)).map((a) => a.seq)
    expect(redelivered.length).toBeGreaterThanOrEqual(4)
    // After the outage: oldest first, redeliveries before anything new.
    expect(after.map((a) => a.seq)).toEqual([...after.map((a) => a.seq)].sort((a, b) => a - b))

    // Readings appended during the outage: historical, in append order.
    const offlineKeys = new Set(appended.slice(offlineFrom).map(keyOf))
    const offline = after.flatMap((a) => a.batch.readings).filter((r) => offlineKeys.has(keyOf(r)))
    expect(offline).toHaveLength(appended.length - offlineFrom)
    expect(offline.every((r) => r.historical)).toBe(true)
    expect(offline.map((r) => r.ts)).toEqual(appended.slice(offlineFrom).map((r) => r.ts))

    // And the gateway said who it is before any of it.
    const birthIndex = (await cloudAfter.next('birth', (b) => b.session === onlineAgain.message.session)).index
    const firstAfter = cloudAfter.of('telemetry').find((t) => t.index > onlineAgain.index)
    expect(birthIndex).toBeLessThan(firstAfter!.index)
  }, 30_000)

  it('closes batches by count at once and waits up to maxDelayMs for a partial one', async (ctx) => {
    const site = await startSite(brokerKind, ctx, cleanup)
    const gw = startGateway(site.proxy.url, cleanup, { batch: { maxReadings: 5, maxBytes: 64 * 1024, maxDelayMs: 60_000 } })
    await site.cloud.next('state', (s) => s.state === 'online')
    gw.append(Array.from({ length: 12 }, (_, i) => reading('pv-01', 1_000 + i)))
    await until('two full batches', () => site.cloud.of('telemetry').length === 2)
    await new Promise((r) => setTimeout(r, 300))
    expect(site.cloud.of('telemetry').map((t) => t.message.readings.length)).toEqual([5, 5])
    expect(gw.outbox.stats().pending).toBe(2) // the partial batch waits for more, or for maxDelayMs
  })

  it('sends a partial batch once maxDelayMs has passed', async (ctx) => {
    const site = await startSite(brokerKind, ctx, cleanup)
    const gw = startGateway(site.proxy.url, cleanup, { batch: { maxReadings: 100, maxBytes: 64 * 1024, maxDelayMs: 300 } })
    await site.cloud.next('state', (s) => s.state === 'online')
    gw.append([reading('pv-01', 1_000), reading('pv-02', 1_000)])
    gw.append([reading('pv-01', 2_000)])
    const t = await site.cloud.next('telemetry')
    expect(t.message.readings.map(keyOf)).toEqual(['pv-01@1000', 'pv-02@1000', 'pv-01@2000'])
    expect(t.message.readings.every((r) => !r.historical)).toBe(true)
  })
})
