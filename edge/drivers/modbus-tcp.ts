/**
 * Modbus TCP driver (Modbus Messaging on TCP/IP Implementation Guide v1.0b): one
 * connection to a device or to an RTU-to-TCP converter with many units behind it.
 *
 * - Pipelining: up to `concurrency` requests in flight, paired with their answers
 *   by MBAP transaction id (§3.1.3), in whatever order the server answers; 1 is
 *   strictly sequential, for converters that cannot pipeline. Beyond that a FIFO
 *   queue, bounded by `maxQueue` (a full queue fails new requests at once).
 * - Timeout per request, counted from when it is written (not while it queues, or
 *   one slow unit would time out everything queued behind it). A timed-out
 *   transaction id is forgotten; its late answer is discarded and counted.
 * - A frame cut short leaves the byte stream unframeable (TCP has no delimiter):
 *   when a request times out with its own partial answer at the head of the
 *   receive buffer, the connection is reset.
 * - Connection on demand: the first request after a close or error reconnects,
 *   but never sooner than `reconnectMinMs` after the previous attempt; inside that
 *   interval requests fail at once with `transport` (no hammering of a down
 *   converter, and no caller waits a full timeout for a connection that is not
 *   there). TCP_NODELAY is set: Modbus frames are small and latency-bound.
 */
import { connect, type Socket } from 'node:net'
import { encodeMbap, splitMbap } from '../../shared/modbus/mbap.ts'
import { answerOutcome, checkTimeout, checkUnit, DEFAULT_MAX_QUEUE, errorDetail, Exchange, readPdu, readResult, writePdu, writeResult } from './exchange.ts'
import { DriverCounters, type DriverStats } from './stats.ts'
import type { ReadResult, ReadSpec, Transport, WriteResult } from './transport.ts'

export interface TcpTransportOptions {
  readonly host: string
  readonly port: number
  /** Requests in flight on the connection (default 1: converters to RS-485 need it). */
  readonly concurrency?: number
  /** Longest wait for a connection, ms (default 3000). */
  readonly connectTimeoutMs?: number
  /** Shortest interval between connection attempts, ms (default 1000). */
  readonly reconnectMinMs?: number
  /** Requests that may wait for a free slot (default 256). */
  readonly maxQueue?: number
}

const EXTRA = ['connects', 'connectFailures', 'disconnects', 'lateResponses', 'droppedFrames', 'streamResets'] as const

/** A Modbus TCP connection as a `Transport`: `new` does nothing, `start()` connects, `stop()` closes. */
export class ModbusTcpTransport implements Transport {
  private readonly counters = new DriverCounters(EXTRA)
  private readonly queue: Exchange[] = []
  private readonly inFlight = new Map<number, Exchange>()
  private socket: Socket | undefined
  private connecting: Promise<string | undefined> | undefined
  /** The socket of a connection attempt in progress, so that `stop()` can abort it. */
  private dialing: Socket | undefined
  private running = false
  private lastAttemptAt = Number.NEGATIVE_INFINITY
  private lastError: string | undefined
  private nextTid = 0
  private rx: Buffer = Buffer.alloc(0)

  constructor(private readonly opts: TcpTransportOptions) {}

  get concurrency(): number {
    return Math.max(1, Math.floor(this.opts.concurrency ?? 1))
  }

  /** A copy of the counters. */
  get stats(): DriverStats {
    return this.counters.snapshot(this.queue.length, this.inFlight.size)
  }

  /** Whether a connection is up. */
  get connected(): boolean {
    return this.socket !== undefined
  }

  /**
   * Connects; rejects with the reason when this attempt fails. The transport stays
   * started either way: later requests reconnect on demand. Safe to call again.
   */
  async start(): Promise<void> {
    this.running = true
    if (this.socket) return
    const failed = await (this.connecting ?? this.connect(true))
    if (failed !== undefined) throw new Error(`Modbus TCP ${this.opts.host}:${this.opts.port}: ${failed}`)
  }

