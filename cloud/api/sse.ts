/**
 * One Server-Sent Events response (WHATWG HTML § 9.2 "Server-sent events"): the event
 * format, a heartbeat comment, and a bound on what a slow client may keep in memory.
 *
 * Bytes a client has not read pile up in the response's buffer (`writableLength`: Node's
 * buffer and the socket's). A client over `maxBufferedBytes` is disconnected — it
 * reconnects with Last-Event-ID and is replayed from the log — so a stalled control-room
 * screen never holds the server's memory.
 */
import type { ServerResponse } from 'node:http'

export interface SseOptions {
  heartbeatMs: number
  retryMs: number
  maxBufferedBytes: number
}

/** One event: `id:` (optional), `event:`, and the JSON data on one `data:` line. */
export function formatEvent(event: string, data: string, id?: number): string {
  // JSON.stringify escapes every line break, so the data fits one `data:` line.
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${data}\n\n`
}

export class SseWriter {
  readonly #res: ServerResponse
  readonly #o: SseOptions
  readonly #onSlow: (buffered: number) => void
  readonly #closers: Array<() => void> = []
  #heartbeat: NodeJS.Timeout | undefined
  #closed = false

  constructor(res: ServerResponse, options: SseOptions, onSlow: (buffered: number) => void) {
    this.#res = res
    this.#o = options
    this.#onSlow = onSlow
  }

  /** Writes the headers and the `retry:` hint; starts the heartbeat. */
  start(): void {
    this.#res.on('close', () => this.#finish())
    // Gone before we started (between the request and the handler): nothing to stream to.
    if (this.#res.destroyed || this.#res.socket?.destroyed !== false) {
      this.#finish()
      return
    }
    this.#res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      connection: 'keep-alive',
      // nginx buffers proxied responses unless told not to.
      'x-accel-buffering': 'no',
    })
    this.#res.flushHeaders()
    this.send(`retry: ${this.#o.retryMs}\n\n`)
    this.#heartbeat = setInterval(() => this.send(': heartbeat\n\n'), this.#o.heartbeatMs)
    this.#heartbeat.unref()
  }

  get closed(): boolean {
    return this.#closed
  }

  /** True while the client is behind: wait for `drained()` before writing much more. */
  get behind(): boolean {
    return this.#res.writableNeedDrain
  }

  /** Writes `chunk`, or disconnects the client when its unread bytes would pass the bound. */
  send(chunk: string): boolean {
    if (this.#closed) return false
    const buffered = this.#res.writableLength
    if (buffered + Buffer.byteLength(chunk) > this.#o.maxBufferedBytes) {
      this.#onSlow(buffered)
      this.destroy()
      return false
    }
    this.#res.write(chunk)
    return true
  }

  /** Resolves when the client has read what was buffered, or is gone. */
  drained(): Promise<void> {
    if (this.#closed || !this.#res.writableNeedDrain) return Promise.resolve()
    return new Promise((resolve) => {
      const done = (): void => {
        this.#res.off('drain', done)
        this.#res.off('close', done)
        resolve()
      }
      this.#res.on('drain', done)
      this.#res.on('close', done)
    })
  }

  /** Runs `fn` once when the response closes, however it closes. */
  onClose(fn: () => void): void {
    if (this.#closed) fn()
    else this.#closers.push(fn)
  }

  /**
   * Ends the stream cleanly and closes its connection (server shutdown): a keep-alive
   * connection left open would hold `server.close()` until the client drops it.
   */
  end(): void {
    if (!this.#closed) this.#res.end(() => this.#res.socket?.destroy())
  }

  /** Drops the connection (slow client, or an error after the headers went out). */
  destroy(): void {
    if (!this.#closed) this.#res.destroy()
    this.#finish()
  }

  #finish(): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat)
    for (const fn of this.#closers.splice(0)) fn()
  }
}
