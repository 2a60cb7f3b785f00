/**
 * Runs a simulation on the wire: one server per bus, a simulated clock, and the
 * scenario or recording that drives the devices.
 *
 * The clock: simulated time = speed × wall time since `start()` (speed 0 holds
 * t = 0). Every `tickMs` the runner asks the simulation to advance to that time; the
 * simulation only ever takes whole fixed steps, so the values at simulated time t do
 * not depend on when the timer happened to fire. Tests pass their own `clock` and
 * call `tick()`.
 *
 * Two clocks (`scenarioSpeed`): the devices the scenario plays on (`playedBy`) form one
 * simulation that plays it at `scenarioSpeed`, the rest another that runs at `speed`
 * without it — a storm at 60× on the underpass gauges while the district stays live.
 * Both serve on the same buses; each device keeps its own noise (seeded per device), so
 * a device's values are those it would have in a single simulation at its speed.
 *
 * Starting part-way (`scenarioFrom`): the simulation that plays the scenario is stepped
 * from 0 to that time in `start()`, as fast as it can and before any bus serves, and its
 * clock runs on from there. Taking every step rather than setting a state is what makes
 * the devices hold exactly what a run from 0 holds at that time: the same events, rain,
 * linked wells, and the same noise draws (a model draws its noise once per step).
 *
 * A replay (`replay: file`) holds the models at t = 0 and serves the recording's
 * readings instead, each `atMs / speed` after start, by device id.
 *
 * Lifecycle: the constructor only keeps the options; `start()` builds the devices,
 * starts every bus (all or none) and resolves with the endpoints; `stop()` stops the
 * timers, the replay, the servers and socat.
 */
import type { Fault } from '../device/faults.ts'
import type { ModbusUnit } from '../modbus/unit.ts'
import type { Scenario } from '../scenarios/scenario.ts'
import { startBus, type BusAddress, type RunningBus } from './buses.ts'
import type { SimEntity, SimProblem } from './entity.ts'
import type { SimPlan } from './plan.ts'
import { playedBy } from './played.ts'
import { loadReplayTimeline, type ReplayTimeline } from './replay-source.ts'
import { Simulation } from './simulation.ts'

/** Where a client finds one device: the JSON line `muni sim` prints per device. */
export type Endpoint = {
  readonly device: string
  readonly gateway: string
  readonly bus: string
  readonly profile: string
  readonly unit: number
  /** With `scenarioSpeed`: set on the devices that play the scenario at that speed. */
  readonly scenarioSpeed?: number
} & BusAddress

export interface RunnerOptions {
  readonly plan: SimPlan
  readonly scenario?: Scenario
  readonly seed?: number | string
  /** Simulated seconds per wall-clock second (default 1; 0 holds t = 0). With `replay`, how much faster than recorded. */
  readonly speed?: number
  /**
   * With `scenario`: play it at this speed on the devices it plays on (`playedBy`), while
   * the others run at `speed` without it. Default: every device at `speed`, with the scenario.
   */
  readonly scenarioSpeed?: number
  /**
   * With `scenario`: the scenario's simulated time at start, s (default 0). The simulation
   * that plays it (with `scenarioSpeed`, the played devices only) is stepped there from 0
   * in `start()`; its clock then reads this time + speed × wall time.
   */
  readonly scenarioFrom?: number
  /** Simulated seconds per model step (default 1). */
  readonly stepS?: number
  /** Local time of day at t = 0 (default: the scenario's start, else midnight). */
  readonly startTimeOfDayS?: number
  /** Faults to set at start: on `device`, or on every device. */
  readonly faults?: readonly { readonly device?: string; readonly fault: Fault }[]
  /** A recording whose readings the devices serve instead of their models'. */
  readonly replay?: string
  /** Wall clock in ms (default performance.now). */
  readonly clock?: () => number
  /** How often the clock is read, ms (default 100); 0: only by `tick()`. */
  readonly tickMs?: number
  /** Pace RTU answers to wire time (default true). */
  readonly timing?: boolean
  /** Honour profile quirks (default true). */
  readonly quirks?: boolean
  /** What a read of addresses no point maps gets (default: exception 02, as real devices answer). */
  readonly unmapped?: 'exception' | 'zeros'
  readonly onProblem?: (p: SimProblem) => void
}

/** How a replay went. */
export interface ReplayOutcome {
  readonly outcome: 'finished' | 'stopped'
  readonly served: number
  readonly timeline: ReplayTimeline
}

/**
 * Model steps one tick may take: the sample district (35 devices) took about 45,000
 * steps a second on the build machine (storm, 13 h in 1 s), so this blocks the servers
 * ~0.1 s at most; a run far behind its clock catches up over several ticks. Which
 * values a simulated time has does not change, only when they appear.
 */
