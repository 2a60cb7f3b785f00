/**
 * A scripted Modbus TCP server for what no ready-made server does on request:
 * answer out of order, late, with the wrong unit id, or with a broken header.
 * The test decides what to send for each request frame it is handed.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { splitMbap, type MbapFrame } from '../../../shared/modbus/mbap.ts'

export interface RawTcpServer {
  readonly port: number
  /** Request frames received, in order. */
  readonly requests: MbapFrame[]
  /** Most request frames received and not yet answered at one moment (answers are counted when written). */
  readonly maxOutstanding: number
  /** Connections accepted so far. */
  readonly connections: number
  stop(): Promise<void>
}

/** What the script gets for each request: the frame and a way to answer it (raw bytes, any time). */
export type Script = (frame: MbapFrame, reply: (bytes: Uint8Array) => void, socket: Socket) => void

/** Listens on 127.0.0.1, a free port. */
export async function rawTcpServer(script: Script): Promise<RawTcpServer> {
  const sockets = new Set<Socket>()
  const requests: MbapFrame[] = []
  let outstanding = 0
  let maxOutstanding = 0
  let connections = 0
  const server: Server = createServer({ noDelay: true }, (socket) => {
    connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let pending = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      const split = splitMbap(pending)
      pending = pending.subarray(split.consumed)
      for (const frame of split.frames) {
        requests.push(frame)
        outstanding++
        maxOutstanding = Math.max(maxOutstanding, outstanding)
        let answered = false
        script(
          frame,
          (bytes) => {
            if (!answered) outstanding--
            answered = true
            if (!socket.destroyed) socket.write(bytes)
          },
          socket,
        )
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    get maxOutstanding() {
      return maxOutstanding
    },
    get connections() {
      return connections
    },
    stop: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
