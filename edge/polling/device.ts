/**
 * The device poller: one per device. It keeps the device's schedule, hands each
 * sweep to the bus as one job, decodes it (sweep.ts), tracks availability
 * (health.ts) and emits readings (before report-by-exception; the engine
 * filters) and device events.
 *
 * Schedule. Each poll class (fast, slow) with at least one point has a grid
 * `anchor + k·interval`, the anchor staggered by the device's place on its bus
 * (`staggerOffset` over the shorter interval, the same for both classes). Plans are made once, with `planReads`, per class and for
 * `all`. When a class is due, any other class due within half the shorter
 * interval is read in the same sweep with the `all` plan (the planner's advice:
 * one sweep instead of two back to back). A device has at most one poll sweep
 * queued or running; slots that pass meanwhile are skipped and counted, never
 * queued up.
 *
 * A sweep sends the plan's reads in order. It stops early when the first read
 * gets no answer at all (`shouldStop`): the other reads' points get that error
 * too. The reading's `ts` is the moment the sweep's first data answer arrived —
 * the earliest instant at which the values are known to hold, and the same for
 * every point of the sweep so that they stay one sample; a sweep with no data
 * answer is stamped when it ended (when the failure was known).
 *
 * Filler refused. The planner reads across short unmapped gaps (`maxGap`) to
 * save requests, but most firmware answers a read that touches an address it does
 * not implement with exception 02 (Modbus Application Protocol v1.1b3 §7), and
 * few profiles list those addresses in `quirks.forbiddenRanges`. So when a read
 * that spans filler gets 02, the sweep reads the same points again without filler
 * (`maxGap` 0) at once, and every later plan of this device is made without
 * filler (`status().gapFree`). A 02 to a read without filler is the device's
 * answer as before (a per-point error; a mismatch when every read is refused).
 *
 * Backoff. While the device is `unavailable` its schedule is suspended: one
 * probe — the first read of its plan, nothing else — when the backoff expires.
 * An answered probe makes it available and due at once for a full sweep; a
 * failed one doubles the wait (health.ts). A dead device thus costs at most one
 * timeout per backoff period on the line.
 *
 * Stuck sensors. Each sweep's reading goes through `detectStuck` (stuck.ts) with the
 * sweep's raw registers: a point whose profile has `stuck` and whose registers have not
 * changed for longer than `stuck.afterS` carries the error `stuck` instead of its value.
 *
 * Time: `now()` (default `Date.now`) stamps readings and events and drives the
 * timers; a step of the wall clock moves at most the wait in progress.
 */
import type { Value } from '../../shared/codec/index.ts'
import { encodeBitInto } from '../../shared/codec/index.ts'
import { EXCEPTION } from '../../shared/modbus/codes.ts'
import { decodeBlocks } from '../../shared/codec/index.ts'
import type { CommandError, DeviceEvent, Reading } from '../../shared/mqtt/messages.ts'
import type { ResolvedProfile } from '../../shared/profile/resolve.ts'
import type { PollClass } from '../../shared/profile/schema.ts'
import type { ReadResult } from '../drivers/transport.ts'
import { BusBusyError, BusStoppedError, type Bus, type DeviceIo, type DeviceLink } from './bus.ts'
import { checkHealthConfig, INITIAL_HEALTH, isBackingOff, observe, type BackoffConfig, type Health, type HealthConfig, type HealthEvent } from './health.ts'
import { planReads, type ReadRequest } from './plan.ts'
import { nextSlot, staggerOffset } from './schedule.ts'
import { decodeSweep, failureError, isAnswer, shouldStop, type RequestResult, type SweepResult } from './sweep.ts'
import { detectStuck, INITIAL_STUCK, type StuckState } from './stuck.ts'
import { planWrite, writeFailure, type Checked, type WritePlan } from './write.ts'

/** Failed sweeps in a row before a device is reported unavailable, unless configured. */
export const DEFAULT_FAILURES_TO_UNAVAILABLE = 3

export interface DevicePollerOptions {
  readonly id: string
  readonly unit: number
  readonly profile: ResolvedProfile
  readonly pollMs: { readonly fast: number; readonly slow: number }
  readonly timeoutMs: number
  readonly backoff: BackoffConfig
  /** K of health.ts (default {@link DEFAULT_FAILURES_TO_UNAVAILABLE}). */
  readonly failuresToUnavailable?: number
  /** The planner's fill limit (default the planner's). */
  readonly maxGap?: number
  /** This device's place among the devices of its bus, for the staggered start. */
  readonly slot: { readonly index: number; readonly count: number }
  readonly bus: Bus
  /** Every sweep's reading, before report-by-exception. */
  readonly onReading: (r: Reading) => void
  readonly onEvent: (e: DeviceEvent) => void
  readonly now?: () => number
}

