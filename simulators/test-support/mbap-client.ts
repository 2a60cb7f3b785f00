/**
 * A raw Modbus TCP socket for tests that need what no ready-made client does:
 * pipelined requests, garbage, half frames. Collects response frames as they come.
 */
import { connect, type Socket } from 'node:net'
import { splitMbap, type MbapFrame } from '../../shared/modbus/mbap.ts'

export interface RawMbapClient {
  readonly socket: Socket
  /** Every byte received so far. */
  received(): Uint8Array
  /** Resolves with the frames received once there are `n`, or with what there is after `timeoutMs`. */
  frames(n: number, timeoutMs?: number): Promise<MbapFrame[]>
  /** Resolves true when the server closes the connection within `timeoutMs`. */
  closed(timeoutMs?: number): Promise<boolean>
  close(): void
}

/** Connects to 127.0.0.1:`port`; rejects after `timeoutMs`. */
export function rawMbapClient(port: number, timeoutMs = 2000): Promise<RawMbapClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true })
    let bytes = new Uint8Array(0)
    let ended = false
    socket.on('data', (d: Buffer) => {
      const next = new Uint8Array(bytes.length + d.length)
      next.set(bytes)
      next.set(d, bytes.length)
      bytes = next
    })
    socket.on('close', () => (ended = true))
    socket.on('error', (err) => {
      ended = true
      clearTimeout(timer)
      reject(err)
    })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no connection to port ${port} within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      const poll = async <T>(done: () => T | undefined, fallback: () => T, limit: number): Promise<T> => {
        const deadline = performance.now() + limit
        for (;;) {
          const v = done()
          if (v !== undefined) return v
          if (performance.now() > deadline) return fallback()
          await new Promise((r) => setTimeout(r, 5))
        }
      }
      resolve({
        socket,
        received: () => bytes,
        frames: (n, limit = 2000) =>
          poll(
            () => {
              const f = splitMbap(bytes).frames
              return f.length >= n ? f : undefined
            },
            () => splitMbap(bytes).frames,
            limit,
          ),
        closed: (limit = 2000) => poll(() => (ended ? true : undefined), () => false, limit),
        close: () => socket.destroy(),
      })
    })
  })
}
