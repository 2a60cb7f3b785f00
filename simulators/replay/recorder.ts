/**
 * Records what a broker carries into a recording file (format.ts): subscribes, and appends
 * one line per message as it arrives, with its receive time. Invalid messages (by the wire
 * contract, `shared/mqtt` `decode`) are recorded too, flagged with their first violation:
 * a recording is evidence of what was seen.
 *
 * Lifecycle: the constructor only stores options; `start()` connects, creates the file,
 * writes the header and subscribes; `stop()` disconnects (acknowledging what was received),
 * then flushes and closes the file. Once started, a lost connection is retried every
 * second and the subscriptions renewed (messages published meanwhile are not seen: the
 * session is clean, so a broker restart cannot replay a stale queue into the evidence).
 */
import { createWriteStream, existsSync, rmSync, type WriteStream } from 'node:fs'
import type { IPublishPacket, ISubscriptionGrant } from 'mqtt'
import { decode } from '../../shared/mqtt/index.ts'
import { closeClient, connectBroker, BrokerError, type BrokerTarget, type Connection } from './connect.ts'
import { defaultFilters, filterProblem } from './filters.ts'
import { formatEntry, formatHeader, RECORDING_FORMAT, RECORDING_VERSION, type QoS, type RecordedMessage, type RecordingHeader } from './format.ts'

/** Delay between reconnection attempts after the connection is lost. */
const RECONNECT_MS = 1_000

/** Options of a Recorder. */
export interface RecorderOptions {
  broker: BrokerTarget
  /** The recording file to create. */
  out: string
  /** Subscription filters; default `defaultFilters()` (everything gateways publish). */
  filters?: readonly string[]
  /** Replace an existing file; by default an existing file is an error (a recording is evidence). */
  overwrite?: boolean
  /** Record this many messages, then ignore the rest and resolve `ended` with `count`. */
  maxMessages?: number
  clientId?: string
  /** Connect timeout; default 10 s. */
  connectTimeoutMs?: number
  /** Connection changes after start, for the operator (`offline`, then `online` on reconnect). */
  onStatus?: (status: 'offline' | 'online') => void
}

/** Counters since `start()`. */
export interface RecorderStats {
  /** Messages written to the file. */
  messages: number
  /** Of those, messages the wire contract rejects (`"valid": false`). */
  invalid: number
  /** Payload bytes recorded. */
  bytes: number
  /** Connections lost and re-established. */
  reconnects: number
}

/** Why recording ended by itself (`stop()` is the other way). */
export type RecorderEnd = { reason: 'count' } | { reason: 'error'; error: Error }

/** Records a broker's traffic into one file. */
export class Recorder {
  /** Live counters. */
  readonly stats: RecorderStats = { messages: 0, invalid: 0, bytes: 0, reconnects: 0 }
  /** Resolves when `maxMessages` is reached or the file cannot be written; never rejects. */
  readonly ended: Promise<RecorderEnd>
  private endWith: (end: RecorderEnd) => void = () => {}
  private state: 'idle' | 'starting' | 'recording' | 'stopping' | 'stopped' = 'idle'
  private conn: Connection | undefined
  private file: WriteStream | undefined
  private starting: Promise<unknown> | undefined
  private stopped: Promise<void> | undefined
  private t0 = 0
  /** True from the header being written until stop() begins: messages are written only then. */
  private accepting = false

  constructor(private readonly options: RecorderOptions) {
    this.ended = new Promise((resolve) => (this.endWith = resolve))
  }

  /**
   * Connects, creates the file, writes the header and subscribes. Resolves with the header
   * once every subscription is granted. On failure nothing is left behind (no client, no file).
   * @throws BrokerError when the broker is unreachable or refuses the connection or a subscription;
   *   Error for an invalid filter, an existing file (without `overwrite`) or an unwritable path.
   */
  async start(): Promise<RecordingHeader> {
    if (this.state !== 'idle') throw new Error('Recorder already started')
    this.state = 'starting'
    const run = this.open()
    this.starting = run.catch(() => {})
    try {
      const header = await run
      // stop() may have been called while starting.
      if (this.state === 'starting') this.state = 'recording'
      return header
    } catch (err) {
      this.state = 'stopped'
      throw err
    }
  }