export interface DeviceStatus {
  readonly device: string
  readonly bus: string
  readonly availability: Health['availability']
  readonly profileMismatch: boolean
  readonly lastSuccessAt?: number
  readonly lastError?: Reading['errors'][string]
  readonly consecutiveFailures: number
  readonly backoffUntil?: number
  readonly pollMs: { readonly fast: number; readonly slow: number }
  /** Poll sweeps done, backoff probes sent, sweeps asked for by readNow. */
  readonly polls: number
  readonly probes: number
  readonly readsNow: number
  /** Poll slots skipped because the previous sweep or the bus was still busy. */
  readonly skippedSlots: number
  /** The device refused a read across unmapped filler (exception 02): its plans are now made with `maxGap` 0. */
  readonly gapFree: boolean
  /** Poll jobs that threw (a bug, not a device failure), and the last message. */
  readonly jobErrors: number
  readonly lastJobError?: string
  readonly requests: number
  /** Requests that got no data, by failure kind. */
  readonly errors: { readonly exception: number; readonly timeout: number; readonly crc: number; readonly transport: number }
}

export interface WriteOk {
  readonly latencyMs: number
  /** The point read back after the write (value or error). */
  readonly readBack: Reading
}

type PlanKey = PollClass | 'all'

interface ClassSchedule {
  intervalMs: number
  anchor: number
  nextAt: number
}

export class DevicePoller {
  readonly id: string
  private readonly o: DevicePollerOptions
  private readonly health: HealthConfig
  private plans: Readonly<Record<PlanKey, readonly ReadRequest[]>>
  private gapFree = false
  private readonly link: DeviceLink
  private readonly now: () => number
  private state: Health = INITIAL_HEALTH
  /** Stuck-sensor timers per point (stuck.ts); in memory, so a restart starts them over. */
  private stuck: StuckState = INITIAL_STUCK
  private readonly schedule = new Map<PollClass, ClassSchedule>()
  private pollMs: { fast: number; slow: number }
  private timer: NodeJS.Timeout | undefined
  private running = false
  private polling = false
  private counts = { polls: 0, probes: 0, readsNow: 0, skippedSlots: 0, jobErrors: 0 }
  private lastJobError: string | undefined

  constructor(opts: DevicePollerOptions) {
    this.o = opts
    this.id = opts.id
    this.now = opts.now ?? Date.now
    this.pollMs = { ...opts.pollMs }
    this.health = { failuresToUnavailable: opts.failuresToUnavailable ?? DEFAULT_FAILURES_TO_UNAVAILABLE, backoff: opts.backoff, seed: opts.id }
    checkHealthConfig(this.health)
    this.plans = this.makePlans(opts.maxGap)
    this.link = { device: opts.id, unit: opts.unit, pauseMs: opts.profile.quirks.pauseBetweenRequestsMs, timeoutMs: opts.timeoutMs }
  }

  /** Starts the schedule: the first sweep at the device's staggered offset. */
  start(): void {
    if (this.running) return
    this.running = true
    const anchor = this.now() + this.offset()
    for (const cls of ['fast', 'slow'] as const) {
      if (this.plans[cls].length === 0) continue
      this.schedule.set(cls, { intervalMs: this.pollMs[cls], anchor, nextAt: anchor })
    }
    this.arm()
  }

