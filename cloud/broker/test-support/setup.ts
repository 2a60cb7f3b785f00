/**
 * What the broker tests share: credentials (cheap scrypt cost, so a test connects in
 * milliseconds), a broker on 127.0.0.1 port 0 whose log lines are kept, MQTT.js
 * clients that report how a CONNECT ended, and a cleanup list run in `afterEach`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { within } from '../../../simulators/test-support/broker.ts'
import { startBroker, type Broker, type StartBrokerOptions } from '../broker.ts'
import { parseCredentials, type Credential } from '../credentials.ts'
import { hashPassword } from '../password.ts'

export { within }

/** Users every test knows: two gateways of site north, one of site south, and the cloud. */
export const USERS = {
  gw1: { username: 'gw-north-01', password: 'pw-gw1-Correct-Horse', site: 'north', gateway: 'gw-01' },
  gw2: { username: 'gw-north-02', password: 'pw-gw2-Battery-Staple', site: 'north', gateway: 'gw-02' },
  gw3: { username: 'gw-south-01', password: 'pw-gw3-Tr0ub4dor', site: 'south', gateway: 'gw-01' },
  cloud: { username: 'ingest', password: 'pw-cloud-Ingest-Only' },
} as const

let yaml: Promise<string> | undefined

/** The credentials file text for `USERS` (hashed once per test file, N = 1024). */
export function credentialsYaml(): Promise<string> {
  yaml ??= (async () => {
    const lines: string[] = []
    for (const u of Object.values(USERS)) {
      const hash = await hashPassword(u.password, { N: 1024 })
      lines.push(`- username: ${u.username}`, `  passwordHash: ${hash}`)
      if ('site' in u) lines.push('  role: gateway', `  site: ${u.site}`, `  gateway: ${u.gateway}`)
      else lines.push('  role: cloud')
    }
    return `${lines.join('\n')}\n`
  })()
  return yaml
}

export async function credentials(): Promise<ReadonlyMap<string, Credential>> {
  const loaded = parseCredentials(await credentialsYaml(), 'credentials.yaml')
  if (loaded.credentials === undefined) throw new Error(`bad test credentials: ${JSON.stringify(loaded.issues)}`)
  return loaded.credentials
}

/** Things to close after each test, last first. */
export class Cleanup {
  readonly #steps: Array<() => unknown> = []
  add(step: () => unknown): void {
    this.#steps.push(step)
  }
  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      await within(Promise.resolve().then(step), 10_000, 'a cleanup step').catch(() => {})
    }
  }
}

/** A temporary folder removed at cleanup. */
export function tempDir(cleanup: Cleanup, prefix = 'muni-broker-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The credentials file written into `dir`. */
export async function writeCredentials(dir: string): Promise<string> {
  const file = join(dir, 'credentials.yaml')
  writeFileSync(file, await credentialsYaml())
  return file
}

/** A broker under test, with the log lines it wrote. */
export interface TestBroker {
  broker: Broker
  lines: string[]
}

/** Starts the broker on 127.0.0.1:0 with `USERS`, keeping its log; closed at cleanup. */
export async function start(cleanup: Cleanup, options: StartBrokerOptions = {}): Promise<TestBroker> {
  const lines: string[] = []
  const broker = await startBroker({ port: 0, credentials: await credentials(), log: (l) => lines.push(l), closeTimeoutMs: 3_000, ...options })
  cleanup.add(() => broker.close())
  return { broker, lines }
}

/** How a CONNECT ended. */
export type Connected = { ok: true; client: MqttClient; sessionPresent: boolean } | { ok: false; code: number | undefined; message: string }

/** Connects once (no reconnect), noDelay on; an accepted client is ended at cleanup. */
export async function connect(cleanup: Cleanup, url: string, options: IClientOptions = {}): Promise<Connected> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, clientId: `t-${Math.random().toString(16).slice(2, 10)}`, ...options })
  cleanup.add(() => new Promise<void>((resolve) => client.end(true, () => resolve())))
  client.on('connect', () => (client.stream as Socket).setNoDelay?.(true))
  return within(
    new Promise<Connected>((resolve) => {
      client.once('connect', (connack) => resolve({ ok: true, client, sessionPresent: connack.sessionPresent }))
      client.once('error', (err) => resolve({ ok: false, code: (err as { code?: number }).code, message: err.message }))
      client.once('close', () => resolve({ ok: false, code: undefined, message: 'closed' }))
    }),
    8_000,
    `connect to ${url}`,
  )
}

