/**
 * Authentication and ACL of the embedded broker, end to end: real Aedes on
 * 127.0.0.1 port 0 and real MQTT.js clients (MQTT 3.1.1).
 */
import { createConnection } from 'node:net'
import mqttPacket from 'mqtt-packet'
import { afterEach, describe, expect, it } from 'vitest'
import { startAedes } from '../../simulators/test-support/broker.ts'
import { topics } from '../../shared/mqtt/topics.ts'
import { DEVELOPMENT_MODE_WARNING, startBroker } from './broker.ts'
import { Cleanup, closed, connect, connectAs, eventually, granted, inbox, rawConnect, start, tempDir, USERS, within, writeCredentials } from './test-support/setup.ts'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const { gw1, gw2, cloud } = USERS
const telemetry1 = topics.telemetry(gw1.site, gw1.gateway)
const telemetry2 = topics.telemetry(gw2.site, gw2.gateway)
const command1 = topics.command(gw1.site, gw1.gateway)
const command2 = topics.command(gw2.site, gw2.gateway)
const state1 = topics.state(gw1.site, gw1.gateway)
const state2 = topics.state(gw2.site, gw2.gateway)

describe('authentication', () => {
  it('accepts a gateway with its password and counts the connect and the client', async () => {
    const { broker } = await start(cleanup)
    await connectAs(cleanup, broker.url, gw1)
    await eventually(() => broker.stats().connectsTotal === 1 && broker.stats().clients === 1)
  })

  it('refuses a wrong password with CONNACK 4, logs username, client id and reason but never the password, and counts it', async () => {
    const { broker, lines } = await start(cleanup)
    const r = await connect(cleanup, broker.url, { username: gw1.username, password: 'not-the-Right-one-42', clientId: 'muni-edge-gw-01' })
    expect(r).toMatchObject({ ok: false, code: 4 })
    await eventually(() => broker.stats().denials.connect === 1)
    const refusal = lines.filter((l) => l.includes('connect refused'))
    expect(refusal).toEqual([expect.stringContaining(`username "${gw1.username}", client id "muni-edge-gw-01": wrong password (CONNACK 4`)])
    const all = lines.join('\n')
    expect(all).not.toContain('not-the-Right-one-42')
    expect(all).not.toContain(gw1.password)
    expect(all).not.toContain('scrypt$')
    expect(broker.stats()).toMatchObject({ connectsTotal: 0, clients: 0 })
  })

  it('refuses an unknown user with CONNACK 4', async () => {
    const { broker, lines } = await start(cleanup)
    expect(await connect(cleanup, broker.url, { username: 'gw-nobody', password: 'whatever' })).toMatchObject({ ok: false, code: 4 })
    expect(lines.join('\n')).toContain('unknown user')
  })

  it('refuses a client without credentials with CONNACK 5 unless development mode is on', async () => {
    const { broker } = await start(cleanup)
    expect(await connect(cleanup, broker.url)).toMatchObject({ ok: false, code: 5 })
    await eventually(() => broker.stats().denials.connect === 1)
  })

  it('reads a credentials file and reports its problems as file:line:column: field: reason', async () => {
    const dir = tempDir(cleanup)
    const lines: string[] = []
    const broker = await startBroker({ port: 0, credentialsFile: await writeCredentials(dir), log: (l) => lines.push(l) })
    cleanup.add(() => broker.close())
    await connectAs(cleanup, broker.url, cloud)
    const bad = `${dir}/bad.yaml`
    await import('node:fs').then((fs) => fs.writeFileSync(bad, '- username: x\n  passwordHash: scrypt$1$2$3$secret-ish$more\n  role: gateway\n'))
    await expect(startBroker({ port: 0, credentialsFile: bad })).rejects.toMatchObject({
      issues: [`${bad}:1:3: [0].gateway: is required for role gateway`, `${bad}:1:3: [0].site: is required for role gateway`, `${bad}:2:17: [0].passwordHash: scrypt parameters: N must be a power of two from 2 to 1048576`],
    })
  })

  it('refuses a CONNECT with an empty client id and clean session false with CONNACK 2 [MQTT-3.1.3-8]; plain Aedes accepts it', async () => {
    // MQTT.js ("Missing clientId for unclean clients") and mqtt-packet's generate() will not send this CONNECT: write it by hand.
    const raw = async (port: number, username?: string, password?: string): Promise<number> => {
      const socket = createConnection({ host: '127.0.0.1', port })
      cleanup.add(() => socket.destroy())
      const parser = mqttPacket.parser({ protocolVersion: 4 })
      const connack = new Promise<number>((resolve, reject) => {
        parser.on('packet', (p) => (p.cmd === 'connack' ? resolve(p.returnCode ?? -1) : reject(new Error(`got ${p.cmd}`))))
        socket.on('data', (d) => parser.parse(d))
        socket.on('close', () => reject(new Error('closed without CONNACK')))
      })
      socket.write(rawConnect({ clientId: '', clean: false, ...(username !== undefined ? { username, password } : {}) }))
      return within(connack, 5_000, 'CONNACK')
    }
    const plain = await startAedes()
    cleanup.add(() => plain.close())
    expect(await raw(plain.port)).toBe(0)
    const { broker, lines } = await start(cleanup)
    expect(await raw(broker.port, gw1.username, gw1.password)).toBe(2)
    expect(lines.join('\n')).toContain('an empty client id requires clean session [MQTT-3.1.3-8]')
    await eventually(() => broker.stats().denials.connect === 1)
  })
})

