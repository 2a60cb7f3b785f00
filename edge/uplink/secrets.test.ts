/**
 * The broker password never shows: not in the uplink's log (every level, MQTT.js's own
 * client log included), not in errors, stats or `util.inspect`, and not in the debug
 * output of MQTT.js and mqtt-packet's writer with DEBUG=mqttjs*,mqtt-packet:* turned on. The
 * test first proves the password is really in play: the broker receives it, a wrong one
 * is refused, and the CONNECT packet itself went through the captured log.
 */
import { inspect } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { startAedes } from '../../simulators/test-support/broker.ts'
import { Secret } from '../config/secret.ts'
import { Cleanup, CLIENT_ID, startCloud, startGateway, reading, until } from './test-support/harness.ts'
import { Uplink } from './uplink.ts'

const PASSWORD = 'hunter2-Zq9!xK'
const HEX = [...Buffer.from(PASSWORD)].map((b) => b.toString(16).padStart(2, '0')).join(' ')

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

interface Debug {
  enable(namespaces: string): void
  disable(): string
  log: (...args: unknown[]) => void
}

/** Turns on the `debug` package's namespaces and captures what they print. */
async function captureDebug(namespaces: string): Promise<{ lines: string[]; restore: () => void }> {
  const mod = (await import('debug' as string)) as { default: Debug }
  const debug = mod.default
  const lines: string[] = []
  const before = debug.log
  debug.log = (...args: unknown[]) => void lines.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 5 }))).join(' '))
  debug.enable(namespaces)
  return {
    lines,
    restore() {
      debug.disable()
      debug.log = before
    },
  }
}

describe('the broker password', () => {
  it('reaches the broker and nothing else', async () => {
    const seen: string[] = []
    let refuseFirst = true
    const broker = await startAedes({
      authenticate(client, username, password, done) {
        if (client.id !== CLIENT_ID) return done(null, true) // the test's own subscriber
        seen.push(password === undefined ? '' : Buffer.from(password).toString())
        const ok = username === 'gw-01' && password !== undefined && Buffer.from(password).toString() === PASSWORD && !refuseFirst
        refuseFirst = false
        if (ok) return done(null, true)
        const err = Object.assign(new Error('bad credentials'), { returnCode: 4 as const })
        done(err, false)
      },
    })
    cleanup.add(() => broker.close())
    // mqtt-packet's parser is left out: in this process it also parses for Aedes, which
    // logs the CONNECT it receives, password and all. The gateway's parser only ever
    // reads what the broker sends, which carries no password.
    const debug = await captureDebug('mqttjs*,mqtt-packet:*,-mqtt-packet:parser')
    cleanup.add(() => debug.restore())
    const cloud = await startCloud(broker.url)
    cleanup.add(() => cloud.close())

    const gw = startGateway(broker.url, cleanup, {
      broker: { url: broker.url, clientId: CLIENT_ID, username: 'gw-01', password: new Secret(PASSWORD) },
      onCommand: async (req) => ({ id: req.id, ts: Date.now(), ok: true }),
    })
    await cloud.next('state', (s) => s.state === 'online')
    gw.append([reading('pv-01', 1_000)])
    await cloud.command({ type: 'read', id: 'c-1', ts: Date.now(), device: 'pv-01' })
    await cloud.response('c-1')
    await until('the telemetry', () => cloud.of('telemetry').length === 1)
    const stats = JSON.stringify(gw.uplink.stats())
    const inspected = inspect(gw.uplink, { depth: 10, showHidden: true })
    await gw.uplink.stop()

    // The password was in play: sent, refused once, accepted.
    expect(seen.length).toBeGreaterThanOrEqual(2)
    expect(seen.every((p) => p === PASSWORD)).toBe(true)
    expect(gw.log.some((l) => l.includes('Not authorized') || l.includes('Bad username or password'))).toBe(true)
    // The CONNECT went through the captured MQTT.js log, with the password redacted.
    expect(gw.log.some((l) => l.startsWith('debug mqtt.js: _writePacket') && l.includes("cmd: 'connect'") && l.includes('[secret]'))).toBe(true)
    expect(debug.lines.length).toBeGreaterThan(0)

    const everything = [...gw.log, ...debug.lines, stats, inspected].join('\n')
    expect(everything).not.toContain(PASSWORD)
    expect(everything).not.toContain(HEX)
  })

  it('errors about the broker url never repeat its credentials', () => {
    const make = (url: string) => () =>
      new Uplink({
        site: 'north',
        gateway: 'gw-01',
        broker: { url, clientId: CLIENT_ID },
        outbox: {} as never,
        birth: () => ({ gateway: 'gw-01', site: 'north', agent: { name: 'a', version: '1' }, devices: [] }),
        sessionStore: { next: () => 1 },
        batch: { maxReadings: 10, maxBytes: 1_000, maxDelayMs: 0 },
        onCommand: async (req) => ({ id: req.id, ts: 0, ok: true }),
      })
    for (const url of [`mqtt://gw-01:${PASSWORD}@broker.example:1883`, `mqtt://gw-01:${PASSWORD}@[bad`]) {
      let message = ''
      try {
        make(url)()
      } catch (e) {
        message = (e as Error).message
      }
      expect(message).not.toBe('')
      expect(message).not.toContain(PASSWORD)
    }
  })
})