export const MAX_STEPS_PER_TICK = 5_000

/** A simulation, the speed of its clock, and the simulated time its clock starts at. */
interface Clocked {
  readonly sim: Simulation
  readonly speed: number
  readonly fromS: number
}

export class Runner {
  private sim: Simulation | undefined
  private clocked: Clocked[] = []
  private buses: RunningBus[] = []
  private timer: NodeJS.Timeout | undefined
  private startedAt = 0
  private running = false
  private replayAbort: AbortController | undefined
  private replayTask: Promise<ReplayOutcome> | undefined
  private readonly clock: () => number

  constructor(private readonly opts: RunnerOptions) {
    this.clock = opts.clock ?? (() => performance.now())
  }

  /** The simulation (with `scenarioSpeed`: the one that plays the scenario); throws before `start()`. */
  get simulation(): Simulation {
    if (!this.sim) throw new Error('Runner is not started')
    return this.sim
  }

  /** Every simulation with the speed of its clock: one, or with `scenarioSpeed` the scenario's first, then the rest (if any). */
  get simulations(): ReadonlyArray<{ readonly simulation: Simulation; readonly speed: number }> {
    return this.clocked.map((c) => ({ simulation: c.sim, speed: c.speed }))
  }

  /** Resolves when the replay has served its last reading (or was stopped); undefined without a replay. */
  get replayDone(): Promise<ReplayOutcome> | undefined {
    return this.replayTask
  }

  /**
   * Builds the devices, reads the recording (if any), starts every bus, and resolves
   * with one endpoint per device in plan order. On any failure nothing is left running.
   * @throws Error naming the bus that could not start, an unknown fault target, or a RecordingError.
   */
  async start(): Promise<Endpoint[]> {
    if (this.running || this.sim) throw new Error('Runner already started')
    const o = this.opts
    const speed = o.speed ?? 1
    if (!(speed >= 0 && Number.isFinite(speed))) throw new RangeError(`speed must be a number ≥ 0, got ${speed}`)
    if (o.replay !== undefined && !(speed > 0)) throw new RangeError('a replay needs a speed above 0')
    if (o.scenarioSpeed !== undefined) {
      if (!(o.scenarioSpeed > 0 && Number.isFinite(o.scenarioSpeed))) throw new RangeError(`scenario speed must be a number above 0, got ${o.scenarioSpeed}`)
      if (o.scenario === undefined) throw new RangeError('a scenario speed needs a scenario')
    }
    const from = o.scenarioFrom ?? 0
    if (o.scenarioFrom !== undefined) {
      if (o.scenario === undefined || o.replay !== undefined) throw new RangeError('a scenario start time needs a scenario (and no replay)')
      if (!(from >= 0 && from < o.scenario.durationS)) throw new RangeError(`scenario start time must be from 0 to before the scenario's end (${o.scenario.durationS} s), got ${from}`)
    }
    const common = {
      // One seed and one time of day for both clocks: the values a device has do not depend on the split.
      seed: o.seed ?? o.scenario?.seed ?? 1,
      ...(o.stepS === undefined ? {} : { stepS: o.stepS }),
      ...((o.startTimeOfDayS ?? o.scenario?.start?.timeOfDayS) === undefined ? {} : { startTimeOfDayS: o.startTimeOfDayS ?? o.scenario?.start?.timeOfDayS }),
      ...(o.quirks === undefined ? {} : { quirks: o.quirks }),
      ...(o.unmapped === undefined ? {} : { unmapped: o.unmapped }),
      ...(o.onProblem ? { onProblem: o.onProblem } : {}),
    }
    const clocked: Clocked[] = []
    if (o.scenario !== undefined && o.scenarioSpeed !== undefined) {
      const played = new Set(playedBy(o.scenario, o.plan.devices))
      clocked.push({ sim: new Simulation({ ...common, devices: o.plan.devices.filter((d) => played.has(d.id)), scenario: o.scenario }), speed: o.scenarioSpeed, fromS: from })
      const rest = o.plan.devices.filter((d) => !played.has(d.id))
      if (rest.length > 0) clocked.push({ sim: new Simulation({ ...common, devices: rest }), speed, fromS: 0 })
    } else {
      clocked.push({ sim: new Simulation({ ...common, devices: o.plan.devices, ...(o.scenario ? { scenario: o.scenario } : {}) }), speed, fromS: from })
    }
    const sim = (clocked[0] as Clocked).sim
    const entity = (id: string): SimEntity | undefined => entityIn(clocked, id)
    for (const f of o.faults ?? []) {
      if (f.device !== undefined && entity(f.device) === undefined) throw new Error(`fault for unknown device "${f.device}"`)
      for (const c of clocked) for (const e of c.sim.entities.values()) if (f.device === undefined || f.device === e.id) e.setFault(f.fault)
    }
    // After the faults (a run from 0 has them from 0), before the buses: no client sees a time before `from`.
    for (const c of clocked) c.sim.advanceTo(c.fromS)
    const timeline = o.replay === undefined ? undefined : await loadReplayTimeline(o.replay)

    const pathUsers = new Map<string, number>()
    for (const b of o.plan.buses) if (b.transport.type === 'rtu') pathUsers.set(b.transport.path, (pathUsers.get(b.transport.path) ?? 0) + 1)
    try {
      for (const bus of o.plan.buses) {
        const units = new Map<number, ModbusUnit>()
        for (const id of bus.devices) {
          const e = entity(id)
          if (e) units.set(e.spec.unit, e.unit)
        }
        this.buses.push(await startBus(bus, units, { pathUsers, ...(o.timing === undefined ? {} : { timing: o.timing }) }))
      }
    } catch (err) {
      await this.stopBuses()
      throw err
    }
    this.sim = sim
    this.clocked = clocked
    this.running = true
    this.startedAt = this.clock()
    const tickMs = o.tickMs ?? 100
    if (timeline) this.replayTask = this.replay(timeline, speed)
    else if (tickMs > 0 && clocked.some((c) => c.speed > 0)) {
      this.timer = setInterval(() => this.tick(), tickMs)
      this.timer.unref()
    }
    return this.endpoints()
  }

