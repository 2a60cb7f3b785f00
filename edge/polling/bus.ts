/**
 * The bus scheduler: one per bus, owning its `Transport`. Everything that talks
 * to a device on the bus — a poll sweep, a backoff probe, a write, a read-now —
 * is a job, and jobs run here:
 *
 * - A job holds its device for its whole run: the requests of one sweep go out
 *   back to back and nothing else for that device gets between them, so a write
 *   lands between sweeps, never inside one.
 * - At most `concurrency` jobs run at once, each for a different device. An RTU
 *   line (and an RS-485 converter behind TCP) takes 1: then a write never
 *   collides with a read on the line. A TCP device or gateway that pipelines may
 *   take more.
 * - Waiting jobs start by priority, then age (`pickNext`): commands go behind
 *   the jobs already running but ahead of every poll not yet started.
 * - Before each request the bus waits until the device's `pauseMs` (the
 *   profile's `pauseBetweenRequestsMs`) has passed since its previous answer,
 *   whichever job sent it: firmware with that quirk ignores a request that
 *   comes sooner.
 * - The queue is bounded: polls never pile up (the device poller submits one
 *   sweep per device at a time), and commands beyond `maxQueuedCommands` are
 *   refused with `BusBusyError` (node-red-contrib-modbus#89: unbounded queues).
 *
 * A transport that throws instead of returning a failure is answered as a
 * `transport` failure: the job goes on. After a `transport` failure the bus calls
 * `transport.start()` again before the next request, at most once per
 * `reconnectMs` (a driver's `start()` is "safe to call again after a failure").
 */
import type { ReadResult, ReadSpec, Transport, WriteResult } from '../drivers/transport.ts'
import { pickNext, type JobPriority } from './schedule.ts'

export const BUS_DEFAULTS = Object.freeze({
  maxQueuedCommands: 64,
  reconnectMs: 1_000,
})

export interface BusOptions {
  readonly id: string
  readonly transport: Transport
  /** Jobs (devices) served at once; 1 for RTU and for RS-485 behind a converter. */
  readonly concurrency: number
  readonly maxQueuedCommands?: number
  /** Least time between two reconnect attempts after transport failures, ms. */
  readonly reconnectMs?: number
  /** Monotonic clock, ms (default `performance.now`). */
  readonly now?: () => number
}

/** The device a job talks to. */
export interface DeviceLink {
  readonly device: string
  readonly unit: number
  /** Least time from an answer of this device to the next request to it, ms. */
  readonly pauseMs: number
  readonly timeoutMs: number
}

/** What a job may do with its device while it holds it. */
export interface DeviceIo {
  read(spec: ReadSpec): Promise<ReadResult>
  write(table: 'holding' | 'coil', start: number, values: readonly number[]): Promise<WriteResult>
}

export class BusStoppedError extends Error {
  readonly code = 'BUS_STOPPED'
  constructor(bus: string) {
    super(`bus ${bus} is stopped`)
  }
}

export class BusBusyError extends Error {
  readonly code = 'BUS_BUSY'
  constructor(bus: string, max: number) {
    super(`bus ${bus} already has ${max} commands waiting`)
  }
}

/** Request counters of one device on the bus. */
export interface LinkCounters {
  requests: number
  /** Requests that got no data, by failure kind. */
  failures: { exception: number; timeout: number; crc: number; transport: number }
  /** Time spent waiting for answers that never came (timeouts), ms. */
  timeoutMs: number
}

export interface BusStatus {
  readonly id: string
  readonly concurrency: number
  readonly running: number
  readonly queued: { readonly command: number; readonly poll: number }
  readonly requests: number
  readonly failures: LinkCounters['failures']
  /** The transport's last start() error, until a request succeeds. */
  readonly transportError?: string
}

interface Job {
  readonly device: string
  readonly priority: JobPriority
  readonly seq: number
  readonly link: DeviceLink
  readonly work: (io: DeviceIo) => Promise<unknown>
  readonly resolve: (v: unknown) => void
  readonly reject: (e: unknown) => void
}

export class Bus {
  readonly id: string
  private readonly transport: Transport
  private readonly concurrency: number
  private readonly maxQueuedCommands: number
  private readonly reconnectMs: number
  private readonly now: () => number
  private readonly queue: Job[] = []
  private readonly busy = new Set<string>()
  private readonly inFlight = new Set<Promise<void>>()
  private readonly lastAnswerAt = new Map<string, number>()
  private readonly counters = new Map<string, LinkCounters>()
  private seq = 0
  private state: 'new' | 'running' | 'stopped' = 'new'
  private reconnectDue = false
  private lastStartAt = Number.NEGATIVE_INFINITY
  private transportError: string | undefined
  private opening: Promise<void> | undefined

