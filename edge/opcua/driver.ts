/**
 * The OPC UA driver: reads one device (a PLC or an OPC UA gateway) and emits `Reading`s
 * of the shared wire model, plus `available`/`unavailable` events, as the Modbus polling
 * path does. Two modes: `subscribe` (one subscription, a monitored item per point,
 * report by exception) and `poll` (one Read of every node per interval).
 *
 * Security: `security` (default MessageSecurityMode.None / SecurityPolicy.None, for
 * bench and lab use); production uses SignAndEncrypt (Basic256Sha256 or
 * Aes256_Sha256_RsaPss, OPC UA Part 2 §6 / Part 7) with a client certificate trusted by
 * the PLC and the PLC's certificate in `pkiRoot/trusted`. `user` opens the session with
 * a user name and password instead of anonymously (OPC UA Part 4 §7.36.4).
 *
 * Failures never throw out of the driver after `start()`: a bad node is a per-point
 * error, a lost connection is an `unavailable` event plus a reading whose every point
 * has a `transport` error, and the driver keeps reconnecting until `stop()`.
 */
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { format } from 'node:util'
import {
  AttributeIds,
  ClientSubscription,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
  resolveNodeId,
  setDebugLogger,
  setErrorLogger,
  setWarningLogger,
  type ClientMonitoredItemGroup,
  type ClientSession,
  type DataValue,
  type NodeId,
} from 'node-opcua'
import type { DeviceEvent, Reading } from '../../shared/mqtt/messages.ts'
import type { PointError } from '../../shared/quality.ts'
import { mapDataValue, sampleTime, statusError, transportError, type PointResult } from './data-value.ts'
import { specProblems, type OpcuaDeviceSpec, type OpcuaPointSpec } from './spec.ts'

/** An availability event, in the shape of the wire contract's `events` payload. */
export type OpcuaDeviceEvent = Pick<DeviceEvent, 'device' | 'ts' | 'reason'> & { event: 'available' | 'unavailable' }

export interface OpcuaDriverOptions {
  device: OpcuaDeviceSpec
  onReading: (reading: Reading) => void
  onEvent: (event: OpcuaDeviceEvent) => void
  /** Message security (default None / None: lab only, see the header). */
  security?: { mode: 'None' | 'Sign' | 'SignAndEncrypt'; policy: 'None' | 'Basic256Sha256' | 'Aes128_Sha256_RsaOaep' | 'Aes256_Sha256_RsaPss' }
  /** User name and password of the session (default anonymous). */
  user?: { username: string; password: string }
  /** PKI folder of the client certificate (created on first use). Default: `os.tmpdir()/muni-opcua-pki`. */
  pkiRoot?: string
  /** Connection attempts per connect round (node-opcua connectionStrategy.maxRetry). Default 2. */
  connectRetries?: number
  /** Backoff between attempts inside a round, and between lost-connection repairs. Default 200 → 2000 ms. */
  retryDelayMs?: { initial: number; max: number }
  /** Pause between failed connect rounds. Default 5000 ms. */
  reconnectDelayMs?: number
  /** Timeout of each OPC UA request. Default 5000 ms. */
  requestTimeoutMs?: number
  now?: () => number
}

interface Point {
  spec: OpcuaPointSpec
  /** Undefined when the NodeId string does not parse: the point is a permanent `decode` error. */
  nodeId: NodeId | undefined
  parseError?: PointError
}

export class OpcuaDriver {
  readonly #o: OpcuaDriverOptions
  readonly #now: () => number
  #points: Point[] = []
  /** Latest result per point name (subscribe mode). */
  #latest = new Map<string, PointResult>()
  #running = false
  #connected = false
  /** undefined until the first connect outcome, so the first failure is reported too. */
  #available: boolean | undefined
  #client: OPCUAClient | undefined
  #session: ClientSession | undefined
  #subscription: ClientSubscription | undefined
  #pollTimer: NodeJS.Timeout | undefined
  #retryTimer: NodeJS.Timeout | undefined
  #polling = false
  #connecting: Promise<void> | undefined

  constructor(options: OpcuaDriverOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
  }

  get device(): OpcuaDeviceSpec {
    return this.#o.device
  }

  /** Whether the device answered last time (undefined before the first connect outcome). */
  get available(): boolean | undefined {
    return this.#available
  }

  /**
   * Validates the spec (throws on a bad one: a configuration error), then makes the first
   * connect round and resolves when it has succeeded or failed. A failed round is reported
   * as `unavailable` and retried every `reconnectDelayMs`; it does not reject.
   */
  async start(): Promise<void> {
    if (this.#running) return
    const problems = specProblems(this.#o.device)
    if (problems.length > 0) throw new Error(`invalid OPC UA device ${this.#o.device.id}: ${problems.join('; ')}`)
    this.#points = this.#o.device.points.map((spec) => {
      try {
        return { spec, nodeId: resolveNodeId(spec.nodeId) }
      } catch (e) {
        return { spec, nodeId: undefined, parseError: { code: 'decode', detail: clip(`bad NodeId ${spec.nodeId}: ${message(e)}`) } }
      }
    })
    this.#running = true
    await this.#connect()
  }

