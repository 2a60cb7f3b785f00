/**
 * Debian's mosquitto_pub / mosquitto_sub (another MQTT implementation than MQTT.js)
 * against the embedded broker: credentials and the gateway ACL hold for them too.
 */
import { spawn } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { topics } from '../../shared/mqtt/topics.ts'
import { BINARIES, requireBinary } from '../../shared/test-support/binaries.ts'
import { Cleanup, connectAs, eventually, inbox, start, USERS, within } from './test-support/setup.ts'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const { gw1, gw2, cloud } = USERS

interface Run {
  code: number | null
  out: string
  err: string
}

/** Runs a mosquitto client to completion (killed after `ms`). */
function run(cmd: string, args: string[], ms = 10_000): { done: Promise<Run> } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  cleanup.add(() => child.exitCode === null && child.kill('SIGKILL'))
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const done = new Promise<Run>((resolve) => child.once('exit', (code) => resolve({ code, out, err })))
  return { done: within(done, ms, () => `${cmd} to finish (${err})`) }
}

const common = (port: number, user: { username: string; password: string }): string[] => ['-h', '127.0.0.1', '-p', String(port), '-u', user.username, '-P', user.password, '-V', 'mqttv311']

describe('mosquitto clients', () => {
  it('mosquitto_pub with a wrong password is refused', async (ctx) => {
    requireBinary(ctx, BINARIES.mosquittoClients)
    const { broker, lines } = await start(cleanup)
    const r = await run('mosquitto_pub', [...common(broker.port, { username: gw1.username, password: 'wrong-Pass-123' }), '-i', 'mosq-gw1', '-t', topics.telemetry(gw1.site, gw1.gateway), '-m', '{}', '-q', '1']).done
    expect(r.code).not.toBe(0)
    expect(r.err.toLowerCase()).toMatch(/bad user name or password|not authori[sz]ed/)
    expect(lines.join('\n')).toContain(`username "${gw1.username}", client id "mosq-gw1": wrong password`)
    expect(lines.join('\n')).not.toContain('wrong-Pass-123')
    expect(broker.stats().denials.connect).toBe(1)
  })

  it("mosquitto_pub as one gateway to another gateway's topic is denied and never delivered; to its own it is", async (ctx) => {
    requireBinary(ctx, BINARIES.mosquittoClients)
    const { broker } = await start(cleanup)
    const c = await connectAs(cleanup, broker.url, cloud)
    const got = inbox(c)
    await c.subscribeAsync('muni/v1/+/+/telemetry', { qos: 1 })
    await run('mosquitto_pub', [...common(broker.port, gw1), '-t', topics.telemetry(gw2.site, gw2.gateway), '-m', 'spoofed', '-q', '1']).done
    await eventually(() => broker.stats().denials.publish === 1)
    const own = await run('mosquitto_pub', [...common(broker.port, gw1), '-t', topics.telemetry(gw1.site, gw1.gateway), '-m', 'own', '-q', '1']).done
    expect(own.code).toBe(0)
    await got.waitFor(1)
    expect(got.messages.map((m) => m.payload)).toEqual(['own'])
  })

  it("mosquitto_sub as a gateway gets its commands, and SUBACK 0x80 for another gateway's", async (ctx) => {
    requireBinary(ctx, BINARIES.mosquittoClients)
    const { broker } = await start(cleanup)
    const own = run('mosquitto_sub', [...common(broker.port, gw1), '-t', topics.command(gw1.site, gw1.gateway), '-q', '1', '-C', '1'])
    const subscribed = new Promise<void>((resolve) => broker.aedes.on('subscribe', () => resolve()))
    await within(subscribed, 5_000, 'mosquitto_sub to subscribe')
    const denied = await run('mosquitto_sub', [...common(broker.port, gw1), '-i', 'mosq-sub-2', '-t', topics.command(gw2.site, gw2.gateway), '-q', '1', '-C', '1', '-W', '3']).done
    // mosquitto_sub reads the 0x80 return code, says so and exits (with status 0).
    expect(denied.err).toContain('All subscription requests were denied.')
    expect(denied.out).toBe('')
    const c = await connectAs(cleanup, broker.url, cloud)
    expect(broker.stats().denials.subscribe).toBe(1)
    await c.publishAsync(topics.command(gw1.site, gw1.gateway), '{"op":"ping"}', { qos: 1 })
    const r = await own.done
    expect(r.code).toBe(0)
    expect(r.out.trim()).toBe('{"op":"ping"}')
  })
})
