/**
 * The MQTT.js options of one connection attempt, and keeping the password out of logs.
 *
 * - MQTT 3.1.1 (protocolVersion 4: Aedes speaks nothing newer), clean session off with
 *   the gateway's stable client id, so QoS 1 commands sent while it was away are
 *   delivered when it comes back [MQTT-3.1.2-4].
 * - The Last Will of this attempt's session, retained `offline` (`lastWill`).
 * - No MQTT.js reconnect (`reconnectPeriod: 0`) and no resubscribe: the uplink makes
 *   a new client per attempt, with its own backoff, session and Will.
 * - No write cache (`writeCache: false`): with it, mqtt-packet pre-builds a Buffer for
 *   every 16-bit number, 65,536 of them, ~7 MB of a gateway's heap, to save one 2-byte
 *   allocation per packet id.
 * - TLS material is read from its files at every attempt, so a renewed client
 *   certificate is used from the next connection on without a restart.
 * - `password` is revealed here and only here, and handed over as a Buffer. Two library
 *   debug logs would print it otherwise: MQTT.js's client log prints every packet it
 *   writes, the CONNECT included (`_writePacket :: packet: %O`, DEBUG=mqttjs*), which
 *   `log` routes through `redactingLog`; mqtt-packet logs every *string* it writes
 *   (`writeString: %s`, DEBUG=mqtt-packet:*), which a Buffer does not go through.
 */
import { readFileSync } from 'node:fs'
import { formatWithOptions } from 'node:util'
import type { IClientOptions } from 'mqtt'
import type { Outgoing } from '../../shared/mqtt/index.ts'
import type { Secret } from '../config/secret.ts'

/** TLS files (PEM), absolute paths, as `edge/config` resolves them. */
export interface TlsFiles {
  readonly ca?: string
  readonly cert?: string
  readonly key?: string
  /** Refuse a broker certificate the CA did not sign (default true). */
  readonly rejectUnauthorized?: boolean
}

/** The broker: `edge/config`'s `BrokerConfig` fits as is. */
export interface BrokerOptions {
  /** mqtt://, mqtts://, ws:// or wss://, without credentials. */
  readonly url: string
  /** Stable and non-empty: the persistent session is keyed by it [MQTT-3.1.3-8]. */
  readonly clientId: string
  readonly username?: string
  readonly password?: Secret
  readonly tls?: TlsFiles
  /** MQTT keep alive, seconds (default 60). */
  readonly keepaliveS?: number
}

/** Where the uplink writes what it does. `debug` also receives MQTT.js's client log, password redacted. */
export interface UplinkLogger {
  debug?(message: string): void
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

const HIDDEN = '[secret]'

/**
 * Checks what can be checked before the first attempt. Errors never quote the URL's
 * user info: a URL with credentials is refused without repeating them.
 */
export function checkBroker(broker: BrokerOptions): void {
  let url: URL
  try {
    url = new URL(broker.url)
  } catch {
    throw new Error('broker url is not a valid URL')
  }
  if (url.username !== '' || url.password !== '') throw new Error('broker url must not carry credentials: use username and password')
  if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(url.protocol)) throw new Error(`broker url scheme ${url.protocol} is not mqtt:, mqtts:, ws: or wss:`)
  if (broker.clientId.length === 0) throw new Error('broker clientId must not be empty: the persistent session is keyed by it')
  if (broker.password !== undefined && broker.username === undefined) throw new Error('broker password needs a username')
}

/** The options of one connection attempt. Reads the TLS files. */
export function clientOptions(broker: BrokerOptions, will: Outgoing, extra: { connectTimeoutMs: number; log: (...args: unknown[]) => void }): IClientOptions {
  const tls = broker.tls
  return {
    protocolVersion: 4,
    clientId: broker.clientId,
    clean: false,
    keepalive: broker.keepaliveS ?? 60,
    connectTimeout: extra.connectTimeoutMs,
    reconnectPeriod: 0,
    resubscribe: false,
    queueQoSZero: false,
    writeCache: false,
    will: { topic: will.topic, payload: Buffer.from(will.payload), qos: will.qos, retain: will.retain },
    ...(broker.username !== undefined && { username: broker.username }),
    // A Buffer, not a string: mqtt-packet debug-logs every string it writes (`writeString: %s`).
    ...(broker.password !== undefined && { password: Buffer.from(broker.password.reveal(), 'utf8') }),
    ...(tls !== undefined && {
      ...(tls.ca !== undefined && { ca: readFileSync(tls.ca) }),
      ...(tls.cert !== undefined && { cert: readFileSync(tls.cert) }),
      ...(tls.key !== undefined && { key: readFileSync(tls.key) }),
      rejectUnauthorized: tls.rejectUnauthorized ?? true,
    }),
    log: extra.log,
  }
}

/**
 * A scrubber for everything the uplink logs: replaces the password wherever it appears,
 * as text or as the hex bytes `util.inspect` prints for a Buffer. A short password may
 * blank out innocent text too; a mangled log line is the lesser harm.
 */
export function scrubber(password: Secret | undefined): (text: string) => string {
  const secret = password?.reveal()
  if (secret === undefined || secret.length === 0) return (text) => text
  const forms = [secret, [...Buffer.from(secret, 'utf8')].map((b) => b.toString(16).padStart(2, '0')).join(' ')]
  return (text) => forms.reduce((t, f) => t.split(f).join(HIDDEN), text)
}

/**
 * MQTT.js's `log` option: formats like `debug` does, with every `password` field of a
 * logged object replaced (a few levels deep), then scrubbed, then handed to `sink`. A
 * no-op without a sink, so nothing is formatted when nobody listens.
 */
export function redactingLog(sink: ((line: string) => void) | undefined, scrub: (text: string) => string): (...args: unknown[]) => void {
  if (sink === undefined) return () => {}
  return (...args) => {
    const [format, ...rest] = args
    const line = formatWithOptions({ depth: 3, breakLength: Infinity }, typeof format === 'string' ? format : String(format), ...rest.map((v) => redactFields(v, 4)))
    sink(scrub(`mqtt.js: ${line}`))
  }
}

function redactFields(value: unknown, depth: number): unknown {
  if (depth === 0 || value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = k === 'password' && v !== undefined ? HIDDEN : redactFields(v, depth - 1)
  return out
}

/** A URL for logs: never user info (the config refuses it; this is defence in depth). */
export function loggableUrl(url: string): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    return '(invalid url)'
  }
}
