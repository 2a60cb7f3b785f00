/**
 * A Modbus RTU server on a real serial port (or one end of a socat pty pair):
 * several slaves on one RS-485 line, answering only their own unit ids, with the
 * line's timing reproduced so that bus benchmarks are honest.
 *
 * Bus behaviour (Modbus over Serial Line v1.02):
 * - a frame for a unit id not in `units` is ignored, as other slaves on the bus
 *   would answer it (§2.2);
 * - unit 0 is broadcast: write requests are executed by every unit and answered
 *   by none; broadcast reads are ignored (§2.1);
 * - frames are found by length from the function code and confirmed by CRC
 *   (`RtuFrameReader`); after `silenceMs` without bytes whatever is buffered is
 *   taken as one frame or dropped as garbage, counted in `stats.garbageBytes`.
 *
 * Timing (option `timing`, default on). A pty moves bytes instantly, so the
 * server delays its answer until the moment the answer's last byte would leave a
 * real UART, and keeps a model of when the line is free:
 *
 *     start       = max(request received, line free)    the master begins sending
 *     requestEnd  = start + request bytes × bits/char ÷ baud
 *     answerStart = requestEnd + t3.5 + unit.turnaroundMs
 *     answerEnd   = answerStart + answer bytes × bits/char ÷ baud   ← bytes written here
 *     line free   = answerEnd + t3.5
 *
 * So each transaction takes request + t3.5 + turnaround + response + t3.5, the wire
 * limit of `rtu-timing.ts`, measured from when the request reached the port. The
 * answer is written in one piece at `answerEnd` (the master sees its last byte at
 * the right moment; it does not see the bytes trickle in). Bits per character come
 * from the port settings: 1 start + 8 data + parity + stop bits, 11 for every
 * framing the spec allows (§2.5.1), 10 for the common non-conforming 8N1. Deadlines
 * are computed from the line model, not from when a timer fired; an answer written
 * late keeps the line busy until it was really written. Lateness is reported in
 * `lateness` (see `wire-clock.ts` for how waits are realised and how accurate they
 * are).
 */
import { SerialPort } from 'serialport'
import { isWriteRequest } from '../../shared/modbus/codes.ts'
import { encodeRtu, RtuFrameReader, type RtuFrame } from '../../shared/modbus/rtu-frame.ts'
import { frameTimeMs, interFrameGapMs } from '../../shared/modbus/rtu-timing.ts'
import { safeRespond, type UnitMap } from './unit.ts'
import { Lateness, sleepUntil } from './wire-clock.ts'

export interface RtuServerOptions {
  /** Unit id → unit; the server keeps this map, so it may change while running. */
  readonly units: UnitMap
  /** Serial device, e.g. /dev/ttyUSB0 or a socat pty link. */
  readonly path: string
  readonly baudRate: number
  /** Default 'even', the Modbus default (§2.5.1). */
  readonly parity?: 'none' | 'even' | 'odd'
  /** Default 1. */
  readonly stopBits?: 1 | 2
  /** Pace answers to wire time (default true); false answers as fast as the port allows. */
  readonly timing?: boolean
  /** Silence that ends a frame whose length the function code does not tell, ms (default max(t3.5, 20 ms): pty scheduling is coarser than t3.5). */
  readonly silenceMs?: number
}

/** Counters since `start()`. */
export interface RtuServerStats {
  /** Frames with a valid CRC seen on the line, for any unit. */
  frames: number
  answered: number
  /** Frames for unit ids this server does not hold (answered by someone else on a real bus). */
  otherUnits: number
  broadcasts: number
  /** Requests a unit left unanswered (fault, dropout, firmware pause). */
  silent: number
  /** Bytes dropped while resynchronising on garbage. */
  garbageBytes: number
  portErrors: number
  /** Units that threw instead of answering (answered 04). */
  unitErrors: number
}

interface Received {
  frame: RtuFrame
  at: number
}

/**
 * RTU slaves on one serial line: `new` does nothing, `start()` opens the port,
 * `stop()` stops answering and closes it.
 */
export class ModbusRtuServer {
  readonly stats: RtuServerStats = { frames: 0, answered: 0, otherUnits: 0, broadcasts: 0, silent: 0, garbageBytes: 0, portErrors: 0, unitErrors: 0 }
  /** How late answers left against their computed wire deadline, ms. */
  readonly lateness = new Lateness()
  private port: SerialPort | undefined
  private readonly reader = new RtuFrameReader()
  private readonly queue: Received[] = []
  private busy = false
  private lineFreeAt = 0
  private silenceTimer: NodeJS.Timeout | undefined
  private stopped = { aborted: false }

