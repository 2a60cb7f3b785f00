/**
 * A Server-Sent Events reader over Node's fetch (a streaming body), for the stream tests:
 * it parses events as the WHATWG EventSource does (fields `event`, `id`, `data`, `retry`;
 * `:` comments) and keeps them in arrival order.
 */
export interface SseEvent {
  event: string
  id?: string
  data: string
  /** When the event was parsed here (Date.now()), for tests and benches that time arrivals. */
  receivedAt: number
}

export class SseClient {
  readonly events: SseEvent[] = []
  readonly comments: string[] = []
  retry: number | undefined
  ended = false
  readonly #abort = new AbortController()
  #wake: () => void = () => {}
  status = 0
  contentType: string | null = null

  async open(url: string, headers: Record<string, string> = {}): Promise<this> {
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: this.#abort.signal })
    this.status = res.status
    this.contentType = res.headers.get('content-type')
    if (res.status !== 200 || res.body === null) {
      this.ended = true
      this.events.push({ event: 'http-error', data: await res.text(), receivedAt: Date.now() })
      return this
    }
    void this.#pump(res.body.getReader())
    return this
  }

  async #pump(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder()
    let buf = ''
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buf += decoder.decode(value, { stream: true })
        let i: number
        while ((i = buf.indexOf('\n\n')) >= 0) {
          this.#block(buf.slice(0, i))
          buf = buf.slice(i + 2)
        }
        this.#wake()
      }
    } catch {
      // aborted by close()
    }
    this.ended = true
    this.#wake()
  }

  #block(block: string): void {
    const ev: SseEvent = { event: 'message', data: '', receivedAt: Date.now() }
    const data: string[] = []
    let any = false
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim())
        continue
      }
      const c = line.indexOf(':')
      const field = c < 0 ? line : line.slice(0, c)
      const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '')
      if (field === 'retry') this.retry = Number(value)
      else if (field === 'event') ((ev.event = value), (any = true))
      else if (field === 'id') ((ev.id = value), (any = true))
      else if (field === 'data') (data.push(value), (any = true))
    }
    if (!any) return
    ev.data = data.join('\n')
    this.events.push(ev)
  }

  /** The alarm events' parsed data. */
  get alarms(): Array<{ id: number; transition: any; alarm: any }> {
    return this.events.filter((e) => e.event === 'alarm').map((e) => ({ id: Number(e.id), ...(JSON.parse(e.data) as { transition: any; alarm: any }) }))
  }

  /** Waits until `pred` holds (checked on every chunk), or fails after `ms`. */
  async until(pred: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms
    while (!pred()) {
      if (this.ended && !pred()) throw new Error(`stream ended before ${what}; events: ${JSON.stringify(this.events.map((e) => `${e.event}#${e.id ?? ''}`))}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events.map((e) => `${e.event}#${e.id ?? ''}`))}`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50))
        this.#wake = () => {
          clearTimeout(t)
          resolve()
        }
      })
    }
  }

  close(): void {
    this.#abort.abort()
  }
}

export const openSse = (url: string, headers: Record<string, string> = {}): Promise<SseClient> => new SseClient().open(url, headers)
