/**
 * A Modbus TCP server with many unit ids behind one port, like an RTU-to-TCP
 * gateway in a roadside cabinet (Modbus Messaging on TCP/IP Implementation Guide
 * v1.0b). It answers pipelined requests in order, sets TCP_NODELAY, and never
 * lets a bad frame or a failing unit take it down.
 *
 * How unit replies reach the wire:
 * - `response`: the PDU in an MBAP frame echoing transaction id and unit id.
 * - `silent`: nothing; the client times out.
 * - unknown unit id: exception 0B, gateway target device failed to respond
 *   (Application Protocol v1.1b3 §7), which is what a gateway answers.
 * - `bad-crc`: TCP frames carry no CRC. A gateway that receives a corrupted RTU
 *   answer discards it and reports 0B, so that is what is sent.
 * - `truncated`: the MBAP header announcing the whole PDU, then only its first
 *   half; the client waits for bytes that never come.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { EXCEPTION, exceptionPdu } from '../../shared/modbus/codes.ts'
import { encodeMbap, MBAP_HEADER_BYTES, splitMbap, type MbapFrame } from '../../shared/modbus/mbap.ts'
import { safeRespond, type UnitMap } from './unit.ts'

export interface TcpServerOptions {
  /** Unit id → unit; the server keeps this map, so it may change while running. */
  readonly units: UnitMap
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default 0: a free port, read it from {@link ModbusTcpServer.port} after `start()`. */
  readonly port?: number
}

/** Counters since `start()`. */
export interface TcpServerStats {
  connections: number
  requests: number
  responses: number
  /** Frames with a protocol id other than 0, dropped (Implementation Guide §3.1.3). */
  droppedFrames: number
  /** Connections closed because a header announced an impossible length (the stream cannot be resynchronised). */
  corruptStreams: number
  socketErrors: number
  /** Units that threw instead of answering (answered 04). */
  unitErrors: number
}

/**
 * Modbus TCP gateway simulator: `new` does nothing, `start()` binds, `stop()` closes
 * every connection. Read the bound port from `port` after `start()`.
 */
export class ModbusTcpServer {
  readonly stats: TcpServerStats = { connections: 0, requests: 0, responses: 0, droppedFrames: 0, corruptStreams: 0, socketErrors: 0, unitErrors: 0 }
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()

  constructor(private readonly opts: TcpServerOptions) {}

  /** The bound port; throws before `start()` has resolved. */
  get port(): number {
    const addr = this.server?.address() as AddressInfo | null | undefined
    if (!addr) throw new Error('ModbusTcpServer is not listening')
    return addr.port
  }

  /** Starts listening; resolves once bound. */
  async start(): Promise<void> {
    if (this.server) throw new Error('ModbusTcpServer already started')
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket))
    this.server = server
    server.on('error', () => {
      this.stats.socketErrors++
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
  }

  /** Closes every connection and the listener; resolves when all are gone. Safe to call twice. */
  async stop(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  private accept(socket: Socket): void {
    this.stats.connections++
    this.sockets.add(socket)
    socket.setNoDelay(true)
    let pending: Buffer = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      const split = splitMbap(pending)
      socket.cork()
      for (const frame of split.frames) this.answer(socket, frame)
      process.nextTick(() => socket.uncork())
      if (split.corrupt !== undefined) {
        this.stats.corruptStreams++
        pending = Buffer.alloc(0)
        socket.destroy()
        return
      }
      pending = pending.subarray(split.consumed)
    })
    socket.on('error', () => {
      this.stats.socketErrors++
    })
    socket.on('close', () => this.sockets.delete(socket))
  }

  private answer(socket: Socket, frame: MbapFrame): void {
    if (frame.protocolId !== 0) {
      this.stats.droppedFrames++
      return
    }
    this.stats.requests++
    const { transactionId, unitId } = frame
    const unit = this.opts.units.get(unitId)
    const asked = unit ? safeRespond(unit, frame.pdu) : undefined
    if (asked?.threw) this.stats.unitErrors++
    const reply = asked?.reply
    let pdu: Uint8Array
    if (!reply || reply.kind === 'bad-crc') pdu = exceptionPdu(frame.pdu[0] ?? 0, EXCEPTION.gatewayTargetFailedToRespond)
    else if (reply.kind === 'silent') return
    else pdu = reply.pdu
    const bytes = encodeMbap({ transactionId, unitId, pdu })
    this.stats.responses++
    if (reply?.kind === 'truncated') socket.write(bytes.subarray(0, MBAP_HEADER_BYTES + Math.floor(pdu.length / 2)))
    else socket.write(bytes)
  }
}