  /** Fails every queued and in-flight request (`transport`, "stopped") and closes the connection. Safe to call twice. */
  async stop(): Promise<void> {
    this.running = false
    for (const ex of this.queue.splice(0)) ex.fail('transport stopped')
    const socket = this.socket
    this.drop('transport stopped')
    this.dialing?.destroy()
    if (socket && !socket.closed) await new Promise<void>((resolve) => socket.once('close', () => resolve()))
    await this.connecting
  }

  async read(unit: number, spec: ReadSpec, timeoutMs: number): Promise<ReadResult> {
    return readResult(this.submit(unit, readPdu(spec), timeoutMs))
  }

  async write(unit: number, table: 'holding' | 'coil', start: number, values: readonly number[], timeoutMs: number): Promise<WriteResult> {
    return writeResult(this.submit(unit, writePdu(table, start, values), timeoutMs))
  }

  private submit(unit: number, pdu: Uint8Array, timeoutMs: number): Exchange {
    // Implementation Guide §4.4.1.2: the unit id addresses a device behind a gateway, 0..255.
    checkUnit(unit, 0, 255, 'TCP')
    checkTimeout(timeoutMs)
    const ex = new Exchange(unit, pdu, timeoutMs, this.counters)
    if (!this.running) ex.fail('transport not started')
    else if (this.queue.length >= (this.opts.maxQueue ?? DEFAULT_MAX_QUEUE)) ex.fail(`queue full (${this.queue.length} requests waiting)`)
    else {
      this.queue.push(ex)
      this.pump()
    }
    return ex
  }

  /** Sends queued requests while slots are free; connects on demand. */
  private pump(): void {
    if (this.queue.length === 0) return
    if (!this.socket) {
      if (!this.connecting) void this.connect()
      return
    }
    while (this.socket && this.inFlight.size < this.concurrency) {
      const ex = this.queue.shift()
      if (!ex) break
      this.send(this.socket, ex)
    }
  }

  /**
   * One connection attempt, or (unless `force`, as `start()` does) a refusal inside
   * the minimum interval since the last attempt. Resolves with the failure, or
   * undefined once connected; either way the queue is served or failed.
   */
  private connect(force = false): Promise<string | undefined> {
    const now = performance.now()
    const wait = this.lastAttemptAt + (this.opts.reconnectMinMs ?? 1000) - now
    if (wait > 0 && !force) {
      const detail = `not connected${this.lastError ? ` (${this.lastError})` : ''}; next attempt in ${Math.ceil(wait)} ms`
      for (const ex of this.queue.splice(0)) ex.fail(detail)
      return Promise.resolve(detail)
    }
    this.lastAttemptAt = now
    const connectTimeoutMs = this.opts.connectTimeoutMs ?? 3000
    const attempt = new Promise<string | undefined>((resolve) => {
      const socket = connect({ host: this.opts.host, port: this.opts.port, noDelay: true })
      this.dialing = socket
      const timer = setTimeout(() => socket.destroy(new Error(`connect timed out after ${connectTimeoutMs} ms`)), connectTimeoutMs)
      let over = false
      const refused = (err: Error): void => {
        if (over) return
        over = true
        clearTimeout(timer)
        this.dialing = undefined
        this.counters.extra.connectFailures++
        this.lastError = errorDetail(err)
        socket.destroy()
        resolve(this.lastError)
      }
      socket.once('error', refused)
      socket.once('close', () => refused(new Error(this.running ? 'connection closed while connecting' : 'transport stopped')))
      socket.once('connect', () => {
        over = true
        clearTimeout(timer)
        this.dialing = undefined
        socket.removeAllListeners('error')
        socket.removeAllListeners('close')
        if (!this.running) {
          socket.destroy()
          resolve('transport stopped')
          return
        }
        this.counters.extra.connects++
        this.lastError = undefined
        this.adopt(socket)
        resolve(undefined)
      })
    })
    this.connecting = attempt
    void attempt.then((failed) => {
      this.connecting = undefined
      if (failed !== undefined) for (const ex of this.queue.splice(0)) ex.fail(failed)
      else this.pump()
    })
    return attempt
  }

