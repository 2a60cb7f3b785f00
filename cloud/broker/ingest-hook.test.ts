/**
 * The ingest hook (`onPublish`) runs before the broker acknowledges a message: the
 * PUBACK waits for it, a rejection leaves the message unacknowledged and the client
 * sends it again, and Wills (a gateway's `offline`) reach it too.
 */
import type { PublishPacket } from 'aedes'
import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { topics } from '../../shared/mqtt/topics.ts'
import { startAedes } from '../../simulators/test-support/broker.ts'
import type { PublishOrigin } from './hooks.ts'
import { Cleanup, connectAs, eventually, inbox, start, USERS, within } from './test-support/setup.ts'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const { gw1, cloud } = USERS
const telemetry1 = topics.telemetry(gw1.site, gw1.gateway)
const state1 = topics.state(gw1.site, gw1.gateway)

interface Call {
  topic: string
  payload: string
  messageId: number | undefined
  clientId: string | undefined
  origin: PublishOrigin
}
const record = (calls: Call[], packet: PublishPacket, clientId: string | undefined, origin: PublishOrigin): void => {
  calls.push({ topic: packet.topic, payload: packet.payload.toString(), messageId: packet.messageId, clientId, origin })
}

describe('ingest hook', () => {
  it('holds the PUBACK until the hook resolves', async () => {
    const events: string[] = []
    let release: () => void = () => {}
    const { broker } = await start(cleanup, {
      onPublish: () =>
        new Promise<void>((resolve) => {
          events.push('hook called')
          release = () => {
            events.push('hook resolved')
            resolve()
          }
        }),
    })
    const g = await connectAs(cleanup, broker.url, gw1)
    const acked = g.publishAsync(telemetry1, '{"n":1}', { qos: 1 }).then(() => events.push('PUBACK'))
    await eventually(() => events.includes('hook called'))
    // The hook is pending: however long we wait, no PUBACK comes.
    await new Promise((r) => setTimeout(r, 300))
    expect(events).toEqual(['hook called'])
    release()
    await within(acked, 5_000, 'the PUBACK')
    expect(events).toEqual(['hook called', 'hook resolved', 'PUBACK'])
  })

  it("is needed: plain Aedes writes the QoS 1 PUBACK before its `published` hook runs, and would not wait for it", async () => {
    const events: string[] = []
    let release: () => void = () => {}
    const plain = await startAedes({
      published: (packet, _client, done) => {
        if (packet.topic !== telemetry1) return done()
        events.push('published called')
        release = () => {
          events.push('published done')
          done()
        }
      },
    })
    cleanup.add(() => plain.close())
    const c = mqtt.connect(plain.url, { reconnectPeriod: 0 })
    cleanup.add(() => new Promise<void>((resolve) => c.end(true, () => resolve())))
    await within(new Promise((r) => c.once('connect', r)), 5_000, 'connect')
    // The PUBACK arrives although `published` has not called back (it never will before release()).
    await within(c.publishAsync(telemetry1, 'x', { qos: 1 }), 5_000, 'the PUBACK')
    expect(events).not.toContain('published done')
    await eventually(() => events.includes('published called'))
    release()
  })

  it('does not acknowledge a message whose hook rejects: the connection closes and the client sends the same packet again', async () => {
    const calls: Call[] = []
    const { broker, lines } = await start(cleanup, {
      onPublish: (packet, clientId, origin) => {
        record(calls, packet, clientId, origin)
        if (calls.length === 1) throw new Error('storage is down')
      },
    })
    const c = await connectAs(cleanup, broker.url, cloud)
    const routed = inbox(c)
    await c.subscribeAsync(telemetry1, { qos: 1 })
    // MQTT.js keeps the unacknowledged packet and resends it after reconnecting.
    const g = mqtt.connect(broker.url, { username: gw1.username, password: gw1.password, clientId: 'muni-edge-gw-01', clean: false, reconnectPeriod: 100 })
    cleanup.add(() => new Promise<void>((resolve) => g.end(true, () => resolve())))
    g.on('error', () => {})
    let closes = 0
    g.on('close', () => closes++)
    await within(new Promise((r) => g.once('connect', r)), 5_000, 'connect')
    await within(g.publishAsync(telemetry1, '{"seq":7}', { qos: 1 }), 10_000, 'the PUBACK after redelivery')

    expect(closes).toBeGreaterThanOrEqual(1)
    expect(calls).toHaveLength(2)
    expect(calls[1]).toEqual(calls[0]) // same packet: same message id, same payload
    expect(calls[0]).toMatchObject({ topic: telemetry1, payload: '{"seq":7}', clientId: 'muni-edge-gw-01', origin: { will: false, identity: { role: 'gateway', site: 'north', gateway: 'gw-01' } } })
    expect(broker.stats()).toMatchObject({ ingestFailuresTotal: 1, messagesInTotal: 1 })
    expect(lines.join('\n')).toContain('ingest failed for "muni/v1/north/gw-01/telemetry" from client id "muni-edge-gw-01" (not acknowledged, closing the connection so the client redelivers): storage is down')
    // The failed attempt was never routed: subscribers get the message once.
    await routed.waitFor(1)
    await new Promise((r) => setTimeout(r, 100))
    expect(routed.messages.map((m) => m.payload)).toEqual(['{"seq":7}'])
  })

  it('calls the hook in order for state, birth and events, each after everything before it', async () => {
    const seen: string[] = []
    let active = 0
    let overlap = false
    const { broker } = await start(cleanup, {
      onPublish: async (packet) => {
        active++
        if (active > 1) overlap = true
        await new Promise((r) => setTimeout(r, 5))
        seen.push(packet.payload.toString())
        active--
      },
    })
    const g = await connectAs(cleanup, broker.url, gw1)
    const sent = Array.from({ length: 20 }, (_, i) => String(i))
    await Promise.all(sent.map((p) => g.publishAsync(state1, p, { qos: 1 })))
    expect(seen).toEqual(sent)
    expect(overlap).toBe(false)
  })

  it('ingests the telemetry of one socket read together, but only after the messages before it', async () => {
    const seen: string[] = []
    let active = 0
    let peak = 0
    const { broker } = await start(cleanup, {
      onPublish: async (packet) => {
        active++
        peak = Math.max(peak, active)
        await new Promise((r) => setTimeout(r, packet.topic === state1 ? 30 : 5))
        seen.push(packet.payload.toString())
        active--
      },
    })
    const g = await connectAs(cleanup, broker.url, gw1)
    // Written back to back: they reach the broker in few socket reads.
    const all = [g.publishAsync(state1, 'state', { qos: 1 }), ...Array.from({ length: 20 }, (_, i) => g.publishAsync(telemetry1, `t${i}`, { qos: 1 }))]
    await Promise.all(all)
    expect(seen[0]).toBe('state')
    expect(seen.slice(1).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `t${i}`).sort())
    expect(peak).toBeGreaterThan(1)
  })

  it("hands a gateway's Will to the hook, and no $SYS message", async () => {
    const calls: Call[] = []
    const { broker } = await start(cleanup, { heartbeatIntervalMs: 20, onPublish: (packet, clientId, origin) => record(calls, packet, clientId, origin) })
    const g = await connectAs(cleanup, broker.url, gw1, { clientId: 'muni-edge-gw-01', will: { topic: state1, payload: Buffer.from('{"state":"offline"}'), qos: 1, retain: true } })
    await new Promise((r) => setTimeout(r, 100)) // several $SYS heartbeats
    g.stream.destroy()
    await eventually(() => calls.length === 1)
    expect(calls).toEqual([{ topic: state1, payload: '{"state":"offline"}', messageId: undefined, clientId: 'muni-edge-gw-01', origin: { clientId: 'muni-edge-gw-01', will: true, identity: expect.objectContaining({ role: 'gateway' }) } }])
    expect(broker.stats()).toMatchObject({ willsTotal: 1, messagesInTotal: 0 })
  })
})
