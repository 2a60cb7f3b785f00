/**
 * The polling engine: buses and devices from a plain description, readings out
 * through report-by-exception, device events out, and the commands the uplink
 * forwards (set-interval, read, write).
 *
 * It takes transports already made and profiles already resolved, so it does not
 * depend on how the gateway config is loaded; `edge/config` maps onto
 * {@link EngineDescription} one field to one field (backoff, deadbands,
 * heartbeatS, pollMs; a bus's `concurrency`, 1 on RTU).
 *
 * Commands answer with the wire contract's `CommandError` codes (shared/mqtt),
 * so the uplink can put the result into a `command/response` as it is.
 */
import type { Value } from '../../shared/codec/index.ts'
import { LIMITS, type DeviceEvent, type Reading } from '../../shared/mqtt/messages.ts'
import type { ResolvedProfile } from '../../shared/profile/resolve.ts'
import type { Transport } from '../drivers/transport.ts'
import { INITIAL_RBE, rbeConfig, reportByException, type RbeConfig, type RbeState } from '../report/rbe.ts'
import { Bus, type BusStatus } from './bus.ts'
import { DevicePoller, type DeviceStatus, type WriteOk } from './device.ts'
import type { BackoffConfig } from './health.ts'
import type { Checked } from './write.ts'

export interface EngineBus {
  readonly id: string
  readonly transport: Transport
  /** Jobs (devices) served at once: 1 on RTU and for RS-485 behind a converter. */
  readonly concurrency: number
  readonly maxQueuedCommands?: number
}

export interface EngineDevice {
  readonly id: string
  readonly bus: string
  readonly unit: number
  readonly profile: ResolvedProfile
  readonly pollMs: { readonly fast: number; readonly slow: number }
  readonly timeoutMs: number
  readonly backoff: BackoffConfig
  /** Failed sweeps in a row before `unavailable` (default 3). */
  readonly failuresToUnavailable?: number
  /** Per point name; the profile's deadbands apply to the other points. */
  readonly deadbands?: Readonly<Record<string, number>>
  /** Longest silence per point, s (default the profile's `heartbeatS`; none: changes only). */
  readonly heartbeatS?: number
  /** The planner's fill limit (default the planner's). */
  readonly maxGap?: number
}

export interface EngineDescription {
  readonly buses: readonly EngineBus[]
  /** Devices in bus order: a device's place among its bus's devices sets its staggered start. */
  readonly devices: readonly EngineDevice[]
}

export interface EngineOptions {
  /** A reading that passed report-by-exception. */
  readonly onReading?: (r: Reading) => void
  readonly onEvent?: (e: DeviceEvent) => void
  /** Every sweep's reading before report-by-exception (local diagnostics, tests). */
  readonly onSample?: (r: Reading) => void
  /** Wall clock of readings, events and schedules (default `Date.now`). */
  readonly now?: () => number
}

export interface EngineStatus {
  readonly buses: readonly BusStatus[]
  readonly devices: readonly DeviceStatus[]
  /** Exceptions thrown by the callbacks, swallowed so that a consumer's bug does not stop polling. */
  readonly callbackErrors: number
}

/** Shortest poll interval (the wire contract's `set-interval` minimum). */
export const MIN_POLL_MS = LIMITS.intervalMs.min

interface DeviceEntry {
  readonly poller: DevicePoller
  readonly rbe: RbeConfig
  rbeState: RbeState
}

export class PollingEngine {
  private readonly buses = new Map<string, Bus>()
  private readonly devices = new Map<string, DeviceEntry>()
  private readonly opts: EngineOptions
  private callbackErrors = 0
  private state: 'new' | 'running' | 'stopped' = 'new'

