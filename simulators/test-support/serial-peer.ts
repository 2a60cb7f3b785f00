/**
 * The master's end of a pty pair for tests that need raw bytes (garbage,
 * broadcasts, half frames): writes what it is told and collects what comes back.
 */
import { SerialPort } from 'serialport'

export interface SerialPeer {
  /** Writes bytes and notes the time of the write (performance.now()). */
  send(bytes: Uint8Array): number
  /** Resolves with everything received once at least `n` bytes are in, or with what there is after `timeoutMs`. */
  receive(n: number, timeoutMs?: number): Promise<{ bytes: Uint8Array; at: number }>
  /** Forgets what was received. */
  clear(): void
  close(): Promise<void>
}

/** Opens `path` (8 data bits; parity/baud are irrelevant on a pty but set for realism). */
export async function openSerialPeer(path: string, baudRate = 9600): Promise<SerialPeer> {
  const port = new SerialPort({ path, baudRate, parity: 'none', autoOpen: false })
  let bytes = new Uint8Array(0)
  let lastAt = 0
  port.on('data', (d: Buffer) => {
    const next = new Uint8Array(bytes.length + d.length)
    next.set(bytes)
    next.set(d, bytes.length)
    bytes = next
    lastAt = performance.now()
  })
  port.on('error', () => {})
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())))
  return {
    send(b) {
      port.write(Buffer.from(b))
      return performance.now()
    },
    async receive(n, timeoutMs = 1000) {
      const deadline = performance.now() + timeoutMs
      while (bytes.length < n && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1))
      return { bytes, at: lastAt }
    },
    clear() {
      bytes = new Uint8Array(0)
    },
    close: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  }
}