  /** Stops polling, deletes the subscription, closes the session and the connection. */
  async stop(): Promise<void> {
    if (!this.#running) return
    this.#running = false
    clearTimeout(this.#retryTimer)
    clearInterval(this.#pollTimer)
    this.#retryTimer = undefined
    this.#pollTimer = undefined
    await this.#connecting?.catch(() => undefined)
    await this.#teardown()
  }

  #connect(): Promise<void> {
    const p = this.#connectOnce().finally(() => {
      if (this.#connecting === p) this.#connecting = undefined
    })
    this.#connecting = p
    return p
  }

  async #connectOnce(): Promise<void> {
    const { device } = this.#o
    const retry = this.#o.retryDelayMs ?? { initial: 200, max: 2000 }
    const timeout = this.#o.requestTimeoutMs ?? 5000
    const client = OPCUAClient.create({
      applicationName: `muni-edge-${device.id}`,
      endpointMustExist: false,
      // Default None / None is a lab setting, see the header.
      securityMode: MessageSecurityMode[this.#o.security?.mode ?? 'None'],
      securityPolicy: SecurityPolicy[this.#o.security?.policy ?? 'None'],
      connectionStrategy: { maxRetry: this.#o.connectRetries ?? 2, initialDelay: retry.initial, maxDelay: retry.max },
      clientCertificateManager: new OPCUACertificateManager({
        rootFolder: this.#o.pkiRoot ?? join(tmpdir(), 'muni-opcua-pki'),
        automaticallyAcceptUnknownCertificate: true,
      }),
      requestedSessionTimeout: Math.max(10_000, device.intervalMs * 10),
      defaultTransactionTimeout: timeout,
      transportTimeout: timeout,
      keepSessionAlive: device.mode === 'poll',
    })
    this.#client = client
    client.on('connection_lost', () => {
      if (this.#client !== client || !this.#running) return
      this.#connected = false
      this.#down('connection lost')
    })
    client.on('connection_reestablished', () => {
      if (this.#client !== client || !this.#running) return
      this.#connected = true
      this.#up()
    })
    // node-opcua repairs a lost connection by itself; when it gives up, start over.
    client.on('close', (err) => {
      if (this.#client !== client || !this.#running || err == null) return
      this.#connected = false
      this.#down(`connection closed: ${message(err)}`)
      void this.#teardown().then(() => this.#scheduleRetry())
    })
    try {
      await client.connect(device.endpoint)
      if (this.#client !== client) return
      const user = this.#o.user
      const session = await client.createSession(user === undefined ? undefined : { type: UserTokenType.UserName, userName: user.username, password: user.password })
      this.#session = session
      if (!this.#running) return
      this.#connected = true
      if (device.mode === 'subscribe') await this.#subscribe(session)
      else this.#startPolling()
      this.#up()
    } catch (e) {
      if (this.#client !== client || !this.#running) return
      this.#connected = false
      this.#down(`cannot connect to ${device.endpoint}: ${message(e)}`)
      await this.#teardown()
      this.#scheduleRetry()
    }
  }

  #scheduleRetry(): void {
    if (!this.#running || this.#retryTimer !== undefined) return
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      if (this.#running) void this.#connect()
    }, this.#o.reconnectDelayMs ?? 5000)
  }

  async #teardown(): Promise<void> {
    const client = this.#client
    const session = this.#session
    const subscription = this.#subscription
    this.#client = undefined
    this.#session = undefined
    this.#subscription = undefined
    this.#connected = false
    clearInterval(this.#pollTimer)
    this.#pollTimer = undefined
    // Each step is best effort: on a dead connection they fail or time out.
    await subscription?.terminate().catch(() => undefined)
    await session?.close().catch(() => undefined)
    await client?.disconnect().catch(() => undefined)
  }

  // ── subscribe mode ────────────────────────────────────────────────────────────

  async #subscribe(session: ClientSession): Promise<void> {
    const { intervalMs } = this.#o.device
    const subscription = await session.createSubscription2({
      requestedPublishingInterval: intervalMs,
      // Part 4 §5.13.2: the server sends a keep-alive after maxKeepAliveCount empty intervals.
      requestedMaxKeepAliveCount: 10,
      requestedLifetimeCount: 100,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 1,
    })
    this.#subscription = subscription
    this.#latest.clear()
    const monitored = this.#points.filter((p) => p.nodeId !== undefined)
    for (const p of this.#points) if (p.parseError !== undefined) this.#latest.set(p.spec.name, { ok: false, error: p.parseError })
    if (monitored.length === 0) return
    const group: ClientMonitoredItemGroup = await subscription.monitorItems(
      monitored.map((p) => ({ nodeId: p.nodeId, attributeId: AttributeIds.Value })),
      { samplingInterval: intervalMs, discardOldest: true, queueSize: 1 },
      TimestampsToReturn.Both,
    )
    group.on('changed', (_item, dv: DataValue, index: number) => {
      const point = monitored[index]
      if (point === undefined || !this.#running || this.#subscription !== subscription) return
      this.#latest.set(point.spec.name, mapDataValue(point.spec, dv))
      this.#emitLatest(sampleTime(dv, this.#now()))
    })
    // An item the server refused (e.g. BadNodeIdUnknown) never reports a change: record it now.
    let refused = false
    group.monitoredItems.forEach((item, i) => {
      const point = monitored[i]
      if (point !== undefined && !item.statusCode.isGood()) {
        this.#latest.set(point.spec.name, { ok: false, error: statusError(item.statusCode) })
        refused = true
      }
    })
    if (refused) this.#emitLatest(this.#now())
  }

  /** One reading with every point that has a result so far. */
  #emitLatest(ts: number): void {
    const reading = this.#reading(ts)
    for (const p of this.#points) {
      const r = this.#latest.get(p.spec.name)
      if (r === undefined) continue
      if (r.ok) reading.values[p.spec.name] = r.value
      else reading.errors[p.spec.name] = r.error
    }
    this.#o.onReading(reading)
  }

  // ── poll mode ─────────────────────────────────────────────────────────────────

  #startPolling(): void {
    clearInterval(this.#pollTimer)
    void this.#poll()
    this.#pollTimer = setInterval(() => void this.#poll(), this.#o.device.intervalMs)
  }

  async #poll(): Promise<void> {
    // One read at a time: a slow server skips intervals rather than piling up requests.
    if (this.#polling || !this.#running) return
    const session = this.#session
    if (!this.#connected || session === undefined) {
      this.#emitAll(transportError('not connected'))
      return
    }
    this.#polling = true
    try {
      const readable = this.#points.filter((p) => p.nodeId !== undefined)
      const results =
        readable.length === 0
          ? []
          : await session.read(
              readable.map((p) => ({ nodeId: p.nodeId, attributeId: AttributeIds.Value })),
              0,
            )
      if (!this.#running || this.#session !== session) return
      const received = this.#now()
      // Sample time of a poll: when the server read the values (serverTimestamp); a
      // sourceTimestamp only says when a value last changed, which may be hours ago.
      const times = results.map((dv) => sampleTime(dv, 0, 'server')).filter((t) => t > 0)
      const reading = this.#reading(times.length > 0 ? Math.max(...times) : received)
      const byName = new Map(readable.map((p, i) => [p.spec.name, results[i]]))
      for (const p of this.#points) {
        const dv = byName.get(p.spec.name)
        const r: PointResult =
          p.parseError !== undefined
            ? { ok: false, error: p.parseError }
            : dv === undefined
              ? { ok: false, error: { code: 'decode', detail: 'no result for this node in the Read response' } }
              : mapDataValue(p.spec, dv)
        if (r.ok) reading.values[p.spec.name] = r.value
        else reading.errors[p.spec.name] = r.error
      }
      this.#o.onReading(reading)
    } catch (e) {
      if (this.#running && this.#session === session) this.#emitAll(readFailure(e))
    } finally {
      this.#polling = false
    }
  }

  // ── availability ─────────────────────────────────────────────────────────────

  #up(): void {
    if (this.#available === true) return
    this.#available = true
    this.#o.onEvent({ device: this.#o.device.id, ts: this.#now(), event: 'available' })
  }

  /** `unavailable` (once per outage) and a reading with a transport error on every point. */
  #down(reason: string): void {
    const error = transportError(reason)
    for (const p of this.#points) this.#latest.set(p.spec.name, { ok: false, error })
    if (this.#available !== false) {
      this.#available = false
      this.#o.onEvent({ device: this.#o.device.id, ts: this.#now(), event: 'unavailable', reason: clip(reason) })
    }
    this.#emitAll(error)
  }

  #emitAll(error: PointError): void {
    const reading = this.#reading(this.#now())
    for (const p of this.#points) reading.errors[p.spec.name] = error
    this.#o.onReading(reading)
  }

  #reading(ts: number): Reading {
    return { device: this.#o.device.id, ts, values: {}, errors: {}, historical: false }
  }
}

/**
 * Sends node-opcua's own log lines (it prints to stdout by default, e.g. "Creating default
 * certificate") to `log`, one line each: a process whose stdout is a protocol, like
 * `muni edge run`'s, must not get them there. The loggers are global to node-opcua.
 */
export function routeOpcuaLogs(log: (line: string) => void): void {
  const to = (level: string) => (...args: unknown[]) => log(`node-opcua ${level}: ${format(...args).replace(/\s+/g, ' ').trim()}`)
  setWarningLogger(to('warning'))
  setErrorLogger(to('error'))
  setDebugLogger(to('debug'))
}

function readFailure(e: unknown): PointError {
  const text = message(e)
  return /timeout|timed out/i.test(text) ? { code: 'timeout', detail: clip(text) } : transportError(text)
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 199)}…` : s
}