  constructor(opts: BusOptions) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new RangeError(`bus ${opts.id}: concurrency must be an integer ≥ 1, not ${opts.concurrency}`)
    this.id = opts.id
    this.transport = opts.transport
    this.concurrency = opts.concurrency
    this.maxQueuedCommands = opts.maxQueuedCommands ?? BUS_DEFAULTS.maxQueuedCommands
    this.reconnectMs = opts.reconnectMs ?? BUS_DEFAULTS.reconnectMs
    this.now = opts.now ?? (() => performance.now())
  }

  /** Opens the transport. A failure to open is not fatal: requests fail as `transport` and the bus retries. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`bus ${this.id} was already started`)
    this.state = 'running'
    await this.openTransport()
    this.pump()
  }

  /** Refuses new jobs, fails the waiting ones with `BusStoppedError`, waits for the running ones, closes the transport. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return
    const wasRunning = this.state === 'running'
    this.state = 'stopped'
    for (const job of this.queue.splice(0)) job.reject(new BusStoppedError(this.id))
    await Promise.allSettled([...this.inFlight])
    if (wasRunning) await this.transport.stop().catch(() => undefined)
  }

  /**
   * Queues a job for `link.device`; resolves with what `work` returns. `work` gets
   * the device's I/O for as long as it runs and must not keep it afterwards.
   * Rejects with `BusStoppedError` once the bus stops, and a command with
   * `BusBusyError` when too many are waiting.
   */
  submit<T>(link: DeviceLink, priority: JobPriority, work: (io: DeviceIo) => Promise<T>): Promise<T> {
    if (this.state === 'stopped') return Promise.reject(new BusStoppedError(this.id))
    if (priority === 'command' && this.queue.filter((j) => j.priority === 'command').length >= this.maxQueuedCommands) {
      return Promise.reject(new BusBusyError(this.id, this.maxQueuedCommands))
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ device: link.device, priority, seq: this.seq++, link, work, resolve: resolve as (v: unknown) => void, reject })
      this.pump()
    })
  }

  /** Whether `device` has a job waiting or running. */
  has(device: string): boolean {
    return this.busy.has(device) || this.queue.some((j) => j.device === device)
  }

  /** Request counters of one device (a live object: read, do not keep). */
  countersOf(device: string): LinkCounters {
    let c = this.counters.get(device)
    if (!c) {
      c = { requests: 0, failures: { exception: 0, timeout: 0, crc: 0, transport: 0 }, timeoutMs: 0 }
      this.counters.set(device, c)
    }
    return c
  }

  status(): BusStatus {
    const failures = { exception: 0, timeout: 0, crc: 0, transport: 0 }
    let requests = 0
    for (const c of this.counters.values()) {
      requests += c.requests
      for (const k of Object.keys(failures) as (keyof typeof failures)[]) failures[k] += c.failures[k]
    }
    return {
      id: this.id,
      concurrency: this.concurrency,
      running: this.busy.size,
      queued: { command: this.queue.filter((j) => j.priority === 'command').length, poll: this.queue.filter((j) => j.priority === 'poll').length },
      requests,
      failures,
      ...(this.transportError !== undefined && { transportError: this.transportError }),
    }
  }

  private pump(): void {
    if (this.state !== 'running') return
    while (this.busy.size < this.concurrency) {
      const i = pickNext(this.queue, this.busy)
      if (i < 0) return
      const [job] = this.queue.splice(i, 1)
      if (!job) return
      this.busy.add(job.device)
      const run = this.run(job)
      this.inFlight.add(run)
      void run.finally(() => {
        this.inFlight.delete(run)
        this.busy.delete(job.device)
        this.pump()
      })
    }
  }

  private async run(job: Job): Promise<void> {
    let open = true
    const io: DeviceIo = {
      read: (spec) => {
        if (!open) throw new Error(`bus ${this.id}: a job used its device after it finished`)
        return this.request(job.link, () => this.transport.read(job.link.unit, spec, job.link.timeoutMs))
      },
      write: (table, start, values) => {
        if (!open) throw new Error(`bus ${this.id}: a job used its device after it finished`)
        return this.request(job.link, () => this.transport.write(job.link.unit, table, start, values, job.link.timeoutMs))
      },
    }
    try {
      job.resolve(await job.work(io))
    } catch (e) {
      job.reject(e)
    } finally {
      open = false
    }
  }

  private async request<R extends ReadResult | WriteResult>(link: DeviceLink, send: () => Promise<R>): Promise<R> {
    const last = this.lastAnswerAt.get(link.device)
    if (last !== undefined && link.pauseMs > 0) {
      // setTimeout truncates to whole ms and may fire early (bench sim (c): up to 0.8 ms):
      // re-check until the pause has really passed, or such firmware drops the request.
      let wait = last + link.pauseMs - this.now()
      while (wait > 0) {
        await sleep(Math.ceil(wait))
        wait = last + link.pauseMs - this.now()
      }
    }
    if (this.reconnectDue && this.now() - this.lastStartAt >= this.reconnectMs) await this.openTransport()
    const t0 = this.now()
    let r: R
    try {
      r = await send()
    } catch (e) {
      r = { ok: false, failure: { kind: 'transport', detail: `the driver threw: ${e instanceof Error ? e.message : String(e)}` }, latencyMs: this.now() - t0 } as R
    }
    this.lastAnswerAt.set(link.device, this.now())
    const c = this.countersOf(link.device)
    c.requests++
    if (!r.ok) {
      c.failures[r.failure.kind]++
      if (r.failure.kind === 'timeout') c.timeoutMs += r.latencyMs
      if (r.failure.kind === 'transport') this.reconnectDue = true
    } else {
      this.transportError = undefined
    }
    return r
  }

  /** One start() at a time: jobs running side by side on TCP share the attempt. */
  private openTransport(): Promise<void> {
    if (this.opening) return this.opening
    const p = this.startTransport()
    this.opening = p
    void p.finally(() => {
      if (this.opening === p) this.opening = undefined
    })
    return p
  }

  private async startTransport(): Promise<void> {
    this.lastStartAt = this.now()
    this.reconnectDue = false
    try {
      await this.transport.start()
      this.transportError = undefined
    } catch (e) {
      this.transportError = e instanceof Error ? e.message : String(e)
      this.reconnectDue = true
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
