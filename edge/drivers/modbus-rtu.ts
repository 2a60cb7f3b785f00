/**
 * Modbus RTU driver (Modbus over Serial Line v1.02): the master of one RS-485 line.
 *
 * One request on the line at a time (§2.2: the master addresses one slave and
 * waits for its answer or its timeout), the rest in a bounded FIFO queue. Each
 * transaction:
 *
 * 1. waits for t3.5 of silence since the last byte on the line (§2.5.1.1; 1.75 ms
 *    above 19200 baud, or `interFrameMs`);
 * 2. discards whatever the line said since the previous transaction — noise, a
 *    dead slave's late answer — from our buffer and the OS buffer (tcflush);
 * 3. writes unit + PDU + CRC and reads the answer with the shared
 *    `RtuResponseReader`: length from the function code, 5 bytes for an exception,
 *    CRC checked (bad → `crc` at once), other units' late frames skipped;
 * 4. gives up after `timeoutMs` counted from the end of the request's
 *    transmission (the request's own wire time is added; a 123-register FC16
 *    takes 290 ms to send at 9600 baud) → `timeout`, or `crc` when a corrupted
 *    answer was seen on the way.
 *
 * So a dead slave costs exactly one timeout per request sent to it, and the next
 * request, to any unit, goes out t3.5 later. A truncated answer is a `timeout`:
 * its length is known from its header and the rest never comes; silence cannot
 * end a frame early because a pty or USB adapter delivers bytes in bursts.
 *
 * The port opens in `start()`. If it closes (USB adapter unplugged) or fails to
 * open, requests reopen it on demand, but not sooner than `reopenMinMs` after the
 * previous attempt; inside that interval they fail at once with `transport`.
 */
import { SerialPort } from 'serialport'
import { encodeRtu } from '../../shared/modbus/rtu-frame.ts'
import { RtuResponseReader } from '../../shared/modbus/rtu-response.ts'
import { frameTimeMs, interFrameGapMs } from '../../shared/modbus/rtu-timing.ts'
import { sleepUntil } from './clock.ts'
import { answerOutcome, checkTimeout, checkUnit, DEFAULT_MAX_QUEUE, errorDetail, Exchange, readPdu, readResult, writePdu, writeResult } from './exchange.ts'
import { DriverCounters, type DriverStats } from './stats.ts'
import type { ReadResult, ReadSpec, Transport, WriteResult } from './transport.ts'

export interface RtuTransportOptions {
  /** Serial device, e.g. /dev/ttyUSB0 or a socat pty link. */
  readonly path: string
  readonly baud: number
  /** §2.5.1: even is the default; none needs 2 stop bits to keep 11 bits per character. */
  readonly parity: 'none' | 'even' | 'odd'
  /** RTU characters have 8 data bits (§2.5.1). */
  readonly dataBits?: 8
  /** Default 1. */
  readonly stopBits?: 1 | 2
  /** Silence before each request, ms (default t3.5: 3.5 characters, 1.75 ms above 19200 baud). */
  readonly interFrameMs?: number
  /** Shortest interval between attempts to open the port, ms (default 1000). */
  readonly reopenMinMs?: number
  /** Requests that may wait for the line (default 256). */
  readonly maxQueue?: number
}

const EXTRA = ['opens', 'openFailures', 'closes', 'garbageBytes', 'staleFrames'] as const

/** Called with each transaction's answer event or its timeout. */
type Waiter = (event: { kind: 'answer'; pdu: Uint8Array } | { kind: 'bad-crc'; detail: string } | { kind: 'timeout' } | { kind: 'closed'; detail: string }) => void

/** An RS-485 line as a `Transport`: `new` does nothing, `start()` opens the port, `stop()` closes it. */
export class ModbusRtuTransport implements Transport {
  private readonly counters = new DriverCounters(EXTRA)
  private readonly queue: Exchange[] = []
  private current: Exchange | undefined
  private port: SerialPort | undefined
  private opening: Promise<string | undefined> | undefined
  private running = false
  private draining = false
  private readonly halt = { aborted: false }
  private lastAttemptAt = Number.NEGATIVE_INFINITY
  private lastError: string | undefined
  /** `performance.now()` of the last byte seen on the line (sent or received). */
  private lastActivityAt = Number.NEGATIVE_INFINITY
  private reader: RtuResponseReader | undefined
  private waiter: Waiter | undefined

