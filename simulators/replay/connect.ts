/**
 * Connecting the recorder and the replayer to a broker: the URL and its credentials,
 * a bounded connect, MQTT 5 with a fallback to 3.1.1, and errors a person can act on.
 *
 * Credentials never leave this file except towards the broker: the URL is split into a
 * credential-free `url` (what is logged and written into recordings) and `username` /
 * `password`, and no error message quotes the URL the user typed.
 */
import type { Socket } from 'node:net'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'

/** The environment variable read for the password when `--password` is not given. */
export const PASSWORD_ENV = 'MUNI_MQTT_PASSWORD'

const PROTOCOLS = ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:']

/** Where to connect and as whom. */
export interface BrokerTarget {
  /** Broker URL without user name or password: safe to print and to store. */
  readonly url: string
  readonly username?: string
  readonly password?: string
}

/** Why a broker could not be used; the message is safe to print (no credentials). */
export class BrokerError extends Error {
  override name = 'BrokerError'
  constructor(
    message: string,
    /** `bad-url`, `unreachable`, `refused` (CONNACK), `timeout`, `subscribe-refused`, `lost`. */
    readonly code: 'bad-url' | 'unreachable' | 'refused' | 'timeout' | 'subscribe-refused' | 'lost',
    /** The MQTT reason code, when the broker sent one (CONNACK return code / SUBACK). */
    readonly reasonCode?: number,
  ) {
    super(message)
  }
}

/**
 * Builds the target from `--broker`, `--username`, `--password` and the environment.
 * Credentials in the URL (`mqtt://user:pass@host`) are taken out of it; explicit options
 * win over them, and `--password` wins over `MUNI_MQTT_PASSWORD`, which is used only
 * together with a user name.
 * @throws BrokerError (`bad-url`) without quoting the URL, which may hold a password.
 */
export function brokerTarget(opts: { broker: string; username?: string | undefined; password?: string | undefined }, env: NodeJS.ProcessEnv = process.env): BrokerTarget {
  let u: URL
  try {
    u = new URL(opts.broker)
  } catch {
    throw new BrokerError('invalid --broker URL: expected e.g. mqtt://host:1883 (the URL is not shown, it may contain a password)', 'bad-url')
  }
  if (!PROTOCOLS.includes(u.protocol)) {
    throw new BrokerError(`invalid --broker URL: scheme ${u.protocol.replace(/:$/, '')} is not one of ${PROTOCOLS.map((p) => p.replace(/:$/, '')).join(', ')}`, 'bad-url')
  }
  if (u.hostname === '') throw new BrokerError('invalid --broker URL: no host', 'bad-url')
  const urlUser = u.username === '' ? undefined : decodeURIComponent(u.username)
  const urlPassword = u.password === '' ? undefined : decodeURIComponent(u.password)
  u.username = ''
  u.password = ''
  const username = opts.username ?? urlUser
  const explicit = opts.password ?? urlPassword
  // MQTT 3.1.1 §3.1.2.9 [MQTT-3.1.2-22]: no password without a user name. The environment
  // password only applies when a user name is given, so a variable exported for another
  // broker does not break an anonymous connection.
  if (explicit !== undefined && username === undefined) throw new BrokerError('a password needs a user name: add --username (MQTT 3.1.1 §3.1.2.9)', 'bad-url')
  const password = username === undefined ? undefined : explicit ?? env[PASSWORD_ENV]
  return {
    url: u.href.replace(/\/$/, ''),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined && password !== '' ? { password } : {}),
  }
}

/** Options of `connectBroker`. */
export interface ConnectOptions {
  /** MQTT client id; default `muni-{role}-{random}`. */
  clientId?: string
  /** Used in the default client id: `record`, `replay`. */
  role: string
  /** Gives up after this long without a CONNACK; default 10 s. */
  timeoutMs?: number
  /** Try MQTT 5 first and fall back to 3.1.1 when the broker refuses it (Aedes does). Default: 3.1.1 only. */
  preferMqtt5?: boolean
}

/** A connected client and the protocol it speaks. */
export interface Connection {
  client: MqttClient
  protocolVersion: 4 | 5
}

/**
 * Connects once, without retries, within `timeoutMs`. The client is returned with
 * automatic reconnection off; a caller that wants it sets `client.options.reconnectPeriod`.
 * TCP_NODELAY is set on the socket: without it a small QoS 1 publish can wait ~40 ms for
 * Nagle's algorithm on loopback, which would distort replay timing (CONVENTIONS.md).
 * @throws BrokerError (`unreachable`, `refused`, `timeout`).
 */