  constructor(private readonly opts: RtuServerOptions) {}

  /** Bits per character for the configured framing. */
  get bitsPerChar(): number {
    return 1 + 8 + ((this.opts.parity ?? 'even') === 'none' ? 0 : 1) + (this.opts.stopBits ?? 1)
  }

  /** Opens the port; resolves when open. */
  async start(): Promise<void> {
    if (this.port) throw new Error('ModbusRtuServer already started')
    this.stopped = { aborted: false }
    const port = new SerialPort({
      path: this.opts.path,
      baudRate: this.opts.baudRate,
      dataBits: 8,
      parity: this.opts.parity ?? 'even',
      stopBits: this.opts.stopBits ?? 1,
      autoOpen: false,
    })
    port.on('data', (chunk: Buffer) => this.receive(chunk))
    port.on('error', () => {
      this.stats.portErrors++
    })
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())))
    this.port = port
  }

  /** Stops answering and closes the port. Safe to call twice. */
  async stop(): Promise<void> {
    this.stopped.aborted = true
    clearTimeout(this.silenceTimer)
    this.queue.length = 0
    const port = this.port
    this.port = undefined
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()))
  }

  private receive(chunk: Buffer): void {
    const at = performance.now()
    this.enqueue(this.reader.push(chunk), at)
    clearTimeout(this.silenceTimer)
    if (this.reader.pending > 0) {
      const silence = this.opts.silenceMs ?? Math.max(interFrameGapMs(this.opts.baudRate, this.bitsPerChar), 20)
      this.silenceTimer = setTimeout(() => this.enqueue(this.reader.flush(), performance.now()), silence)
    }
  }

  private enqueue(frames: RtuFrame[], at: number): void {
    this.stats.garbageBytes = this.reader.garbageBytes
    if (frames.length === 0 || this.stopped.aborted) return
    for (const frame of frames) this.queue.push({ frame, at })
    if (!this.busy) void this.drain()
  }

  /** One transaction at a time, as on a half-duplex line. */
  private async drain(): Promise<void> {
    this.busy = true
    try {
      for (let item = this.queue.shift(); item && !this.stopped.aborted; item = this.queue.shift()) {
        try {
          await this.transact(item)
        } catch {
          this.stats.portErrors++
        }
      }
    } finally {
      this.busy = false
    }
  }

  private async transact({ frame, at }: Received): Promise<void> {
    this.stats.frames++
    const { baudRate } = this.opts
    const bits = this.bitsPerChar
    const gap = interFrameGapMs(baudRate, bits)
    const requestEnd = Math.max(at, this.lineFreeAt) + frameTimeMs(frame.pdu.length + 3, baudRate, bits)
    this.lineFreeAt = requestEnd + gap
    if (frame.unitId === 0) {
      this.stats.broadcasts++
      if (isWriteRequest(frame.pdu)) for (const unit of this.opts.units.values()) if (safeRespond(unit, frame.pdu).threw) this.stats.unitErrors++
      return
    }
    const unit = this.opts.units.get(frame.unitId)
    if (!unit) {
      this.stats.otherUnits++
      return
    }
    const { reply, threw } = safeRespond(unit, frame.pdu)
    if (threw) this.stats.unitErrors++
    if (reply.kind === 'silent') {
      this.stats.silent++
      return
    }
    let bytes = encodeRtu(frame.unitId, reply.pdu)
    if (reply.kind === 'bad-crc') {
      bytes[bytes.length - 2] = (bytes[bytes.length - 2] ?? 0) ^ 0xff
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff
    } else if (reply.kind === 'truncated') {
      bytes = bytes.subarray(0, Math.max(1, Math.floor(bytes.length / 2)))
    }
    const answerEnd = requestEnd + gap + unit.turnaroundMs + frameTimeMs(bytes.length, baudRate, bits)
    if (this.opts.timing ?? true) this.lateness.add(await sleepUntil(answerEnd, this.stopped))
    const port = this.port
    if (this.stopped.aborted || !port) return
    port.write(Buffer.from(bytes))
    this.stats.answered++
    this.lineFreeAt = Math.max(answerEnd, performance.now()) + gap
  }
}
