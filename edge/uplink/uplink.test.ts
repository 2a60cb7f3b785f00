/**
 * The connection lifecycle of docs/wire-contract.md against real brokers — Aedes in
 * process and a mosquitto process — with the gateway behind a TCP proxy the test can
 * cut (test-support/proxy.ts). What the broker publishes is judged by a subscriber, as
 * the cloud would see it.
 */
import { createConnection, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { requireBinary } from '../../shared/test-support/binaries.ts'
import { collect } from '../../simulators/test-support/broker.ts'
import { filters, topics } from '../../shared/mqtt/index.ts'
import { BROKERS, Cleanup, startGateway, startSite, until } from './test-support/harness.ts'
import { kernelNoDelay, PYTHON } from './test-support/nodelay.ts'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

/** The retained message a new subscriber gets on `topic`. */
async function retained(url: string, topic: string): Promise<{ retain: boolean; json: unknown }> {
  const c = await collect(url, topic)
  try {
    const [m] = await c.waitFor(1, 5_000)
    return { retain: m!.retain, json: JSON.parse(m!.payload.toString()) }
  } finally {
    await c.close()
  }
}

describe.each(BROKERS)('uplink lifecycle on $name', (brokerKind) => {
  it('publishes the retained birth, then the retained online state, both with the session it persisted', async (ctx) => {
    const { broker, proxy, cloud } = await startSite(brokerKind, ctx, cleanup)
    const gw = startGateway(proxy.url, cleanup)
    const birth = await cloud.next('birth')
    const online = await cloud.next('state', (s) => s.state === 'online')
    const session = gw.sessions.current()
    expect(session).toBeDefined()
    expect(birth.message).toMatchObject({ gateway: 'gw-01', site: 'north', session, agent: { name: 'muni-edge' } })
    expect(birth.message.devices.map((d) => d.device)).toEqual(['pv-01', 'wl-07'])
    expect(online.message).toMatchObject({ state: 'online', session })
    expect(online.message.ts).toBeGreaterThanOrEqual(birth.message.ts)
    expect(birth.index).toBeLessThan(online.index)
    expect(gw.uplink.stats()).toMatchObject({ state: 'online', session, connects: 1 })

    // Retained: a subscriber that comes later gets both.
    expect(await retained(broker.url, topics.birth('north', 'gw-01'))).toMatchObject({ retain: true, json: { session } })
    expect(await retained(broker.url, topics.state('north', 'gw-01'))).toMatchObject({ retain: true, json: { state: 'online', session } })
  })

  it('an abrupt loss makes the broker publish the Will of that session; the reconnect is session N+1 and registers its own Will', async (ctx) => {
    const { broker, proxy, cloud } = await startSite(brokerKind, ctx, cleanup)
    const gw = startGateway(proxy.url, cleanup)
    const first = await cloud.next('state', (s) => s.state === 'online')
    const n = first.message.session

    proxy.cut()
    const will = await cloud.next('state', (s) => s.state === 'offline', first.index)
    expect(will.message).toEqual({ state: 'offline', session: n }) // the Will: no ts

    const birth = await cloud.next('birth', (b) => b.session === n + 1, first.index)
    const online = await cloud.next('state', (s) => s.state === 'online', will.index)
    expect(online.message.session).toBe(n + 1)
    expect(birth.index).toBeLessThan(online.index)
    expect(gw.sessions.current()).toBe(n + 1)

    // The Will the broker holds now is the new connection's.
    proxy.cut()
    const will2 = await cloud.next('state', (s) => s.state === 'offline', online.index)
    expect(will2.message).toEqual({ state: 'offline', session: n + 1 })
    await cloud.next('state', (s) => s.state === 'online' && s.session === n + 2, will2.index)
    proxy.down()
    await until('the gateway to notice', () => gw.uplink.stats().state !== 'online')
    const will3 = await cloud.next('state', (s) => s.state === 'offline' && s.session === n + 2, will2.index)
    expect(will3.message).toEqual({ state: 'offline', session: n + 2 })
    expect(await retained(broker.url, topics.state('north', 'gw-01'))).toMatchObject({ retain: true, json: { state: 'offline', session: n + 2 } })
  })

  it('sets TCP_NODELAY on its socket, on every connection (read back from the kernel)', async (ctx) => {
    requireBinary(ctx, PYTHON)
    const { proxy, cloud } = await startSite(brokerKind, ctx, cleanup)
    startGateway(proxy.url, cleanup)
    const online = await cloud.next('state', (s) => s.state === 'online')
    const [port] = proxy.clientPorts()
    expect(await kernelNoDelay(port!, proxy.port)).toBe(true)

    // The probe can fail: a socket nobody set it on reads 0.
    const plain: Socket = createConnection({ port: proxy.port, host: '127.0.0.1' })
    cleanup.add(() => plain.destroy())
    await new Promise<void>((resolve) => plain.once('connect', () => resolve()))
    expect(await kernelNoDelay(plain.localPort!, proxy.port)).toBe(false)
    plain.destroy()

    proxy.cut()
    await cloud.next('state', (s) => s.state === 'online', online.index)
    await until('one gateway connection', () => proxy.clientPorts().length === 1)
    const [again] = proxy.clientPorts()
    expect(again).not.toBe(port)
    expect(await kernelNoDelay(again!, proxy.port)).toBe(true)
  })

  it('a QoS 1 command published while the gateway is away is delivered on reconnect and answered after the new birth', async (ctx) => {
    const { proxy, cloud } = await startSite(brokerKind, ctx, cleanup)
    const handled: string[] = []
    const gw = startGateway(proxy.url, cleanup, {
      onCommand: async (req) => {
        handled.push(req.id)
        return { id: req.id, ts: Date.now(), ok: true }
      },
    })
    const online = await cloud.next('state', (s) => s.state === 'online')
    proxy.down()
    // The broker knows the gateway is gone once it has published its Will.
    const will = await cloud.next('state', (s) => s.state === 'offline', online.index)
    await cloud.command({ type: 'rebirth', id: 'cmd-while-away', ts: Date.now(), timeoutMs: 60_000 })
    await new Promise((r) => setTimeout(r, 200))
    expect(handled).toEqual([])

    proxy.up()
    const res = await cloud.response('cmd-while-away')
    expect(res.message).toMatchObject({ id: 'cmd-while-away', ok: true })
    expect(handled).toEqual(['cmd-while-away'])
    const online2 = await cloud.next('state', (s) => s.state === 'online', will.index)
    expect(online2.message.session).toBeGreaterThan(online.message.session)
    expect(res.index).toBeGreaterThan(online2.index)
    expect(gw.uplink.stats().commands).toMatchObject({ received: 1, answered: 1 })
  })

  it('a clean stop publishes a retained offline state with ts and the broker discards the Will', async (ctx) => {
    const { broker, proxy, cloud } = await startSite(brokerKind, ctx, cleanup)
    const gw = startGateway(proxy.url, cleanup)
    const online = await cloud.next('state', (s) => s.state === 'online')
    await gw.uplink.stop()
    const offline = await cloud.next('state', (s) => s.state === 'offline', online.index)
    expect(offline.message).toMatchObject({ state: 'offline', session: online.message.session })
    expect(offline.message.ts).toBeGreaterThanOrEqual(online.message.ts!)
    // Anything the broker published for the gateway's end is in before a marker published after it.
    await cloud.collector.client.publishAsync(topics.events('north', 'gw-01'), JSON.stringify({ device: 'marker-1', ts: 1, event: 'available' }), { qos: 1 })
    const marker = await cloud.next('events', (e) => e.device === 'marker-1')
    expect(cloud.of('state').filter((s) => s.index > online.index && s.index < marker.index).map((s) => s.message)).toEqual([offline.message])
    expect(await retained(broker.url, topics.state('north', 'gw-01'))).toMatchObject({ retain: true, json: { state: 'offline', ts: offline.message.ts } })
    expect(gw.uplink.stats().state).toBe('stopped')
  })

  it('events wait for the connection and go out after the next online state, in order', async (ctx) => {
    const { proxy, cloud } = await startSite(brokerKind, ctx, cleanup)
    const gw = startGateway(proxy.url, cleanup)
    const online = await cloud.next('state', (s) => s.state === 'online')
    gw.uplink.publishEvent({ device: 'pv-01', ts: 1_000, event: 'available' })
    await cloud.next('events', (e) => e.ts === 1_000)
    proxy.down()
    await until('the gateway to notice', () => gw.uplink.stats().state !== 'online')
    gw.uplink.publishEvent({ device: 'pv-01', ts: 2_000, event: 'unavailable', reason: '3 polls unanswered', error: { code: 'timeout' } })
    gw.uplink.publishEvent({ device: 'wl-07', ts: 2_001, event: 'profile_mismatch', reason: 'firmware 3.0.2' })
    expect(gw.uplink.stats().pending).toBe(2)
    proxy.up()
    const second = await cloud.next('events', (e) => e.ts === 2_001)
    const online2 = await cloud.next('state', (s) => s.state === 'online', online.index)
    const events = cloud.of('events').filter((e) => e.index > online2.index).map((e) => e.message.ts)
    expect(events).toEqual([2_000, 2_001])
    expect(second.index).toBeGreaterThan(online2.index)
    await until('the PUBACKs', () => gw.uplink.stats().pending === 0)
  })

  it('subscribes to its command topic only', async (ctx) => {
    const { proxy, cloud } = await startSite(brokerKind, ctx, cleanup)
    const gw = startGateway(proxy.url, cleanup)
    await cloud.next('state', (s) => s.state === 'online')
    // A message for another gateway under the same site never reaches this one.
    await cloud.collector.client.publishAsync(topics.command('north', 'gw-02'), '{}', { qos: 1 })
    await cloud.command({ type: 'rebirth', id: 'mine', ts: Date.now() })
    await cloud.response('mine')
    expect(gw.uplink.stats().commands.received).toBe(1)
    expect(filters.gatewayCommands('north', 'gw-01')).toBe(topics.command('north', 'gw-01'))
  })
})
