/**
 * The MQTT uplink of the edge agent: one connection at a time to the broker, through
 * the connection lifecycle of docs/wire-contract.md, draining the durable outbox.
 *
 * Every connection attempt:
 *   1. takes the next session from the session store (persisted before the CONNECT);
 *   2. connects a new MQTT.js client — MQTT 3.1.1, clean session off, the stable client
 *      id, the Last Will `lastWill(site, gateway, session)` (connect-options.ts);
 * and on CONNACK:
 *   3. sets TCP_NODELAY on the socket (CONVENTIONS.md: a QoS 1 round trip took 44 ms on
 *      loopback with Nagle on, under 1 ms with it off) and marks the outbox uplink up;
 *   4. subscribes to its command topic and waits for the SUBACK;
 *   5. publishes the retained birth, then the retained `online` state (same session;
 *      MQTT 3.1.1 §4.6 keeps them in order);
 *   6. sends the events and command responses still waiting (pending.ts), then drains
 *      the outbox: at most `maxInFlight` telemetry batches unacknowledged, each acked in
 *      the outbox on its PUBACK only, batches closed by `flushDecision` (batching.ts).
 * When the connection drops: the outbox uplink goes down and every batch in flight is
 * nacked (the outbox, not MQTT.js, redelivers them: same seq, same bytes, after the next
 * birth), the client is discarded, and a new attempt follows after a backoff (backoff.ts).
 *
 * A new client per attempt, rather than MQTT.js's own reconnect: each attempt needs a new
 * Will (its session), and MQTT.js would otherwise replay its in-memory copies of
 * unacknowledged publishes *before* `connect` — telemetry ahead of the birth, and twice
 * over once the outbox hands the same batch out again. With the outbox as the only source
 * of redelivery, a batch in flight when the link died goes again exactly once per
 * connection, after the birth, oldest seq first. For QoS 1 that is as good as the
 * [MQTT-4.4.0-1] resend: the broker keeps no state for a QoS 1 PUBLISH it acknowledged.
 *
 * `stop()`: publishes the retained `offline` state (with `ts`) and waits for its PUBACK,
 * then DISCONNECTs, which discards the Will [MQTT-3.14.4-3]. The outbox stays open: it
 * belongs to the agent.
 */
import mqtt, { type MqttClient } from 'mqtt'
import type { Socket } from 'node:net'
import { filters, lastWill, preparePublish, type Birth, type CommandRequest, type CommandResponse, type DeviceEvent, type Outgoing } from '../../shared/mqtt/index.ts'
import { commandError, failed } from '../commands/index.ts'
import { BACKOFF_DEFAULTS, backoffDelay, type BackoffOptions } from './backoff.ts'
import { INITIAL_BYTES_PER_READING, type BatchOptions } from './batching.ts'
import { checkBroker, clientOptions, loggableUrl, redactingLog, scrubber, type BrokerOptions, type UplinkLogger } from './connect-options.ts'
import { inbound, responseMessage } from './inbound.ts'
import { PendingQueue, type PendingMessage } from './pending.ts'
import type { SessionStore } from './session-store.ts'
import { TelemetryPump, type UplinkOutbox } from './telemetry-pump.ts'

export type { UplinkOutbox } from './telemetry-pump.ts'

/** The gateway's inventory; the uplink adds `session` and `ts` (when the connection was made). */
export type BirthSource = () => Omit<Birth, 'session' | 'ts'>

export interface UplinkOptions {
  readonly site: string
  readonly gateway: string
  readonly broker: BrokerOptions
  readonly outbox: UplinkOutbox
  readonly birth: BirthSource
  readonly sessionStore: SessionStore
  readonly batch: BatchOptions
  /** Answers one decoded request; e.g. `rememberingHandler((req) => handleCommand(req, ctx))`. */
  readonly onCommand: (req: CommandRequest) => Promise<CommandResponse>
  /** Called after each birth + online state, with the session (the poller may report availability again). */
  readonly onOnline?: (session: number) => void
  /** Telemetry batches published and not yet acknowledged, at most (default 8). */
  readonly maxInFlight?: number
  /** Events and responses kept until their PUBACK, at most (default 1000); the oldest beyond are dropped. */
  readonly maxPending?: number
  /** Reconnect backoff; `stableMs`: a connection that lived this long resets it (default 30000). */
  readonly reconnect?: Partial<BackoffOptions> & { readonly stableMs?: number }
  /** CONNACK wait (default 30000: a cellular link can be slow to set up). */
  readonly connectTimeoutMs?: number
  /** How often the outbox is looked at for new readings, besides `kick()` (default 250). */
  readonly pollMs?: number
  /** Longest wait for each step of a clean stop (default 5000). */
  readonly stopTimeoutMs?: number
  readonly logger?: UplinkLogger
  /** ms since the epoch (default `Date.now`): birth and state `ts`, batching delays. */
  readonly now?: () => number
}