  constructor(private readonly opts: RtuTransportOptions) {}

  /** Bits per character: start + data + parity + stop (11 for every framing §2.5.1 allows). */
  get bitsPerChar(): number {
    return 1 + (this.opts.dataBits ?? 8) + (this.opts.parity === 'none' ? 0 : 1) + (this.opts.stopBits ?? 1)
  }

  /** The silence kept before each request, ms. */
  get interFrameMs(): number {
    return this.opts.interFrameMs ?? interFrameGapMs(this.opts.baud, this.bitsPerChar)
  }

  /** A copy of the counters. */
  get stats(): DriverStats {
    return this.counters.snapshot(this.queue.length, this.current ? 1 : 0)
  }

  /** Opens the port; rejects with the reason when it cannot. The transport stays started: requests retry on demand. */
  async start(): Promise<void> {
    this.running = true
    this.halt.aborted = false
    if (this.port?.isOpen) return
    const failed = await (this.opening ?? this.open(true))
    if (failed !== undefined) throw new Error(`Modbus RTU ${this.opts.path}: ${failed}`)
  }

  /** Fails the queued and current requests (`transport`, "stopped") and closes the port. Safe to call twice. */
  async stop(): Promise<void> {
    this.running = false
    this.halt.aborted = true
    for (const ex of this.queue.splice(0)) ex.fail('transport stopped')
    this.waiter?.({ kind: 'closed', detail: 'transport stopped' })
    await this.opening
    const port = this.port
    this.port = undefined
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()))
  }

  async read(unit: number, spec: ReadSpec, timeoutMs: number): Promise<ReadResult> {
    return readResult(this.submit(unit, readPdu(spec), timeoutMs))
  }

  async write(unit: number, table: 'holding' | 'coil', start: number, values: readonly number[], timeoutMs: number): Promise<WriteResult> {
    return writeResult(this.submit(unit, writePdu(table, start, values), timeoutMs))
  }

  private submit(unit: number, pdu: Uint8Array, timeoutMs: number): Exchange {
    // §2.2: slave addresses 1..247; 0 is broadcast (answered by nobody), which this driver does not send.
    checkUnit(unit, 1, 247, 'RTU')
    checkTimeout(timeoutMs)
    const ex = new Exchange(unit, pdu, timeoutMs, this.counters)
    if (!this.running) ex.fail('transport not started')
    else if (this.queue.length >= (this.opts.maxQueue ?? DEFAULT_MAX_QUEUE)) ex.fail(`queue full (${this.queue.length} requests waiting)`)
    else {
      this.queue.push(ex)
      void this.drain()
    }
    return ex
  }

  /** Serves the queue one transaction at a time. */
  private async drain(): Promise<void> {
    if (this.draining) return
    this.draining = true
    try {
      while (this.queue.length > 0 && this.running) {
        if (!this.port?.isOpen) {
          const failed = await (this.opening ?? this.open(false))
          if (failed !== undefined) {
            for (const ex of this.queue.splice(0)) ex.fail(failed)
            break
          }
        }
        const ex = this.queue.shift()
        const port = this.port
        if (!ex || !port) break
        this.current = ex
        try {
          await this.transact(port, ex)
        } catch (err) {
          ex.fail(`port error: ${errorDetail(err)}`)
        } finally {
          this.current = undefined
        }
      }
    } finally {
      this.draining = false
    }
  }

  private async transact(port: SerialPort, ex: Exchange): Promise<void> {
    // §2.5.1.1: at least t3.5 of silence before a frame.
    await sleepUntil(this.lastActivityAt + this.interFrameMs, this.halt)
    // Whatever the line said since the last answer is stale: forget it, ours and the OS's.
    this.reader = undefined
    if (port.isOpen) await new Promise<void>((resolve) => port.flush(() => resolve()))
    if (!this.running) return ex.fail('transport stopped')
    if (!port.isOpen || this.port !== port) return ex.fail(`port closed${this.lastError ? ` (${this.lastError})` : ''}`)
    const frame = encodeRtu(ex.unit, ex.pdu)
    const reader = new RtuResponseReader(ex.unit, ex.functionCode)
    const event = await new Promise<Parameters<Waiter>[0]>((resolve) => {
      this.waiter = resolve
      this.reader = reader
      ex.sentAt = performance.now()
      const txMs = frameTimeMs(frame.length, this.opts.baud, this.bitsPerChar)
      this.lastActivityAt = ex.sentAt + txMs
      ex.timer = setTimeout(() => resolve({ kind: 'timeout' }), txMs + ex.timeoutMs)
      port.write(Buffer.from(frame), (err) => {
        if (err) resolve({ kind: 'closed', detail: `write failed: ${errorDetail(err)}` })
      })
    })
    this.waiter = undefined
    this.reader = undefined
    this.counters.extra.garbageBytes += reader.garbageBytes + reader.pending
    this.counters.extra.staleFrames += reader.staleFrames
    switch (event.kind) {
      case 'answer':
        return ex.settle(answerOutcome(ex.pdu, event.pdu))
      case 'bad-crc':
        return ex.settle({ ok: false, failure: { kind: 'crc', detail: event.detail } })
      case 'timeout': {
        this.lastActivityAt = Math.max(this.lastActivityAt, performance.now())
        const crc = reader.finish()
        return ex.settle({ ok: false, failure: crc === undefined ? { kind: 'timeout' } : { kind: 'crc', detail: crc } })
      }
      case 'closed':
        return ex.fail(event.detail)
    }
  }

  private receive(chunk: Buffer): void {
    this.lastActivityAt = performance.now()
    const reader = this.reader
    if (!reader) {
      // Nobody asked: noise, or a late answer to a request that already timed out.
      this.counters.extra.garbageBytes += chunk.length
      return
    }
    const event = reader.push(chunk)
    if (!event) return
    this.reader = undefined
    this.waiter?.(event.kind === 'response' ? { kind: 'answer', pdu: event.pdu } : event)
  }

  /** One attempt to open the port, or (unless `force`) a refusal inside the minimum interval. Resolves with the failure, undefined when open. */
  private open(force: boolean): Promise<string | undefined> {
    const now = performance.now()
    const wait = this.lastAttemptAt + (this.opts.reopenMinMs ?? 1000) - now
    if (wait > 0 && !force) return Promise.resolve(`port not open${this.lastError ? ` (${this.lastError})` : ''}; next attempt in ${Math.ceil(wait)} ms`)
    this.lastAttemptAt = now
    const port = new SerialPort({
      path: this.opts.path,
      baudRate: this.opts.baud,
      dataBits: this.opts.dataBits ?? 8,
      parity: this.opts.parity,
      stopBits: this.opts.stopBits ?? 1,
      autoOpen: false,
    })
    port.on('data', (chunk: Buffer) => {
      if (this.port === port) this.receive(chunk)
    })
    port.on('error', (err) => {
      this.lastError = errorDetail(err)
    })
    port.on('close', (err?: Error | null) => {
      if (this.port !== port) return
      this.port = undefined
      this.counters.extra.closes++
      this.lastError = err ? errorDetail(err) : 'port closed'
      this.waiter?.({ kind: 'closed', detail: `port closed (${this.lastError})` })
    })
    const attempt = new Promise<string | undefined>((resolve) =>
      port.open((err) => {
        if (err) {
          this.counters.extra.openFailures++
          this.lastError = errorDetail(err)
          resolve(this.lastError)
        } else if (!this.running) {
          port.close(() => resolve('transport stopped'))
        } else {
          this.counters.extra.opens++
          this.lastError = undefined
          this.port = port
          resolve(undefined)
        }
      }),
    )
    this.opening = attempt
    void attempt.then(() => (this.opening = undefined))
    return attempt
  }
}
