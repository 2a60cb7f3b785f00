/**
 * External broker mode: `muni cloud` consumes from mosquitto, EMQX or any MQTT 5 broker
 * as a client instead of embedding Aedes.
 *
 * - Telemetry is taken through a shared subscription, `$share/{group}/muni/v1/+/+/telemetry`,
 *   so several ingest workers (and several connections per worker) split the load.
 * - Births, states and device events are small and rare, and every worker needs the whole
 *   inventory to know a reading's kind; each worker subscribes to them directly. (MQTT 5
 *   §4.8.2: a shared subscription gets no retained messages, so the retained births of
 *   gateways that were born before this worker started only arrive on a plain subscription.)
 * - Every connection keeps a persistent session (stable client id, clean start false, a long
 *   session expiry), and mqtt.js sends the PUBACK only when `handle()` resolved, i.e. once
 *   the readings are durably stored. When `handle()` fails the connection is dropped without
 *   acknowledging, and the broker redelivers the message to this session on reconnect.
 * - mqtt.js handles one incoming message at a time per connection; `connections` opens that
 *   many shared subscribers per worker so writes overlap.
 * - The alarm worker (`observe`): connection 0 also takes every gateway's telemetry on a plain
 *   subscription, tagged with a subscription identifier (MQTT 5 §3.8.2.1.2) so its copies are
 *   told apart from the shared ones. They are handed to `observe` in the order the broker sent
 *   them (per gateway: publish order) and acknowledged once it returns; storing stays the shared
 *   group's job. See cloud/alarms/README.md § Scale-out.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { readFileSync } from 'node:fs'
import { filters } from '../../shared/mqtt/topics.ts'
import type { IngestMeta } from '../ingest/ingest.ts'

export interface ExternalConsumerOptions {
  /** mqtt://, mqtts://, ws:// or wss:// URL of the broker. */
  url: string
  username?: string
  password?: string
  /** CA file for mqtts://. */
  ca?: string
  /** Stable base client id; connection i uses `{clientId}-{i}`. Keep it unique per worker. */
  clientId: string
  /** Shared subscription group; workers in the same group split telemetry (default `muni-ingest`). */
  group?: string
  /** Shared-subscription connections of this worker (default 2). */
  connections?: number
  handle: (topic: string, payload: Buffer, meta: IngestMeta) => Promise<void>
  /** Every gateway's telemetry, in broker order, on connection 0 (the alarm worker); must not throw. */
  observe?: (topic: string, payload: Buffer) => void
  log?: (line: string) => void
}

/** The subscription identifier of the alarm worker's plain telemetry subscription. */
export const OBSERVE_SUBSCRIPTION_ID = 7

export interface ExternalConsumer {
  /** Resolves once every connection has subscribed. */
  readonly ready: Promise<void>
  stats(): { connections: number; connected: number; messages: number; failures: number; observed?: number }
  close(): Promise<void>
}

/** Session expiry asked of the broker: one week, like the edge outbox's default age bound. */
const SESSION_EXPIRY_S = 7 * 86_400

export function startExternalConsumer(o: ExternalConsumerOptions): ExternalConsumer {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`))
  const group = o.group ?? 'muni-ingest'
  const n = Math.max(1, o.connections ?? 2)
  let messages = 0
  let failures = 0
  let observed = 0
  const clients: MqttClient[] = []
  const ready: Promise<void>[] = []
  const direct = [filters.all('birth'), filters.all('state'), filters.all('events'), filters.all('command/response')]
  for (let i = 0; i < n; i++) {
    const base: IClientOptions = {
      clientId: `${o.clientId}-${i}`,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: SESSION_EXPIRY_S },
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.ca !== undefined ? { ca: readFileSync(o.ca) } : {}),
    }
    const client = mqtt.connect(o.url, base)
    // The PUBACK goes out when this callback is called without an error (mqtt.js handlers/publish.js).
    client.handleMessage = (packet, callback) => {
      if (packet.cmd !== 'publish') return callback()
      const ids = packet.properties?.subscriptionIdentifier
      if (o.observe !== undefined && (ids === OBSERVE_SUBSCRIPTION_ID || (Array.isArray(ids) && ids.includes(OBSERVE_SUBSCRIPTION_ID)))) {
        observed++
        try {
          o.observe(packet.topic, packet.payload as Buffer)
        } catch (e) {
          log(`cloud: alarm evaluation failed on ${packet.topic}: ${e instanceof Error ? e.message : String(e)}`)
        }
        return callback()
      }
      messages++
      o.handle(packet.topic, packet.payload as Buffer, { client: 'external' }).then(
        () => callback(),
        (e: unknown) => {
          failures++
          log(`cloud: ingest failed on ${packet.topic} (${e instanceof Error ? e.message : String(e)}); reconnecting so the broker redelivers it`)
          // No PUBACK: drop the connection; the persistent session gets the message again.
          client.end(true, () => client.reconnect())
        },
      )
    }
    const subs: Record<string, { qos: 1 }> = { [`$share/${group}/${filters.allTelemetry()}`]: { qos: 1 } }
    if (i === 0) for (const f of direct) subs[f] = { qos: 1 }
    const observe = i === 0 && o.observe !== undefined
    ready.push(
      new Promise<void>((resolve) => {
        client.on('connect', (connack) => {
          // A session the broker kept still has its subscriptions; subscribing again is harmless.
          if (!connack.sessionPresent || i === 0) {
            client.subscribe(subs, () => {
              if (!observe) return resolve()
              client.subscribe(filters.allTelemetry(), { qos: 1, properties: { subscriptionIdentifier: OBSERVE_SUBSCRIPTION_ID } }, () => resolve())
            })
          } else resolve()
        })
      }),
    )
    client.on('error', (e) => log(`cloud: broker ${redactUrl(o.url)} connection ${i}: ${e.message}`))
    clients.push(client)
  }
  return {
    ready: Promise.all(ready).then(() => undefined),
    stats: () => ({ connections: n, connected: clients.filter((c) => c.connected).length, messages, failures, ...(o.observe ? { observed } : {}) }),
    close: async () => {
      await Promise.all(clients.map((c) => new Promise<void>((resolve) => c.end(false, {}, () => resolve()))))
    },
  }
}

/** The URL without its user info, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    return u.toString().replace(/\/$/, '')
  } catch {
    return '(invalid url)'
  }
}