export const UPLINK_DEFAULTS = Object.freeze({
  maxInFlight: 8,
  maxPending: 1_000,
  stableMs: 30_000,
  connectTimeoutMs: 30_000,
  pollMs: 250,
  stopTimeoutMs: 5_000,
})

export interface UplinkStats {
  state: 'idle' | 'connecting' | 'connected' | 'online' | 'stopped'
  /** Session of the current (or last) connection attempt. */
  session: number | undefined
  /** Connection attempts and CONNACKs, ever. */
  attempts: number
  connects: number
  /** Telemetry batches published on this connection and not yet acknowledged. */
  inFlight: number
  batchesSent: number
  batchesAcked: number
  /** Events and responses waiting for their PUBACK, and those dropped for room. */
  pending: number
  droppedPending: number
  commands: { received: number; answered: number; unanswerable: number }
  /** Session numbers that could not be persisted (the connection went ahead with them). */
  sessionStoreErrors: number
}

interface Connection {
  readonly id: number
  readonly client: MqttClient
  readonly session: number
  connectedAt: number | undefined
  /** `ts` of this connection's birth, reused by `rebirth`. */
  bornAt: number | undefined
  online: boolean
  closed: boolean
  /** The outbox drain, from the online state on. */
  pump: TelemetryPump | undefined
  /** Resolves when the connection is closed (its pending callbacks will never run). */
  readonly gone: Promise<void>
  readonly markGone: () => void
}

const defaultLogger: UplinkLogger = {
  info: (m) => console.error(`uplink: ${m}`),
  warn: (m) => console.error(`uplink: ${m}`),
  error: (m) => console.error(`uplink: ${m}`),
}

export class Uplink {
  readonly #o: UplinkOptions
  readonly #backoff: BackoffOptions
  readonly #stableMs: number
  readonly #maxInFlight: number
  readonly #logger: UplinkLogger
  readonly #scrub: (text: string) => string
  readonly #mqttLog: (...args: unknown[]) => void
  readonly #now: () => number
  readonly #pending: PendingQueue
  readonly #commandFilter: string
  readonly #url: string

  #started = false
  #stopping = false
  #stopped: Promise<void> | undefined
  #conn: Connection | undefined
  #session: number | undefined
  #retry = 0
  #reconnectTimer: NodeJS.Timeout | undefined
  readonly #estimate = { bytesPerReading: INITIAL_BYTES_PER_READING }
  #counts = { attempts: 0, connects: 0, batchesSent: 0, batchesAcked: 0, received: 0, answered: 0, unanswerable: 0, sessionStoreErrors: 0 }

