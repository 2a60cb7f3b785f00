/**
 * Real MQTT brokers for tests, started by the test and closed in `afterEach`:
 * - `startAedes()`: Aedes in-process on 127.0.0.1 port 0, TCP_NODELAY on every socket
 *   (a QoS 1 round trip takes ~44 ms without it on loopback, CONVENTIONS.md);
 * - `startMosquitto()`: a `mosquitto` process on a free port with a temporary config,
 *   returned once it accepts connections.
 * Plus `collect()`, a subscriber that records what it receives with arrival times, and
 * `within()`, which bounds any wait.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Aedes, type AedesOptions } from 'aedes'
import mqtt, { type MqttClient } from 'mqtt'

/** A broker a test talks to. */
export interface TestBroker {
  /** `mqtt://127.0.0.1:PORT` */
  readonly url: string
  readonly port: number
  /** Closes the broker and every connection; safe to call twice. */
  close(): Promise<void>
}

/** The in-process broker, with hooks into it. */
export interface AedesBroker extends TestBroker {
  readonly aedes: Aedes
  /** Resolves once some client has subscribed to exactly `filter`, or rejects after `timeoutMs`. */
  subscribed(filter: string, timeoutMs?: number): Promise<void>
}

/** Rejects with `what` after `ms` unless `p` settles first. */
export function within<T>(p: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${typeof what === 'function' ? what() : what}`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** Starts Aedes on 127.0.0.1, port 0 unless `port` is given (to restart a broker where clients expect it). */
export async function startAedes(options: AedesOptions = {}, port = 0): Promise<AedesBroker> {
  const aedes = await Aedes.createBroker(options)
  const sockets = new Set<Socket>()
  const seen = new Set<string>()
  const waiting = new Map<string, Array<() => void>>()
  aedes.on('subscribe', (subs) => {
    for (const s of subs) {
      seen.add(s.topic)
      for (const w of waiting.get(s.topic) ?? []) w()
      waiting.delete(s.topic)
    }
  })
  const server: Server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    aedes.handle(socket)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const bound = (server.address() as AddressInfo).port
  let closed = false
  return {
    url: `mqtt://127.0.0.1:${bound}`,
    port: bound,
    aedes,
    subscribed(filter, timeoutMs = 5_000) {
      if (seen.has(filter)) return Promise.resolve()
      const p = new Promise<void>((resolve) => waiting.set(filter, [...(waiting.get(filter) ?? []), resolve]))
      return within(p, timeoutMs, `a subscription to ${filter}`)
    },
    async close() {
      if (closed) return
      closed = true
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
    },
  }
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** The mosquitto process, with its log for failure messages. */
export interface MosquittoBroker extends TestBroker {
  readonly process: ChildProcess
  /** What mosquitto printed so far. */
  log(): string
}

/**
 * Starts `mosquitto` on a free port with a temporary config (`listener PORT 127.0.0.1`,
 * `allow_anonymous true`, `set_tcp_nodelay true`, no persistence) and waits until it
 * accepts connections.
 * Call `requireBinary(ctx, BINARIES.mosquitto)` first.
 */
export async function startMosquitto(timeoutMs = 10_000): Promise<MosquittoBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'muni-mosquitto-'))
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  // set_tcp_nodelay: mosquitto leaves Nagle on by default, so a PUBLISH that follows an
  // unacknowledged SUBACK waits for the subscriber's delayed ACK (~40 ms on Linux loopback,
  // measured here on the first message of a stream). CONVENTIONS.md: set TCP_NODELAY.
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\nlog_dest stderr\n`)
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 3_000)
      await exited
      clearTimeout(killer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await within(Promise.race([acceptsConnections(port), exited.then(() => Promise.reject(new Error(`mosquitto exited: ${output.trim()}`)))]), timeoutMs, `mosquitto on port ${port} (log: ${output.trim()})`)
  } catch (err) {
    await close()
    throw err
  }
  return { url: `mqtt://127.0.0.1:${port}`, port, process: child, log: () => output, close }
}

async function acceptsConnections(port: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ port, host: '127.0.0.1' })
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** One message a `collect` subscriber received. */
export interface Received {
  topic: string
  payload: Buffer
  qos: number
  retain: boolean
  /** `performance.now()` on arrival. */
  at: number
}

/** A subscriber that keeps everything it receives. */
export interface Collector {
  readonly client: MqttClient
  readonly messages: Received[]
  /** Resolves once `n` messages arrived; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>
  close(): Promise<void>
}

/** Connects to `url`, subscribes to `filter` at QoS 2 and collects messages. */
export async function collect(url: string, filter: string | string[], timeoutMs = 5_000): Promise<Collector> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: timeoutMs, clientId: `muni-test-sub-${Math.random().toString(16).slice(2, 10)}` })
  client.on('error', () => {})
  client.on('connect', () => (client.stream as Socket).setNoDelay?.(true))
  await within(new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('close', () => reject(new Error(`cannot connect to ${url}`)))
  }), timeoutMs, `connect to ${url}`)
  const messages: Received[] = []
  const waiters: Array<{ n: number; resolve: () => void }> = []
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload, qos: packet.qos, retain: packet.retain, at: performance.now() })
    for (const w of waiters.filter((w) => messages.length >= w.n)) w.resolve()
  })
  await within(client.subscribeAsync(filter, { qos: 2 }), timeoutMs, `subscribe to ${String(filter)}`)
  return {
    client,
    messages,
    async waitFor(n, ms = 10_000) {
      if (messages.length < n) {
        await within(new Promise<void>((resolve) => waiters.push({ n, resolve })), ms, () => `${n} message(s) (got ${messages.length})`)
      }
      return messages.slice(0, n)
    },
    close: () => new Promise<void>((resolve) => client.end(true, () => resolve())),
  }
}
