/**
 * Every simulated device of a run, stepped together through simulated time. No I/O
 * and no wall clock: given the same devices, scenario, seed and step, the register
 * images at simulated time t are the same on every run, however the wall clock
 * jittered (the runner maps wall time to simulated time; `muni sim --dump` calls
 * `advanceTo` directly).
 *
 * Time advances in fixed steps of `stepS` simulated seconds; `advanceTo(t)` takes
 * every whole step up to t. One step [t, t + stepS):
 *
 * 1. scenario events due in [t, t + stepS) are applied, in time order, to every
 *    device their selector picks: burst/valve-slam/recover to pipe models,
 *    open/close/impact to cover models, faults to the devices themselves;
 * 2. water-level models step with the mean rainfall over the step;
 * 3. pipe models step;
 * 4. cover models step; a cover linked to a water-level device (`linkedLevel`) gets
 *    the water that gauge's underpass holds, at its `roadOffsetM` above the low point.
 *
 * After the steps, every device is given its model's readings through its binding.
 */
import { wellWaterLevelM } from '../models/manhole-cover.ts'
import { coverEventOf, faultOf, pipeEventOf } from '../scenarios/actions.ts'
import type { PlannedEvent, Scenario } from '../scenarios/scenario.ts'
import { eventsBetween, meanRainfallRate, selects } from '../scenarios/timeline.ts'
import { SimEntity, type SimProblem } from './entity.ts'
import type { SimDeviceSpec } from './plan.ts'

/** Simulated seconds per model step, unless told otherwise. */
export const DEFAULT_STEP_S = 1

export interface SimulationOptions {
  readonly devices: readonly SimDeviceSpec[]
  readonly scenario?: Scenario
  /** Seed of every model's noise (each device draws from `seed/deviceId`). Default: the scenario's, else 1. */
  readonly seed?: number | string
  /** Simulated seconds per step (default 1). */
  readonly stepS?: number
  /** Local time of day at t = 0, s since midnight. Default: the scenario's start, else 0. */
  readonly startTimeOfDayS?: number
  /** The devices' wall clock in ms (dropout faults, firmware pauses); default performance.now. */
  readonly now?: () => number
  /** Honour the profiles' quirks (default true). */
  readonly quirks?: boolean
  /** What a read of addresses no point maps gets (default: exception 02, as real devices answer). */
  readonly unmapped?: 'exception' | 'zeros'
  /** Called once per new problem (device + point); default: nothing. */
  readonly onProblem?: (p: SimProblem) => void
}

/** Problems kept in `Simulation.problems` at most. */
const MAX_PROBLEMS = 1000

export class Simulation {
  readonly entities: ReadonlyMap<string, SimEntity>
  readonly scenario: Scenario | undefined
  readonly seed: number | string
  readonly stepS: number
  /** Every distinct problem met so far (first of each device/point pair). */
  readonly problems: SimProblem[] = []
  private readonly seen = new Set<string>()
  private readonly onProblem: ((p: SimProblem) => void) | undefined
  private steps = 0

  constructor(opts: SimulationOptions) {
    this.scenario = opts.scenario
    this.seed = opts.seed ?? opts.scenario?.seed ?? 1
    this.stepS = opts.stepS ?? DEFAULT_STEP_S
    if (!(this.stepS > 0 && Number.isFinite(this.stepS))) throw new RangeError(`step must be a positive number of seconds, got ${this.stepS}`)
    this.onProblem = opts.onProblem
    const startTimeOfDayS = opts.startTimeOfDayS ?? opts.scenario?.start?.timeOfDayS ?? 0
    const report = (p: SimProblem): void => this.report(p)
    const entities = new Map<string, SimEntity>()
    for (const spec of opts.devices) {
      entities.set(spec.id, new SimEntity({ spec, seed: this.seed, startTimeOfDayS, report, ...(opts.now ? { now: opts.now } : {}), ...(opts.quirks === undefined ? {} : { quirks: opts.quirks }), ...(opts.unmapped === undefined ? {} : { unmapped: opts.unmapped }) }))
    }
    this.entities = entities
    for (const e of entities.values()) {
      if (e.model.kind === 'manhole-cover' && e.model.link && entities.get(e.model.link.level)?.model.kind !== 'water-level') {
        this.report({ device: e.id, message: `linked level ${e.model.link.level} is not a simulated water-level device; the well stays dry` })
      }
    }
    this.publish()
  }

  /** Simulated seconds since the start (a whole number of steps). */
  get timeS(): number {
    return this.steps * this.stepS
  }

  /**
   * Takes every whole step up to `simS` (never backwards), at most `maxSteps` of them
   * (the rest on the next call: a run that fell far behind, say after the machine slept,
   * catches up without blocking its servers), then updates the devices. Returns the
   * steps taken.
   */
  advanceTo(simS: number, maxSteps = Number.POSITIVE_INFINITY): number {
    // The tolerance keeps 0.1 + 0.2 ≥ 0.3 from losing a step to rounding.
    const target = Math.min(Math.floor(simS / this.stepS + 1e-9), this.steps + maxSteps)
    const before = this.steps
    while (this.steps < target) this.step()
    if (this.steps > before) this.publish()
    return this.steps - before
  }

  private step(): void {
    const from = this.steps * this.stepS
    const to = (this.steps + 1) * this.stepS
    const dt = to - from
    const scenario = this.scenario
    if (scenario) for (const e of eventsBetween(scenario, from, to)) this.apply(e)
    for (const e of this.entities.values()) {
      if (e.model.kind === 'water-level') e.model.model.step(dt, { rainMmH: scenario ? meanRainfallRate(scenario, from, to, e.target) : 0 })
    }
    for (const e of this.entities.values()) if (e.model.kind === 'pipe-pressure') e.model.model.step(dt)
    for (const e of this.entities.values()) {
      const m = e.model
      if (m.kind !== 'manhole-cover') continue
      const gauge = m.link ? this.entities.get(m.link.level)?.model : undefined
      if (m.link && gauge?.kind === 'water-level') {
        m.model.step(dt, { waterLevelInWellM: wellWaterLevelM(gauge.model.state().elevationM, m.model.params.wellDepthM, m.link.roadOffsetM) })
      } else m.model.step(dt)
    }
    this.steps++
  }

  /** Applies one scenario event to every device it selects. */
  apply(e: PlannedEvent): void {
    for (const entity of this.entities.values()) {
      if (!selects(e.select, entity.target)) continue
      const m = entity.model
      try {
        const pipe = pipeEventOf(e)
        const cover = coverEventOf(e)
        const fault = faultOf(e)
        if (pipe && m.kind === 'pipe-pressure') m.model.apply(pipe)
        else if (cover && m.kind === 'manhole-cover') m.model.apply(cover)
        else if (fault) entity.applyScenarioFault(fault)
      } catch (err) {
        this.report({ device: entity.id, message: `event ${e.action} at ${e.atS} s: ${(err as Error).message}` })
      }
    }
  }

  /** Gives every device its model's current readings. */
  publish(): void {
    for (const e of this.entities.values()) e.publish()
  }

  private report(p: SimProblem): void {
    const key = `${p.device}\u0000${p.point ?? ''}`
    if (this.seen.has(key)) return
    this.seen.add(key)
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(p)
    this.onProblem?.(p)
  }
}