export async function connectBroker(target: BrokerTarget, opts: ConnectOptions): Promise<Connection> {
  if (opts.preferMqtt5) {
    try {
      return { client: await connectOnce(target, opts, 5), protocolVersion: 5 }
    } catch (err) {
      // 3.1.1 brokers answer a v5 CONNECT with return code 1 (MQTT 3.1.1 §3.2.2.3) or just
      // close; a v5 broker that rejects the version says 0x84 (MQTT 5 §3.2.2.2).
      const fallback = err instanceof BrokerError && (err.code === 'lost' || err.reasonCode === 1 || err.reasonCode === 0x84)
      if (!fallback) throw err
    }
  }
  return { client: await connectOnce(target, opts, 4), protocolVersion: 4 }
}

function connectOnce(target: BrokerTarget, opts: ConnectOptions, protocolVersion: 4 | 5): Promise<MqttClient> {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const options: IClientOptions = {
    protocolVersion,
    clientId: opts.clientId ?? `muni-${opts.role}-${Math.random().toString(16).slice(2, 10)}`,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
  }
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(target.url, options)
    noDelay(client)
    const settle = (err?: BrokerError): void => {
      clearTimeout(timer)
      client.off('connect', onConnect)
      client.off('error', onError)
      client.off('close', onClose)
      if (err) {
        client.on('error', () => {}) // late errors from a client being discarded
        client.end(true)
        reject(err)
      } else {
        resolve(client)
      }
    }
    const onConnect = (): void => settle()
    const onError = (err: Error): void => settle(describe(err, target.url))
    const onClose = (): void => settle(new BrokerError(`broker ${target.url} closed the connection before accepting it`, 'lost'))
    // mqtt.js has its own connack timer; this one also covers a TCP connect that hangs.
    const timer = setTimeout(() => settle(new BrokerError(`no answer from broker ${target.url} within ${timeoutMs} ms`, 'timeout')), timeoutMs)
    client.on('connect', onConnect)
    client.on('error', onError)
    client.on('close', onClose)
  })
}

/** Sets TCP_NODELAY on the client's socket, now and on every reconnect. */
function noDelay(client: MqttClient): void {
  const set = (): void => {
    const s = client.stream as Partial<Socket> | undefined
    if (typeof s?.setNoDelay === 'function') s.setNoDelay(true)
  }
  set()
  client.on('connect', set)
}

const CONNACK_REASONS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
  0x84: 'unsupported protocol version',
  0x86: 'bad user name or password',
  0x87: 'not authorized',
}

/** A connect error as a BrokerError with a message that names the broker and the cause. */
function describe(err: Error, url: string): BrokerError {
  const code = (err as { code?: unknown }).code
  if (typeof code === 'number') {
    const why = CONNACK_REASONS[code] ?? err.message
    const hint = [4, 5, 0x86, 0x87].includes(code) ? ` (check --username and --password or ${PASSWORD_ENV})` : ''
    return new BrokerError(`broker ${url} refused the connection: ${why}, CONNACK code ${code}${hint}`, 'refused', code)
  }
  const sys = typeof code === 'string' ? code : undefined
  const why =
    sys === 'ECONNREFUSED' ? 'connection refused (is the broker running on that port?)'
    : sys === 'ENOTFOUND' || sys === 'EAI_AGAIN' ? 'host not found'
    : sys === 'ETIMEDOUT' ? 'connection timed out'
    : err.message === 'connack timeout' ? 'no CONNACK (timeout)'
    : err.message
  return new BrokerError(`cannot connect to broker ${url}: ${why}${sys && !why.includes(sys) ? ` (${sys})` : ''}`, err.message === 'connack timeout' ? 'timeout' : 'unreachable')
}

/** Ends a client and waits for it, within `timeoutMs` (then forced). Never throws. */
export async function closeClient(client: MqttClient, timeoutMs = 5_000): Promise<void> {
  client.on('error', () => {})
  await new Promise<void>((resolve) => {
    // A second end() is a no-op once disconnecting: on timeout, drop the socket instead.
    const timer = setTimeout(() => {
      client.stream?.destroy()
      resolve()
    }, timeoutMs)
    client.end(false, () => {
      clearTimeout(timer)
      resolve()
    })
  })
}