  /** Checks the description (ids, buses, intervals, deadbands, plans) and builds the parts; opens nothing. Throws a RangeError naming what is wrong. */
  constructor(desc: EngineDescription, opts: EngineOptions = {}) {
    this.opts = opts
    for (const b of desc.buses) {
      if (this.buses.has(b.id)) throw new RangeError(`bus ${b.id} is listed twice`)
      this.buses.set(b.id, new Bus({ id: b.id, transport: b.transport, concurrency: b.concurrency, ...(b.maxQueuedCommands !== undefined && { maxQueuedCommands: b.maxQueuedCommands }) }))
    }
    const perBus = new Map<string, EngineDevice[]>()
    const seen = new Set<string>()
    for (const d of desc.devices) {
      if (seen.has(d.id)) throw new RangeError(`device ${d.id} is listed twice`)
      seen.add(d.id)
      if (!this.buses.has(d.bus)) throw new RangeError(`device ${d.id}: no bus ${d.bus}`)
      checkIntervals(d.id, d.pollMs)
      if (!(Number.isFinite(d.timeoutMs) && d.timeoutMs > 0)) throw new RangeError(`device ${d.id}: timeoutMs must be > 0, not ${d.timeoutMs}`)
      const list = perBus.get(d.bus) ?? []
      const twin = list.find((o) => o.unit === d.unit)
      if (twin) throw new RangeError(`devices ${twin.id} and ${d.id} both use unit ${d.unit} on bus ${d.bus}`)
      list.push(d)
      perBus.set(d.bus, list)
    }
    for (const [busId, list] of perBus) {
      const bus = this.buses.get(busId)
      if (!bus) continue
      list.forEach((d, index) => {
        let rbe: RbeConfig
        try {
          rbe = rbeConfig(d.profile, d.deadbands, d.heartbeatS)
        } catch (e) {
          throw new RangeError(`device ${d.id}: ${e instanceof Error ? e.message : String(e)}`)
        }
        const poller = new DevicePoller({
          id: d.id,
          unit: d.unit,
          profile: d.profile,
          pollMs: d.pollMs,
          timeoutMs: d.timeoutMs,
          backoff: d.backoff,
          ...(d.failuresToUnavailable !== undefined && { failuresToUnavailable: d.failuresToUnavailable }),
          ...(d.maxGap !== undefined && { maxGap: d.maxGap }),
          slot: { index, count: list.length },
          bus,
          onReading: (r) => this.sample(r),
          onEvent: (e) => this.call(this.opts.onEvent, e),
          ...(opts.now !== undefined && { now: opts.now }),
        })
        this.devices.set(d.id, { poller, rbe, rbeState: INITIAL_RBE })
      })
    }
  }

  /** Opens every bus, then starts every device's schedule. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('the polling engine was already started')
    this.state = 'running'
    await Promise.all([...this.buses.values()].map((b) => b.start()))
    if (this.state !== 'running') return
    for (const d of this.devices.values()) d.poller.start()
  }

  /** Stops the schedules, lets running jobs finish, fails waiting commands, closes the buses. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return
    this.state = 'stopped'
    for (const d of this.devices.values()) d.poller.stop()
    await Promise.all([...this.buses.values()].map((b) => b.stop()))
  }

  /** Changes a device's poll interval(s) until restart; a number sets both classes. */
  setPollInterval(device: string, ms: number | { readonly fast?: number; readonly slow?: number }): Checked<void> {
    const d = this.devices.get(device)
    if (!d) return unknownDevice(device)
    const cur = d.poller.status().pollMs
    const next = typeof ms === 'number' ? { fast: ms, slow: ms } : { fast: ms.fast ?? cur.fast, slow: ms.slow ?? cur.slow }
    try {
      checkIntervals(device, next)
    } catch (e) {
      return { ok: false, error: { code: 'out_of_range', message: (e as Error).message } }
    }
    d.poller.setPollInterval(next)
    return { ok: true, value: undefined }
  }

  /** Sweeps every point of `device` now, ahead of waiting polls; answers with the full reading (telemetry still goes through RBE). */
  async readNow(device: string): Promise<Checked<Reading>> {
    const d = this.devices.get(device)
    if (!d) return unknownDevice(device)
    if (this.state !== 'running') return notRunning()
    return d.poller.readNow()
  }

  /** Writes one point: checked against the profile, queued on the bus between sweeps, acknowledged (with a read-back) or refused. */
  async write(device: string, point: string, value: Value): Promise<Checked<WriteOk>> {
    const d = this.devices.get(device)
    if (!d) return unknownDevice(device)
    if (this.state !== 'running') return notRunning()
    return d.poller.write(point, value)
  }

  status(): EngineStatus {
    return {
      buses: [...this.buses.values()].map((b) => b.status()),
      devices: [...this.devices.values()].map((d) => d.poller.status()),
      callbackErrors: this.callbackErrors,
    }
  }

  private sample(r: Reading): void {
    this.call(this.opts.onSample, r)
    const d = this.devices.get(r.device)
    if (!d) return
    const out = reportByException(d.rbe, d.rbeState, r)
    d.rbeState = out.state
    if (out.reading) this.call(this.opts.onReading, out.reading)
  }

  private call<T>(fn: ((x: T) => void) | undefined, x: T): void {
    if (!fn) return
    try {
      fn(x)
    } catch {
      this.callbackErrors++
    }
  }
}

function checkIntervals(device: string, pollMs: { readonly fast: number; readonly slow: number }): void {
  for (const [cls, ms] of Object.entries(pollMs)) {
    if (!(Number.isInteger(ms) && ms >= MIN_POLL_MS && ms <= LIMITS.intervalMs.max)) {
      throw new RangeError(`device ${device}: pollMs.${cls} must be an integer ${MIN_POLL_MS}..${LIMITS.intervalMs.max}, not ${ms}`)
    }
  }
}

function unknownDevice(device: string): { ok: false; error: { code: 'unknown_device'; message: string } } {
  return { ok: false, error: { code: 'unknown_device', message: `no device ${device} on this gateway` } }
}

function notRunning(): { ok: false; error: { code: 'busy'; message: string } } {
  return { ok: false, error: { code: 'busy', message: 'the polling engine is not running' } }
}
