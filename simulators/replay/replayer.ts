/**
 * Republishes a recording (format.ts) to a broker: same topics, byte-identical payloads,
 * the recorded QoS and retain flag, and the recorded timing scaled by `speed` — or as fast
 * as the broker acknowledges (`fast`).
 *
 * - Timing is an absolute schedule (pace.ts), so delays never accumulate.
 * - At most `maxInFlight` publishes await their acknowledgement at once, in both modes: a
 *   slow broker slows the replay down instead of filling memory.
 * - The file is validated completely before the first publish (`scanRecording`): a corrupt
 *   line stops the replay before anything was sent, with `file:line: reason`.
 * - A recording that holds requests to gateways (`command` topics) is refused unless
 *   `allowCommands` is set: replaying write commands could operate real devices.
 * - The connection is not retried: losing it ends the replay with an error naming how far
 *   it got, so an operator knows what was and was not delivered.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { BrokerError, closeClient, connectBroker, type BrokerTarget, type Connection } from './connect.ts'
import { dueAt, progressAt, type Pace, type ReplayProgress } from './pace.ts'
import { openRecording, scanRecording, type RecordingSummary } from './reader.ts'

/** Options of a Replayer. */
export interface ReplayerOptions {
  /** The recording to replay. */
  file: string
  broker: BrokerTarget
  /** Default: the recorded timing (`{ mode: 'timed', speed: 1 }`). */
  pace?: Pace
  /** Start over after the last message until stopped. */
  loop?: boolean
  /** Replay messages on `command` topics too. */
  allowCommands?: boolean
  /** Publishes awaiting acknowledgement at most; default 100. */
  maxInFlight?: number
  clientId?: string
  /** Connect timeout; default 10 s. */
  connectTimeoutMs?: number
  /** Called after each acknowledged publish and at the start of each pass. */
  onProgress?: (progress: ReplayProgress) => void
}

/** How a replay ended. */
export interface ReplaySummary {
  /** `finished`: every message of every pass acknowledged; `stopped`: by `stop()`; `failed`: see `error`. */
  outcome: 'finished' | 'stopped' | 'failed'
  /** Publishes the broker acknowledged, over all passes. */
  published: number
  /** Messages in the recording. */
  total: number
  /** Passes completed. */
  loops: number
  elapsedMs: number
  /** Why it failed (a RecordingError when the file changed under the replay, a BrokerError, …). */
  error?: Error
}

/** Replays one recording to one broker. */
export class Replayer {
  /** Resolves when the replay ends, however it ends; never rejects. Pending until `start()` resolved or `stop()` was called. */
  readonly done: Promise<ReplaySummary>
  private finish: (s: ReplaySummary) => void = () => {}
  private readonly abort = new AbortController()
  private state: 'idle' | 'starting' | 'running' | 'ended' = 'idle'
  private failure: Error | undefined
  private published = 0

  constructor(private readonly options: ReplayerOptions) {
    this.done = new Promise((resolve) => (this.finish = resolve))
  }

  /**
   * Validates the whole file, connects, and starts publishing in the background (see `done`).
   * @returns what the file holds.
   * @throws RecordingError for a bad file; BrokerError when the broker cannot be used;
   *   Error for a recording with commands (without `allowCommands`) or invalid options.
   */
  async start(): Promise<RecordingSummary> {
    if (this.state !== 'idle') throw new Error('Replayer already started')
    this.state = 'starting'
    const o = this.options
    try {
      const pace = o.pace ?? { mode: 'timed', speed: 1 }
      if (pace.mode === 'timed' && !(Number.isFinite(pace.speed) && pace.speed > 0)) throw new Error(`speed must be a number above 0, not ${pace.speed}`)
      const scan = await scanRecording(o.file)
      if (scan.commands > 0 && !o.allowCommands) {
        throw new Error(`${o.file} holds ${scan.commands} message(s) on command topics (requests to gateways); replaying them could operate real devices. Pass --with-commands to replay them anyway`)
      }
      const conn = await connectBroker(o.broker, { role: 'replay', ...(o.clientId ? { clientId: o.clientId } : {}), ...(o.connectTimeoutMs ? { timeoutMs: o.connectTimeoutMs } : {}) })
      if (this.abort.signal.aborted) {
        await closeClient(conn.client)
        throw new Error('stopped while starting')
      }
      this.state = 'running'
      void this.run(conn, scan, pace)
      return scan
    } catch (err) {
      this.state = 'ended'
      this.finish({ outcome: this.abort.signal.aborted ? 'stopped' : 'failed', published: 0, total: 0, loops: 0, elapsedMs: 0, error: err as Error })
      throw err
    }
  }