  private async open(): Promise<RecordingHeader> {
    const o = this.options
    const filters = [...(o.filters ?? defaultFilters())]
    if (filters.length === 0) throw new Error('no topic filter to subscribe to')
    for (const f of filters) {
      const problem = filterProblem(f)
      if (problem) throw new Error(`invalid topic filter ${JSON.stringify(f)}: ${problem}`)
    }
    if (!o.overwrite && existsSync(o.out)) throw new Error(`${o.out} already exists: choose another file (or overwrite it with --force)`)
    const conn = await connectBroker(o.broker, { role: 'record', preferMqtt5: true, ...(o.clientId ? { clientId: o.clientId } : {}), ...(o.connectTimeoutMs ? { timeoutMs: o.connectTimeoutMs } : {}) })
    this.conn = conn
    let created = false
    try {
      this.file = await openFile(o.out, o.overwrite ?? false)
      created = true
      this.file.on('error', (error) => this.endWith({ reason: 'error', error: new Error(`cannot write ${o.out}: ${error.message}`) }))
      const header: RecordingHeader = {
        format: RECORDING_FORMAT,
        version: RECORDING_VERSION,
        startedAt: Date.now(),
        broker: o.broker.url,
        filters,
        retainAsPublished: conn.protocolVersion === 5,
      }
      this.t0 = performance.now()
      this.file.write(`${formatHeader(header)}\n`)
      // Listen and accept before subscribing: retained messages follow the SUBACK at once,
      // and mqtt.js may hand them over before the code awaiting the SUBACK resumes.
      conn.client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet))
      this.accepting = true
      // A lost connection is retried from here on. Set before subscribing: mqtt.js only
      // remembers subscriptions to renew on reconnect while reconnectPeriod > 0.
      conn.client.options.reconnectPeriod = RECONNECT_MS
      await subscribe(conn, filters)
      this.watchConnection(conn)
      return header
    } catch (err) {
      this.accepting = false
      await closeClient(conn.client)
      this.conn = undefined
      if (this.file) await closeFile(this.file)
      this.file = undefined
      if (created) rmSync(o.out, { force: true })
      throw err
    }
  }

  private watchConnection(conn: Connection): void {
    const { client } = conn
    client.on('error', () => {}) // reconnect attempts report here; 'offline'/'connect' tell the story
    client.on('offline', () => {
      if (this.state === 'recording') this.options.onStatus?.('offline')
    })
    client.on('connect', () => {
      if (this.state !== 'recording') return
      this.stats.reconnects++
      this.options.onStatus?.('online')
    })
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (!this.accepting || !this.file) return
    const max = this.options.maxMessages
    if (max !== undefined && this.stats.messages >= max) return
    const m: RecordedMessage = {
      t: Math.round(performance.now() - this.t0),
      topic,
      qos: packet.qos as QoS,
      retain: packet.retain,
      payload,
    }
    const decoded = decode(topic, payload)
    if (!decoded.ok) {
      m.violation = decoded.violations[0] ?? { path: '', reason: 'invalid' }
      this.stats.invalid++
    }
    // The stream buffers if the disk is slower than the broker; a disk outpaces a broker connection.
    this.file.write(`${formatEntry(m)}\n`)
    this.stats.messages++
    this.stats.bytes += payload.byteLength
    if (max !== undefined && this.stats.messages >= max) this.endWith({ reason: 'count' })
  }

  /**
   * Stops recording: disconnects (after acknowledging received QoS 1/2 messages), then
   * flushes, fsyncs and closes the file. Safe to call at any time and more than once.
   * @returns the final counters.
   */
  async stop(): Promise<RecorderStats> {
    if (this.state === 'idle' || this.state === 'stopped') {
      this.state = 'stopped'
      return { ...this.stats }
    }
    if (this.state === 'stopping') {
      await this.stopped
      return { ...this.stats }
    }
    this.state = 'stopping'
    this.accepting = false
    this.stopped = (async () => {
      await this.starting
      const conn = this.conn
      this.conn = undefined
      if (conn) await closeClient(conn.client)
      const file = this.file
      this.file = undefined
      if (file) await closeFile(file)
      this.state = 'stopped'
    })()
    await this.stopped
    return { ...this.stats }
  }
}

function openFile(path: string, overwrite: boolean): Promise<WriteStream> {
  return new Promise((resolve, reject) => {
    // `wx` fails if the file appeared since the check above; `flush` fsyncs before close.
    const stream = createWriteStream(path, { flags: overwrite ? 'w' : 'wx', flush: true })
    stream.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EEXIST' ? 'already exists' : err.code === 'ENOENT' ? 'its folder does not exist' : err.code === 'EACCES' ? 'permission denied' : err.message
      reject(new Error(`cannot create ${path}: ${why}`))
    })
    stream.once('ready', () => {
      stream.removeAllListeners('error')
      resolve(stream)
    })
  })
}

function closeFile(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) return resolve()
    stream.once('close', () => resolve())
    stream.once('error', () => resolve())
    stream.end()
  })
}

async function subscribe(conn: Connection, filters: readonly string[]): Promise<void> {
  // QoS 2 so each message arrives at the QoS it was published with (MQTT 3.1.1 §3.8.4);
  // Retain As Published (MQTT 5 §3.8.3.1) so `retain` is the publisher's flag.
  const map = Object.fromEntries(filters.map((f) => [f, conn.protocolVersion === 5 ? { qos: 2 as const, rap: true } : { qos: 2 as const }]))
  let codes: number[]
  try {
    codes = (await conn.client.subscribeAsync(map)).map((g: ISubscriptionGrant) => g.qos)
  } catch (err) {
    // mqtt.js rejects on any failure code and keeps the SUBACK (ErrorWithSubackPacket).
    const granted = (err as { packet?: { granted?: unknown } }).packet?.granted
    if (!Array.isArray(granted)) throw new BrokerError(`broker refused the subscription to ${filters.join(' ')}: ${err instanceof Error ? err.message : String(err)}`, 'subscribe-refused')
    codes = granted.map((g) => (typeof g === 'number' ? g : 0x80))
  }
  // A SUBACK code with the high bit set is a failure (MQTT 3.1.1 §3.9.3: 0x80; MQTT 5 §3.9.3: ≥ 0x80).
  const refused = filters.flatMap((f, i) => ((codes[i] ?? 0x80) >= 0x80 ? [{ f, code: codes[i] ?? 0x80 }] : []))
  if (refused.length > 0) {
    const list = refused.map((r) => `${r.f} (SUBACK 0x${r.code.toString(16)})`).join(', ')
    throw new BrokerError(`broker refused the subscription to ${list}`, 'subscribe-refused', refused[0]?.code)
  }
}