  /** One endpoint per device, in plan order. */
  endpoints(): Endpoint[] {
    const out: Endpoint[] = []
    const split = this.opts.scenarioSpeed !== undefined && this.sim !== undefined
    for (const spec of this.opts.plan.devices) {
      const bus = this.buses.find((b) => b.spec.gateway === spec.gateway && b.spec.id === spec.bus)
      if (!bus) continue
      const played = split && this.sim?.entities.has(spec.id) === true
      out.push({ device: spec.id, gateway: spec.gateway, bus: spec.bus, profile: spec.profile.id, unit: spec.unit, ...(played ? { scenarioSpeed: this.opts.scenarioSpeed } : {}), ...bus.address })
    }
    return out
  }

  /** Simulated seconds the clock says now (its start time + speed × wall time since start); with `scenarioSpeed`, the scenario's clock. */
  get clockS(): number {
    const c = this.clocked[0]
    return c ? this.clockSOf(c) : 0
  }

  private clockSOf(c: Clocked): number {
    return c.fromS + (this.running ? (c.speed * (this.clock() - this.startedAt)) / 1000 : 0)
  }

  /** Advances every simulation to its clock's time (whole steps, at most `MAX_STEPS_PER_TICK` each). No-op in a replay or when stopped. */
  tick(): void {
    if (!this.running || !this.sim || this.replayTask) return
    for (const c of this.clocked) c.sim.advanceTo(this.clockSOf(c), MAX_STEPS_PER_TICK)
  }

  /** Stops everything; safe to call twice, and before `start()` resolved. */
  async stop(): Promise<void> {
    this.running = false
    clearInterval(this.timer)
    this.timer = undefined
    this.replayAbort?.abort()
    await this.replayTask
    await this.stopBuses()
  }

  private async stopBuses(): Promise<void> {
    const buses = this.buses
    this.buses = []
    await Promise.all(buses.map((b) => b.stop()))
  }

  private async replay(timeline: ReplayTimeline, speed: number): Promise<ReplayOutcome> {
    const abort = new AbortController()
    this.replayAbort = abort
    const unknown = new Set<string>()
    let served = 0
    for (const r of timeline.readings) {
      // An absolute schedule: a late timer delays one reading, never all that follow.
      const wait = this.startedAt + r.atMs / speed - this.clock()
      if (wait > 0 && !(await sleep(wait, abort.signal))) return { outcome: 'stopped', served, timeline }
      if (abort.signal.aborted) return { outcome: 'stopped', served, timeline }
      const e = entityIn(this.clocked, r.device)
      if (!e) {
        if (!unknown.has(r.device)) {
          unknown.add(r.device)
          this.opts.onProblem?.({ device: r.device, message: 'recorded device is not in the district; its readings are skipped' })
        }
        continue
      }
      e.serve(r.values, r.errors)
      served++
    }
    return { outcome: 'finished', served, timeline }
  }
}

function entityIn(clocked: readonly Clocked[], id: string): SimEntity | undefined {
  for (const c of clocked) {
    const e = c.sim.entities.get(id)
    if (e) return e
  }
  return undefined
}

/** Resolves true after `ms`, false at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false)
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    const onAbort = (): void => {
      clearTimeout(t)
      resolve(false)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