  /** Stops publishing, waits briefly for in-flight acknowledgements, disconnects. Safe at any time. */
  async stop(): Promise<ReplaySummary> {
    this.abort.abort()
    if (this.state === 'idle') {
      this.state = 'ended'
      this.finish({ outcome: 'stopped', published: 0, total: 0, loops: 0, elapsedMs: 0 })
    }
    return this.done
  }

  private fail(err: Error): void {
    this.failure ??= err
    this.abort.abort()
  }

  private async run(conn: Connection, scan: RecordingSummary, pace: Pace): Promise<void> {
    const { client } = conn
    const o = this.options
    const signal = this.abort.signal
    const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
    const maxInFlight = Math.max(1, o.maxInFlight ?? 100)
    const spanMs = scan.lastT - scan.firstT
    const started = performance.now()
    let loops = 0
    const onError = (err: Error): void => this.fail(new BrokerError(`broker ${o.broker.url}: ${err.message}`, 'lost'))
    const onClose = (): void => this.fail(new BrokerError(`lost the connection to broker ${o.broker.url} after ${this.published} acknowledged publish(es)`, 'lost'))
    client.on('error', onError)
    client.on('close', onClose)
    try {
      for (let loop = 0; !signal.aborted; loop++) {
        const startMs = performance.now()
        let done = 0
        const report = (): void => {
          try {
            o.onProgress?.(progressAt({ loop, done, total: scan.messages, startMs, nowMs: performance.now(), pace, spanMs }))
          } catch (err) {
            this.fail(err as Error)
          }
        }
        report()
        const inFlight = new Set<Promise<void>>()
        const { messages } = await openRecording(o.file)
        for await (const m of messages) {
          if (pace.mode === 'timed') {
            const wait = dueAt(startMs, scan.firstT, m.t, pace.speed) - performance.now()
            if (wait >= 1) await sleep(wait, undefined, { signal }).catch(() => {})
          }
          while (inFlight.size >= maxInFlight && !signal.aborted) await Promise.race([...inFlight, aborted])
          if (signal.aborted) break
          const payload = Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength)
          const p: Promise<void> = client.publishAsync(m.topic, payload, { qos: m.qos, retain: m.retain }).then(
            () => {
              inFlight.delete(p)
              done++
              this.published++
              report()
            },
            (err: unknown) => {
              inFlight.delete(p)
              this.fail(new BrokerError(`publish to ${m.topic} failed (${o.file}:${m.line}): ${err instanceof Error ? err.message : String(err)}`, 'lost'))
            },
          )
          inFlight.add(p)
        }
        // Wait for the last acknowledgements; after a stop or a failure, only briefly.
        await Promise.race([Promise.all(inFlight), aborted])
        if (signal.aborted) await Promise.race([Promise.all(inFlight), sleep(2_000, undefined, { ref: false })])
        if (signal.aborted) break
        loops++
        if (!o.loop || scan.messages === 0) break
      }
    } catch (err) {
      this.fail(err as Error)
    } finally {
      client.off('close', onClose)
      client.off('error', onError)
      await closeClient(client)
      this.state = 'ended'
      const summary: ReplaySummary = {
        outcome: this.failure ? 'failed' : signal.aborted ? 'stopped' : 'finished',
        published: this.published,
        total: scan.messages,
        loops,
        elapsedMs: performance.now() - started,
      }
      if (this.failure) summary.error = this.failure
      this.finish(summary)
    }
  }
}