describe('MQTT 5', () => {
  it('refuses an MQTT 5 CONNECT with CONNACK 1 (Aedes 1.x speaks MQTT 3.1 and 3.1.1 only), counted as a connect denial', async () => {
    const { broker } = await start(cleanup)
    const socket = createConnection({ host: '127.0.0.1', port: broker.port })
    cleanup.add(() => socket.destroy())
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    const connack = new Promise<number>((resolve) => parser.on('packet', (p) => p.cmd === 'connack' && resolve(p.returnCode ?? -1)))
    socket.on('data', (d) => parser.parse(d))
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'v5-client', clean: true, keepalive: 30, username: gw1.username, password: Buffer.from(gw1.password) }))
    expect(await within(connack, 5_000, 'CONNACK')).toBe(1)
    await eventually(() => broker.stats().denials.connect === 1)
  })
})

describe('development mode', () => {
  it('lets anonymous clients connect with full access and logs a loud warning at every start', async () => {
    const a = await start(cleanup, { allowAnonymous: true, credentials: new Map() })
    const b = await start(cleanup, { allowAnonymous: true })
    expect(a.lines.filter((l) => l === DEVELOPMENT_MODE_WARNING)).toHaveLength(1)
    expect(b.lines.filter((l) => l === DEVELOPMENT_MODE_WARNING)).toHaveLength(1)
    expect(DEVELOPMENT_MODE_WARNING).toMatch(/WARNING: DEVELOPMENT MODE/)

    const r = await connect(cleanup, a.broker.url)
    if (!r.ok) throw new Error(r.message)
    const seen = inbox(r.client)
    expect(await r.client.subscribeAsync('#', { qos: 1 })).toEqual([{ topic: '#', qos: 1 }])
    await r.client.publishAsync(command1, 'anything', { qos: 1 })
    await r.client.publishAsync('not/a/muni/topic', 'x', { qos: 1 })
    await seen.waitFor(2)
    expect(a.broker.stats().denials).toEqual({ connect: 0, publish: 0, subscribe: 0 })
  })

  it('is off by default, and without credentials the broker does not start at all', async () => {
    await expect(startBroker({ port: 0, log: () => {} })).rejects.toThrow('the broker has no credentials')
  })

  it('still refuses a known user with a wrong password', async () => {
    const { broker } = await start(cleanup, { allowAnonymous: true })
    expect(await connect(cleanup, broker.url, { username: gw1.username, password: 'wrong' })).toMatchObject({ ok: false, code: 4 })
  })
})

describe('publish ACL', () => {
  it("delivers a gateway's own telemetry to the cloud", async () => {
    const { broker } = await start(cleanup)
    const c = await connectAs(cleanup, broker.url, cloud)
    const seen = inbox(c)
    await c.subscribeAsync('muni/v1/+/+/telemetry', { qos: 1 })
    const g = await connectAs(cleanup, broker.url, gw1)
    await g.publishAsync(telemetry1, '{"ok":1}', { qos: 1 })
    await seen.waitFor(1)
    expect(seen.messages).toEqual([{ topic: telemetry1, payload: '{"ok":1}', retain: false }])
    expect(broker.stats()).toMatchObject({ messagesInTotal: 1, bytesInTotal: 8 })
  })

  it("closes the connection of a gateway publishing to another gateway's topic, delivers nothing, logs and counts it", async () => {
    const { broker, lines } = await start(cleanup)
    const c = await connectAs(cleanup, broker.url, cloud)
    const seen = inbox(c)
    await c.subscribeAsync('#', { qos: 1 })
    const g = await connectAs(cleanup, broker.url, gw1)
    g.publish(telemetry2, 'spoofed', { qos: 1 })
    await closed(g)
    expect(broker.stats().denials.publish).toBe(1)
    expect(lines.join('\n')).toContain(`publish refused, closing the connection: ${gw1.username} (gateway north/gw-01), client id "${g.options.clientId}", topic "${telemetry2}"`)
    // A message the gateway may send still arrives on a new connection, and the spoofed one never did.
    const g2 = await connectAs(cleanup, broker.url, gw1)
    await g2.publishAsync(telemetry1, 'own', { qos: 1 })
    await seen.waitFor(1)
    expect(seen.messages.map((m) => m.payload)).toEqual(['own'])
  })

  it('refuses the cloud publishing anything but commands, and lets it command any gateway', async () => {
    const { broker } = await start(cleanup)
    const g = await connectAs(cleanup, broker.url, gw2)
    const seen = inbox(g)
    await g.subscribeAsync(command2, { qos: 1 })
    const c = await connectAs(cleanup, broker.url, cloud)
    await c.publishAsync(command2, '{"op":"ping"}', { qos: 1 })
    await seen.waitFor(1)
    c.publish(telemetry1, 'forged', { qos: 1 })
    await closed(c)
    expect(broker.stats().denials.publish).toBe(1)
  })

  it('closes the connection on a wildcard publish (Aedes checks the topic name before the ACL)', async () => {
    const { broker } = await start(cleanup)
    const c = await connectAs(cleanup, broker.url, cloud)
    c.publish('muni/v1/+/+/command', 'to everyone', { qos: 1 })
    await closed(c)
    expect(broker.stats().messagesInTotal).toBe(0)
  })
})