  /** Checks and keeps the options; connects nothing (call `start()`). */
  constructor(options: UplinkOptions) {
    checkBroker(options.broker)
    const { maxReadings, maxBytes, maxDelayMs } = options.batch
    if (!(Number.isSafeInteger(maxReadings) && maxReadings >= 1)) throw new RangeError(`batch.maxReadings must be a positive integer, got ${maxReadings}`)
    if (!(Number.isSafeInteger(maxBytes) && maxBytes >= 1)) throw new RangeError(`batch.maxBytes must be a positive integer, got ${maxBytes}`)
    if (!(maxDelayMs >= 0)) throw new RangeError(`batch.maxDelayMs must be >= 0, got ${maxDelayMs}`)
    this.#o = options
    this.#backoff = { ...BACKOFF_DEFAULTS, ...options.reconnect }
    this.#stableMs = options.reconnect?.stableMs ?? UPLINK_DEFAULTS.stableMs
    this.#maxInFlight = options.maxInFlight ?? UPLINK_DEFAULTS.maxInFlight
    if (!(Number.isSafeInteger(this.#maxInFlight) && this.#maxInFlight >= 1)) throw new RangeError(`maxInFlight must be a positive integer, got ${this.#maxInFlight}`)
    this.#pending = new PendingQueue(options.maxPending ?? UPLINK_DEFAULTS.maxPending)
    this.#logger = options.logger ?? defaultLogger
    this.#scrub = scrubber(options.broker.password)
    const debug = this.#logger.debug?.bind(this.#logger)
    this.#mqttLog = redactingLog(debug, this.#scrub)
    this.#now = options.now ?? Date.now
    this.#commandFilter = filters.gatewayCommands(options.site, options.gateway)
    this.#url = loggableUrl(options.broker.url)
  }

  /**
   * Starts connecting (and reconnecting, until `stop()`); returns at once.
   * @throws InvalidMessageError when the birth does not pass the contract.
   */
  start(): void {
    if (this.#started) throw new Error('the uplink was already started')
    this.#birthMessage(0, Math.floor(this.#now()))
    this.#started = true
    this.#o.outbox.setUplink(false)
    this.#o.outbox.nackAll()
    this.#connect()
  }

  /** Publishes the offline state, disconnects cleanly, stops reconnecting. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  /** Readings were appended: look at the outbox now rather than at the next poll. */
  kick(): void {
    this.#conn?.pump?.kick()
  }

  /**
   * Queues a device event (QoS 1, kept until its PUBACK, sent again after a reconnect).
   * @throws InvalidMessageError when the event does not pass the contract (a bug in the caller).
   */
  publishEvent(event: DeviceEvent): void {
    this.#enqueue({ kind: 'events', message: preparePublish('events', this.#o.site, this.#o.gateway, event) })
  }

  /** Publishes the birth again with this connection's session (a `rebirth` command); offline, the next connect does it. */
  rebirth(): void {
    const conn = this.#conn
    if (conn === undefined || !conn.online || !this.#current(conn) || conn.bornAt === undefined) return
    this.#publish(conn, this.#birthMessage(conn.session, conn.bornAt), 'birth')
  }

  stats(): UplinkStats {
    const c = this.#conn
    const state = this.#stopping ? 'stopped' : c?.online ? 'online' : c?.connectedAt !== undefined && !c.closed ? 'connected' : this.#started ? 'connecting' : 'idle'
    const n = this.#counts
    return {
      state,
      session: this.#session,
      attempts: n.attempts,
      connects: n.connects,
      inFlight: c?.pump?.inFlight ?? 0,
      batchesSent: n.batchesSent,
      batchesAcked: n.batchesAcked,
      pending: this.#pending.size,
      droppedPending: this.#pending.dropped,
      commands: { received: n.received, answered: n.answered, unanswerable: n.unanswerable },
      sessionStoreErrors: n.sessionStoreErrors,
    }
  }

  // --- connection ------------------------------------------------------------------

  #connect(): void {
    const id = ++this.#counts.attempts
    const session = this.#nextSession()
    let client: MqttClient
    try {
      const options = clientOptions(this.#o.broker, lastWill(this.#o.site, this.#o.gateway, session), {
        connectTimeoutMs: this.#o.connectTimeoutMs ?? UPLINK_DEFAULTS.connectTimeoutMs,
        log: this.#mqttLog,
      })
      client = mqtt.connect(this.#o.broker.url, options)
    } catch (e) {
      this.#log('error', `cannot connect to ${this.#url}: ${reason(e)}`)
      this.#scheduleReconnect(undefined)
      return
    }
    let markGone: () => void = () => {}
    const gone = new Promise<void>((resolve) => (markGone = resolve))
    const conn: Connection = { id, client, session, connectedAt: undefined, bornAt: undefined, online: false, closed: false, pump: undefined, gone, markGone }
    this.#conn = conn
    this.#log('debug', `connecting to ${this.#url} as ${this.#o.broker.clientId} (session ${session})`)
    client.on('connect', (connack) => this.#onConnect(conn, connack.sessionPresent))
    client.on('message', (topic, payload) => this.#onMessage(conn, topic, payload))
    client.on('close', () => this.#onClose(conn))
    client.on('end', () => this.#onClose(conn))
    client.on('error', (e) => this.#log('warn', `${this.#url}: ${e.message}`))
  }

  /** Docs/wire-contract.md step 1: +1 and persisted before the CONNECT that carries it. */
  #nextSession(): number {
    let session: number
    try {
      session = this.#o.sessionStore.next()
    } catch (e) {
      // Connecting matters more than a durable number: go on with one above any used in
      // this process; after a restart the cloud may ignore states until the count passes it.
      this.#counts.sessionStoreErrors++
      session = (this.#session ?? Math.floor(this.#now())) + 1
      this.#log('error', `cannot persist session ${session}: ${reason(e)}; connecting with it anyway`)
    }
    this.#session = session
    return session
  }

  #onConnect(conn: Connection, sessionPresent: boolean): void {
    if (!this.#current(conn) || this.#stopping) return
    conn.connectedAt = this.#now()
    this.#counts.connects++
    ;(conn.client.stream as Partial<Socket>).setNoDelay?.(true)
    this.#o.outbox.setUplink(true)
    this.#log('info', `connected to ${this.#url} (session ${conn.session}${sessionPresent ? ', broker session resumed' : ''})`)
    conn.client.subscribe(this.#commandFilter, { qos: 1 }, (err, granted) => {
      if (!this.#current(conn)) return
      if (err) this.#log('warn', `subscribing to ${this.#commandFilter} failed: ${err.message}`)
      else if (granted?.[0]?.qos === 128) this.#log('error', `the broker refused the subscription to ${this.#commandFilter}: commands will not arrive`)
      this.#announce(conn)
    })
  }

  /** Birth, then online; then what waited. */
  #announce(conn: Connection): void {
    const ts = Math.floor(this.#now())
    conn.bornAt = ts
    try {
      this.#publish(conn, this.#birthMessage(conn.session, ts), 'birth')
    } catch (e) {
      this.#log('error', `the birth does not pass the contract, going online without it: ${reason(e)}`)
    }
    this.#publish(conn, preparePublish('state', this.#o.site, this.#o.gateway, { state: 'online', session: conn.session, ts }), 'online state')
    conn.online = true
    try {
      this.#o.onOnline?.(conn.session)
    } catch (e) {
      this.#log('error', `onOnline failed: ${reason(e)}`)
    }
    this.#flushPending(conn)
    conn.pump = new TelemetryPump({
      outbox: this.#o.outbox,
      batch: this.#o.batch,
      maxInFlight: this.#maxInFlight,
      pollMs: this.#o.pollMs ?? UPLINK_DEFAULTS.pollMs,
      now: this.#now,
      estimate: this.#estimate,
      publish: (b, done) => {
        this.#counts.batchesSent++
        conn.client.publish(b.topic, Buffer.from(b.payload), { qos: b.qos, retain: b.retain }, (err) => done(err ?? undefined))
      },
      onAcked: () => void this.#counts.batchesAcked++,
      onError: (m) => this.#log('warn', m),
    })
    conn.pump.start()
  }

  #onClose(conn: Connection): void {
    if (conn.closed) return
    conn.closed = true
    conn.markGone()
    conn.client.end(true)
    if (conn !== this.#conn) return
    const wasUp = conn.connectedAt !== undefined
    conn.online = false
    conn.pump?.stop()
    this.#clearTimers()
    try {
      this.#o.outbox.setUplink(false)
      this.#o.outbox.nackAll()
    } catch (e) {
      this.#log('error', `outbox: ${reason(e)}`)
    }
    this.#pending.requeueAll()
    if (this.#stopping) return
    if (wasUp) this.#log('warn', `connection to ${this.#url} lost (session ${conn.session})`)
    this.#scheduleReconnect(conn)
  }

  #scheduleReconnect(conn: Connection | undefined): void {
    const lived = conn?.connectedAt === undefined ? 0 : this.#now() - conn.connectedAt
    if (lived >= this.#stableMs) this.#retry = 0
    const delay = backoffDelay(this.#retry++, this.#backoff)
    this.#log('debug', `reconnecting in ${delay} ms`)
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined
      if (!this.#stopping) this.#connect()
    }, delay)
  }

  async #stop(): Promise<void> {
    this.#stopping = true
    this.#clearTimers()
    const conn = this.#conn
    conn?.pump?.stop()
    const timeoutMs = this.#o.stopTimeoutMs ?? UPLINK_DEFAULTS.stopTimeoutMs
    if (conn !== undefined && conn.connectedAt !== undefined && !conn.closed) {
      // Docs/wire-contract.md step 6: our own retained offline, with ts, then DISCONNECT.
      const offline = preparePublish('state', this.#o.site, this.#o.gateway, { state: 'offline', session: conn.session, ts: Math.floor(this.#now()) })
      try {
        await withTimeout(Promise.race([publishAsync(conn.client, offline), conn.gone.then(() => Promise.reject(new Error('the connection closed')))]), timeoutMs, 'the PUBACK of the offline state')
      } catch (e) {
        this.#log('warn', `clean stop: ${reason(e)}`)
      }
      try {
        await withTimeout(new Promise<void>((resolve) => conn.client.end(false, {}, () => resolve())), timeoutMs, 'the DISCONNECT')
      } catch (e) {
        this.#log('warn', `clean stop: ${reason(e)}; closing the connection`)
      }
    }
    if (conn !== undefined) this.#onClose(conn)
    else {
      this.#o.outbox.setUplink(false)
      this.#o.outbox.nackAll()
    }
    this.#log('info', 'stopped')
  }

  // --- commands ----------------------------------------------------------------------

  #onMessage(conn: Connection, topic: string, payload: Buffer): void {
    if (!this.#current(conn) || this.#stopping) return
    this.#counts.received++
    const what = inbound(topic, payload, this.#o.site, this.#o.gateway, Math.floor(this.#now()))
    if (what.kind === 'unanswerable') {
      this.#counts.unanswerable++
      this.#log('warn', `unanswerable message on ${topic}: ${what.why}`)
      return
    }
    if (what.kind === 'invalid') {
      this.#log('warn', `command ${what.response.id} rejected: ${what.why}`)
      this.#respond(what.response, undefined)
      return
    }
    const req = what.request
    let answer: Promise<CommandResponse>
    try {
      answer = this.#o.onCommand(req)
    } catch (e) {
      answer = Promise.reject(e)
    }
    answer.then(
      (res) => this.#respond(res, req),
      (e: unknown) => this.#respond(failed(req.id, Math.floor(this.#now()), commandError('device_error', `${req.type} failed: ${reason(e)}`)), req),
    )
  }

  /** Every request gets exactly one response, even when the handler got it wrong. */
  #respond(res: CommandResponse, req: CommandRequest | undefined): void {
    const { message, problem } = responseMessage(res, req, this.#o.site, this.#o.gateway, Math.floor(this.#now()))
    if (problem !== undefined) this.#log('error', problem)
    this.#counts.answered++
    this.#enqueue({ kind: 'command/response', message })
  }

  // --- publishing --------------------------------------------------------------------

  #enqueue(m: PendingMessage): void {
    const dropped = this.#pending.add(m)
    if (dropped !== undefined) this.#log('warn', `pending queue full: dropped the oldest ${dropped.kind} message`)
    if (this.#conn !== undefined) this.#flushPending(this.#conn)
  }

  #flushPending(conn: Connection): void {
    if (!conn.online || !this.#current(conn)) return
    for (const m of this.#pending.take(conn.id)) {
      conn.client.publish(m.message.topic, Buffer.from(m.message.payload), { qos: m.message.qos, retain: m.message.retain }, (err) => {
        if (err === undefined || err === null) m.settle()
        else if (this.#current(conn)) {
          m.unsend()
          this.#log('warn', `publishing a ${m.kind} message failed: ${err.message}`)
        }
      })
    }
  }

  #publish(conn: Connection, message: Outgoing, what: string): void {
    conn.client.publish(message.topic, Buffer.from(message.payload), { qos: message.qos, retain: message.retain }, (err) => {
      if (err && this.#current(conn)) this.#log('warn', `publishing the ${what} failed: ${err.message}`)
    })
  }

  #birthMessage(session: number, ts: number): Outgoing {
    return preparePublish('birth', this.#o.site, this.#o.gateway, { ...this.#o.birth(), session, ts })
  }

  // --- helpers -----------------------------------------------------------------------

  #current(conn: Connection): boolean {
    return conn === this.#conn && !conn.closed
  }

  #clearTimers(): void {
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = undefined
  }

  #log(level: keyof UplinkLogger, message: string): void {
    this.#logger[level]?.(this.#scrub(message))
  }
}

function publishAsync(client: MqttClient, m: Outgoing): Promise<void> {
  return new Promise((resolve, reject) => {
    client.publish(m.topic, Buffer.from(m.payload), { qos: m.qos, retain: m.retain }, (err) => (err ? reject(err) : resolve()))
  })
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