  /** Stops scheduling. A sweep already on the bus finishes (the bus's stop waits for it). */
  stop(): void {
    this.running = false
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Sets the interval of one or both poll classes (a number sets both, like the config's `pollMs`); the grid restarts now. */
  setPollInterval(ms: number | { readonly fast?: number; readonly slow?: number }): void {
    const next = typeof ms === 'number' ? { fast: ms, slow: ms } : { fast: ms.fast ?? this.pollMs.fast, slow: ms.slow ?? this.pollMs.slow }
    this.pollMs = next
    const anchor = this.now() + this.offset()
    for (const [cls, s] of this.schedule) {
      s.intervalMs = next[cls]
      s.anchor = anchor
      s.nextAt = anchor
    }
    if (this.running && !this.polling) this.arm()
  }

  /** Sweeps every point now, ahead of waiting polls; the reading also goes to `onReading`. */
  async readNow(): Promise<Checked<Reading>> {
    try {
      const reading = await this.o.bus.submit(this.link, 'command', (io) => this.sweep(io, this.plans.all))
      this.counts.readsNow++
      return { ok: true, value: reading }
    } catch (e) {
      return { ok: false, error: busError(e) }
    } finally {
      // The read may have revived the device or sent it into backoff: the next wake-up moved.
      if (this.running && !this.polling) this.arm()
    }
  }

  /** Writes one point after checking it against the profile; queued as a command, acknowledged or refused. */
  async write(point: string, value: Value): Promise<Checked<WriteOk>> {
    const planned = planWrite(this.o.profile, point, value)
    if (!planned.ok) return planned
    try {
      return await this.o.bus.submit(this.link, 'command', (io) => this.runWrite(io, planned.value))
    } catch (e) {
      return { ok: false, error: busError(e) }
    }
  }

  status(): DeviceStatus {
    const h = this.state
    const c = this.o.bus.countersOf(this.id)
    return {
      device: this.id,
      bus: this.o.bus.id,
      availability: h.availability,
      profileMismatch: h.mismatch,
      ...(h.lastSuccessAt !== undefined && { lastSuccessAt: h.lastSuccessAt }),
      ...(h.lastError !== undefined && { lastError: h.lastError }),
      consecutiveFailures: h.failures,
      ...(isBackingOff(h) && { backoffUntil: h.backoff.until }),
      pollMs: { ...this.pollMs },
      gapFree: this.gapFree,
      ...this.counts,
      ...(this.lastJobError !== undefined && { lastJobError: this.lastJobError }),
      requests: c.requests,
      errors: { ...c.failures },
    }
  }

  private makePlans(maxGap: number | undefined): Record<PlanKey, readonly ReadRequest[]> {
    const plan = (pollClass: PlanKey): ReadRequest[] => planReads(this.o.profile, { pollClass, ...(maxGap !== undefined && { maxGap }) })
    return { fast: plan('fast'), slow: plan('slow'), all: plan('all') }
  }

  /**
   * The reads without filler that fetch `req`'s points, when `req` got exception 02
   * and spans filler (see "Filler refused"); undefined otherwise. The first such
   * refusal makes every plan of this device gap-free.
   */
  private withoutFiller(req: ReadRequest, r: ReadResult): readonly ReadRequest[] | undefined {
    if (r.ok || r.failure.kind !== 'exception' || r.failure.code !== EXCEPTION.illegalDataAddress) return undefined
    const parts = planReads(this.o.profile, { points: req.points, maxGap: 0 })
    if (parts.length <= 1) return undefined
    if (!this.gapFree) {
      this.gapFree = true
      this.plans = this.makePlans(0)
    }
    return parts
  }

  // ------------------------------------------------------------- schedule

  /**
   * The device's start offset: its share of the shorter interval. Both classes
   * share it, so that a slow tick falls on a fast tick (with the usual 5 s / 60 s,
   * every 12th) and is read in the same `all` sweep instead of a second one.
   */
  private offset(): number {
    return staggerOffset(this.o.slot.index, this.o.slot.count, Math.min(this.pollMs.fast, this.pollMs.slow))
  }

  private arm(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (!this.running) return
    const at = isBackingOff(this.state) ? this.state.backoff.until : Math.min(...[...this.schedule.values()].map((s) => s.nextAt))
    if (!Number.isFinite(at)) return
    this.timer = setTimeout(() => void this.fire(), Math.max(0, at - this.now()))
  }

  private async fire(): Promise<void> {
    this.timer = undefined
    if (!this.running || this.polling) return
    const t = this.now()
    if (isBackingOff(this.state)) {
      if (t >= this.state.backoff.until) await this.runPoll(() => this.probe())
      return this.arm()
    }
    if (![...this.schedule.values()].some((s) => s.nextAt <= t)) return this.arm()
    const shortest = Math.min(...[...this.schedule.values()].map((s) => s.intervalMs))
    const swept = [...this.schedule].filter(([, s]) => s.nextAt <= t + shortest / 2)
    const key: PlanKey = swept.length > 1 ? 'all' : (swept[0]?.[0] ?? 'all')
    const credited = swept.map(([cls, s]) => [cls, s.nextAt] as const)
    await this.runPoll(async () => {
      await this.o.bus.submit(this.link, 'poll', (io) => this.sweep(io, this.plans[key]))
      this.counts.polls++
    })
    const after = this.now()
    for (const [cls, slot] of credited) {
      const s = this.schedule.get(cls)
      if (!s || s.nextAt !== slot) continue // re-gridded meanwhile (setPollInterval, revival)
      const n = nextSlot(s.anchor, s.intervalMs, slot, Math.max(after, slot))
      s.nextAt = n.at
      this.counts.skippedSlots += n.skipped
    }
    this.arm()
  }

  /**
   * Runs one poll job. A stopped bus ends it quietly. Anything else thrown is a bug
   * (drivers return failures, callbacks are guarded): it is counted and shown in
   * `status()`, and polling goes on, because one device's bug must not stop the
   * gateway's other devices.
   */
  private async runPoll(job: () => Promise<void>): Promise<void> {
    this.polling = true
    try {
      await job()
    } catch (e) {
      if (!(e instanceof BusStoppedError)) {
        this.counts.jobErrors++
        this.lastJobError = e instanceof Error ? e.message : String(e)
      }
    } finally {
      this.polling = false
    }
  }

  /** One read, the plan's first, to learn whether a device that is backing off answers again. */
  private async probe(): Promise<void> {
    const req = this.plans.fast[0] ?? this.plans.all[0]
    if (!req) return
    const r = await this.o.bus.submit(this.link, 'poll', (io) => io.read(req))
    this.counts.probes++
    this.apply(decodeSweep([req], [r], this.o.profile.points).outcome)
  }

  // ------------------------------------------------------------- jobs

  /** One sweep of `plan` inside a bus job: reads, decode, health, events, reading. */
  private async sweep(io: DeviceIo, planned: readonly ReadRequest[]): Promise<Reading> {
    const plan: ReadRequest[] = []
    const results: RequestResult[] = []
    let firstDataAt: number | undefined
    let answered = false
    let stopped = false
    const send = async (req: ReadRequest): Promise<ReadResult> => {
      const r: ReadResult = await io.read(req)
      if (r.ok) firstDataAt ??= this.now()
      plan.push(req)
      results.push(r)
      stopped = shouldStop(r, answered)
      answered ||= isAnswer(r)
      return r
    }
    for (const req of planned) {
      if (stopped) {
        plan.push(req)
        results.push({ skipped: true })
        continue
      }
      const r = await send(req)
      const parts = this.withoutFiller(req, r)
      if (!parts) continue
      // The refused read is replaced by its parts: its points get their answers, not the 02.
      plan.pop()
      results.pop()
      for (const part of parts) {
        if (stopped) {
          plan.push(part)
          results.push({ skipped: true })
        } else await send(part)
      }
    }
    const result: SweepResult = decodeSweep(plan, results, this.o.profile.points)
    const ts = firstDataAt ?? this.now()
    this.apply(result.outcome)
    const checked = detectStuck(this.stuck, this.o.profile.points, result.blocks, result, ts)
    this.stuck = checked.state
    const reading: Reading = { device: this.id, ts, values: checked.values, errors: checked.errors, historical: false }
    this.o.onReading(reading)
    return reading
  }

  private async runWrite(io: DeviceIo, plan: WritePlan): Promise<Checked<WriteOk>> {
    const name = plan.point.name
    let words = plan.words
    const t0 = this.now()
    if (plan.bit) {
      const current = await io.read({ table: plan.table, start: plan.address, count: 1 })
      if (!current.ok) return { ok: false, error: writeFailure(name, current.failure) }
      words = [encodeBitInto(current.data[0] ?? 0, plan.bit.bit, plan.bit.value)]
    }
    const w = await io.write(plan.table, plan.address, words)
    if (!w.ok) return { ok: false, error: writeFailure(name, w.failure) }
    const latencyMs = this.now() - t0
    const back = await io.read({ table: plan.table, start: plan.address, count: plan.point.registers })
    const ts = this.now()
    const readBack: Reading = back.ok
      ? { device: this.id, ts, ...decodeBlocks([plan.point], [{ table: plan.table, start: plan.address, data: back.data }]), historical: false }
      : { device: this.id, ts, values: {}, errors: { [name]: failureError(back.failure) }, historical: false }
    return { ok: true, value: { latencyMs, readBack } }
  }

  private apply(outcome: SweepResult['outcome']): void {
    const t = this.now()
    const wasBackingOff = isBackingOff(this.state)
    const { health, events } = observe(this.health, this.state, outcome, t)
    this.state = health
    // Revived: the whole device is due at once, on its grid again from now.
    if (wasBackingOff && !isBackingOff(health)) for (const s of this.schedule.values()) s.nextAt = t
    for (const e of events) this.o.onEvent(toDeviceEvent(this.id, t, e))
  }
}

function toDeviceEvent(device: string, ts: number, e: HealthEvent): DeviceEvent {
  return {
    device,
    ts,
    event: e.event,
    ...(e.reason !== undefined && { reason: e.reason.length <= 200 ? e.reason : `${e.reason.slice(0, 199)}…` }),
    ...(e.error !== undefined && e.event === 'unavailable' && { error: e.error }),
  }
}

function busError(e: unknown): CommandError {
  if (e instanceof BusBusyError) return { code: 'busy', message: e.message }
  if (e instanceof BusStoppedError) return { code: 'busy', message: `${e.message}: the gateway is stopping` }
  throw e
}