  private adopt(socket: Socket): void {
    this.socket = socket
    this.rx = Buffer.alloc(0)
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.receive(socket, chunk))
    socket.on('error', (err) => {
      this.lastError = errorDetail(err)
    })
    socket.on('close', () => {
      if (this.socket !== socket) return
      this.counters.extra.disconnects++
      this.drop(`connection closed${this.lastError ? ` (${this.lastError})` : ''}`)
      this.pump()
    })
  }

  /** Forgets the connection and fails what was on it. */
  private drop(detail: string): void {
    const socket = this.socket
    this.socket = undefined
    this.rx = Buffer.alloc(0)
    for (const ex of this.inFlight.values()) ex.fail(detail)
    this.inFlight.clear()
    socket?.destroy()
  }

  private send(socket: Socket, ex: Exchange): void {
    const tid = this.allocateTid()
    this.inFlight.set(tid, ex)
    ex.sentAt = performance.now()
    ex.timer = setTimeout(() => this.expire(tid, ex), ex.timeoutMs)
    socket.write(encodeMbap({ transactionId: tid, unitId: ex.unit, pdu: ex.pdu }))
  }

  /** The next transaction id not in flight (16 bits, wrapping; §3.1.3). */
  private allocateTid(): number {
    do this.nextTid = (this.nextTid + 1) & 0xffff
    while (this.inFlight.has(this.nextTid))
    return this.nextTid
  }

  private expire(tid: number, ex: Exchange): void {
    if (this.inFlight.get(tid) !== ex) return
    this.inFlight.delete(tid)
    ex.settle({ ok: false, failure: { kind: 'timeout' } })
    // Its answer stuck half-way at the head of the stream: nothing after it can be framed.
    const rx = this.rx
    const headTid = rx.length >= 2 ? ((rx[0] ?? 0) << 8) | (rx[1] ?? 0) : undefined
    if (rx.length > 0 && (headTid === tid || this.inFlight.size === 0)) {
      this.counters.extra.streamResets++
      this.lastError = `stream reset after a partial answer to transaction ${tid}`
      this.drop(this.lastError)
    }
    this.pump()
  }

  private receive(socket: Socket, chunk: Buffer): void {
    if (this.socket !== socket) return
    const rx = this.rx.length === 0 ? chunk : Buffer.concat([this.rx, chunk])
    const split = splitMbap(rx)
    // Keep the remainder in a buffer of its own: `chunk` may be a slice of a pooled one.
    this.rx = Buffer.from(rx.subarray(split.consumed))
    for (const frame of split.frames) {
      if (frame.protocolId !== 0) {
        // Implementation Guide §3.1.3: protocol id 0 is Modbus; anything else is not for us.
        this.counters.extra.droppedFrames++
        continue
      }
      const ex = this.inFlight.get(frame.transactionId)
      if (!ex) {
        this.counters.extra.lateResponses++
        continue
      }
      this.inFlight.delete(frame.transactionId)
      ex.settle(
        frame.unitId === ex.unit
          ? answerOutcome(ex.pdu, frame.pdu)
          : { ok: false, failure: { kind: 'crc', detail: `mismatched response: unit id ${frame.unitId}, expected ${ex.unit}` } },
      )
    }
    if (split.corrupt !== undefined) {
      // The header names its transaction: that request got a malformed answer; the others lose the connection.
      const tid = ((this.rx[0] ?? 0) << 8) | (this.rx[1] ?? 0)
      this.inFlight.get(tid)?.settle({ ok: false, failure: { kind: 'crc', detail: `malformed frame: ${split.corrupt}` } })
      this.inFlight.delete(tid)
      this.counters.extra.streamResets++
      this.lastError = split.corrupt
      this.drop(`stream reset: ${split.corrupt}`)
    }
    this.pump()
  }
}