/** Connects as one of `USERS` and fails the test unless accepted. */
export async function connectAs(cleanup: Cleanup, url: string, user: { username: string; password: string }, options: IClientOptions = {}): Promise<MqttClient> {
  const r = await connect(cleanup, url, { username: user.username, password: user.password, ...options })
  if (!r.ok) throw new Error(`${user.username} could not connect: ${r.message}`)
  return r.client
}

/** Resolves when `client` closes (or rejects after `ms`). */
export function closed(client: MqttClient, ms = 5_000): Promise<void> {
  if (client.disconnected || !client.connected) return Promise.resolve()
  return within(new Promise<void>((resolve) => client.once('close', () => resolve())), ms, 'the connection to close')
}

/** Polls `check` until it returns true (or rejects after `ms`). For counters the broker updates after writing. */
export async function eventually(check: () => boolean, ms = 3_000, what = 'a condition'): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Messages a client received, with a wait. */
export function inbox(client: MqttClient): { messages: Array<{ topic: string; payload: string; retain: boolean }>; waitFor(n: number, ms?: number): Promise<void> } {
  const messages: Array<{ topic: string; payload: string; retain: boolean }> = []
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload: payload.toString(), retain: packet.retain }))
  return { messages, waitFor: (n, ms = 5_000) => eventually(() => messages.length >= n, ms, `${n} message(s), got ${messages.length}`) }
}

/** The SUBACK return codes for `filters` (MQTT.js turns any 0x80 into an error and hides them). */
export function granted(client: MqttClient, filters: string[], qos: 0 | 1 | 2 = 1): Promise<number[]> {
  return within(
    new Promise<number[]>((resolve) => {
      const on = (p: { cmd: string; granted?: Array<number | object> }): void => {
        if (p.cmd !== 'suback') return
        client.off('packetreceive', on)
        resolve((p.granted ?? []).map((g) => (typeof g === 'number' ? g : -1)))
      }
      client.on('packetreceive', on)
      client.subscribe(filters, { qos }, () => {})
    }),
    5_000,
    'SUBACK',
  )
}

/**
 * A raw MQTT 3.1.1 CONNECT (§3.1), for what MQTT.js and mqtt-packet refuse to send
 * (an empty client id with clean session 0).
 */
export function rawConnect(o: { clientId: string; clean: boolean; username?: string; password?: string; keepalive?: number }): Buffer {
  const str = (s: string): Buffer => {
    const b = Buffer.from(s, 'utf8')
    const len = Buffer.alloc(2)
    len.writeUInt16BE(b.length)
    return Buffer.concat([len, b])
  }
  const flags = (o.username !== undefined ? 0x80 : 0) | (o.password !== undefined ? 0x40 : 0) | (o.clean ? 0x02 : 0)
  const keepalive = Buffer.alloc(2)
  keepalive.writeUInt16BE(o.keepalive ?? 30)
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, flags]),
    keepalive,
    str(o.clientId),
    ...(o.username !== undefined ? [str(o.username)] : []),
    ...(o.password !== undefined ? [str(o.password)] : []),
  ])
  if (body.length > 127) throw new Error('rawConnect: keep it under 128 bytes (one-byte remaining length)')
  return Buffer.concat([Buffer.from([0x10, body.length]), body])
}