describe('subscribe ACL', () => {
  it("grants a gateway its own command topic only: '#' and another gateway's commands get SUBACK 0x80", async () => {
    const { broker, lines } = await start(cleanup)
    const g = await connectAs(cleanup, broker.url, gw1)
    expect(await granted(g, [command1, '#', command2, telemetry1])).toEqual([1, 128, 128, 128])
    expect(broker.stats().denials.subscribe).toBe(3)
    expect(lines.filter((l) => l.includes('subscribe refused'))).toHaveLength(3)
    expect(g.connected).toBe(true)
  })

  it('never delivers for a refused filter of a persistent session, not even from the offline queue', async () => {
    // Aedes stores every filter of a SUBSCRIBE for a persistent session, refused ones too,
    // and queues offline messages for them; authorizeForward keeps them from the gateway.
    const { broker } = await start(cleanup)
    const opts = { clientId: 'muni-edge-gw-01', clean: false }
    const g = await connectAs(cleanup, broker.url, gw1, opts)
    expect(await granted(g, [command1, command2])).toEqual([1, 128])
    await new Promise<void>((resolve) => g.end(false, () => resolve()))
    const c = await connectAs(cleanup, broker.url, cloud)
    await c.publishAsync(command2, 'for gw-02', { qos: 1 })
    await c.publishAsync(command1, 'for gw-01', { qos: 1 })
    const g2 = await connectAs(cleanup, broker.url, gw1, { ...opts, clean: false })
    const seen = inbox(g2)
    await seen.waitFor(1)
    await new Promise((r) => setTimeout(r, 200))
    expect(seen.messages.map((m) => m.payload)).toEqual(['for gw-01'])
  })
})

describe('Last Will', () => {
  it("refuses a CONNECT whose Will is on another gateway's state topic (CONNACK 5)", async () => {
    const { broker, lines } = await start(cleanup)
    const r = await connect(cleanup, broker.url, { username: gw1.username, password: gw1.password, will: { topic: state2, payload: Buffer.from('offline'), qos: 1, retain: true } })
    expect(r).toMatchObject({ ok: false, code: 5 })
    expect(lines.join('\n')).toContain(`Last Will on "${state2}" not allowed`)
    await eventually(() => broker.stats().denials.connect === 1)
  })

  it('refuses a Will topic with a wildcard', async () => {
    const { broker } = await start(cleanup)
    const r = await connect(cleanup, broker.url, { username: cloud.username, password: cloud.password, will: { topic: 'muni/v1/+/+/command', payload: Buffer.from('x'), qos: 1, retain: false } })
    expect(r).toMatchObject({ ok: false, code: 5 })
  })

  it('publishes a gateway Will on its own state topic when the gateway goes away', async () => {
    const { broker } = await start(cleanup)
    const c = await connectAs(cleanup, broker.url, cloud)
    const seen = inbox(c)
    await c.subscribeAsync(state1, { qos: 1 })
    const g = await connectAs(cleanup, broker.url, gw1, { will: { topic: state1, payload: Buffer.from('offline'), qos: 1, retain: true } })
    g.stream.destroy()
    await seen.waitFor(1)
    expect(seen.messages[0]).toMatchObject({ topic: state1, payload: 'offline' })
    expect(broker.stats().willsTotal).toBe(1)
  })
})

describe('stats', () => {
  it('counts connects, clients, messages and bytes in, and denials by kind, as one plain object', async () => {
    const { broker } = await start(cleanup)
    const g = await connectAs(cleanup, broker.url, gw1)
    await connect(cleanup, broker.url, { username: gw1.username, password: 'nope' })
    await g.publishAsync(telemetry1, '12345', { qos: 1 })
    await g.publishAsync(topics.events(gw1.site, gw1.gateway), '678', { qos: 0 })
    expect(await granted(g, ['#'])).toEqual([128])
    g.publish(telemetry2, 'x', { qos: 1 })
    await closed(g)
    await eventually(() => broker.stats().clients === 0)
    expect(broker.stats()).toEqual({
      connectsTotal: 1,
      clients: 0,
      messagesInTotal: 2,
      bytesInTotal: 8,
      willsTotal: 0,
      denials: { connect: 1, publish: 1, subscribe: 1 },
      ingestFailuresTotal: 0,
    })
  })
})
